"""Screenshots of the import wizard's steps (docs/screenshots/import-1-file.png ... import-6-store.png).

    .venv/bin/python docs/screenshots/import_wizard.py [--larger-text]

A generated billing export (tests/helpers/messy_export.py: title line, its own headers, semicolons,
decimal commas, dd/mm/yyyy dates, three Windows-1252 lines, two bad rows) taken through the wizard
into an empty register in a throw-away folder; each step is rendered at 1040x680.
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

    from app.storage.import_preview import ImportProfiles
    from app.ui import theme
    from app.ui.context import AppContext
    from app.ui.mainwindow import MainWindow
    from app.ui.settings import Settings
    from tests.helpers.messy_export import MAPPING, messy_csv

    larger = "--larger-text" in sys.argv
    suffix = "-larger" if larger else ""
    out = Path(__file__).resolve().parent
    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = tempfile.TemporaryDirectory(prefix="heatmeter-shot-")
    settings = Settings(QSettings(os.path.join(tmp.name, "s.ini"), QSettings.Format.IniFormat))
    ctx = AppContext(settings, screenshot=True, db_url=f"sqlite:///{tmp.name}/r.db",
                     text_scale=theme.text_scale(larger))
    win = MainWindow(ctx, initial_page="register")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()
    src = Path(tmp.name) / "billing-export-march.csv"
    messy_csv(src, 2_000)
    lines = src.read_bytes().split(b"\n")
    lines[40] = lines[40].replace(b";1,5;", b";1.500,0;").replace(b";2,5;", b";1.500,0;")
    lines[43] = lines[43].replace(b";Sontex;", b";;")  # meter 41 (a Sontex) without its make
    src.write_bytes(b"\n".join(lines))

    def wait(cond, timeout=120):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("timed out")
            app.processEvents()
            ctx.tasks.pool.waitForDone(10)

    wait(lambda: page.index is not None and ctx.tasks.is_idle())
    wiz = page.open_import_wizard()
    wiz.profiles = ImportProfiles(Path(tmp.name) / "profiles")
    wiz.resize(1040, 680)

    def shot(name):
        for _ in range(5):
            app.processEvents()
        wiz.grab().save(str(out / f"import-{name}{suffix}.png"), "PNG")

    wiz.path_edit.setText(str(src))
    shot("1-file")
    wiz.next()
    wait(lambda: wiz.task is None and ctx.tasks.is_idle())
    shot("2-preview")
    wiz.next()
    header = wiz.preview.header
    for h in ("Meter Make", "Meter Model", "Fitted Date"):
        wiz.columns.set_choice(header.index(h), MAPPING[h])
    wiz.columns.table.scrollToTop()
    shot("3-columns")
    for i, h in enumerate(header):
        if h in MAPPING:
            wiz.columns.set_choice(i, MAPPING[h], drop=MAPPING[h] is None)
    wiz.next()
    wiz.order_buttons["dmy"].setChecked(True)
    shot("4-dates-numbers")
    wiz.next()
    wait(lambda: wiz.task is None and ctx.tasks.is_idle())
    shot("5-check")
    wiz.next()
    wait(lambda: wiz.task is None and ctx.tasks.is_idle())
    shot("6-store")
    wiz.close()
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
