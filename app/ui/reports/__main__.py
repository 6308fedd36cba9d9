"""Draw a report PDF in its own process: ``python -m app.ui.reports evidence --site S --pdf FILE [--db URL]``.

``heatmeter report`` runs this for ``--pdf`` so that the CLI process itself
never loads Qt (the PDF writer is Qt's). One line on stderr and exit 2 for
bad input or a database that cannot be opened.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="heatmeter report (pdf)")
    sub = p.add_subparsers(dest="kind", required=True)
    e = sub.add_parser("evidence")
    e.add_argument("--site", required=True)
    e.add_argument("--pdf", required=True)
    e.add_argument("--db")
    e.add_argument("--as-of")
    e.add_argument("--include-restricted", action="store_true")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from app.storage import reports
    from app.storage.errors import RegisterError
    from app.storage.register import open_register
    from app.ui.reports.render import evidence_pdf

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # fonts for the PDF writer
    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
        with open_register(args.db) as reg:
            pack = reports.evidence_pack(reg, args.site, as_of=as_of, include_restricted=args.include_restricted)
        evidence_pdf(args.pdf, pack)
    except RegisterError as exc:
        print(f"heatmeter: {exc}", file=sys.stderr)
        return exc.status
    except OSError as exc:
        print(f"heatmeter: cannot write {args.pdf}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
