"""Screenshots of the connectivity survey (docs/screenshots/radio-survey*.png) and its PDF report.

    .venv/bin/python docs/screenshots/radio_survey.py [--larger-text]
    pdftoppm -png -r 60 docs/screenshots/radio-survey-report.pdf docs/screenshots/radio-survey-report

Demo mode in a throw-away folder: the simulated block of flats (48 meters on six floors), surveyed from
three locations (ground floor, 2nd and 5th floor: in SIMULATION the floor moves the simulated receiver),
twenty minutes each on the simulated clock; the Survey tab rendered at 1366x768, the survey saved in the demo
register and its report written as PDF next to the screenshot.
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
HERE = Path(__file__).resolve().parent


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

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
    win = MainWindow(ctx, initial_page="radio")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()

    def wait(cond, timeout=120):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("timed out")
            app.processEvents()
            ctx.tasks.pool.waitForDone(10)

    ctx.keys.import_text_now(page.service.simulated_keys_csv(), "simulated meters' keys")
    page._select_source("simulator")
    page.service.sim_speed = 300.0
    page.tabs.setCurrentIndex(1)
    sv = page.survey
    wait(lambda: ctx.tasks.is_idle())
    sv.site_combo.setEditText("Riverside Court")
    sv.name_edit.setText("Before handover")
    sv.tech_edit.setText("A. Technician")
    sv.minutes_spin.setValue(20)     # five send intervals of the slowest simulated meters (240 s)
    for name, floor, riser in (("Plant room", "0", "R1"), ("Landing", "2", "R1"), ("Landing", "5", "R2")):
        sv.loc_edit.setText(name)
        sv.floor_edit.setText(floor)
        sv.riser_edit.setText(riser)
        sv.listen_here()
        wait(lambda: sv.active is None)
    page.stop()
    wait(lambda: not page.service.running and sv.result is not None
         and len(sv.result.survey.locations) == 3 and ctx.tasks.is_idle())
    sv.save()
    wait(lambda: sv.saved_id is not None and ctx.tasks.is_idle())
    page.banner.clear()
    for _ in range(5):
        app.processEvents()
    name = "radio-survey-larger.png" if larger else "radio-survey.png"
    ok = win.grab().save(str(HERE / name), "PNG")
    if not larger:
        sv.export_to(str(HERE / "radio-survey-report.pdf"), "pdf")
        wait(lambda: ctx.tasks.is_idle())
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
