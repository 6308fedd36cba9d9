"""Generated registers for the planning tests: a CSV per docs/import-format.md plus the odd cases made through the API."""
from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

COLUMNS = ["site", "building", "location", "manufacturer", "model", "serial", "mid_class", "qp_m3h", "qp_qi_ratio",
           "dn", "install_date", "battery_expiry", "dtheta_min_k", "dtheta_max_k"]
SITES = ["North", "South", "Harbour", "Campus", "Old Town", "Riverside"]
#: make, model, the qp values it comes in, its class
FAMILIES = [("Kamstrup", "Multical 603", (1.5, 2.5), 2), ("Landis+Gyr", "UH50", (1.5, 2.5), 2),
            ("Diehl", "Sharky 775", (1.5, 2.5), 2), ("Itron", "CF Echo 2", (1.5,), 3),
            ("Engelmann", "SensoStar U", (1.5,), 2)]


def write_register_csv(path: Path, n: int, *, seed: int = 6, first_year: int = 2008, last_year: int = 2020,
                       serial_base: int = 30_000_000) -> Path:
    """``n`` meters over several sites, makes, models, qp and install years; some year-only dates, some batteries."""
    rnd = random.Random(seed)
    start = dt.date(first_year, 1, 1)
    span = (dt.date(last_year, 12, 31) - start).days
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(n):
            make, model, qps, cls = FAMILIES[i % len(FAMILIES)]
            d = start + dt.timedelta(days=rnd.randrange(span + 1))
            battery = (dt.date(d.year + 12, d.month, 1)).isoformat() if i % 3 == 0 else ""
            w.writerow([SITES[rnd.randrange(len(SITES))], f"Block {i % 11}", f"Flat {i}", make, model,
                        str(serial_base + i), cls, rnd.choice(qps), 100, 20,
                        str(d.year) if i % 23 == 0 else d.isoformat(), battery, 3, 100])
    return path


def small_register(url: str, tmp_path: Path, n: int = 600):
    """An open register of ``n`` generated meters (the caller closes it)."""
    from app.storage.register import open_register

    reg = open_register(url)
    reg.import_file(write_register_csv(tmp_path / "meters.csv", n), user="test")
    return reg


def mpe_complete_meter(cls: int, qp: float, q: float, dtheta: float, dtheta_min: float = 3.0) -> float:
    """EN 1434-1 complete-meter MPE in %, written out again for the tests (flow part capped)."""
    a, b, cap = {1: (1.0, 0.01, 3.5), 2: (2.0, 0.02, 5.0), 3: (3.0, 0.05, 5.0)}[cls]
    return min(a + b * qp / q, cap) + (0.5 + 3 * dtheta_min / dtheta) + (0.5 + dtheta_min / dtheta)
