"""Integrity benchmark: ``db verify`` of a register with 1,000,000 events; SQLite and PostgreSQL.

    .venv/bin/python -m bench.verify [--events 1000000] [--pg URL] [--repeat 3]

The register is built through the tool itself: meters imported from a CSV
file (with occupants: their values kept apart from the event log), then the
file imported again and again with a changed ``qp_m3h`` and occupant (one
update event per meter, its personal values apart) until the event log holds
``--events`` events, plus evidence: readouts with their frames and one
calibration per 100 meters. Then ``Register.verify_integrity`` runs
``--repeat`` times (median reported). The floor is reading the same event
rows through the driver without hashing. Prints the figures (it does not
write docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._db import pg_database  # noqa: E402
from bench._report import machine_line, md_table  # noqa: E402
from bench.register import write_rows  # noqa: E402

FRAME = bytes(range(0x68, 0x68 + 80))  # stored byte for byte; not decoded here


def _with_occupants(src: Path, dest: Path, round_: int) -> None:
    with src.open(newline="", encoding="utf-8") as f, dest.open("w", newline="", encoding="utf-8") as out:
        r, w = csv.reader(f), csv.writer(out)
        header = next(r)
        qp = header.index("qp_m3h")
        w.writerow(header + ["occupant_name"])
        for row in r:
            row[qp] = str(1.0 + round_ * 0.5)
            w.writerow(row + [f"Occupant {row[6]} #{round_}"])


def build(url: str, events: int, tmp: Path) -> dict:
    """A register at ``url`` whose event log holds ``events`` events (and some evidence)."""
    from app.storage.register import open_register

    meters = max(1000, events // 5)
    base = tmp / "base.csv"
    write_rows(base, meters)
    reg = open_register(url)
    t0 = time.perf_counter()
    try:
        round_ = 0
        f = tmp / "round.csv"
        _with_occupants(base, f, round_)
        reg.import_file(f, user="bench")
        ids = [m.id for m in reg.list_meters()]
        for k, mid in enumerate(ids[::100]):  # evidence: a readout and a calibration per 100 meters
            reg.save_readout([FRAME], [{"records": [{"quantity": "energy", "value": k, "unit": "kWh"}]}], meter_id=mid,
                             user="bench", read_at=dt.datetime(2024, 1, 1))
            reg.add_calibration_result(mid, tested_on=dt.date(2024, 1, 1), subassembly="complete_meter",
                                       points=[{"error_pct": 0.5}], user="bench")
        while _count(reg) + len(ids) <= events:
            round_ += 1
            _with_occupants(base, f, round_)
            reg.import_file(f, user="bench")
            print(f"  round {round_}: {_count(reg):,} events", file=sys.stderr, flush=True)
        j = 0
        while (left := events - _count(reg)) > 0:  # top up with access events (at most 50 meters each)
            n = min(50, left)
            reg.log_access(ids[j:j + n], "bench")
            j = (j + n) % (len(ids) - 50)
        return {"meters": meters, "events": _count(reg), "build_s": time.perf_counter() - t0}
    finally:
        reg.close()


def _count(reg) -> int:
    from sqlalchemy import func, select

    from app.storage.register import EV

    with reg.reading() as conn:
        return conn.execute(select(func.count()).select_from(EV)).scalar_one()


def floor(url: str) -> float:
    """Reading every event row through the driver, nothing else."""
    from app.storage.register import open_register

    reg = open_register(url)
    try:
        t0 = time.perf_counter()
        with reg.reading() as conn:
            if reg.is_sqlite:
                cur = conn.connection.driver_connection.cursor()
                cur.execute("SELECT id, at, \"user\", entity, entity_id, meter_id, action, before, after, source, "
                            "detail_digest, hash FROM events ORDER BY id")
            else:
                cur = conn.connection.driver_connection.cursor(name="bench_floor")
                cur.itersize = 20_000
                cur.execute("SELECT id, at, \"user\", entity, entity_id, meter_id, action, before::text, after::text, "
                            "source, detail_digest, hash FROM events ORDER BY id")
            while cur.fetchmany(20_000):
                pass
            cur.close()
        return time.perf_counter() - t0
    finally:
        reg.close()


def verify(url: str) -> tuple[float, object]:
    from app.storage.register import open_register

    reg = open_register(url)
    try:
        t0 = time.perf_counter()
        rep = reg.verify_integrity()
        return time.perf_counter() - t0, rep
    finally:
        reg.close()


def run(name: str, url: str, events: int, repeat: int, tmp: Path, reuse: bool = False) -> list[str]:
    if not reuse:
        info = build(url, events, tmp)
        print(f"{name}: built {info['events']:,} events in {info['build_s']:.0f} s", file=sys.stderr, flush=True)
    runs, floors = [], []
    for _ in range(repeat):
        floors.append(floor(url))
        t, rep = verify(url)
        assert rep.ok, [p.line() for p in rep.problems[:5]]
        runs.append(t)
        print(f"{name}: verify {t:.2f} s (floor {floors[-1]:.2f} s)", file=sys.stderr, flush=True)
    t, fl = statistics.median(runs), statistics.median(floors)
    return [name, f"{rep.events:,}", f"{rep.evidence:,}", f"{t:.2f} s", f"{rep.events / t:,.0f}",
            f"{fl:.2f} s", f"{t / fl:.1f}x", "met" if t < 10 else "NOT met"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", default=os.environ.get("HEATMETER_TEST_PG") or None)
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--keep", metavar="FILE", help="SQLite: build the register in FILE and keep it; when FILE exists, "
                                                  "verify it without building")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.no_sqlite:
            db = Path(args.keep) if args.keep else tmp / "verify.db"
            rows.append(run("SQLite", f"sqlite:///{db}", args.events, args.repeat, tmp, reuse=db.exists()))
        if args.pg:
            url, drop = pg_database(args.pg)
            try:
                rows.append(run("PostgreSQL", url, args.events, args.repeat, tmp))
            finally:
                drop()
    print(f"`db verify` (`bench/verify.py`): {machine_line()}\n")
    print(md_table(["database", "events", "evidence items", "verify (median)", "events/s",
                    "floor: read the rows", "verify / floor", "goal < 10 s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
