"""Screenshots of the meter-side work: the History tab, an EN 62056-21 readout, the commissioning
wizard's clock step, and a certificate page with photos.

    .venv/bin/python docs/screenshots/meterside.py [--larger-text]

Writes, beside this script (``-larger`` with larger text): ``readout-history.png`` (the Readout page's
History tab after "Read history" of the simulated Kamstrup), ``readout-62056.png`` (the Landis+Gyr UH50
read through the optical head by EN 62056-21), ``commission-clock.png`` (the plausibility step after the
clock step set the meter's clock, which ran an hour behind), and the certificate of a signed SS2 record
with two photos, whose photo page is rendered with ``pdftoppm`` as ``certificate-photos.png``. Demo register and simulated bus in a throw-away folder, 1366x768. The
"photos" are drawn here (no camera in the test rig): a pipe run and a plant room.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from _shot import Shot  # sets up the import path and Qt's platform

HERE = Path(__file__).resolve().parent


def drawn_photo(path: Path, title: str, colour: str) -> None:
    """A picture standing in for a photo: pipes, a meter, a caption."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

    img = QImage(1200, 800, QImage.Format.Format_RGB32)
    img.fill(QColor("#d9d4c7"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(QColor("#555555"), 4))
    for y, c in ((260, colour), (520, "#0b55b3")):
        p.fillRect(QRectF(40, y, 1120, 70), QColor(c))
        p.drawRect(QRectF(40, y, 1120, 70))
    p.fillRect(QRectF(470, 200, 260, 190), QColor("#f2f2f2"))
    p.drawRect(QRectF(470, 200, 260, 190))
    p.fillRect(QRectF(505, 230, 190, 60), QColor("#1d2b1d"))
    p.setPen(QPen(QColor("#7dff7d")))
    f = QFont("monospace", 26)
    p.setFont(f)
    p.drawText(QRectF(505, 230, 190, 60), Qt.AlignmentFlag.AlignCenter, "15234 kWh")
    p.setPen(QPen(QColor("#000000")))
    p.setFont(QFont("sans", 34))
    p.drawText(QRectF(40, 660, 1120, 100), Qt.AlignmentFlag.AlignLeft, title)
    p.end()
    img.save(str(path), "JPG" if path.suffix == ".jpg" else "PNG")


def main() -> int:
    from app.ui.mainwindow import MainWindow

    larger = "--larger-text" in sys.argv
    suffix = "-larger" if larger else ""
    session = Shot(larger, timeout=90, settle=5)
    app, ctx, tmp, wait = session.app, session.ctx, session.tmp, session.wait
    from app.ui.demo import connect_demo_bus

    connect_demo_bus(ctx)

    def shot(win, name: str) -> None:
        for _ in range(5):
            app.processEvents()
        assert win.grab().save(str(HERE / f"{name}{suffix}.png"), "PNG")

    # the Readout page: the Kamstrup's history, and the UH50 through the optical head
    win = MainWindow(ctx, initial_page="readout")
    win.resize(1366, 768)
    win.show()
    page = win.current_page()
    ctx.mode.prepare(page)
    wait(lambda: page.readout is not None and ctx.tasks.is_idle())
    page.read_history()
    wait(lambda: ctx.tasks.is_idle() and page.readout is not None and page.readout.selections)
    page.show_history_tab()
    shot(win, "readout-history")
    ctx.bus.select(None)
    page.set_protocol("iec62056-21")
    page.read_now()
    wait(lambda: ctx.tasks.is_idle() and page.readout is not None and page.readout.protocol == "iec62056-21")
    page.tabs.setCurrentIndex(0)
    page.scroll_area.verticalScrollBar().setValue(0)
    shot(win, "readout-62056")

    # the Commission page: the demo walkthrough stops at step 4; the clock step sets the clock
    page.set_protocol("mbus")
    ctx.bus.set_protocol("mbus")
    win.show_page("commission")
    com = win.current_page()
    ctx.mode.prepare(com)
    wait(lambda: com.state.step == 4 and len(com.state.readouts_with("check")) == 2 and ctx.tasks.is_idle())
    com.set_meter_clock()
    wait(lambda: com.state.clock.get("write_id") is not None and len(com.state.readouts_with("check")) == 3
         and ctx.tasks.is_idle())
    com.plausibility_step.area.ensureWidgetVisible(com.plausibility_step.clock_panel)
    shot(win, "commission-clock")

    if not larger:
        # photos, a short observation window, the signature: the certificate
        pics = [(Path(tmp.name) / "straight-lengths.jpg", "Straight lengths before the flow sensor: 10 DN", "#c0241c"),
                (Path(tmp.name) / "plant-room.jpg", "Substation 1 plant room, SS2 meter", "#c0241c")]
        for path, title, colour in pics:
            drawn_photo(path, title, colour)
        com.go_to(3)
        wait(lambda: com.state.step == 3 and ctx.tasks.is_idle())
        com.add_photo_files("checklist:straight_lengths", [str(pics[0][0])])
        com.add_photo_files("installation", [str(pics[1][0])])
        wait(lambda: len(com.checklist_step.gallery.photos) == 2 and ctx.tasks.is_idle())
        com.state.place["design_flow_c"] = 72.0
        com.go_next()
        wait(lambda: com.state.step == 4 and ctx.tasks.is_idle())
        com.go_next()
        wait(lambda: com.state.step == 5 and ctx.tasks.is_idle())
        com.observation_seconds = 4
        com.observe_step.interval.setValue(1)
        com.start_observation()
        wait(lambda: bool(com.state.observation.get("kpis")) and ctx.tasks.is_idle())
        com.go_next()
        wait(lambda: com.state.step == 6 and ctx.tasks.is_idle())
        com.remember("certificate_dir", tmp.name)
        com.sign_step.technician.setText("Ann Example")
        com.sign()
        wait(lambda: com.state.signed and ctx.tasks.is_idle())
        pdf = Path(com.certificate_path)
        pdftoppm = shutil.which("pdftoppm")
        if pdftoppm:
            out = Path(tmp.name) / "page"
            subprocess.run([pdftoppm, "-png", "-r", "100", str(pdf), str(out)], check=True)
            pages = sorted(Path(tmp.name).glob("page-*.png"))
            text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
            photo_page = next((i for i, t in enumerate(text.split("\f")) if "Photos" in t and "SHA-256" in t), None)
            if photo_page is not None and photo_page < len(pages):
                shutil.copy(pages[photo_page], HERE / "certificate-photos.png")
    win.close()
    ctx.tasks.shutdown(5)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
