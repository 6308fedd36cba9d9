"""Icons from ``resources/icons`` (original SVG line drawings), recoloured at run time.

The SVG files draw in ``#000000``; :func:`icon` replaces that colour so one
drawing serves the dark navigation column (white), the current-page marker
(black on yellow) and ordinary buttons.
"""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPixmap

import resources

_DRAWN_IN = "#000000"


@lru_cache(maxsize=None)
def _svg_text(name: str) -> str:
    return resources.path("icons", f"{name}.svg").read_text(encoding="utf-8")


def pixmap(name: str, size: int, color: str = "#000000", pad: float = 0.0) -> QPixmap:
    """The icon ``name`` drawn in ``color`` on a transparent square of ``size`` px,
    leaving ``pad`` (a fraction of ``size``) empty on each side."""
    from PySide6.QtSvg import QSvgRenderer

    data = _svg_text(name)
    if color.lower() != _DRAWN_IN:
        data = data.replace(_DRAWN_IN, color)
    renderer = QSvgRenderer(QByteArray(data.encode("utf-8")))
    app = QGuiApplication.instance()
    ratio = app.devicePixelRatio() if app is not None else 1.0
    pm = QPixmap(QSize(round(size * ratio), round(size * ratio)))
    pm.setDevicePixelRatio(ratio)
    pm.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pm)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    inset = size * pad
    renderer.render(painter, QRectF(inset, inset, size - 2 * inset, size - 2 * inset))
    painter.end()
    return pm


def icon(name: str, color: str = "#000000", checked_color: str | None = None, size: int = 48,
         pad: float = 0.0) -> QIcon:
    """A QIcon of ``name``; ``checked_color`` is used in the checked (On) state."""
    ic = QIcon()
    ic.addPixmap(pixmap(name, size, color, pad), QIcon.Mode.Normal, QIcon.State.Off)
    ic.addPixmap(pixmap(name, size, checked_color or color, pad), QIcon.Mode.Normal, QIcon.State.On)
    return ic


def app_icon() -> QIcon:
    ic = QIcon()
    for s in (16, 32, 48, 64, 128, 256):
        ic.addPixmap(pixmap("heatmeter", s, _DRAWN_IN))
    return ic
