"""Screenshot of the Register page's meter page (docs/screenshots/register-meter.png).

    .venv/bin/python docs/screenshots/register_meter.py [--larger-text]

The demo register in a throw-away folder, the first commissioned meter of the
evidence site opened on its Commissioning tab, rendered at 1366x768.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.storage.demo import DEMO_EVIDENCE_SITE
    from app.ui import theme
    from app.ui.context import AppContext
    from app.ui.mainwindow import MainWindow
    from app.ui.settings import Settings

    larger = "--larger-text" in sys.argv
    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = tempfile.TemporaryDirectory(prefix="heatmeter-shot-")
    settings = Settings(QSettings(os.path.join(tmp.name, "s.ini"), QSettings.Format.IniFormat))
    ctx = AppContext(settings, demo=True, screenshot=True, text_scale=theme.text_scale(larger))
    ctx.demo_dir = tmp.name
    win = MainWindow(ctx, initial_page="register")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()

    def wait(cond, timeout=60):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("timed out")
            app.processEvents()
            ctx.tasks.pool.waitForDone(10)

    wait(lambda: page.index is not None and page.due_map is not None and ctx.tasks.is_idle())
    meter = ctx.register().list_meters(site=DEMO_EVIDENCE_SITE)[1]
    page.open_meter(meter.id)
    wait(lambda: page.meter_view.dossier is not None and ctx.tasks.is_idle())
    page.meter_view.tabs.setCurrentIndex(2)
    for _ in range(5):
        app.processEvents()
    name = "register-meter-larger.png" if larger else "register-meter.png"
    ok = win.grab().save(str(Path(__file__).resolve().parent / name), "PNG")
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
