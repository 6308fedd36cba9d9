"""Draw a report PDF in its own process: ``python -m app.ui.reports evidence|jobs DATA.pickle FILE.pdf``.

``heatmeter report`` gathers the report's data, saves it to a temporary file
and runs this for ``--pdf``, so that the CLI process itself never loads Qt
(the PDF writer is Qt's). One line on stderr and exit 2 when the PDF cannot
be written.
"""
from __future__ import annotations

import os
import pickle
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("evidence", "jobs"):
        print("heatmeter: usage: python -m app.ui.reports evidence|jobs DATA.pickle FILE.pdf", file=sys.stderr)
        return 2
    kind, data, pdf = args
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from app.ui.reports.render import evidence_pdf, jobs_pdf

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # fonts for the PDF writer
    with open(data, "rb") as f:
        pack = pickle.load(f)  # written by heatmeter report a moment ago, in its own temporary folder
    try:
        (evidence_pdf if kind == "evidence" else jobs_pdf)(pdf, pack)
    except OSError as exc:
        print(f"heatmeter: cannot write {pdf}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
