"""``heatmeter schedule``: every meter's maintenance state and due date (MMS 1.3.3, 1.3.6; maintenance spec)."""
from __future__ import annotations

import datetime as dt
import sys

from app.cli.errors import UserError
from app.cli.options import add_db, add_user, print_json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "schedule", help="maintenance schedule: each meter's state and due date, counts per month and site",
        description="For a date D, every meter in service gets every deadline still ahead or overdue (replace, "
                    "sampling_9y, sampling_13y, battery), its flags (class_below_2, install_date_unknown, "
                    "failed_recalibration, defective_in_passed_lot, restricted, at_lab) and one state with its due "
                    "date: in_service, sampling_due, recalibrate_or_replace_due, battery_due, overdue. Due dates "
                    "before D + horizon count (half-open). Stored lot verdicts count (a passed 9-year lot may stay to "
                    "14 years). See docs/planning.md.")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="the date D (default today)")
    p.add_argument("--horizon-months", type=int, default=12, metavar="N",
                   help="what falls due before D + N months is due; later is in_service (default 12)")
    p.add_argument("--site", metavar="S", help="only this site")
    p.add_argument("--no-sampling", action="store_true",
                   help="the operator replaces at 10 years: no 9/13-year sampling events (MMS 1.3.3)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true",
                     help="one JSON object: totals, counts per month and per site, and every meter")
    out.add_argument("--csv", nargs="?", const="-", metavar="FILE",
                     help="the list with the reason for each meter as CSV, to FILE (default stdout)")
    p.add_argument("--counts-only", action="store_true", help="with --json: leave the list of meters out")
    add_db(p)
    add_user(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from app.cli.commands._open import opened
    from app.cli.options import parse_date

    as_of = parse_date(args.as_of, "--as-of") or dt.date.today()
    if args.horizon_months < 0:
        raise UserError("horizon-months: must not be negative")
    if args.horizon_months > 1200:
        raise UserError(f"horizon-months: at most 1,200 (a hundred years), not {args.horizon_months:,}")
    from app.services import planner

    with opened(args) as reg:
        s = planner.schedule(reg, as_of, horizon_months=args.horizon_months, site=args.site,
                              plan_sampling=not args.no_sampling)
    if args.json:
        print_json(s.as_dict(meters=not args.counts_only))
        return 0
    if args.csv is not None:
        if args.csv == "-":
            n = s.write_csv(sys.stdout)
        else:
            from app.storage.errors import RegisterError

            try:
                n = s.write_csv(args.csv)
            except RegisterError as exc:
                raise UserError(str(exc), exc.status) from None
            print(f"heatmeter: wrote {n} meters to {args.csv}", file=sys.stderr)
        return 0
    d = s.as_dict(meters=False)
    w = sys.stdout.write
    w(f"schedule on {d['as_of']} (due before {d['horizon_end']}){' at ' + args.site if args.site else ''}: "
      f"{d['total']} meters\n")
    for state, n in d["totals"].items():
        w(f"  {state:<28} {n:>7}\n")
    if d["by_month"]:
        states = [k for k in d["totals"] if k not in ("in_service", "overdue")]
        w("month    " + "  ".join(f"{k:>26}" for k in states) + "\n")
        for month, counts in d["by_month"].items():
            w(f"{month}  " + "  ".join(f"{counts.get(k, 0):>26}" for k in states) + "\n")
    if d["deadlines_by_month"]:
        kinds = ("replace", "sampling_9y", "sampling_13y", "battery")
        w("deadlines per month (each deadline once)\nmonth    " + "  ".join(f"{k:>12}" for k in kinds) + "\n")
        for month, counts in d["deadlines_by_month"].items():
            w(f"{month}  " + "  ".join(f"{counts.get(k, 0):>12}" for k in kinds) + "\n")
    if d["flag_totals"]:
        w("flags: " + ", ".join(f"{k} {v}" for k, v in d["flag_totals"].items()) + "\n")
    w("per site:\n")
    for site, counts in d["by_site"].items():
        w(f"  {site or '(no site)'}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v) + "\n")
    return 0
