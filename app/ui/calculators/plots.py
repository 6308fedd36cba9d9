"""Static plots of the office pages (calculators, planner): white, black axes, big ticks.

Imports pyqtgraph: import this module only from ``build()`` or later.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QImage, QPainter
from PySide6.QtWidgets import QWidget

from app.ui import theme

# Colour-blind safe, >= 4.5:1 on white (the live plot's palette plus two).
INK = "#000000"
BLUE = "#0b55b3"
GREEN = "#00715a"
RED = "#c0241c"
BROWN = "#7a3e00"
PURPLE = "#6a2c91"
GREY = "#6b6b6b"
PASS = "#0a6b2d"
FAIL = "#b3261e"


class StaticPlot(pg.PlotWidget):
    """A PlotWidget without mouse interaction (calculators show a picture, not a tool)."""

    def __init__(self, parent: QWidget | None = None, *, left: str = "", bottom: str = "",
                 log_x: bool = False, interactive: bool = False) -> None:
        super().__init__(parent, background="w")
        p = self.getPlotItem()
        p.setMenuEnabled(False)
        p.hideButtons()
        p.setMouseEnabled(x=interactive, y=interactive)
        p.showGrid(x=True, y=True, alpha=0.18)
        p.setLogMode(x=log_x, y=False)
        self._left, self._bottom = left, bottom
        self.legend = None
        self.setMinimumHeight(180)
        self.set_text_scale(1.0)

    def add_legend(self, cols: int = 1, offset: tuple[int, int] = (-8, 8)) -> pg.LegendItem:
        self.legend = self.getPlotItem().addLegend(offset=offset, labelTextColor=INK,
                                                   brush=pg.mkBrush(255, 255, 255, 225), pen=pg.mkPen(INK),
                                                   colCount=cols)
        return self.legend

    def set_text_scale(self, scale: float) -> None:
        m = theme.metrics(scale)
        tick = QFont()
        tick.setPointSizeF(m.point_size * 0.85)
        label_pt = f"{m.point_size * 0.95:.1f}pt"
        p = self.getPlotItem()
        for name, text in (("left", self._left), ("bottom", self._bottom)):
            ax = p.getAxis(name)
            ax.setStyle(tickFont=tick)
            ax.setPen(pg.mkPen(INK, width=1))
            ax.setTextPen(pg.mkPen(INK))
            if text:
                ax.setLabel(text, **{"font-size": label_pt, "color": INK})
        p.getAxis("left").setWidth(round(70 * scale))
        if self.legend is not None:
            for _sample, label in self.legend.items:
                label.setText(label.text, size=label_pt, color=INK)

    def image(self, width: int = 1000, height: int = 460) -> QImage:
        """The plot drawn at ``width`` x ``height`` pixels (for PDF reports), white background."""
        img = QImage(width, height, QImage.Format.Format_RGB32)
        img.fill(Qt.GlobalColor.white)
        old = self.size()
        self.resize(width, height)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.render(painter)
        painter.end()
        self.resize(old)
        return img


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Major ticks 1-2-5 per decade between ``lo`` and ``hi`` (positive), as (log10 x, label)."""
    import math

    out = []
    k = math.floor(math.log10(lo)) - 1
    while 10 ** k <= hi * 10:
        for m in (1, 2, 5):
            v = m * 10 ** k
            if lo * 0.999 <= v <= hi * 1.001:
                out.append((math.log10(v), f"{float(f'{v:.6g}'):g}"))
        k += 1
    return out


def text_item(text: str, color: str = INK, anchor=(0, 1), bold: bool = False, scale: float = 1.0) -> pg.TextItem:
    item = pg.TextItem(text=text, color=color, anchor=anchor)
    f = QFont()
    f.setPointSizeF(theme.metrics(scale).point_size * 0.85)
    f.setBold(bold)
    item.setFont(f)
    return item


def pen(color: str, width: float = 2.5, dash: bool = False) -> pg.QtGui.QPen:
    p = pg.mkPen(color, width=width)
    if dash:
        p.setStyle(Qt.PenStyle.DashLine)
    return p
