"""Screenshots of recording the year's work and the planner's deadlines (docs/screenshots/maintenance-*.png).

    .venv/bin/python docs/screenshots/maintenance.py [--larger-text]

The demo register in a throw-away folder, rendered at 1366x768: the Planner's
per-month chart counting every deadline by kind; the lot preview with the
spellings a lot merged; the meter page with its maintenance buttons; the
Record work dialog for several meters.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from _shot import Shot  # sets up the import path and Qt's platform

HERE = Path(__file__).resolve().parent


def main() -> int:
    from app.ui.mainwindow import MainWindow

    larger = "--larger-text" in sys.argv
    suffix = "-larger" if larger else ""
    session = Shot(larger)
    app, ctx, tmp, wait = session.app, session.ctx, session.tmp, session.wait

    def settle():
        for _ in range(10):
            app.processEvents()

    win = MainWindow(ctx, initial_page="planner")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()
    wait(lambda: page.due.data is not None and ctx.tasks.is_idle())
    due = page.due
    due.count_mode.setCurrentIndex(due.count_mode.findData("deadlines"))
    due.select_deadlines(state="battery_due")
    settle()
    win.grab().save(str(HERE / f"maintenance-deadlines{suffix}.png"), "PNG")

    # The demo register spells its makes and models one way: add a few meters typed as people do.
    reg = ctx.register()
    variants = [("KAMSTRUP", "Multical603"), ("Kamstrup A/S", "MC603"), ("kamstrup", "MULTICAL-603")]
    for i in range(24):
        make, model = variants[i % 3]
        reg.create_meter({"site": "Riverside Heat Network", "building": "Block V", "location": f"Flat V{i}",
                          "manufacturer": make, "model": model, "serial": f"7799{i:04d}", "qp_m3h": 1.5,
                          "mid_class": 2, "install_date": "2016-04-01"}, user="demo")
    lots = page.lots
    page.tabs.setCurrentIndex(1)
    lots.show_form_panel()
    lots.f_all.setChecked(True)
    lots.form_lots(dry_run=True)
    wait(lambda: lots.formation is not None and ctx.tasks.is_idle())
    best = max(range(len(lots.formation["lots"])), key=lambda i: sum(
        len(v) for v in (lots.formation["lots"][i].get("merged") or {}).values()) * 10000
        + lots.formation["lots"][i]["size"]) if lots.formation["lots"] else 0
    lots.f_lots_view.selectRow(best)
    lots._show_formation_members(best)
    lots.f_tabs.setCurrentIndex(2)
    settle()
    win.grab().save(str(HERE / f"maintenance-lot-spellings{suffix}.png"), "PNG")

    win.show_page("register") if hasattr(win, "show_page") else None
    reg_page = win.page("register") if hasattr(win, "page") else None
    if reg_page is None:
        win.close()
        win = MainWindow(ctx, initial_page="register")
        win.resize(1366, 768)
        win.show()
        reg_page = win.current_page()
    wait(lambda: reg_page.index is not None and reg_page.model.rowCount() > 0 and ctx.tasks.is_idle())
    mid = reg_page.model.id_at(0)
    reg_page.open_meter(mid)
    wait(lambda: reg_page.meter_view.dossier is not None and ctx.tasks.is_idle())
    settle()
    mv = reg_page.meter_view
    win.grab().save(str(HERE / f"maintenance-meter{suffix}.png"), "PNG")
    menu = mv.work_button.menu()
    menu.popup(mv.work_button.mapToGlobal(mv.work_button.rect().bottomLeft()))
    settle()
    menu.grab().save(str(HERE / f"maintenance-meter-menu{suffix}.png"), "PNG")
    menu.hide()

    from app.ui.register.work import WorkDialog

    recs = [reg_page.model.record_at(i) for i in range(3)]
    dlg = WorkDialog(win, [r.label for r in recs if r], "battery", today=dt.date(2025, 6, 1),
                     scale=ctx.text_scale)
    dlg.resize(round(620 * ctx.text_scale), dlg.sizeHint().height())
    dlg.show()
    settle()
    dlg.grab().save(str(HERE / f"maintenance-record-work{suffix}.png"), "PNG")
    dlg.kind.setCurrentIndex(dlg.kind.findData("recalibrate"))
    settle()
    dlg.grab().save(str(HERE / f"maintenance-record-recalibration{suffix}.png"), "PNG")
    dlg.close()
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
