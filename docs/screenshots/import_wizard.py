"""Screenshots of the import wizard's steps (docs/screenshots/import-1-file.png ... import-6-store.png).

    .venv/bin/python docs/screenshots/import_wizard.py [--larger-text]

A generated billing export (tests/helpers/messy_export.py: title line, its own headers, semicolons,
decimal commas, dd/mm/yyyy dates, three Windows-1252 lines, two bad rows) taken through the wizard
into an empty register in a throw-away folder; each step is rendered at 1040x680.
"""
from __future__ import annotations

import sys
from pathlib import Path

from _shot import Shot  # sets up the import path and Qt's platform



def main() -> int:
    from app.storage.import_preview import ImportProfiles
    from app.ui.mainwindow import MainWindow
    from tests.helpers.messy_export import MAPPING, messy_csv

    larger = "--larger-text" in sys.argv
    suffix = "-larger" if larger else ""
    out = Path(__file__).resolve().parent
    session = Shot(larger, register="r.db")
    app, ctx, tmp, wait = session.app, session.ctx, session.tmp, session.wait
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
