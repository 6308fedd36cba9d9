"""The planner's charts: due counts per month and per site (stacked, clickable) and the OC curve.

Imports pyqtgraph: import this module only from ``build()`` or later.
``oc_image`` draws the OC curve with QPainter alone (no widget), so reports
can draw it in a worker thread.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QScrollBar, QWidget

from app.ui import theme
from app.ui.calculators import plots
from app.services.planner import DUE_STATES, STATE_TITLES

STATE_COLORS = {"overdue": "#b3261e", "recalibrate_or_replace_due": "#7a3e00", "sampling_due": "#0b55b3",
                "battery_due": "#00715a"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
OVERDUE_KEY = "overdue"


def month_label(key: str, short: bool = True) -> str:
    y, m = int(key[:4]), int(key[5:7])
    return f"{MONTHS[m - 1]} {str(y)[2:] if short else y}"


class _Stacks:
    """Stacked bars at integer positions; finds the segment under a point."""

    def __init__(self) -> None:
        self.segments: list[tuple[float, float, float, object, str]] = []   # x, y0, y1, key, state

    def hit(self, x: float, y: float, horizontal: bool = False) -> tuple[object, str] | None:
        best = None
        for sx, y0, y1, key, state in self.segments:
            along, across = (y, x) if horizontal else (x, y)
            if abs(along - sx) <= 0.45:
                if y0 <= across <= y1:
                    return key, state
                best = best or (key, None)
        return best


class DueByMonthChart(plots.StaticPlot):
    """Stacked bars: the overdue backlog, then each month of the horizon by state. Click a bar (segment)."""

    barClicked = Signal(str, str)    # key ("overdue" or "YYYY-MM"), state ("" = the whole bar)

    def __init__(self, parent=None, scale: float = 1.0) -> None:
        super().__init__(parent, left="meters due", bottom="")
        self.scale = scale
        self.stacks = _Stacks()
        self.keys: list[str] = []
        self.selected: tuple[str, str] | None = None
        self._sel_item = None
        self.months: list[str] = []
        self.setMinimumHeight(100)
        # no legend: the state buttons above the chart carry the same colours
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_data(self, months: list[str], by_month: dict[str, dict[str, int]], overdue: int) -> None:
        p = self.getPlotItem()
        p.clear()
        if self.legend is not None:
            self.legend.clear()
        self.stacks = _Stacks()
        self._sel_item = None
        self.keys = [OVERDUE_KEY] + months
        totals = [sum(by_month.get(k, {}).values()) for k in months]
        top = max([*totals, 1]) * 1.25
        bottoms = [0.0] * len(self.keys)
        for state in DUE_STATES:
            xs, ys, hs = [], [], []
            for i, key in enumerate(self.keys):
                n = overdue if (key == OVERDUE_KEY and state == "overdue") else (
                    0 if key == OVERDUE_KEY else by_month.get(key, {}).get(state, 0))
                if not n:
                    continue
                shown = min(n, top - bottoms[i]) if key == OVERDUE_KEY else n
                xs.append(i)
                ys.append(bottoms[i] + shown / 2)
                hs.append(shown)
                self.stacks.segments.append((i, bottoms[i], bottoms[i] + shown, key, state))
                bottoms[i] += shown
            item = pg.BarGraphItem(x=xs, y=ys, height=hs, width=0.78, brush=pg.mkBrush(STATE_COLORS[state]),
                                   pen=pg.mkPen("#ffffff", width=1), name=STATE_TITLES[state])
            p.addItem(item)   # named: the plot's legend lists it
        if overdue:
            # the backlog may dwarf the months: its bar is cut at the top, its count written beside it
            cut = overdue > top
            t = plots.text_item(f" {overdue:,} overdue{' (bar cut)' if cut else ''}", STATE_COLORS["overdue"],
                                anchor=(0, 0), bold=True, scale=self.scale)
            t.setPos(0.42, top * 0.995)
            p.addItem(t)
        self.months = months
        self._update_ticks()
        p.setXRange(-0.6, len(self.keys) - 0.4, padding=0)
        p.setYRange(0, top, padding=0)
        self.set_text_scale(self.scale)
        if self.selected:
            self.mark(*self.selected)

    def _update_ticks(self) -> None:
        """Month labels as many as fit the width: every 1, 2, 3, 4, 6 or 12 months; years beyond 4 years."""
        months = self.months
        label_px = 62 * self.scale
        width = max(200.0, self.width() - 90 * self.scale)
        fit = max(1, int(width // label_px))
        need = len(months) + 1
        every = next((k for k in (1, 2, 3, 4, 6, 12) if need / k <= fit), 12)
        ticks = [(0, "Overdue")]
        for i, key in enumerate(months, start=1):
            if every == 12 or len(months) > 48:
                if key.endswith("-01"):
                    ticks.append((i, key[:4]))
            elif (int(key[5:7]) - 1) % every == 0:
                ticks.append((i, month_label(key)))
        self.getPlotItem().getAxis("bottom").setTicks([ticks, []])

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(ev)
        if self.__dict__.get("months"):     # also called while pyqtgraph builds the widget
            self._update_ticks()

    def mark(self, key: str, state: str) -> None:
        """Outline the selected bar (or segment)."""
        from PySide6.QtWidgets import QGraphicsRectItem

        p = self.getPlotItem()
        if self._sel_item is not None:
            p.removeItem(self._sel_item)
            self._sel_item = None
        self.selected = (key, state)
        segs = [s for s in self.stacks.segments if s[3] == key and (not state or s[4] == state)]
        if not segs:
            return
        x = segs[0][0]
        y0, y1 = min(s[1] for s in segs), max(s[2] for s in segs)
        rect = QGraphicsRectItem(QRectF(x - 0.5, y0, 1.0, y1 - y0))
        pen_ = QPen(QColor("#000000"), 3)
        pen_.setCosmetic(True)
        rect.setPen(pen_)
        rect.setZValue(50)
        p.addItem(rect)
        self._sel_item = rect

    def _clicked(self, ev) -> None:
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        pt = vb.mapSceneToView(ev.scenePos())
        hit = self.stacks.hit(pt.x(), pt.y())
        if hit is not None:
            key, state = hit
            self.mark(key, state or "")
            self.barClicked.emit(key, state or "")

    def click_bar(self, key: str, state: str = "") -> None:
        """As if the user clicked the bar ``key`` (segment ``state``)."""
        self.mark(key, state)
        self.barClicked.emit(key, state)


class DueBySiteChart(plots.StaticPlot):
    """Horizontal stacked bars per site: overdue and due within the horizon, by state.

    Sites with the most meters due come first. Each site keeps a row at least
    ``ROW_PX`` high (times the text scale) so that its name never overlaps its
    neighbours': when there are more sites than fit (a national register has
    hundreds), the chart shows a window of them and scrolls (mouse wheel, or
    the scroll bar of :class:`SiteChartPanel`); the counts axis stays put.
    """

    barClicked = Signal(str, str)    # site, state ("" = the whole bar)
    rowsChanged = Signal(int, int, int)   # first row shown, rows shown, rows in all
    ROW_PX = 24
    AXIS_PX = 170

    def __init__(self, parent=None, scale: float = 1.0) -> None:
        super().__init__(parent, left="", bottom="meters")
        self.scale = scale
        self.stacks = _Stacks()
        self.sites: list[str] = []
        self.first = 0
        self._x_max = 1.0
        self._sel_item = None
        self.setMinimumHeight(100)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.getPlotItem().vb.sigResized.connect(lambda _vb: self._fit_rows() if self.sites else None)

    def set_data(self, by_site: dict[str, dict[str, int]]) -> None:
        p = self.getPlotItem()
        p.clear()
        self._sel_item = None
        self.stacks = _Stacks()
        totals = {s: sum(v.get(k, 0) for k in DUE_STATES) for s, v in by_site.items()}
        sites = sorted(by_site, key=lambda s: (-totals[s], s == "", s))
        self.sites = sites
        n = len(sites)
        lefts = [0.0] * n
        for state in DUE_STATES:
            ys, xs, ws = [], [], []
            for i, site in enumerate(sites):
                v = by_site[site].get(state, 0)
                if not v:
                    continue
                y = n - 1 - i
                ys.append(y)
                xs.append(lefts[i] + v / 2)
                ws.append(v)
                self.stacks.segments.append((y, lefts[i], lefts[i] + v, site, state))
                lefts[i] += v
            p.addItem(pg.BarGraphItem(x=xs, y=ys, width=ws, height=0.7, brush=pg.mkBrush(STATE_COLORS[state]),
                                      pen=pg.mkPen("#ffffff", width=1)))
        for i, site in enumerate(sites):
            t = plots.text_item(f" {int(lefts[i]):,}", plots.INK, anchor=(0, 0.5), scale=self.scale)
            t.setPos(lefts[i], n - 1 - i)
            p.addItem(t)
        self._x_max = max([*lefts, 1]) * 1.3
        p.setXRange(0, self._x_max, padding=0)
        self.first = 0
        self.set_text_scale(self.scale)

    def set_text_scale(self, scale: float) -> None:
        super().set_text_scale(scale)
        self.scale = scale
        self.getPlotItem().getAxis("left").setWidth(round(self.AXIS_PX * scale))
        if self.__dict__.get("sites") is not None:
            self._set_site_ticks()
            if self.sites:
                self._fit_rows()

    def _set_site_ticks(self) -> None:
        n = len(self.sites)
        self.getPlotItem().getAxis("left").setTicks([[(n - 1 - i, self.label(s)) for i, s in enumerate(self.sites)], []])

    def tick_font(self) -> QFont:
        """The font of the site names (as :meth:`plots.StaticPlot.set_text_scale` sets it)."""
        f = QFont()
        f.setPointSizeF(theme.metrics(self.scale).point_size * 0.85)
        return f

    def label_width_px(self) -> int:
        """The room for a site's name left of the bars: the axis less its tick and a margin."""
        return round(self.AXIS_PX * self.scale) - round(14 * self.scale)

    def label(self, site: str) -> str:
        """The name on the axis, shortened in the middle to the axis's width when long (both ends of
        ``Riverside Heat Network Block A`` / ``... Block B`` stay readable); the whole name is in the
        list under the chart when the bar is clicked."""
        name = site or "(no site)"
        return QFontMetrics(self.tick_font()).elidedText(name, Qt.TextElideMode.ElideMiddle, self.label_width_px())

    # -- scrolling ----------------------------------------------------------------------
    def rows_fit(self) -> int:
        """How many site rows fit the plot's height at ``ROW_PX`` each."""
        h = self.getPlotItem().vb.height()
        if h <= 1:
            h = max(1.0, self.height() - 60 * self.scale)
        return max(1, int(h // (self.ROW_PX * self.scale)))

    def scroll_to(self, first: int) -> None:
        """Show the sites from row ``first`` (0 = the site with the most meters due)."""
        n = len(self.sites)
        k = min(n, self.rows_fit())
        first = max(0, min(int(first), n - k))
        self.first = first
        top = n - 1 - first
        self.getPlotItem().setYRange(top - k + 0.4, top + 0.6, padding=0)
        self.rowsChanged.emit(first, k, n)

    def shown_sites(self) -> list[str]:
        return self.sites[self.first:self.first + min(len(self.sites), self.rows_fit())]

    def _fit_rows(self) -> None:
        self.scroll_to(self.first)

    def wheelEvent(self, ev) -> None:  # noqa: N802 - Qt API
        steps = ev.angleDelta().y() / 120
        if steps and len(self.sites) > self.rows_fit():
            self.scroll_to(self.first - round(3 * steps))
            ev.accept()
        else:
            ev.ignore()

    def _clicked(self, ev) -> None:
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        pt = vb.mapSceneToView(ev.scenePos())
        hit = self.stacks.hit(pt.x(), pt.y(), horizontal=True)
        if hit is not None:
            self.barClicked.emit(hit[0], hit[1] or "")


class SiteChartPanel(QWidget):
    """The per-site chart with a scroll bar beside it when its sites do not all fit."""

    def __init__(self, parent=None, scale: float = 1.0) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.chart = DueBySiteChart(self, scale)
        self.bar = QScrollBar(Qt.Orientation.Vertical, self)
        self.bar.setToolTip("More sites: scroll (or turn the mouse wheel over the chart)")
        self.bar.hide()
        lay.addWidget(self.chart, 1)
        lay.addWidget(self.bar)
        self.chart.rowsChanged.connect(self._rows_changed)
        self.bar.valueChanged.connect(lambda v: self.chart.scroll_to(v) if v != self.chart.first else None)

    def _rows_changed(self, first: int, shown: int, total: int) -> None:
        self.bar.blockSignals(True)
        self.bar.setRange(0, max(0, total - shown))
        self.bar.setPageStep(max(1, shown))
        self.bar.setValue(first)
        self.bar.blockSignals(False)
        self.bar.setVisible(total > shown)


class OcChart(plots.StaticPlot):
    """Probability of acceptance against the lot's fraction defective, with the lot's outcome marked.

    No legend inside the plot (it would cover the top of the curve, where an
    OC curve starts): ``legend_entries`` lists what each line is, for the
    legend under the plot (:class:`OcPanel`)."""

    def __init__(self, parent=None, scale: float = 1.0) -> None:
        super().__init__(parent, left="probability of acceptance Pa", bottom="fraction defective in the lot p")
        self.scale = scale
        self.getPlotItem().getAxis("bottom").enableAutoSIPrefix(False)
        self.legend_entries: list[tuple[str, str, str]] = []   # (colour, symbol, text)

    def set_data(self, curve: list[dict], plan: dict, observed: dict | None) -> None:
        p = self.getPlotItem()
        p.clear()
        entries = []
        ps = [r["p"] for r in curve]
        p.plot(ps, [r["pa_binomial"] for r in curve], pen=plots.pen(plots.BLUE, 3))
        entries.append((plots.BLUE, "━━",
                        f"binomial, n = {plan.get('sample_size')}, Ac = {plan.get('acceptance_number')}"))
        if curve and "pa_hypergeometric" in curve[0]:
            p.plot(ps, [r["pa_hypergeometric"] for r in curve], pen=plots.pen(plots.BROWN, 2.5, dash=True))
            entries.append((plots.BROWN, "╍╍", f"hypergeometric, N = {plan.get('lot_size')}"))
        aql = plan.get("aql")
        if aql is not None and ps and aql / 100 <= max(ps):
            line = p.addLine(x=aql / 100, pen=plots.pen(plots.GREY, 1.5, dash=True))
            line.setZValue(-5)
            t = plots.text_item(f" AQL {aql:g} %", plots.GREY, anchor=(0, 1), scale=self.scale)
            t.setPos(aql / 100, 0.02)
            p.addItem(t)
        if observed is not None:
            x = observed["p"]
            p.plot([x], [observed["pa_binomial"]], pen=None, symbol="o", symbolSize=16, symbolBrush=plots.INK,
                   symbolPen=plots.pen("#ffffff", 2))
            p.plot([x], [observed["pa_hypergeometric"]], pen=None, symbol="s", symbolSize=11,
                   symbolBrush=plots.BROWN, symbolPen=plots.pen("#ffffff", 2))
            entries.append((plots.INK, "●", f"this lot: {observed['defectives']}/{observed['tested']} defective, "
                                            f"Pa {observed['pa_binomial']:.3f}"))
        self.legend_entries = entries
        p.setYRange(0, 1.05, padding=0)
        p.setXRange(0, max(ps or [1]), padding=0.02)
        self.set_text_scale(self.scale)


class OcPanel(QWidget):
    """The OC curve with its legend in a line under the plot, never over the curve."""

    def __init__(self, parent=None, scale: float = 1.0) -> None:
        from PySide6.QtWidgets import QLabel, QVBoxLayout

        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.chart = OcChart(self, scale)
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.chart, 1)
        lay.addWidget(self.legend)

    def set_data(self, curve: list[dict], plan: dict, observed: dict | None) -> None:
        import html

        self.chart.set_data(curve, plan, observed)
        # each entry kept on one line: the legend wraps between entries only
        self.legend.setText(" &nbsp; ".join(
            f"<span style='color:{c}; font-weight:bold'>{sym}</span>&nbsp;{html.escape(t).replace(' ', '&nbsp;')}"
            for c, sym, t in self.chart.legend_entries))


def oc_image(curve: list[dict], plan: dict, observed: dict | None, width: int = 1000, height: int = 520) -> QImage:
    """The OC curve drawn with QPainter on a white image (for PDF reports; safe in a worker thread)."""
    img = QImage(width, height, QImage.Format.Format_RGB32)
    img.fill(QColor("#ffffff"))
    g = QPainter(img)
    g.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont("sans-serif")
    font.setPixelSize(17)
    g.setFont(font)
    left, right, top, bottom = 86, 24, 54, 64
    w, h = width - left - right, height - top - bottom
    p_max = max([r["p"] for r in curve] or [1]) or 1.0

    def xy(p: float, pa: float) -> QPointF:
        return QPointF(left + p / p_max * w, top + (1 - pa) * h)

    # grid and axes
    g.setPen(QPen(QColor("#d0d0d0"), 1))
    for k in range(11):
        y = top + k / 10 * h
        g.drawLine(QPointF(left, y), QPointF(left + w, y))
    steps = _nice_steps(p_max)
    for v in steps:
        x = xy(v, 0).x()
        g.drawLine(QPointF(x, top), QPointF(x, top + h))
    g.setPen(QPen(QColor("#000000"), 2))
    g.drawRect(QRectF(left, top, w, h))
    for k in range(0, 11, 2):
        y = top + (1 - k / 10) * h
        g.drawText(QRectF(0, y - 12, left - 8, 24), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   f"{k / 10:.1f}")
    for v in steps:
        x = xy(v, 0).x()
        g.drawText(QRectF(x - 40, top + h + 4, 80, 24), Qt.AlignmentFlag.AlignHCenter, f"{v:g}")
    g.drawText(QRectF(left, top + h + 30, w, 26), Qt.AlignmentFlag.AlignHCenter, "fraction defective in the lot p")
    g.save()
    g.translate(18, top + h / 2)
    g.rotate(-90)
    g.drawText(QRectF(-h / 2, -14, h, 28), Qt.AlignmentFlag.AlignHCenter, "probability of acceptance Pa")
    g.restore()
    # curves
    for key, color, dash in (("pa_binomial", plots.BLUE, False), ("pa_hypergeometric", plots.BROWN, True)):
        if not curve or key not in curve[0]:
            continue
        pen_ = QPen(QColor(color), 3)
        if dash:
            pen_.setStyle(Qt.PenStyle.DashLine)
        g.setPen(pen_)
        pts = [xy(r["p"], r[key]) for r in curve]
        for a, b in zip(pts, pts[1:]):
            g.drawLine(a, b)
    aql = plan.get("aql")
    if aql is not None and aql / 100 <= p_max:
        pen_ = QPen(QColor(plots.GREY), 2)
        pen_.setStyle(Qt.PenStyle.DashLine)
        g.setPen(pen_)
        x = xy(aql / 100, 0).x()
        g.drawLine(QPointF(x, top), QPointF(x, top + h))
        g.drawText(QPointF(x + 6, top + h - 8), f"AQL {aql:g} %")
    if observed is not None:
        c = xy(observed["p"], observed["pa_binomial"])
        g.setPen(QPen(QColor("#ffffff"), 2))
        g.setBrush(QColor("#000000"))
        g.drawEllipse(c, 9, 9)
        g.setPen(QPen(QColor("#000000"), 1))
        text = (f"this lot: {observed['defectives']}/{observed['tested']} defective, p = {observed['p']:.3g}, "
                f"Pa = {observed['pa_binomial']:.3f}")
        g.drawText(QRectF(left, 8, w, 22), Qt.AlignmentFlag.AlignLeft, text)
    # legend
    g.setPen(QPen(QColor("#000000"), 1))
    legend = (f"binomial n = {plan.get('sample_size')}, Ac = {plan.get('acceptance_number')}   "
              f"- - hypergeometric N = {plan.get('lot_size')}")
    g.drawText(QRectF(left, 28, w, 22), Qt.AlignmentFlag.AlignLeft, legend)
    g.end()
    return img


def _nice_steps(p_max: float) -> list[float]:
    import math

    raw = p_max / 5
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 0.1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    out, v = [], 0.0
    while v <= p_max * 1.0001:
        out.append(round(v, 10))
        v += step
    return out

