"""A generated register for demo mode, screenshots and benchmarks.

Realistic spread: several heat networks with buildings and monitoring points,
the common meter makes and sizes, install years 2008-2024 (some known only by
year, a few re-installed after repair), M-Bus addresses and battery dates.
Built through the normal CSV import, so the demo register is exactly what a
user's import would give. Deterministic for a given seed.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
import tempfile
from pathlib import Path

from app.storage.register import Register, open_register
from app.storage.tabular import CONTRACT_COLUMNS

SITES = ("Riverside Heat Network", "Northgate Estate", "Castle Quarter", "Hillview Court", "Harbour Works",
         "Old Mill Lofts", "Station Yard", "Elm Park")
# (make, model, [(qp_m3h, ratio, dn)])
MODELS = (
    ("Kamstrup", "MULTICAL 603", [(0.6, 100, 15), (1.5, 100, 15), (2.5, 100, 20)]),
    ("Kamstrup", "MULTICAL 403", [(0.6, 100, 15), (1.5, 100, 15), (2.5, 100, 20), (6.0, 100, 25)]),
    ("Landis+Gyr", "T550 (UH50)", [(0.6, 100, 15), (1.5, 100, 15), (2.5, 100, 20), (10.0, 100, 40)]),
    ("Diehl", "Sharky 775", [(1.5, 100, 15), (2.5, 100, 20), (3.5, 100, 25), (6.0, 100, 25)]),
    ("Itron", "CF Echo II", [(0.6, 50, 15), (1.5, 50, 15), (2.5, 50, 20)]),
    ("Sontex", "Supercal 5", [(1.5, 100, 15), (2.5, 100, 20)]),
    ("Engelmann", "SensoStar U", [(0.6, 100, 15), (1.5, 100, 15), (2.5, 100, 20)]),
    ("Sensus", "PolluStat E", [(1.5, 100, 20), (3.5, 100, 25), (6.0, 100, 32)]),
)


def write_demo_csv(path: Path, meters: int = 3000, seed: int = 7) -> None:
    """Write a register CSV (contract columns) of ``meters`` generated meters."""
    rnd = random.Random(seed)
    serial_base = {make: 60_000_000 + 1_000_000 * i for i, (make, _m, _s) in enumerate(MODELS)}
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CONTRACT_COLUMNS + ("qs_m3h", "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c"))
        for i in range(meters):
            site_i = min(int(rnd.expovariate(0.45)), len(SITES) - 1)
            make, model, sizes = MODELS[(site_i * 3 + rnd.randrange(3)) % len(MODELS)]
            qp, ratio, dn = rnd.choice(sizes)
            year = max(2008, 2025 - int(rnd.expovariate(1 / 5.5)))  # most meters young, a tail of old ones
            day = dt.date(year, 1, 1) + dt.timedelta(days=rnd.randrange(365))
            serial_base[make] += rnd.randrange(1, 40)
            serial = str(serial_base[make])
            block = rnd.randrange(1, 9)
            flat = rnd.randrange(1, 80)
            point = "SS1" if i % 97 == 0 else ("CC1" if rnd.random() < 0.9 else "CC2")
            w.writerow([
                SITES[site_i], f"Block {chr(64 + block)}", f"Flat {block}{flat:02d}, riser cupboard", point,
                make, model, serial, rnd.choice(("2", "2", "2", "1", "3")), qp, "", ratio, dn,
                str(year) if rnd.random() < 0.04 else day.isoformat(),
                "" if rnd.random() < 0.3 else str(rnd.randrange(1, 251)),
                f"{int(serial) % 10**8:08d}",
                (day + dt.timedelta(days=int(365.25 * rnd.choice((10, 11, 12, 16))))).isoformat(),
                "return" if rnd.random() < 0.85 else "flow",
                qp * 2, 3, rnd.choice((100, 150, 177)), 2, rnd.choice((130, 150, 180)),
            ])


def build_demo_register(url: str, meters: int = 3000, seed: int = 7, user: str = "demo") -> Register:
    """Open ``url`` and fill it with the demo meters unless it already holds meters."""
    reg = open_register(url)
    if reg.count_meters(include_restricted=True) == 0:
        with tempfile.TemporaryDirectory(prefix="heatmeter-demo-") as tmp:
            path = Path(tmp) / "demo-register.csv"
            write_demo_csv(path, meters=meters, seed=seed)
            reg.import_file(path, user=user)
    return reg
