"""The live plot: power, flow, flow and return temperatures and Δθ of one meter over time.

Four stacked plots share one time axis (local clock time), each with its own
y axis and unit: power kW; flow m³/h; flow and return °C; Δθ K. A crosshair
shows the values of every series at the cursor (the latest values otherwise).
Pause freezes the picture while samples keep being recorded; zoom with the
mouse wheel or the buttons; "Follow" keeps the newest samples in view over a
chosen window. Missed polls are gaps (NaN, drawn with ``connect='finite'``),
never interpolated. Export to CSV and PNG.

Hours of data stay fast: samples live in preallocated numpy arrays that grow
by doubling (up to ``max_points``, then the oldest tenth is dropped), and each
curve is clipped to the view and peak-downsampled to the screen's width
(``setClipToView(True)``, ``setDownsampling(auto=True, mode='peak')``); peak
downsampling keeps spikes and keeps a gap visible at every zoom level. See
``bench/gui.py`` for the measured update cost.

API::

    plot = LivePlot()
    plot.add_sample(t_epoch_s, power_kw, flow_m3h, t_flow_c, t_return_c)  # None -> gap in that series
    plot.add_gap(t_epoch_s)                                              # a missed poll
    plot.samples()                                                       # list[LiveSample]
    plot.export_csv(path); plot.export_png(path)
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from app.ui import icons, theme


class SeriesSpec(NamedTuple):
    key: str
    label: str
    unit: str
    color: str
    decimals: int


# Colours: distinguishable in colour-blindness and in glare, >= 4.5:1 on white.
SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec("power_kw", "Power", "kW", "#000000", 2),
    SeriesSpec("flow_m3h", "Flow", "m³/h", "#00715a", 3),
    SeriesSpec("t_flow_c", "Flow temperature", "°C", "#c0241c", 2),
    SeriesSpec("t_return_c", "Return temperature", "°C", "#0b55b3", 2),
    SeriesSpec("dtheta_k", "Δθ", "K", "#7a3e00", 2),
)
KEYS = tuple(s.key for s in SERIES)
# (axis title, unit, series shown in that plot)
PANELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Power", "kW", ("power_kw",)),
    ("Flow", "m³/h", ("flow_m3h",)),
    ("Temperature", "°C", ("t_flow_c", "t_return_c")),
    ("Δθ", "K", ("dtheta_k",)),
)
CSV_HEADER = ["timestamp"] + [f"{s.label} ({s.unit})" for s in SERIES]
WINDOWS_S = ((300, "5 min"), (900, "15 min"), (3600, "1 h"), (6 * 3600, "6 h"), (86400, "24 h"))
DEFAULT_WINDOW_S = 900
DEFAULT_MAX_POINTS = 7 * 86400  # a week of 1-second samples, about 34 MB


class LiveSample(NamedTuple):
    """One row of the plot's data; None where the series has no value (a gap)."""

    t_epoch_s: float
    power_kw: float | None
    flow_m3h: float | None
    t_flow_c: float | None
    t_return_c: float | None
    dtheta_k: float | None


def _num(v) -> float:
    if v is None:
        return math.nan
    f = float(v)
    return f if math.isfinite(f) else math.nan


class SampleBuffer:
    """Column store of samples: row 0 is time, rows 1..5 the series (NaN = no value).

    Preallocated; grows by doubling up to ``max_points``; beyond that the oldest
    tenth is dropped in one move (amortised O(1) per sample).
    """

    def __init__(self, capacity: int = 4096, max_points: int = DEFAULT_MAX_POINTS) -> None:
        if max_points < 10:
            raise ValueError("max_points must be at least 10")
        self.max_points = max_points
        self._a = np.full((1 + len(KEYS), min(capacity, max_points)), np.nan)
        self.n = 0
        self.dropped = 0

    @property
    def capacity(self) -> int:
        return self._a.shape[1]

    def _make_room(self, k: int = 1) -> None:
        need = self.n + k
        if need <= self.capacity:
            return
        if need <= self.max_points:
            cap = self.capacity
            while cap < need:
                cap *= 2
            cap = min(cap, self.max_points)
            grown = np.full((self._a.shape[0], cap), np.nan)
            grown[:, :self.n] = self._a[:, :self.n]
            self._a = grown
            return
        keep = max(0, min(self.n, self.max_points - self.max_points // 10, self.max_points - k))
        drop = self.n - keep
        self._a[:, :keep] = self._a[:, drop:self.n].copy()
        self._a[:, keep:] = np.nan
        self.n = keep
        self.dropped += drop

    def append(self, row: tuple[float, ...]) -> None:
        self._make_room(1)
        self._a[:, self.n] = row
        self.n += 1

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=float)
        if rows.ndim != 2 or rows.shape[1] != self._a.shape[0]:
            raise ValueError(f"rows must have shape (k, {self._a.shape[0]})")
        if len(rows) > self.max_points:
            self.dropped += len(rows) - self.max_points
            rows = rows[-self.max_points:]
        self._make_room(len(rows))
        self._a[:, self.n:self.n + len(rows)] = rows.T
        self.n += len(rows)

    def clear(self) -> None:
        self._a[:, :self.n] = np.nan
        self.n = 0

    @property
    def t(self) -> np.ndarray:
        return self._a[0, :self.n]

    def column(self, key: str) -> np.ndarray:
        return self._a[1 + KEYS.index(key), :self.n]

    @property
    def last_t(self) -> float | None:
        return float(self._a[0, self.n - 1]) if self.n else None


def _format(v: float, decimals: int) -> str:
    return "—" if not math.isfinite(v) else f"{v:.{decimals}f}"


class _Grid(pg.GraphicsObject):
    """Grid lines behind the curves of one plot, at the ticks of its axes.

    pyqtgraph's own grid draws every line with a translucent pen, which Qt's
    raster engine draws slowly (about 0.1 ms per line): with four plots that
    alone cost ~50 ms a repaint. Opaque one-pixel rectangles at the major time
    ticks and two levels of value ticks cost a few percent of that.
    """

    MAJOR = QColor(196, 196, 196)   # opaque on the white background: no blending
    MINOR = QColor(230, 230, 230)

    def __init__(self, plot: pg.PlotItem, time_axis: pg.AxisItem | None = None) -> None:
        super().__init__(plot.vb)
        self.plot = plot
        self.time_axis = time_axis or plot.getAxis("bottom")
        self.setZValue(-1e6)
        self.setFlag(self.GraphicsItemFlag.ItemStacksBehindParent, False)
        plot.vb.sigRangeChanged.connect(self._range_changed)
        plot.vb.sigResized.connect(self._resized)

    def _range_changed(self, *_args) -> None:
        self.update()

    def _resized(self, *_args) -> None:
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:
        return self.plot.vb.boundingRect()

    def paint(self, p: QPainter, *_args) -> None:
        rect = self.plot.vb.boundingRect()
        (x0, x1), (y0, y1) = self.plot.vb.viewRange()
        if rect.width() <= 0 or rect.height() <= 0 or x1 <= x0 or y1 <= y0:
            return
        w, h = rect.width(), rect.height()
        for axis_name, horizontal in (("bottom", False), ("left", True)):
            axis = self.time_axis if axis_name == "bottom" else self.plot.getAxis(axis_name)
            lo, hi, size = (y0, y1, h) if horizontal else (x0, x1, w)
            try:
                levels = axis.tickValues(lo, hi, size)
            except Exception:  # noqa: BLE001 - a grid is never worth an error
                continue
            # time: the coarsest level that has ticks in view (minor ones come every few
            # seconds); values: the two coarsest such levels
            levels = [lv for lv in levels if len(lv[1])][:2 if horizontal else 1]
            for level, (_spacing, values) in enumerate(levels):
                color = self.MAJOR if level == 0 else self.MINOR
                for v in values:
                    if horizontal:
                        y = rect.top() + (y1 - v) / (y1 - y0) * h
                        if rect.top() <= y <= rect.bottom():
                            p.fillRect(QRectF(rect.left(), round(y), w, 1), color)
                    else:
                        x = rect.left() + (v - x0) / (x1 - x0) * w
                        if rect.left() <= x <= rect.right():
                            p.fillRect(QRectF(round(x), rect.top(), 1, h), color)


class _ValueAxis(pg.AxisItem):
    """A value axis whose labelled ticks are never closer than 1.15 text lines: on a short plot (larger
    text, a small window) pyqtgraph's own choice printed "30 25 20 15" on top of each other."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 - pyqtgraph API
        levels = super().tickSpacing(minVal, maxVal, size)
        span = maxVal - minVal
        if not levels or size <= 0 or not math.isfinite(span) or span <= 0:
            return levels
        font = self.style.get("tickFont") or QFont()
        min_px = 1.15 * QFontMetricsF(font).height()
        per_px = span / size
        raw = min_px * per_px                       # the smallest labelled spacing that fits
        p10 = 10.0 ** math.floor(math.log10(raw))
        step = next(m * p10 for m in (1, 2, 5, 10) if m * p10 >= raw)
        # pyqtgraph's coarser levels, then this one (never finer: its labels would overlap), then the finer
        # levels for the grid (their labels are drawn only where pyqtgraph finds room)
        out = [lv for lv in levels if lv[0] > step * 1.0001]
        out.append((step, 0.0))
        return out + [lv for lv in levels if lv[0] < step * 0.9999]


class LivePlot(QWidget):
    """See the module docstring. ``message(level, text)`` reports exports and their errors."""

    message = Signal(str, str)
    pausedChanged = Signal(bool)
    followChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, window_s: int = DEFAULT_WINDOW_S,
                 max_points: int = DEFAULT_MAX_POINTS, max_gap_s: float | None = None,
                 downsample: bool = True, clip_to_view: bool = True, line_width: float = 2.0,
                 thin_above_points: int = 600) -> None:
        super().__init__(parent)
        self.buffer = SampleBuffer(max_points=max_points)
        self.max_gap_s = max_gap_s
        self._window_s = window_s
        self._follow = True
        self._paused = False
        self._pending = 0          # samples added while paused
        self._cursor_t: float | None = None
        self._scale = 1.0
        self.refresh_count = 0
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addLayout(self._build_toolbar())
        self.readout = QLabel(self)
        self.readout.setObjectName("LiveReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        lay.addWidget(self.readout)
        self.glw = pg.GraphicsLayoutWidget(self)
        self.glw.setBackground("w")
        self.glw.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        lay.addWidget(self.glw, 1)
        self.line_width = line_width
        self.thin_above_points = thin_above_points
        self._thin = False
        self._build_plots(downsample, clip_to_view)
        self.set_text_scale(1.0)
        self._apply_follow()  # an empty plot shows the last minutes of the clock, not 1970
        self._update_readout()

    # -- construction ---------------------------------------------------------------
    def _button(self, text: str, icon: str, tip: str, slot, checkable: bool = False) -> QPushButton:
        b = QPushButton(text, self)
        b.setIcon(icons.icon(icon))
        b.setToolTip(tip)
        b.setCheckable(checkable)
        if checkable:
            b.toggled.connect(slot)
        else:
            b.clicked.connect(lambda _c=False: slot())
        return b

    def _build_toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.pause_button = self._button("Pause", "pause", "Freeze the picture; samples keep being recorded (Space)",
                                         self.set_paused, checkable=True)
        self.follow_button = self._button("Follow", "follow", "Keep the newest samples in view (F)",
                                          self.set_follow, checkable=True)
        self._sync_button(self.follow_button, True)
        self.window_combo = QComboBox(self)
        self.window_combo.setToolTip("Time shown while following")
        for seconds, label in WINDOWS_S:
            self.window_combo.addItem(label, seconds)
        self.window_combo.setCurrentIndex(max(0, [s for s, _ in WINDOWS_S].index(self._window_s))
                                          if self._window_s in [s for s, _ in WINDOWS_S] else 1)
        self.window_combo.currentIndexChanged.connect(
            lambda i: self.set_window(int(self.window_combo.itemData(i))))
        self.zoom_in_button = self._button("In", "zoom-in", "Zoom in on time (+)", self.zoom_in)
        self.zoom_out_button = self._button("Out", "zoom-out", "Zoom out on time (-)", self.zoom_out)
        self.all_button = self._button("All", "zoom-all", "Show all data (0)", self.show_all)
        self.csv_button = self._button("CSV", "export", "Export the data as CSV (Ctrl+E)", self.ask_export_csv)
        self.png_button = self._button("PNG", "image", "Save the plot as a PNG picture (Ctrl+Shift+E)",
                                       self.ask_export_png)
        for w in (self.pause_button, self.follow_button, self.window_combo, self.zoom_in_button,
                  self.zoom_out_button, self.all_button):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.png_button)
        return bar

    def _build_plots(self, downsample: bool, clip_to_view: bool) -> None:
        self.plots: list[pg.PlotItem] = []
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.vlines: list[pg.InfiniteLine] = []
        self.legends: list[tuple[pg.PlotItem, tuple[str, ...]]] = []   # plots with a key line above the data
        self.grids: list[_Grid] = []
        spec = {s.key: s for s in SERIES}
        for i, (title, unit, keys) in enumerate(PANELS):
            axis = pg.DateAxisItem(orientation="bottom")
            p = self.glw.addPlot(row=i, col=0, axisItems={"bottom": axis, "left": _ValueAxis("left")})
            p.setLabel("left", unit)  # the unit on the axis; names in each plot's legend
            # the unit says it all: no "(x0.001)" of pyqtgraph's SI scaling, which ran into the next label
            p.getAxis("left").enableAutoSIPrefix(False)
            p.setMouseEnabled(x=True, y=False)
            p.setMenuEnabled(False)
            p.hideButtons()
            p.enableAutoRange(axis="y", enable=True)
            p.setAutoVisible(y=True)
            p.enableAutoRange(axis="x", enable=False)
            if i < len(PANELS) - 1:
                p.hideAxis("bottom")  # one time axis, under the last plot; the grids use its ticks
            if self.plots:
                p.setXLink(self.plots[0])
            if len(keys) > 1:
                # one series per plot is named by its unit and the values line; a plot with several
                # names them in a key line above its data (never over the curves)
                self.legends.append((p, keys))
                p.setTitle(self._legend_html(keys), justify="left")
            for key in keys:
                s = spec[key]
                curve = p.plot(pen=pg.mkPen(s.color, width=self.line_width), name=f"{s.label} ({s.unit})",
                               connect="finite")
                curve.setClipToView(clip_to_view)
                curve.setDownsampling(auto=downsample, method="peak")
                # peak mode keeps each pixel column's min and max: one bin per pixel is
                # enough (pyqtgraph's default of 5 draws 5x the points for no visible gain)
                curve.opts["autoDownsampleFactor"] = 1.0
                self.curves[key] = curve
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#555555", width=1, style=Qt.PenStyle.DashLine))
            line.hide()
            p.addItem(line, ignoreBounds=True)
            self.vlines.append(line)
            p.vb.sigRangeChangedManually.connect(self._user_moved_view)
            if not self.plots:
                p.vb.sigXRangeChanged.connect(self._update_line_width)
            self.plots.append(p)
        time_axis = self.plots[-1].getAxis("bottom")
        for p in self.plots:
            self.grids.append(_Grid(p, time_axis))
        self._mouse_proxy = pg.SignalProxy(self.glw.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)

    @staticmethod
    def _legend_html(keys: tuple[str, ...]) -> str:
        spec = {s.key: s for s in SERIES}
        parts = [f"<span style='color:{spec[k].color}; font-weight:bold'>&#9473;&#9473;&#9473;</span>"
                 f"&nbsp;<span style='color:#000000'>{spec[k].label} ({spec[k].unit})</span>" for k in keys]
        return "&nbsp;&nbsp;&nbsp;&nbsp;".join(parts)

    # -- data -----------------------------------------------------------------------
    def add_sample(self, t_epoch_s: float, power_kw: float | None, flow_m3h: float | None,
                   t_flow_c: float | None, t_return_c: float | None, dtheta_k: float | None = None) -> bool:
        """Record one poll; a None value is a gap in that series. Δθ: the meter's own Δθ record
        (``dtheta_k``) where it sends one, else flow − return.

        Returns False (and records nothing) for a time not after the last sample."""
        t = float(t_epoch_s)
        last = self.buffer.last_t
        if not math.isfinite(t) or (last is not None and t <= last):
            return False
        if self.max_gap_s is not None and last is not None and t - last > self.max_gap_s:
            self.buffer.append((last + self.max_gap_s / 2,) + (math.nan,) * len(KEYS))
        tf, tr = _num(t_flow_c), _num(t_return_c)
        dt = tf - tr if dtheta_k is None else _num(dtheta_k)
        self.buffer.append((t, _num(power_kw), _num(flow_m3h), tf, tr, dt))
        self._changed()
        return True

    def add_gap(self, t_epoch_s: float) -> bool:
        """Record a missed poll at ``t_epoch_s``: every series has a gap there."""
        t = float(t_epoch_s)
        last = self.buffer.last_t
        if not math.isfinite(t) or (last is not None and t <= last):
            return False
        self.buffer.append((t,) + (math.nan,) * len(KEYS))
        self._changed()
        return True

    def add_samples(self, rows: Iterable) -> int:
        """Bulk load (history, demo data): rows of (t, power, flow, t_flow, t_return[, Δθ]), or a bare
        time for a missed poll; anything with those attribute names works too. One repaint."""
        out = []
        last = self.buffer.last_t
        for r in rows:
            if isinstance(r, (int, float)):
                row = (float(r),) + (math.nan,) * len(KEYS)
            else:
                if hasattr(r, "t_epoch_s"):
                    vals = (r.t_epoch_s, r.power_kw, r.flow_m3h, r.t_flow_c, r.t_return_c,
                            getattr(r, "dtheta_k", None))
                else:
                    vals = tuple(r)[:6]
                tf, tr = _num(vals[3]), _num(vals[4])
                own = vals[5] if len(vals) > 5 else None
                row = (float(vals[0]), _num(vals[1]), _num(vals[2]), tf, tr, tf - tr if own is None else _num(own))
            if last is not None and not row[0] > last:
                continue
            out.append(row)
            last = row[0]
        if out:
            self.buffer.extend(np.array(out, dtype=float))
            self._changed()
        return len(out)

    def clear(self) -> None:
        self.buffer.clear()
        self._changed()

    def __len__(self) -> int:
        return self.buffer.n

    def arrays(self) -> dict[str, np.ndarray]:
        """Copies of the data: ``t_epoch_s`` and one array per series (NaN = gap)."""
        out = {"t_epoch_s": self.buffer.t.copy()}
        for key in KEYS:
            out[key] = self.buffer.column(key).copy()
        return out

    def samples(self) -> list[LiveSample]:
        a = self.arrays()
        cols = [a["t_epoch_s"]] + [a[k] for k in KEYS]
        return [LiveSample(float(row[0]), *(None if math.isnan(v) else float(v) for v in row[1:]))
                for row in zip(*cols)]

    def plotted(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """What the curve of ``key`` was last given (x, y): for tests and diagnostics."""
        x, y = self.curves[key].getOriginalDataset()
        return (np.asarray(x) if x is not None else np.array([]),
                np.asarray(y) if y is not None else np.array([]))

    def value_at(self, t_epoch_s: float) -> LiveSample | None:
        """The sample nearest to ``t_epoch_s`` (None when there is no data)."""
        t = self.buffer.t
        if len(t) == 0:
            return None
        i = int(np.searchsorted(t, t_epoch_s))
        if i >= len(t) or (i > 0 and t_epoch_s - t[i - 1] <= t[i] - t_epoch_s):
            i = max(0, i - 1)
        row = [float(t[i])] + [float(self.buffer.column(k)[i]) for k in KEYS]
        return LiveSample(row[0], *(None if math.isnan(v) else v for v in row[1:]))

    # -- view -----------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def following(self) -> bool:
        return self._follow

    @property
    def window_s(self) -> int:
        return self._window_s

    def set_paused(self, paused: bool) -> None:
        paused = bool(paused)
        if paused == self._paused:
            return
        self._paused = paused
        self._sync_button(self.pause_button, paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(icons.icon("play" if paused else "pause"))
        if not paused:
            self._pending = 0
            self.refresh()
        else:
            self._update_readout()
        self.pausedChanged.emit(paused)

    def toggle_paused(self) -> None:
        self.set_paused(not self._paused)

    def set_follow(self, follow: bool) -> None:
        follow = bool(follow)
        self._sync_button(self.follow_button, follow)
        if follow == self._follow:
            if follow:
                self._apply_follow()
            return
        self._follow = follow
        if follow:
            self._apply_follow()
        self.followChanged.emit(follow)

    def set_window(self, seconds: int) -> None:
        """Seconds of data shown while following (and turn following on)."""
        self._window_s = int(max(30, seconds))
        i = self.window_combo.findData(self._window_s)
        if i >= 0 and i != self.window_combo.currentIndex():
            self.window_combo.blockSignals(True)
            self.window_combo.setCurrentIndex(i)
            self.window_combo.blockSignals(False)
        self.set_follow(True)

    def x_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.plots[0].vb.viewRange()
        return float(x0), float(x1)

    def set_x_range(self, x0: float, x1: float) -> None:
        """Show [x0, x1] (epoch seconds); stops following."""
        self.set_follow(False)
        self.plots[0].setXRange(x0, x1, padding=0)

    def zoom_in(self) -> None:
        self._zoom(0.5)

    def zoom_out(self) -> None:
        self._zoom(2.0)

    def _zoom(self, factor: float) -> None:
        if self._follow:
            self._window_s = int(min(7 * 86400, max(30, self._window_s * factor)))
            self._apply_follow()
            return
        x0, x1 = self.x_range()
        c, half = (x0 + x1) / 2, (x1 - x0) / 2 * factor
        self.plots[0].setXRange(c - half, c + half, padding=0)

    def show_all(self) -> None:
        t = self.buffer.t
        if len(t) == 0:
            return
        self.set_follow(False)
        x0, x1 = float(t[0]), float(t[-1])
        if x1 - x0 < 1:
            x0, x1 = x0 - 30, x1 + 30
        self.plots[0].setXRange(x0, x1, padding=0.01)

    def _apply_follow(self) -> None:
        last = self.buffer.last_t
        end = last if last is not None else time.time()
        self.plots[0].setXRange(end - self._window_s, end + self._window_s * 0.02, padding=0)

    def _user_moved_view(self, *_args) -> None:
        if self._follow:
            self._follow = False
            self._sync_button(self.follow_button, False)
            self.followChanged.emit(False)

    @staticmethod
    def _sync_button(button: QPushButton, checked: bool) -> None:
        if button.isChecked() != checked:
            button.blockSignals(True)
            button.setChecked(checked)
            button.blockSignals(False)

    def _changed(self) -> None:
        if self._paused:
            self._pending += 1
            self._update_readout()
            return
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Push the data to the curves now (normally called by a zero timer after adds)."""
        self._refresh_timer.stop()
        if self._paused:
            return
        t = self.buffer.t
        for key, curve in self.curves.items():
            curve.setData(t, self.buffer.column(key))
        if self._follow:
            self._apply_follow()
        for p in self.plots:
            # fit the y ranges now: left to the paint, pyqtgraph would change the range
            # while painting and so paint every update twice
            p.vb.updateAutoRange()
        self._update_line_width()
        self.refresh_count += 1
        self._update_readout()

    def _update_line_width(self, *_args) -> None:
        """Thick lines while a curve is sparse enough to follow by eye; 1 px when it is
        a dense band anyway (above ~600 samples in view, under 2 px apart), where thick lines
        only cost time."""
        t = self.buffer.t
        if len(t) == 0:
            return
        x0, x1 = self.x_range()
        visible = int(np.searchsorted(t, x1) - np.searchsorted(t, x0))
        thin = visible > self.thin_above_points
        if thin == self._thin:
            return
        self._thin = thin
        spec = {s.key: s for s in SERIES}
        for key, curve in self.curves.items():
            curve.setPen(pg.mkPen(spec[key].color, width=1 if thin else self.line_width))

    # -- crosshair and the values line -------------------------------------------------
    def _on_mouse_moved(self, evt) -> None:
        pos: QPointF = evt[0]
        for p in self.plots:
            if p.sceneBoundingRect().contains(pos):
                self.show_cursor(p.vb.mapSceneToView(pos).x())
                return
        self.hide_cursor()

    def show_cursor(self, t_epoch_s: float) -> None:
        """Put the crosshair at ``t_epoch_s`` and show every series' value there."""
        self._cursor_t = float(t_epoch_s)
        for line in self.vlines:
            line.setPos(self._cursor_t)
            line.show()
        self._update_readout()

    def hide_cursor(self) -> None:
        if self._cursor_t is None:
            return
        self._cursor_t = None
        for line in self.vlines:
            line.hide()
        self._update_readout()

    def readout_text(self) -> str:
        """The values line as plain text (what the crosshair shows)."""
        return self.readout.text()

    def _update_readout(self) -> None:
        if self._cursor_t is not None:
            s = self.value_at(self._cursor_t)
            head = "At"
        else:
            s = self.value_at(self.buffer.last_t) if self.buffer.n else None
            head = "Latest"
        if s is None:
            self.readout.setText("<b>No samples yet.</b>")
            return
        when = datetime.fromtimestamp(s.t_epoch_s).strftime("%H:%M:%S")
        parts = [f"<b>{head}&nbsp;{when}</b>"]
        for spec in SERIES:
            v = getattr(s, spec.key)
            value = "gap" if v is None else f"{_format(v, spec.decimals)}&nbsp;{spec.unit}"
            label = spec.label.replace(" ", "&nbsp;")
            parts.append(f"<span style='color:{spec.color}'>■</span>&nbsp;{label}&nbsp;<b>{value}</b>")
        if self._paused:
            parts.append(f"<b style='color:#b3261e'>PAUSED</b>&nbsp;({self._pending}&nbsp;new)")
        self.readout.setText("&nbsp;&nbsp; ".join(parts))

    # -- export ---------------------------------------------------------------------------
    def export_csv(self, path: str | os.PathLike[str]) -> int:
        """Write all samples as CSV (UTF-8 with BOM); returns the number of rows.

        Columns: ``timestamp`` (ISO 8601, local time with UTC offset) then each
        series with its unit; an empty cell is a gap."""
        a = self.arrays()
        t = a["t_epoch_s"]
        spec = "seconds" if np.all(t == np.floor(t)) else "milliseconds"
        cols = [a[k] for k in KEYS]
        from app.storage import safe_export

        def rows():
            for i, ts in enumerate(t):
                stamp = datetime.fromtimestamp(float(ts)).astimezone().isoformat(timespec=spec)
                yield [stamp] + ["" if math.isnan(c[i]) else repr(float(c[i])) for c in cols]

        return safe_export.write_csv(path, CSV_HEADER, rows(), bom=True, numeric=CSV_HEADER[1:])

    def export_png(self, path: str | os.PathLike[str]) -> bool:
        """Save the plots (as shown) to a PNG file."""
        return self.glw.grab().save(os.fspath(path), "PNG")

    def _default_name(self, ext: str) -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return os.path.join(os.path.expanduser("~"), f"heatmeter-live-{stamp}.{ext}")

    def ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export live data as CSV", self._default_name("csv"),
                                              "CSV files (*.csv)")
        if path:
            from app.storage.errors import ExportError

            try:
                rows = self.export_csv(path)
            except ExportError as exc:
                self.message.emit("error", str(exc))
            except OSError as exc:
                self.message.emit("error", f"Could not write {path}: {exc.strerror or exc}")
            else:
                self.message.emit("info", f"Saved {rows} samples to {path}")

    def ask_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plot as PNG", self._default_name("png"),
                                              "PNG pictures (*.png)")
        if path:
            if self.export_png(path):
                self.message.emit("info", f"Saved the plot to {path}")
            else:
                self.message.emit("error", f"Could not write {path}")

    # -- larger text ----------------------------------------------------------------------
    def set_text_scale(self, scale: float) -> None:
        self._scale = scale
        m = theme.metrics(scale)
        tick = QFont()
        tick.setPointSizeF(m.point_size * 0.9)
        label_pt = f"{m.point_size:.1f}pt"
        for i, p in enumerate(self.plots):
            left = p.getAxis("left")
            left.setStyle(tickFont=tick)
            left.setWidth(round(84 * scale))
            left.setLabel(left.labelText, **{"font-size": label_pt, "color": "#000000"})
            bottom = p.getAxis("bottom")
            bottom.setStyle(tickFont=tick)
            for ax in (left, bottom):
                ax.setPen(pg.mkPen("#000000", width=1))
                ax.setTextPen(pg.mkPen("#000000"))
        for p, keys in self.legends:
            p.setTitle(self._legend_html(keys), size=label_pt, color="#000000", justify="left")
        # each plot at least as tall as its unit written upright and three tick labels: a short plot scrolls
        # with its page instead of squeezing labels into each other ("m³/hkW")
        label_font = QFont()
        label_font.setPointSizeF(m.point_size)
        line = QFontMetricsF(tick).height()
        rows = self.glw.ci.layout
        total = 0.0
        for i, (_title, unit, keys) in enumerate(PANELS):
            need = max(QFontMetricsF(label_font).horizontalAdvance(unit) + 24, 4.2 * line)
            if len(keys) > 1:
                need += 1.8 * QFontMetricsF(label_font).height()     # the key line above the data
            if i == len(PANELS) - 1:
                need += 1.6 * line                                    # the time axis under the last plot
            rows.setRowMinimumHeight(i, need)
            total += need
        self.glw.setMinimumHeight(round(total + 8 * len(PANELS)))
        icon_size = QSize(m.icon, m.icon)
        for b in (self.pause_button, self.follow_button, self.zoom_in_button, self.zoom_out_button,
                  self.all_button, self.csv_button, self.png_button):
            b.setIconSize(icon_size)
        self.readout.setStyleSheet(f"font-size: {m.point_size * 1.05:.1f}pt;")
