"""``heatmeter report``: reports from the register (HNTAS evidence pack).

    heatmeter report evidence (--site S [--site S2 ...] | --estate) [--csv FILE] [--sizing-csv FILE] [--pdf FILE]
                              [--as-of DATE] [--json]

The CSV files are written here; the PDF is drawn from the same data with Qt's
PDF writer in a child process (``python -m app.ui.reports``, or the packaged
``heatmeter-gui --render-report``), so this command never loads Qt itself.
"""
from __future__ import annotations

import os
import subprocess
import sys

from app.cli.errors import UserError
from app.cli.options import add_db, print_json


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="reports from the register: the HNTAS evidence pack",
                              description="Reports from the meter register.")
    sub = p.add_subparsers(dest="report_command", metavar="REPORT", parser_class=type(p))
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    sp = sub.add_parser("evidence", help="HNTAS evidence pack of a site, several, or the estate: E28 meter records, "
                                         "E27 sizing calculations",
                        description="E28 thermal energy meter records (make, type, serial, year of install, "
                                    "commissioning date, technician and verdict, recalibration date or sampling "
                                    "evidence; a failed recalibration shown as failed) and E27 meter sizing "
                                    "calculations (for the meters whose design load is stored) of every meter of "
                                    "one site, several sites, or the whole estate.")
    where = sp.add_mutually_exclusive_group(required=True)
    where.add_argument("--site", metavar="S", action="append",
                       help="a site (heat network) as named in the register; repeat for several")
    where.add_argument("--estate", action="store_true", help="every site of the register")
    sp.add_argument("--csv", metavar="FILE", help="E28 meter records as CSV ('-' for stdout)")
    sp.add_argument("--sizing-csv", metavar="FILE", help="E27 sizing calculations as CSV")
    sp.add_argument("--pdf", metavar="FILE", help="the whole pack as PDF")
    sp.add_argument("--as-of", metavar="DATE", help="schedule date (YYYY-MM-DD, default today)")
    sp.add_argument("--include-restricted", action="store_true",
                    help="also meters whose processing is restricted (MMS 2.2.5)")
    sp.add_argument("--json", action="store_true", help="print the counts as JSON")
    add_db(sp)
    sp.set_defaults(func=cmd_evidence)


def _render_command() -> list[str]:
    """How to start the PDF renderer: the packaged GUI executable, or this Python."""
    if getattr(sys, "frozen", False):
        folder = os.path.dirname(sys.executable)
        exe = "heatmeter-gui.exe" if os.name == "nt" else "heatmeter-gui"
        return [os.path.join(folder, exe), "--render-report"]
    return [sys.executable, "-m", "app.ui.reports"]


def render_pdf(kind: str, data, path: str) -> None:
    """Draw a PDF (``evidence``, ``jobs``, ``lot``) of ``data`` in a child process (Qt's PDF writer)."""
    import pickle
    import tempfile

    with tempfile.TemporaryDirectory(prefix="heatmeter-report-") as tmp:
        blob = os.path.join(tmp, "data.pickle")
        with open(blob, "wb") as f:
            pickle.dump(data, f)
        p = subprocess.run(_render_command() + [kind, blob, path], capture_output=True, text=True)
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.splitlines() if ln.startswith("heatmeter: ")]
        msg = lines[-1][len("heatmeter: "):] if lines else f"the PDF could not be drawn (exit {p.returncode})"
        raise UserError(msg, 2)


def cmd_evidence(args) -> int:
    from app.storage import reports
    from app.storage.errors import RegisterError
    from app.storage.register import open_register

    if not (args.csv or args.sizing_csv or args.pdf or args.json):
        raise UserError("say what to write: --csv FILE, --sizing-csv FILE, --pdf FILE or --json", 2)
    to_stdout = [o for o, v in (("--csv", args.csv), ("--sizing-csv", args.sizing_csv), ("--json", args.json))
                 if v == "-" or v is True]
    if len(to_stdout) > 1:
        raise UserError(f"{' and '.join(to_stdout)} would both write to standard output: give a FILE to all but one", 2)
    from app.cli.options import parse_date

    as_of = parse_date(args.as_of, "--as-of")
    for path in (args.csv, args.sizing_csv, args.pdf):
        if path and path != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UserError(f"cannot write {path}: no folder {os.path.dirname(os.path.abspath(path))}", 2)
    try:
        with open_register(args.db) as reg:
            pack = reports.evidence_pack(reg, None if args.estate else args.site, as_of=as_of,
                                         include_restricted=args.include_restricted)
            if args.csv:
                reports.write_csv(sys.stdout if args.csv == "-" else args.csv, *reports.e28_table(pack))
            if args.sizing_csv:
                reports.write_csv(sys.stdout if args.sizing_csv == "-" else args.sizing_csv, *reports.e27_table(pack))
    except RegisterError as exc:
        raise UserError(str(exc), exc.status) from None
    if args.pdf:
        render_pdf("evidence", pack, args.pdf)
    if args.json:
        print_json({"site": pack.site, "sites": pack.sites, "as_of": pack.as_of.isoformat(), "counts": pack.counts,
                    "restricted_left_out": pack.restricted_left_out,
                    "written": [p for p in (args.csv, args.sizing_csv, args.pdf) if p and p != "-"]})
    return 0
