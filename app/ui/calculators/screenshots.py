"""Screenshots of every calculator tab and of the planner's views, as ``heatmeter-gui --screenshot`` takes them.

    python -m app.ui.calculators.screenshots docs/screenshots [--larger-text] [--page calculators|planner]
                                              [--only mpe,sizing]

Calculators: ``calculators-<kind>.png`` for each tab with its worked example.
Planner: ``planner-lots.png``, the Lots view on the demo register's decided
lot (the Due view is ``heatmeter-gui --demo --page planner --screenshot``).
``-larger`` is appended with larger text. 1366x768, demo data, throw-away
settings, like the app's own screenshot mode.
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
    ap.add_argument("--page", choices=("calculators", "planner"), default="calculators")
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
    suffix = "-larger" if args.larger_text else ""
    with tempfile.TemporaryDirectory(prefix="heatmeter-shot-") as tmp:
        settings = Settings(QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat))
        ctx = AppContext(settings, demo=True, screenshot=True, text_scale=theme.text_scale(args.larger_text))
        ctx.demo_dir = tmp
        from app.ui.demo import connect_demo_bus

        connect_demo_bus(ctx)
        win = MainWindow(ctx, initial_page=args.page)
        win.resize(*SCREENSHOT_SIZE)
        win.show()
        page = win.current_page()
        page.prepare_demo()
        _wait_idle(app, ctx, 60)
        shots = []
        if args.page == "calculators":
            from app.ui.pages.calculators import CALCULATORS

            only = [k for k in args.only.split(",") if k]
            for kind, _title, _target in CALCULATORS:
                if not only or kind in only:
                    shots.append((f"calculators-{kind}{suffix}.png", lambda k=kind: page.show_form(k)))
        else:
            def lot_tab(status: str, tab: str):
                def show():
                    page.tabs.setCurrentIndex(1)
                    lot = next(lt for lt in page.lots.lots if lt["status"] == status)
                    page.lots.open_lot(lot["id"], tab)
                return show

            def form_preview():
                from PySide6.QtCore import QDate

                page.tabs.setCurrentIndex(1)
                page.lots.show_form_panel()
                page.lots.f_as_of.setDate(QDate(2026, 6, 1))   # a year after the demo round: new lots
                page.lots.form_lots(dry_run=True)

            shots.append((f"planner-lots{suffix}.png", lambda: page.tabs.setCurrentIndex(1)))
            shots.append((f"planner-results{suffix}.png", lot_tab("drawn", "results")))
            shots.append((f"planner-members{suffix}.png", lot_tab("verdict_fail", "plan")))
            shots.append((f"planner-form{suffix}.png", form_preview))
        for name, show in shots:
            show()
            _wait_idle(app, ctx, 30)
            path = os.path.join(args.folder, name)
            if not win.grab().save(path, "PNG"):
                print(f"cannot write {path}", file=sys.stderr)
                return 1
            print(path)
        win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
