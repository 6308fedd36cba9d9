"""Screenshots of the Planner's job lists and its per-site chart at a national size
(docs/screenshots/planner-jobs*.png, planner-sites*.png, planner-job-list*.png).

    .venv/bin/python docs/screenshots/planner_jobs.py [--larger-text]

The demo register in a throw-away folder, rendered at 1366x768: the job list
dialog over the Planner; the first page of the printable job list; the Due
view of a register with 53 sites (the per-site chart scrolls, names shortened
in the middle).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _shot import Shot  # sets up the import path and Qt's platform

HERE = Path(__file__).resolve().parent


def main() -> int:
    from app.ui.mainwindow import MainWindow

    larger = "--larger-text" in sys.argv
    suffix = "-larger" if larger else ""
    session = Shot(larger, timeout=300)
    app, ctx, tmp, wait = session.app, session.ctx, session.tmp, session.wait

    def settle():
        for _ in range(10):
            app.processEvents()

    # 53 sites: a register of 4,240 meters (80 per site) of a national operator
    reg = ctx.register()
    rows = []
    for s in range(53):
        site = f"{['North', 'South', 'East', 'West'][s % 4]} Heat Network {s // 4 + 1} — Estate {s:02d}"
        for i in range(80 - s):
            rows.append({"site": site, "building": f"Block {i % 5}", "location": f"Flat {i}",
                         "manufacturer": "Kamstrup", "model": "MULTICAL 603", "serial": f"9{s:02d}{i:05d}",
                         "qp_m3h": 1.5, "qp_qi_ratio": 100, "dn": 15, "mid_class": 2, "dtheta_min_k": 3, "dtheta_max_k": 100, "install_date": f"{2012 + (i % 9)}-0{1 + i % 9}-15"})
    import csv

    path = os.path.join(tmp.name, "sites.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    reg.import_file(path, user="demo")
    win = MainWindow(ctx, initial_page="planner")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()
    wait(lambda: page.due.data is not None and ctx.tasks.is_idle())
    page.due.years.setCurrentIndex(page.due.years.findData(3))
    page.due.load()
    wait(lambda: page.due.data is not None and not page.due.loading and ctx.tasks.is_idle())
    settle()
    win.grab().save(str(HERE / f"planner-sites{suffix}.png"), "PNG")

    dlg = page.due.job_list_dialog()
    dlg.folder.setText(tmp.name)
    dlg.resize(round(720 * ctx.text_scale), dlg.sizeHint().height())
    dlg.show()
    settle()
    dlg.grab().save(str(HERE / f"planner-job-list{suffix}.png"), "PNG")
    if not larger:
        out = Path(tmp.name) / "jobs"
        out.mkdir()
        dlg.folder.setText(str(out))
        req = dlg.request()
        dlg.close()
        page.due.write_job_lists(req)
        wait(lambda: page.due.last_job_lists is not None and ctx.tasks.is_idle())
        pdfs = sorted(out.glob("*.pdf"))
        if pdfs:
            subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(pdfs[0]),
                            str(HERE / "planner-job-list-pdf")], check=False)
        settle()
        win.grab().save(str(HERE / "planner-jobs-written.png"), "PNG")
    else:
        dlg.close()
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
