"""Planning benchmark: the schedule and lot formation, pure core and through the register.

    .venv/bin/python -m bench.planning [--rows 100000] [--pg URL] [--no-write]
    .venv/bin/python -m bench.planning --rows 1000000 --pg URL --only-pg --repeat 2 --no-cli --no-write

Goals at 1,000,000 meters on PostgreSQL (maintenance-cycle issue): the schedule
(load + compute, every deadline and flag) under 10 s, a lot formation dry run
under 20 s; the register page's data paths (``app.storage.browse``): the first
page of 200 meters with the count (what the page paints first) under 1 s, and a
filter over the in-memory index under 300 ms.

Measured in one run:
- the pure core (``app.core``): building the 100,000 ``MeterInfo`` records,
  ``compute_schedule``, ``form_lots``;
- through the register (``app.storage.planning``) on SQLite: loading (four
  narrow queries), the schedule (load + compute), its JSON and CSV, lot
  formation (dry run and stored), the schedule again once every meter is in a
  lot with a stored verdict, and ``heatmeter schedule --csv`` end to end;
- the floor: the bare driver fetching the same meter columns (no planning);
- the same on PostgreSQL when ``--pg`` or ``$HEATMETER_TEST_PG`` names a
  server role that may create databases.

Every figure is the median of ``--repeat`` runs, with the fastest and the
slowest, and the 1-minute load average while they ran (the machine is
shared: compare a figure with the floor measured in the same run). Prints the
tables; writes the ``planning`` section of docs/benchmarks.md unless
``--no-write``.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._db import pg_database  # noqa: E402
from bench._report import machine_line, md_table, write_section  # noqa: E402

AS_OF = dt.date(2025, 6, 1)
COLUMNS = ["site", "building", "location", "manufacturer", "model", "serial", "mid_class", "qp_m3h", "qp_qi_ratio",
           "install_date", "battery_expiry", "dtheta_min_k", "dtheta_max_k"]
FAMILIES = [("Kamstrup", "Multical 603"), ("Landis+Gyr", "UH50"), ("Sontex", "Supercal 531"),
            ("Itron", "CF Echo 2"), ("Diehl", "Sharky 775"), ("Engelmann", "SensoStar U")]
QPS = (0.6, 1.5, 2.5, 3.5)


def generate(n: int, seed: int = 11) -> list[list[str]]:
    """Meters installed 2008-2020 on 40 sites; a tenth with a year-only date; a third with a battery date."""
    rnd = random.Random(seed)
    first, span = dt.date(2008, 1, 1), (dt.date(2020, 12, 31) - dt.date(2008, 1, 1)).days
    rows = []
    for i in range(n):
        make, model = FAMILIES[i % len(FAMILIES)]
        d = first + dt.timedelta(days=rnd.randrange(span + 1))
        rows.append([f"Site {i % 40}", f"Block {i % 13}", f"Flat {i}", make, model, str(40_000_000 + i),
                     rnd.choice("223"), str(rnd.choice(QPS)), "100", str(d.year) if i % 10 == 0 else d.isoformat(),
                     dt.date(d.year + 12, d.month, 1).isoformat() if i % 3 == 0 else "", "3", "100"])
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(rows)


class Timing:
    """Times of one figure over the repeats, with the load average around them."""

    def __init__(self, times: list[float], load: tuple[float, float]) -> None:
        self.times, self.load = times, load

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def __lt__(self, other: float) -> bool:   # goals compare the median
        return self.median < other

    def text(self, ms: bool = False) -> str:
        f = (lambda x: f"{x * 1000:.0f} ms") if ms else (lambda x: f"{x:.2f} s")
        spread = f" ({f(min(self.times))}-{f(max(self.times))})" if len(self.times) > 1 else ""
        return f"{f(self.median)}{spread}"

    def __repr__(self) -> str:
        return f"{self.median:.3f}s[{min(self.times):.3f}-{max(self.times):.3f}] load {self.load[0]:.1f}-{self.load[1]:.1f}"


def best(fn, repeat: int):
    """Run ``fn`` ``repeat`` times: its ``Timing`` and its last result."""
    times, out = [], None
    load0 = os.getloadavg()[0]
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return Timing(times, (load0, os.getloadavg()[0])), out


def run_core(rows: list[list[str]], repeat: int) -> dict:
    from app.core.lots import MeterInfo, form_lots
    from app.core.schedule import compute_schedule
    from app.storage.planning import bulk_objects

    def parse(t: str) -> tuple[dt.date, bool]:
        return (dt.date(int(t), 7, 1), True) if len(t) == 4 else (dt.date.fromisoformat(t), False)

    # The records as a loader has them in memory (typed values), before planning builds its own.
    typed = []
    for i, r in enumerate(rows):
        d, year_only = parse(r[9])
        typed.append((str(i + 1), r[3], r[4], float(r[7]), d, year_only, r[0], r[5], int(r[6]),
                      dt.date.fromisoformat(r[10]) if r[10] else None))

    def build():
        with bulk_objects():
            return [MeterInfo(i, mk, mo, qp, d, yo, False, s, sn, c, b is not None, None, None, None, b)
                    for i, mk, mo, qp, d, yo, s, sn, c, b in typed]

    res: dict = {}
    res["build_s"], meters = best(build, repeat)
    res["schedule_s"], s = best(lambda: compute_schedule(meters, AS_OF, 12), repeat)
    res["form_s"], f = best(lambda: form_lots(meters), repeat)
    res["lots"] = len(f.lots)
    res["totals"] = s.totals
    return res


def floor_sqlite(path: Path) -> float:
    import sqlite3

    con = sqlite3.connect(path)
    t0 = time.perf_counter()
    con.execute("SELECT id, manufacturer, model, serial, site_id, qp_m3h, mid_class, install_date, "
                "install_year_only, battery_expiry FROM meters WHERE restrict_processing = 0 "
                "AND status = 'in_service'").fetchall()
    t = time.perf_counter() - t0
    con.close()
    return t


def floor_pg(url: str) -> float:
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as con:
        t0 = time.perf_counter()
        con.execute("SELECT id, manufacturer, model, serial, site_id, qp_m3h, mid_class, install_date, "
                    "install_year_only, battery_expiry FROM meters WHERE restrict_processing = false "
                    "AND status = 'in_service'").fetchall()
        return time.perf_counter() - t0


def run_register(url: str, csv_path: Path, n: int, repeat: int, floor, tmp: Path, cli: bool,
                 expected_totals: dict, store: bool = True) -> dict:
    from app.storage import planning
    from app.storage.register import open_register

    res: dict = {}
    reg = open_register(url)
    try:
        t0 = time.perf_counter()
        rep = reg.import_file(csv_path, user="bench")
        res["import_s"] = time.perf_counter() - t0
        assert rep.created == n, rep
        res["floor_s"], _ = best(floor, repeat)

        def load():
            with planning.bulk_objects():
                return planning.load_planning_data(reg)
        res["load_s"], data = best(load, repeat)
        res["schedule_s"], s = best(lambda: planning.schedule(reg, AS_OF, horizon_months=12), repeat)
        assert len(s.rows) == n
        res["totals"] = s.schedule.totals
        assert res["totals"] == expected_totals, (res["totals"], expected_totals)  # same answer as the pure core
        res["json_s"], _ = best(lambda: json.dumps(s.as_dict(), separators=(",", ":")), repeat)
        res["csv_s"], _ = best(lambda: s.write_csv(io.StringIO()), repeat)
        res["form_dry_s"], f = best(lambda: planning.form_lots(reg, as_of=AS_OF, dry_run=True), repeat)
        res["form_window_meters"] = sum(lot["size"] for lot in f.lots)
        res["form_all_dry_s"], fa = best(lambda: planning.form_lots(reg, as_of=AS_OF, all_meters=True,
                                                                     dry_run=True), repeat)
        res["form_all_lots"] = len(fa.lots)
        if not store:
            page_paths(reg, res, repeat)
            return res
        t0 = time.perf_counter()
        stored = planning.form_lots(reg, as_of=AS_OF, all_meters=True, user="bench")
        res["form_all_store_s"] = time.perf_counter() - t0
        res["stored_members"] = sum(lot["size"] for lot in stored.lots)
        # Every lot decided (verdict rows only: no draw needed to exercise the schedule's lot look-up).
        for i, lot in enumerate(stored.lots):
            reg.record_lot_verdict(lot["id"], decided_on=dt.date(2024, 1, 1), verdict="fail" if i % 7 == 0 else "pass",
                                   user="bench")
        res["schedule_lots_s"], s2 = best(lambda: planning.schedule(reg, AS_OF, horizon_months=12), repeat)
        res["totals_lots"] = s2.schedule.totals
        res["deadlines"] = sum(len(r.deadlines) for r in s2.schedule.rows)
        page_paths(reg, res, repeat)
        if cli:
            out = tmp / "schedule.csv"
            exe = Path(sys.executable).with_name("heatmeter")
            cmd = [str(exe), "schedule", "--db", url, "--as-of", AS_OF.isoformat(), "--csv", str(out)]
            res["cli_s"], _ = best(lambda: subprocess.run(cmd, check=True, capture_output=True), repeat)
    finally:
        reg.close()
    return res


def page_paths(reg, res: dict, repeat: int) -> None:
    """The register page: first page + count (first paint), the in-memory index (loaded in a worker after the
    first paint), filters over it (site + search word; a search word alone) and the counts in the filter lists
    that follow each filter, one filter over the SQL path; the due states the page loads behind."""
    from app.storage import browse

    res["first_page_s"], _ = best(lambda: browse.first_page(reg, browse.Filters(), 200), repeat)
    res["index_load_s"], idx = best(lambda: browse.BrowseIndex.load(reg), max(1, min(repeat, 3)))
    flt = browse.Filters(site="Site 7", search="Flat 12")
    res["filter_s"], ids = best(lambda: idx.select(flt), repeat)
    res["filter_hits"] = len(ids)
    word = browse.Filters(search="flat 1234")
    res["filter_word_s"], ids = best(lambda: idx.select(word), repeat)
    res["filter_word_hits"] = len(ids)
    res["facets_s"], _ = best(lambda: idx.facets(flt), repeat)
    res["filter_sql_s"], _ = best(lambda: browse.first_page(reg, flt, 200), repeat)
    res["due_states_s"], _ = best(lambda: browse.due_states(reg, AS_OF), max(1, min(repeat, 3)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", default=os.environ.get("HEATMETER_TEST_PG") or None)
    ap.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    ap.add_argument("--only-pg", action="store_true", help="skip SQLite (the 1,000,000-meter goals are on PostgreSQL)")
    ap.add_argument("--no-cli", action="store_true", help="skip the whole-process heatmeter schedule --csv")
    ap.add_argument("--no-store", action="store_true",
                    help="skip storing lots of every meter (and the schedule with every meter in a decided lot)")
    args = ap.parse_args(argv)
    n, rep = args.rows, args.repeat
    rows = generate(n)
    core = run_core(rows, rep)
    print("core", core, file=sys.stderr)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "meters.csv"
        write_csv(csv_path, rows)
        db = tmp / "register.db"
        if not args.only_pg:
            results["SQLite"] = run_register(f"sqlite:///{db}", csv_path, n, rep, lambda: floor_sqlite(db), tmp,
                                             not args.no_cli, core["totals"], not args.no_store)
            print("sqlite", results["SQLite"], file=sys.stderr)
        if args.pg:
            url, drop = pg_database(args.pg)
            try:
                results["PostgreSQL"] = run_register(url, csv_path, n, rep, lambda: floor_pg(url), tmp,
                                                     not args.no_cli, core["totals"], not args.no_store)
            finally:
                drop()
            print("postgresql", results["PostgreSQL"], file=sys.stderr)

    def s(x):
        return x.text() if isinstance(x, Timing) else f"{x:.2f} s"

    def ms(x):
        return x.text(ms=True)

    def load(r):
        lo = min(v.load[0] for v in r.values() if isinstance(v, Timing))
        hi = max(v.load[1] for v in r.values() if isinstance(v, Timing))
        return f"{lo:.1f}-{hi:.1f}"

    t_core = md_table(["pure core", f"build {n:,} MeterInfo", "compute_schedule", "form_lots (every meter)"],
                      [["app.core", s(core["build_s"]), s(core["schedule_s"]),
                        f"{s(core['form_s'])} ({core['lots']:,} lots)"]])
    rows1 = []
    for name, r in results.items():
        rows1.append([name, load(r), s(r["floor_s"]), s(r["load_s"]), s(r["schedule_s"]),
                      f"{r['schedule_s'].median / r['floor_s'].median:.2f}x",
                      s(r["schedule_lots_s"]) if "schedule_lots_s" in r else "not run",
                      s(r["json_s"]), s(r["csv_s"]), s(r["cli_s"]) if "cli_s" in r else "not run"])
    t_sched = md_table(["database", "load average", "floor: driver fetch of the meter columns", "load",
                        "schedule = load + compute", "schedule / floor", "schedule, every meter in a decided lot",
                        "JSON of it", "CSV of it", "`heatmeter schedule --csv` (whole process)"], rows1)
    rows2 = []
    for name, r in results.items():
        rows2.append([name, f"{s(r['form_dry_s'])} ({r['form_window_meters']:,} meters due)",
                      f"{s(r['form_all_dry_s'])} ({r['form_all_lots']:,} lots)",
                      f"{s(r['form_all_store_s'])} ({r['stored_members']:,} members)" if "form_all_store_s" in r
                      else "not run"])
    t_form = md_table(["database", "form lots, 12-month window (dry run)", "form lots of every meter (dry run)",
                       "form and store lots of every meter"], rows2)
    t_page = md_table(["database", "register page: first 200 + count (first paint)", "index load (worker)",
                       "filter on the index (site + word)", "search words alone", "filter lists' counts",
                       "the same filter in SQL (first 200 + count)", "due states (worker)"],
                      [[name, ms(r["first_page_s"]), s(r["index_load_s"]),
                        f"{ms(r['filter_s'])} ({r['filter_hits']:,} meters)",
                        f"{ms(r['filter_word_s'])} ({r['filter_word_hits']:,} meters)", ms(r["facets_s"]),
                        ms(r["filter_sql_s"]), s(r["due_states_s"])] for name, r in results.items()])
    print(t_page)
    sq = results.get("SQLite") or next(iter(results.values()))
    big = n >= 1_000_000
    goals = []
    for name, r in results.items():
        if big:
            ok = {"schedule < 10 s": r["schedule_s"] < 10.0, "lots dry run < 20 s": r["form_dry_s"] < 20.0,
                  "first paint < 1 s": r["first_page_s"] < 1.0, "filter < 300 ms": r["filter_s"] < 0.3}
        else:
            ok = {"schedule < 2 s": r["schedule_s"] < 2.0 and r.get("schedule_lots_s", 0) < 2.0}
        goals.append(f"{name}: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in ok.items()))
    totals = ", ".join(f"{k} {v:,}" for k, v in sq["totals"].items())
    md = f"""Planning (`bench/planning.py`): {n:,} generated meters (6 makes, 4 qp, installed 2008-2020 on 40 sites,
a tenth with a year-only date, a third with a battery end of life), schedule on {AS_OF.isoformat()} with a
12-month horizon ({totals}). The pure core works on records already in memory; through the register
the figures include reading the database (`app.storage.planning.load_planning_data`: the in-service
meters' columns, packed by the server on PostgreSQL, the installation history of meters installed more
than once, recalibrations, lot memberships with their verdicts). The floor is the bare driver fetching
the same meter columns as Python rows, measured in the same run. Median of {rep} runs (fastest-slowest
in brackets); the load average is the 1-minute figure before and after the runs (2 cores shared with
other work). {machine_line()}

{t_core}

{t_sched}

{t_form}

{t_page}

Goals ({"1,000,000 meters" if big else "100,000 meters"}): {"; ".join(goals)}.
The whole `heatmeter schedule --csv` process adds interpreter start-up, opening (and checking the schema
of) the database and writing the file.
"""
    print(md)
    if not args.no_write:
        write_section("planning", md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
