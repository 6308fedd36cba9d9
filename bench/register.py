"""Register benchmark: import 100,000 meters from CSV, list/filter, export; SQLite and PostgreSQL.

    .venv/bin/python -m bench.register [--rows 100000] [--repeat 3] [--pg URL] [--no-write]

The floor is a bare ``csv.reader`` parse plus one ``executemany`` of the same
rows (17 text columns, one transaction, no index, no checks) through the same
driver (sqlite3 / psycopg), measured in the same run. Floor and import are
measured ``--repeat`` times, alternately, each import into a new database; the
table gives the medians and the median of the per-run ratios (the machine may
be shared). PostgreSQL runs when ``--pg`` or ``$HEATMETER_TEST_PG`` names a
server role that may create databases. Writes the ``register`` section of
docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._db import pg_database  # noqa: E402
from bench._report import machine_line, md_table, write_section  # noqa: E402

COLUMNS = ["site", "building", "location", "monitoring_point", "manufacturer", "model", "serial", "mid_class",
           "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "install_date", "primary_address", "secondary_address",
           "battery_expiry", "flow_sensor_position"]
MAKES = [("Kamstrup", "Multical 603"), ("Landis+Gyr", "UH50"), ("Sontex", "Supercal 531"),
         ("Itron", "CF Echo 2"), ("Diehl", "Sharky 775"), ("Engelmann", "SensoStar U")]


def write_rows(path: Path, n: int, seed: int = 7, quoting: int = csv.QUOTE_MINIMAL) -> None:
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=quoting)
        w.writerow(COLUMNS)
        for i in range(n):
            make, model = MAKES[i % len(MAKES)]
            qp = rnd.choice([0.6, 1.5, 2.5, 3.5, 6.0, 10.0])
            d = dt.date(2012, 1, 1) + dt.timedelta(days=rnd.randrange(4000))
            w.writerow([f"Site {i % 40}", f"Block {i % 13}", f"Flat {i}", "CC1" if i % 10 else "SS1", make, model,
                        str(20_000_000 + i), rnd.choice(["1", "2", "3"]), qp, "" if i % 2 else qp / 100,
                        "100" if i % 2 else "", rnd.choice(["15", "20", "25"]),
                        str(d.year) if i % 17 == 0 else d.isoformat(), str(i % 251),
                        f"{(20_000_000 + i) % 10**8:08d}", (d + dt.timedelta(days=3650)).isoformat(),
                        "return" if i % 3 else "flow"])


def floor_sqlite(path: Path, csv_path: Path) -> float:
    import sqlite3

    t0 = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {', '.join(c + ' TEXT' for c in COLUMNS)})")
    with csv_path.open(newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        rows = list(r)
    con.execute("BEGIN")
    con.executemany(f"INSERT INTO t ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    con.execute("COMMIT")
    con.close()
    return time.perf_counter() - t0


def floor_pg(url: str, csv_path: Path) -> float:
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    t0 = time.perf_counter()
    with psycopg.connect(conninfo) as con:
        con.execute(f"CREATE TABLE t (id SERIAL PRIMARY KEY, {', '.join(c + ' TEXT' for c in COLUMNS)})")
        with csv_path.open(newline="", encoding="utf-8") as f:
            r = csv.reader(f)
            next(r)
            rows = list(r)
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO t ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})", rows)
        con.commit()
    return time.perf_counter() - t0


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_register(url: str, csv_path: Path, out_dir: Path, n: int) -> dict:
    from app.storage.register import open_register

    res: dict = {}
    res["open_s"], reg = timed(lambda: open_register(url))
    try:
        res["import_s"], rep = timed(lambda: reg.import_file(csv_path, user="bench"))
        assert rep.created == n, rep
        res["reimport_s"], rep2 = timed(lambda: reg.import_file(csv_path, user="bench"))
        assert rep2.unchanged == n, rep2
        res["page_first_s"], page = timed(lambda: reg.list_meters(limit=200))
        res["page_deep_offset_s"], _ = timed(lambda: reg.list_meters(limit=200, offset=n - 200))
        last = reg.list_meters(limit=1, offset=n // 2)[0]
        res["page_keyset_s"], _ = timed(lambda: reg.list_meters(limit=200, after=(last.manufacturer, last.serial)))
        res["count_s"], cnt = timed(lambda: reg.count_meters())
        assert cnt == n
        res["filter_site_s"], site_rows = timed(lambda: reg.list_meters(site="Site 7"))
        res["filter_site_rows"] = len(site_rows)
        res["search_s"], found = timed(lambda: reg.list_meters(search="Flat 4711", limit=200))
        res["search_rows"] = len(found)
        res["filter_make_model_s"], mm = timed(lambda: reg.list_meters(make="KAM", model="Multical 603", limit=200))
        res["list_all_s"], all_rows = timed(lambda: reg.list_meters())
        assert len(all_rows) == n
        res["export_csv_s"], m = timed(lambda: reg.export_csv(out_dir / "export.csv"))
        assert m == n
    finally:
        reg.close()
    return res


def import_only(url: str, csv_path: Path, n: int) -> float:
    """Seconds to import ``csv_path`` into the empty register at ``url``."""
    from app.storage.register import open_register

    reg = open_register(url)
    try:
        t, rep = timed(lambda: reg.import_file(csv_path, user="bench"))
        assert rep.created == n, rep
    finally:
        reg.close()
    return t


def messy_import(url: str, tmp: Path, n: int) -> tuple[float, dict]:
    """Seconds of ``heatmeter meters import`` of a messy billing export of ``n`` meters (a mapping
    profile, dd/mm/yyyy, decimal commas, a BOM and three Windows-1252 lines, quoted cells, a title line)
    into the empty register at ``url``, as a whole process (start included)."""
    import json
    import subprocess

    from tests.helpers.messy_export import MAPPING, messy_csv

    src = tmp / "messy.csv"
    if not src.exists():
        messy_csv(src, n)
        (tmp / "messy-map.json").write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
    exe = Path(sys.executable).parent / "heatmeter"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "app"]
    t0 = time.perf_counter()
    p = subprocess.run(argv + ["meters", "import", str(src), "--map", str(tmp / "messy-map.json"), "--date-order",
                               "dmy", "--db", url, "--json"], capture_output=True, text=True)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"messy import failed: {p.stderr.strip()}")
    rep = json.loads(p.stdout)
    assert rep["created"] == n and rep["windows_1252_lines"] == 3, rep
    return t, rep


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="floor + import pairs per database (medians reported)")
    ap.add_argument("--pg", default=os.environ.get("HEATMETER_TEST_PG") or None)
    ap.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    args = ap.parse_args(argv)
    n = args.rows
    load_start = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "meters.csv"
        write_rows(csv_path, n)
        size_mb = csv_path.stat().st_size / 1e6
        quoted_path = tmp / "meters-quoted.csv"  # the same rows, every cell quoted: read by csv
        write_rows(quoted_path, n, quoting=csv.QUOTE_ALL)
        quoted = {"SQLite": import_only(f"sqlite:///{tmp / 'quoted.db'}", quoted_path, n)}
        runs = []
        messy: dict[str, list[tuple[float, float]]] = {"SQLite": []}  # (floor, messy import) per run
        for k in range(args.repeat):
            fl = floor_sqlite(tmp / f"floor{k}.db", csv_path)
            reg = run_register(f"sqlite:///{tmp / f'register{k}.db'}", csv_path, tmp, n)
            runs.append((fl, reg))
            mt, _rep = messy_import(f"sqlite:///{tmp / f'messy{k}.db'}", tmp, n)
            messy["SQLite"].append((fl, mt))
            print("sqlite", fl, reg, "messy", mt, file=sys.stderr)
        results["SQLite"] = runs
        if args.pg:
            runs = []
            for _k in range(args.repeat):
                url, drop = pg_database(args.pg)
                try:
                    fl = floor_pg(url, csv_path)
                finally:
                    drop()
                url, drop = pg_database(args.pg)
                try:
                    reg = run_register(url, csv_path, tmp, n)
                finally:
                    drop()
                runs.append((fl, reg))
                url, drop = pg_database(args.pg)
                try:
                    mt, _rep = messy_import(url, tmp, n)
                finally:
                    drop()
                messy.setdefault("PostgreSQL", []).append((fl, mt))
                print("postgresql", fl, reg, "messy", mt, file=sys.stderr)
            results["PostgreSQL"] = runs
            url, drop = pg_database(args.pg)
            try:
                quoted["PostgreSQL"] = import_only(url, quoted_path, n)
            finally:
                drop()

    def ms(x):
        return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"

    med = statistics.median
    summary = {}
    for db, runs in results.items():
        summary[db] = {"floor_s": med(fl for fl, _ in runs), "import_s": med(r["import_s"] for _, r in runs),
                       "ratio": med(r["import_s"] / fl for fl, r in runs),
                       "ratios": [r["import_s"] / fl for fl, r in runs],
                       "reimport_s": med(r["reimport_s"] for _, r in runs),
                       "export_csv_s": med(r["export_csv_s"] for _, r in runs), "last": runs[-1][1]}
    rows = []
    for db, m in summary.items():
        rows.append([db, f"{m['import_s']:.2f} s", f"{n / m['import_s']:,.0f}", f"{m['floor_s']:.2f} s",
                     f"{m['ratio']:.2f}x ({', '.join(f'{x:.2f}' for x in m['ratios'])})",
                     f"{quoted[db]:.2f} s", f"{m['reimport_s']:.2f} s", f"{m['export_csv_s']:.2f} s"])
    table1 = md_table(["database", f"import ({n:,} new meters)", "rows/s", "floor: csv + executemany",
                       "import / floor (each run)", "import, every cell quoted (once)", "re-import (no change)",
                       "export CSV"], rows)
    rows2 = []
    for db, m in summary.items():
        r = m["last"]
        rows2.append([db, ms(r["page_first_s"]), ms(r["page_deep_offset_s"]), ms(r["page_keyset_s"]), ms(r["count_s"]),
                      f"{ms(r['filter_site_s'])} ({r['filter_site_rows']:,} rows)", ms(r["filter_make_model_s"]),
                      ms(r["search_s"]), ms(r["list_all_s"])])
    table2 = md_table(["database", "first page (200)", "page at offset 99,800", "keyset page", "count",
                       "filter site (all rows)", "make+model page", "free-text search", f"list all {n:,}"], rows2)
    rows3 = []
    for db, pairs in messy.items():
        mt = med(t for _, t in pairs)
        ratios = [t / fl for fl, t in pairs]
        rows3.append([db, f"{mt:.2f} s", f"{n / mt:,.0f}", f"{med(fl for fl, _ in pairs):.2f} s",
                      f"{med(ratios):.2f}x ({', '.join(f'{x:.2f}' for x in ratios)})"])
    table3 = md_table(["database", f"messy import, whole process ({n:,} meters)", "rows/s", "floor (same run)",
                       "messy / floor (each run)"], rows3)
    messy_rate = n / med(t for _, t in messy["SQLite"]) >= 20_000
    messy_floor = all(med(t / fl for fl, t in pairs) <= 5 for pairs in messy.values())
    goal_rate = n / summary["SQLite"]["import_s"] >= 10_000
    goal_floor = all(m["ratio"] <= 3 for m in summary.values())
    md = f"""Register (`bench/register.py`): {n:,} meters from one CSV file ({size_mb:.1f} MB, every contract column filled),
imported with `Register.import_file` (validation of every cell, sites/buildings/monitoring points, meters,
installations and one `create` event per meter with its values, in one transaction), then listed, filtered and
exported. The floor is a bare `csv.reader` parse plus one `executemany` of the same rows as 17 text columns into
an unindexed table, through the same driver. Floor and import ran {args.repeat} times each, alternately, in the
same run: the table shows medians, and the ratio of each run. The file has no quoted cell, so the import reads it
by splitting lines (what `csv` would give, see docs/register.md); the same rows with every cell quoted go through
`csv` (imported once, into an empty register). {machine_line()} 1-minute load average {load_start:.2f} at the
start and {os.getloadavg()[0]:.2f} at the end of the run (the machine is shared: the ratios, measured in the same
run, hold better than the absolute times).

{table1}

{table2}

The messy import is a billing system's export of the same number of meters, as it comes
(`tests/helpers/messy_export.py`): a title line above the header, the system's own headers mapped by a
profile (`--map`), `;` separators with decimal commas, `dd/mm/yyyy` dates (`--date-order dmy`), UTF-8 with a
byte-order mark and three lines in Windows-1252, quoted cells, personal and billing columns (some dropped).
It runs as `heatmeter meters import` in its own process, start included, against the same floor:

{table3}

Goals: import >= 10,000 rows/s on SQLite: {"met" if goal_rate else "NOT met"}; import within 3x the floor:
{"met" if goal_floor else "NOT met"}{"" if "PostgreSQL" in results else " (SQLite only: no PostgreSQL server was given)"};
messy import >= 20,000 rows/s on SQLite: {"met" if messy_rate else "NOT met"}; within 5x the floor:
{"met" if messy_floor else "NOT met"}.
"""
    print(md)
    if not args.no_write:
        write_section("register", md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
