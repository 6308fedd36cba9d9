"""Screenshot of a radio meter in the Commission wizard (docs/screenshots/commission-radio*.png).

    .venv/bin/python docs/screenshots/commission_radio.py [--larger-text]

Demo mode in a throw-away folder: the simulated radio received for fifteen simulated minutes (its keys in
the demo key store), then a Diehl heat meter identified from its telegrams on step 1: key, signal and send
interval checked, the telegrams kept as evidence. Rendered at 1366x768.
"""
from __future__ import annotations

import sys
from pathlib import Path

from _shot import Shot  # sets up the import path and Qt's platform

HERE = Path(__file__).resolve().parent


def main() -> int:
    from app.ui.mainwindow import MainWindow
    from app.ui.radio.service import Source

    larger = "--larger-text" in sys.argv
    session = Shot(larger)
    app, ctx, tmp, wait = session.app, session.ctx, session.tmp, session.wait

    radio = ctx.radio
    ctx.keys.import_text_now(radio.simulated_keys_csv(), "simulated meters' keys")
    task = radio.start(Source("simulator", None, "t1"), clock="virtual", seconds=15 * 60)
    wait(lambda: not task.running and ctx.tasks.is_idle())
    win = MainWindow(ctx, initial_page="commission")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()
    wait(lambda: ctx.tasks.is_idle())
    page.banner.clear()
    page.refresh_radio_meters()
    combo = page.identify_step.radio_combo
    idx = next(i for i in range(combo.count()) if combo.itemData(i).startswith("DME "))
    combo.setCurrentIndex(idx)
    page.use_radio_meter(combo.itemData(idx))
    wait(lambda: bool(page.state.identify.get("radio")) and ctx.tasks.is_idle())
    page.identify_step.fields["model"].setText("Sharky 775")
    page.banner.clear()
    page.identify_step.radio_status.setFocus()
    for _ in range(5):
        app.processEvents()
    name = "commission-radio-larger.png" if larger else "commission-radio.png"
    ok = win.grab().save(str(HERE / name), "PNG")
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
