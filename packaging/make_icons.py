"""Render the app icon (resources/icons/heatmeter.svg) to the PNG of the desktop entry and the Windows ICO.

    .venv/bin/python packaging/make_icons.py

Writes packaging/heatmeter.png (256 px) and packaging/heatmeter.ico (16-256 px);
both are committed, so a build needs neither Pillow nor this script.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SVG = HERE.parent / "resources" / "icons" / "heatmeter.svg"


def render(size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(SVG)).render(p)
    p.end()
    return img


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    ok = render(256).save(str(HERE / "heatmeter.png"), "PNG")
    ok = render(256).save(str(HERE / "heatmeter.ico"), "ICO") and ok
    del app
    print("written" if ok else "failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
