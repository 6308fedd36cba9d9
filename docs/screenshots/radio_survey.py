"""Screenshots of the connectivity survey (docs/screenshots/radio-survey*.png) and its PDF report.

    .venv/bin/python docs/screenshots/radio_survey.py [--larger-text]
    pdftoppm -png -r 60 docs/screenshots/radio-survey-report.pdf docs/screenshots/radio-survey-report

Demo mode in a throw-away folder: the simulated block of flats (48 meters on six floors), surveyed from
three locations (ground floor, 2nd and 5th floor: in SIMULATION the floor moves the simulated receiver),
twenty minutes each on the simulated clock; the Survey tab rendered at 1366x768, the survey saved in the demo
register and its report written as PDF next to the screenshot.
"""
from __future__ import annotations

import sys
from pathlib import Path

from _shot import Shot  # sets up the import path and Qt's platform

HERE = Path(__file__).resolve().parent


def main() -> int:
    from app.ui.mainwindow import MainWindow

    larger = "--larger-text" in sys.argv
    session = Shot(larger)
    app, ctx, tmp, wait = session.app, session.ctx, session.tmp, session.wait
    win = MainWindow(ctx, initial_page="radio")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()

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
