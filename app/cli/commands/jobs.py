"""``heatmeter jobs``: job lists for technicians, per site, and their results read back.

    heatmeter jobs export [--as-of D] [--horizon-months N] [--site S] [--lot LOT]
                          [--csv FILE] [--xlsx FILE] [--pdf FILE]
    heatmeter jobs import FILE        # the filled-in list (CSV or XLSX): all or nothing

See ``app.services.joblists`` for the columns and the results it reads.
"""
from __future__ import annotations

import datetime as dt
import os
import sys

from app.cli.errors import UserError
from app.cli.options import add_db, add_user, parse_date, print_json, user_of


def register(subparsers) -> None:
    p = subparsers.add_parser("jobs", help="job lists for technicians per site, and their results read back",
                              description="Job lists from the schedule (every meter due within the horizon or "
                                          "overdue) or from a drawn lot: address, location, meter, what to do and "
                                          "room for the result; the filled-in list read back records the work.")
    sub = p.add_subparsers(dest="jobs_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    sp = sub.add_parser("export", help="write the job list (CSV, XLSX one sheet per site, PDF one section per site)")
    sp.add_argument("--as-of", metavar="YYYY-MM-DD", help="schedule date (default today)")
    sp.add_argument("--horizon-months", type=int, default=3, metavar="N", help="jobs due within N months (default 3)")
    sp.add_argument("--no-sampling", action="store_true", help="the operator replaces at 10 years (no sampling jobs)")
    sp.add_argument("--site", metavar="S", help="only this site")
    sp.add_argument("--lot", metavar="LOT", help="the drawn meters of this lot instead of the schedule")
    sp.add_argument("--csv", metavar="FILE")
    sp.add_argument("--xlsx", metavar="FILE")
    sp.add_argument("--pdf", metavar="FILE", help="printable: one section per site, room for the result")
    sp.add_argument("--json", action="store_true", help="print the counts as JSON")
    add_db(sp)
    sp.set_defaults(func=cmd_export)
    sp = sub.add_parser("import", help="record the results of a filled-in job list (all or nothing)")
    sp.add_argument("file", metavar="FILE", help="the job list, CSV or XLSX, with done_on and result filled in")
    sp.add_argument("--json", action="store_true")
    add_db(sp)
    add_user(sp)
    sp.set_defaults(func=cmd_import)


def cmd_export(args) -> int:
    from app.cli.commands._open import lot_number, opened
    from app.services import joblists

    if not (args.csv or args.xlsx or args.pdf or args.json):
        raise UserError("say what to write: --csv FILE, --xlsx FILE, --pdf FILE or --json")
    if args.horizon_months < 0:
        raise UserError("horizon-months: must not be negative")
    as_of = parse_date(args.as_of, "--as-of") or dt.date.today()
    for path in (args.csv, args.xlsx, args.pdf):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UserError(f"cannot write {path}: no folder {os.path.dirname(os.path.abspath(path))}")
    with opened(args) as reg:
        jobs = joblists.job_list(reg, as_of=as_of, horizon_months=args.horizon_months, site=args.site,
                                 lot_id=lot_number(args.lot) if args.lot else None,
                                 plan_sampling=not args.no_sampling)
        joblists.write_jobs(jobs, csv_path=args.csv, xlsx_path=args.xlsx)
    if args.pdf:
        from app.cli.commands.report import render_pdf

        render_pdf("jobs", joblists.pdf_data(jobs, as_of=as_of, lot_id=lot_number(args.lot) if args.lot else None),
                   args.pdf)
    sites = joblists.by_site(jobs)
    if args.json:
        print_json({"jobs": len(jobs), "sites": {k: len(v) for k, v in sites.items()},
                    "written": [p for p in (args.csv, args.xlsx, args.pdf) if p]})
    else:
        print(f"heatmeter: {len(jobs)} job(s) at {len(sites)} site(s)", file=sys.stderr)
    return 0


def cmd_import(args) -> int:
    from app.cli.commands._open import opened
    from app.services import joblists

    with opened(args) as reg:
        out = joblists.import_results(reg, args.file, user=user_of(args))
    if args.json:
        print_json(out)
    else:
        print(f"{out['file']}: {out['results']} result(s) recorded: "
              + ", ".join(f"{k} {v}" for k, v in sorted(out["counts"].items())))
    return 0
