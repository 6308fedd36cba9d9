"""The History view: a meter's stored values by date, as a chart per quantity and a table, with export.

Shown by the Readout page (the readout on screen) and the meter page (the
meter's saved readouts). :meth:`HistoryView.set_history` takes a
:class:`drivers.history.History`; the quantity list picks the chart (values of
the register at each stored date; for cumulative registers - energy, volume,
hours - also the increase per stored period as bars); the table has one row per
storage number (its date) and one column per register, in kWh, kW, m³, m³/h,
°C and hours. CSV and XLSX export the table (``write_table``, in a worker).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QRadioButton, QSizePolicy, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.core.history_table import increments, series_points, shown_series, wide_table
from app.ui import icons, theme

LINE_COLOUR = "#0b3d91"
BAR_COLOUR = "#00715a"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_table(path: str, header: list[str], rows: list[list[Any]]) -> int:
    """Write a table as CSV (UTF-8 with BOM) or XLSX, by the file's suffix; returns the rows written.

    The one place the History view writes files (to be replaced by the project's
    shared safe writer): text that a spreadsheet would take for a formula is
    written as text (a leading apostrophe in CSV, a text cell in XLSX); numbers
    stay numbers."""
    if path.lower().endswith(".xlsx"):
        import openpyxl
        from openpyxl.cell import WriteOnlyCell

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("history")

        def cell(v: Any):
            c = WriteOnlyCell(ws, value=v)
            if isinstance(v, str):
                c.data_type = "s"          # never a formula, whatever the text starts with
            return c
        ws.append([cell(h) for h in header])
        for r in rows:
            ws.append([cell(v) for v in r])
        wb.save(path)
        return len(rows)
    import csv

    def safe(v: Any) -> Any:
        return "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow([safe(h) for h in header])
        for r in rows:
            w.writerow([safe(v) for v in r])
    return len(rows)


def _number(v: Any, unit: str) -> str:
    if v == "" or v is None:
        return ""
    decimals = 0 if unit in ("h",) else 3 if unit in ("m³/h", "m³") else 2 if unit in ("°C", "K", "kW") else 3
    if unit == "kWh":
        decimals = 0 if abs(v) >= 100000 else 3 if abs(v) < 100 else 1
    text = f"{v:,.{decimals}f}".replace(",", "\u2009")
    return text


class HistoryView(QWidget):
    """See the module docstring. ``message(kind, text)``: what an export did (the page shows it)."""

    message = Signal(str, str)

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.history = None
        self.meta: dict[str, Any] = {}
        self.shown: list = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        bar = QHBoxLayout()
        self.quantity_label = QLabel("Quantity", self)
        self.quantity_combo = QComboBox(self)
        self.quantity_combo.setToolTip("The register the chart shows")
        self.quantity_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.quantity_combo.currentIndexChanged.connect(lambda _i: self.draw())
        self.values_radio = QRadioButton("Values", self)
        self.values_radio.setToolTip("The register's value at each stored date")
        self.period_radio = QRadioButton("Per period", self)
        self.period_radio.setToolTip("How much the register grew between two stored dates (cumulative registers)")
        self.values_radio.setChecked(True)
        self.mode = QButtonGroup(self)
        self.mode.addButton(self.values_radio)
        self.mode.addButton(self.period_radio)
        self.values_radio.toggled.connect(lambda _on: self.draw())
        self.csv_button = QPushButton("CSV", self)
        self.csv_button.setIcon(icons.icon("export"))
        self.csv_button.setToolTip("Export the history table as CSV")
        self.csv_button.clicked.connect(lambda: self.ask_export("csv"))
        self.xlsx_button = QPushButton("XLSX", self)
        self.xlsx_button.setIcon(icons.icon("export"))
        self.xlsx_button.setToolTip("Export the history table as an Excel workbook")
        self.xlsx_button.clicked.connect(lambda: self.ask_export("xlsx"))
        for w in (self.quantity_label, self.quantity_combo, self.values_radio, self.period_radio):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.xlsx_button)
        lay.addLayout(bar)
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.summary)
        self.plot = pg.PlotWidget(self, axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.plot.setBackground("w")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # chart above, table below, the user moves the border; neither forces the window to grow
        self.split = QSplitter(Qt.Orientation.Vertical, self)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.plot)
        lay.addWidget(self.split, 1)
        self.table = QTableWidget(0, 0, self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.split.addWidget(self.table)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.notes = QLabel("", self)
        self.notes.setWordWrap(True)
        lay.addWidget(self.notes)
        self.set_text_scale(getattr(ctx, "text_scale", 1.0))
        self.set_history(None)

    # -- content ------------------------------------------------------------------------------
    def set_history(self, history, meta: dict[str, Any] | None = None) -> None:
        """Show ``history`` (None: empty); ``meta``: the meter (``meter``), when read (``read_at``)."""
        self.history = history
        self.meta = dict(meta or {})
        self.shown = shown_series(history) if history is not None else []
        stored = [s for s in self.shown if any(p.storage for p in s.series.points)]
        self.quantity_combo.blockSignals(True)
        self.quantity_combo.clear()
        for s in self.shown:
            self.quantity_combo.addItem(s.title, s.key)
        default = next((i for i, s in enumerate(self.shown) if s.series.quantity == "energy"
                        and s in stored), 0)
        self.quantity_combo.setCurrentIndex(default if self.shown else -1)
        self.quantity_combo.blockSignals(False)
        for w in (self.csv_button, self.xlsx_button, self.quantity_combo, self.values_radio, self.period_radio):
            w.setEnabled(history is not None and bool(self.shown))
        if history is None or not self.shown:
            self.summary.setText("No stored values yet: read the meter's history (<b>Read history</b>) or open a "
                                 "saved readout.")
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.notes.setText("")
            self.plot.clear()
            return
        dates = [d for k, d in sorted(history.dates.items()) if k > 0 and d]
        span = f" from {min(dates)[:10]} to {max(dates)[:10]}" if dates else ""
        who = self.meta.get("meter") or ""
        self.summary.setText(f"<b>{len(stored)}</b> register{'s' if len(stored) != 1 else ''} with stored values, "
                             f"<b>{len([k for k in history.dates if k > 0])}</b> stored dates{span}"
                             + (f" · {who}" if who else ""))
        self.fill_table()
        self.notes.setText("Notes: " + "; ".join(history.notes) if history.notes else "")
        self.draw()

    def current(self):
        i = self.quantity_combo.currentIndex()
        return self.shown[i] if 0 <= i < len(self.shown) else None

    def fill_table(self) -> None:
        header, rows = wide_table(self.history)
        units = ["", ""] + [s.unit for s in shown_series(self.history)]
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels(header)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if c == 0:
                    text = str(v)
                elif c == 1:
                    text = str(v).replace("T", " ")[:16]       # storage 0: the meter's clock; others: dates
                else:
                    text = _number(v, units[c])
                item = QTableWidgetItem(text)
                if c >= 2 or c == 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)

    def draw(self) -> None:
        self.plot.clear()
        s = self.current()
        if s is None or self.history is None:
            return
        pts = series_points(s, self.history)
        per_period = self.period_radio.isChecked() and s.cumulative
        self.period_radio.setEnabled(s.cumulative)
        left = self.plot.getAxis("left")
        if per_period:
            inc = increments([p for p in pts if p[2] > 0] or pts)
            if inc:
                x0 = [a.timestamp() for a, _b, _v in inc]
                x1 = [b.timestamp() for _a, b, _v in inc]
                w = [(b - a) * 0.8 for a, b in zip(x0, x1)]
                bars = pg.BarGraphItem(x=[(a + b) / 2 for a, b in zip(x0, x1)], height=[v for _a, _b, v in inc],
                                       width=w, brush=BAR_COLOUR, pen=pg.mkPen("#ffffff"))
                self.plot.addItem(bars)
            left.setLabel(f"{s.name}, increase per period ({s.unit})")
        else:
            if pts:
                self.plot.plot([t.timestamp() for t, _v, _s in pts], [v for _t, v, _s in pts],
                               pen=pg.mkPen(LINE_COLOUR, width=2), symbol="o", symbolSize=9,
                               symbolBrush=LINE_COLOUR, symbolPen=pg.mkPen(LINE_COLOUR))
            left.setLabel(s.title)
        self.plot.enableAutoRange()

    # -- export -----------------------------------------------------------------------------------
    def default_name(self, kind: str) -> str:
        who = (self.meta.get("meter") or "meter").replace(" ", "-")
        when = self.meta.get("read_at")
        stamp = when.astimezone().strftime("%Y%m%d") if isinstance(when, dt.datetime) else "history"
        return f"history-{who}-{stamp}.{kind}"

    def ask_export(self, kind: str) -> None:
        if self.history is None or getattr(self.ctx, "screenshot", False):
            return
        filt = "CSV (*.csv)" if kind == "csv" else "Excel workbook (*.xlsx)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export the history as {kind.upper()}",
                                              self.default_name(kind), filt)
        if path:
            self.export(path)

    def export(self, path: str):
        """Write the table to ``path`` (CSV or XLSX by suffix) in a worker; ``message`` says how it went."""
        header, rows = wide_table(self.history)
        who = self.meta.get("meter")
        if who:
            header = header + ["Meter"]
            rows = [r + [who] for r in rows]
        task = self.ctx.tasks.start("Export history", write_table, path, header, rows, report_errors=False)
        task.finished.connect(lambda n: self.message.emit("info", f"Exported {n} stored dates to {path}."))
        task.failed.connect(lambda msg: self.message.emit("error", f"Cannot write {path}: {msg}"))
        return task

    # -- larger text ----------------------------------------------------------------------------------
    def set_text_scale(self, scale: float) -> None:
        m = theme.metrics(scale)
        tick = QFont()
        tick.setPointSizeF(m.point_size * 0.9)
        for name in ("left", "bottom"):
            ax = self.plot.getAxis(name)
            ax.setStyle(tickFont=tick)
            ax.setPen(pg.mkPen("#000000", width=1))
            ax.setTextPen(pg.mkPen("#000000"))
        self.plot.getAxis("left").setWidth(round(84 * scale))
        for b in (self.csv_button, self.xlsx_button):
            b.setMinimumHeight(m.target)
        self.quantity_combo.setMinimumHeight(m.input_height)
        self.plot.setMinimumHeight(round(120 * scale))
        self.table.setMinimumHeight(round(80 * scale))
