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
    suffix = "-larger" if larger else ""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = tempfile.TemporaryDirectory(prefix="heatmeter-shot-")
    settings = Settings(QSettings(os.path.join(tmp.name, "s.ini"), QSettings.Format.IniFormat))
    ctx = AppContext(settings, demo=True, screenshot=True, text_scale=theme.text_scale(larger))
    ctx.demo_dir = tmp.name

    def wait(cond, timeout=300):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit(f"timed out at line {sys._getframe(1).f_lineno}")
            app.processEvents()
            ctx.tasks.pool.waitForDone(10)

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
