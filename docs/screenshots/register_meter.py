"""Screenshot of the Register page's meter page (docs/screenshots/register-meter.png).

    .venv/bin/python docs/screenshots/register_meter.py [--larger-text]

The demo register in a throw-away folder, the first commissioned meter of the
evidence site opened on its Commissioning tab, rendered at 1366x768.
"""
from __future__ import annotations

import sys
from pathlib import Path

from _shot import Shot  # sets up the import path and Qt's platform



def main() -> int:
    from app.storage.demo import DEMO_EVIDENCE_SITE
    from app.ui.mainwindow import MainWindow

    larger = "--larger-text" in sys.argv
    session = Shot(larger, timeout=60)
    app, ctx, tmp, wait = session.app, session.ctx, session.tmp, session.wait
    win = MainWindow(ctx, initial_page="register")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()

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
