"""Render every calculator tab (and the planner) as screenshots, the way ``heatmeter-gui --screenshot`` does.

    python -m app.ui.calculators.screenshots docs/screenshots [--larger-text] [--only mpe,sizing]

Writes ``calculators-<kind>.png`` (``-larger`` with larger text) for each
calculator at 1366x768 with the demo examples filled in. ``heatmeter-gui
--demo --page calculators --screenshot FILE`` gives the first tab.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m app.ui.calculators.screenshots")
    ap.add_argument("folder")
    ap.add_argument("--larger-text", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated calculator kinds")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.ui import theme
    from app.ui.context import AppContext
    from app.ui.main import SCREENSHOT_SIZE, _wait_idle
    from app.ui.mainwindow import MainWindow
    from app.ui.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="heatmeter-shot-") as tmp:
        settings = Settings(QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat))
        ctx = AppContext(settings, demo=True, screenshot=True, text_scale=theme.text_scale(args.larger_text))
        ctx.demo_dir = tmp
        win = MainWindow(ctx, initial_page="calculators")
        win.resize(*SCREENSHOT_SIZE)
        win.show()
        page = win.current_page()
        page.prepare_demo()
        only = [k for k in args.only.split(",") if k]
        suffix = "-larger" if args.larger_text else ""
        from app.ui.pages.calculators import CALCULATORS

        for kind, _title, _target in CALCULATORS:
            if only and kind not in only:
                continue
            page.show_form(kind)
            _wait_idle(app, ctx, 10)
            path = os.path.join(args.folder, f"calculators-{kind}{suffix}.png")
            if not win.grab().save(path, "PNG"):
                print(f"cannot write {path}", file=sys.stderr)
                return 1
            print(path)
        win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
