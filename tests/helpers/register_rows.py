"""Helpers of the register tests: contract rows and CSV files."""
from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from app.storage.tabular import CONTRACT_COLUMNS


def write_csv(path: Path, rows: list[dict], columns=None, delimiter=",") -> Path:
    columns = list(columns or CONTRACT_COLUMNS)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return path


MAKES = [("Kamstrup", "Multical 603"), ("Landis+Gyr", "UH50"), ("Sontex", "Supercal 531"),
         ("Itron", "CF Echo 2"), ("Diehl", "Sharky 775"), ("Engelmann", "SensoStar U")]


def make_rows(n: int, seed: int = 1, site_count: int = 5, serial_base: int = 10_000_000) -> list[dict]:
    """``n`` valid, varied contract rows (every optional column exercised)."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        make, model = MAKES[i % len(MAKES)]
        qp = rnd.choice([0.6, 1.5, 2.5, 3.5, 6.0, 10.0, 15.0])
        row = {
            "site": f"Site {i % site_count}",
            "building": f"Block {chr(65 + i % 7)}" if i % 3 else None,
            "location": f"Flat {i}, riser cupboard" if i % 4 else None,
            "monitoring_point": "CC1" if i % 5 == 0 else (f"P{i % 50}" if i % 5 == 1 else None),
            "manufacturer": make,
            "model": model,
            "serial": str(serial_base + i),
            "mid_class": rnd.choice([1, 2, 3, None]),
            "qp_m3h": qp,
            "qi_m3h": round(qp / 100, 6) if i % 2 else None,
            "qp_qi_ratio": 250 if i % 2 == 0 else None,
            "dn": rnd.choice([15, 20, 25, 32, 40, None]),
            "install_date": (str(2010 + i % 12) if i % 9 == 0 else
                             (dt.date(2012, 1, 1) + dt.timedelta(days=rnd.randrange(4000))).isoformat()),
            "primary_address": i % 251 if i % 6 else None,
            "secondary_address": f"{(serial_base + i) % 10**8:08d}" if i % 7 else None,
            "battery_expiry": (dt.date(2030, 1, 1) + dt.timedelta(days=i % 900)).isoformat() if i % 2 else None,
            "flow_sensor_position": ("flow", "return", None)[i % 3],
        }
        rows.append(row)
    return rows
