"""Step 5 of the Commission wizard: the observation window (live plot and KPIs)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QSpinBox, QWidget

from app.ui.commission.steps.base import Step, scroll_area


class ObserveStep(Step):
    hint = ("Watch the meter for a few minutes: polls through the bus feed the plot; data completeness "
            "(HNTAS SS-KPI-02) and the volume-weighted average flow temperature (SS-KPI-09A) are kept for the "
            "certificate. You may end early with a reason.")

    startRequested = Signal()
    endRequested = Signal()
    extendRequested = Signal(int)          # minutes to add to the running window

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from app.ui.widgets.liveplot import LivePlot  # pyqtgraph: only when the wizard is built

        self.area, inner, lay = scroll_area(self)
        self.outer.addWidget(self.area, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Window", inner))
        self.minutes = QSpinBox(inner)
        self.minutes.setObjectName("WindowMinutes")
        self.minutes.setRange(1, 24 * 60)
        self.minutes.setValue(10)
        self.minutes.setSuffix(" min")
        row.addWidget(self.minutes)
        row.addWidget(QLabel("poll every", inner))
        self.interval = QSpinBox(inner)
        self.interval.setObjectName("PollInterval")
        self.interval.setRange(1, 60)
        self.interval.setValue(5)
        self.interval.setSuffix(" s")
        row.addWidget(self.interval)
        self.start_button = QPushButton("Start observation", inner)
        self.start_button.setObjectName("StartObservation")
        self.start_button.setProperty("primary", True)
        self.start_button.clicked.connect(self.startRequested)
        row.addWidget(self.start_button)
        self.extend_button = QPushButton("+10 min", inner)
        self.extend_button.setObjectName("ExtendObservation")
        self.extend_button.setToolTip("Make the running window 10 minutes longer (registers that move in big "
                                      "steps need time for a conclusive energy check)")
        self.extend_button.setEnabled(False)
        self.extend_button.clicked.connect(lambda: self.extendRequested.emit(10))
        row.addWidget(self.extend_button)
        self.row1, self.row2 = row, QHBoxLayout()
        lay.addLayout(row)
        self.reason = QLineEdit(inner)
        self.reason.setObjectName("EndReason")
        self.reason.setPlaceholderText("Reason to end early (required)")
        self.end_button = QPushButton("End early", inner)
        self.end_button.setObjectName("EndObservation")
        self.end_button.setEnabled(False)
        self.end_button.clicked.connect(self.endRequested)
        row.addWidget(self.reason, 1)
        row.addWidget(self.end_button)
        lay.addLayout(self.row2)
        self.advice = QLabel("", inner)
        self.advice.setObjectName("ObservationAdvice")
        self.advice.setWordWrap(True)
        self.advice.setTextFormat(Qt.TextFormat.RichText)
        self.advice.hide()
        lay.addWidget(self.advice)
        self.kpi_line = QLabel("", inner)
        self.kpi_line.setObjectName("ObservationKpis")
        self.kpi_line.setWordWrap(True)
        self.kpi_line.setTextFormat(Qt.TextFormat.RichText)
        self.kpi_line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.kpis: dict[str, str] = {"time": "—", "completeness": "—", "vwaft": "—", "increment": "—"}
        self._render_kpis()
        lay.addWidget(self.kpi_line)
        self.plot = LivePlot(inner, window_s=900, max_gap_s=12.5)
        self.plot.setMinimumHeight(250)
        lay.addWidget(self.plot, 1)

    def show_plot(self) -> None:
        """Scroll so that the KPIs and the plot are in view (larger text needs the room)."""
        self.area.verticalScrollBar().setValue(self.kpi_line.y())

    def show_advice(self, text: str) -> None:
        """How long to observe for a conclusive energy-increment check (empty: hidden)."""
        self.advice.setText(text)
        self.advice.setVisible(bool(text))

    def set_running(self, running: bool, *, paused: bool = False) -> None:
        """``running``: a window is open; ``paused``: its polling stopped (the start button resumes it)."""
        self.start_button.setEnabled(not running or paused)
        self.start_button.setText("Resume polling" if running and paused else
                                  "Observation running…" if running else "Start observation")
        self.end_button.setEnabled(running)
        self.extend_button.setEnabled(running)
        self.minutes.setEnabled(not running)
        self.interval.setEnabled(not running)

    def _render_kpis(self) -> None:
        from html import escape

        titles = (("time", "Time"), ("completeness", "Data completeness"), ("vwaft", "VWAFT"),
                  ("increment", "Energy increment"))
        self.kpi_line.setText("&nbsp;&nbsp;&nbsp; ".join(
            f"<span style='color:#333'>{t}</span> <b>{escape(self.kpis[k])}</b>" for k, t in titles))

    def show_kpis(self, kpis: dict[str, Any] | None, elapsed_s: float | None = None,
                  total_s: float | None = None, increment: dict[str, Any] | None = None) -> None:
        if elapsed_s is not None and total_s is not None:
            left = max(0.0, total_s - elapsed_s)
            self.kpis["time"] = (f"{int(elapsed_s) // 60}:{int(elapsed_s) % 60:02d} of "
                                 f"{int(total_s) // 60}:{int(total_s) % 60:02d}"
                                 + (f" ({int(left) // 60}:{int(left) % 60:02d} left)" if left else ""))
        if kpis:
            c = kpis["completeness"]
            pct = "—" if c["pct"] is None else f"{c['pct']:.1f} %"
            self.kpis["completeness"] = f"{pct} ({c['received']} of {c['expected']} polls)"
            v = kpis.get("vwaft_c")
            self.kpis["vwaft"] = "—" if v is None else f"{v:.2f} °C"
        if increment:
            dev = (increment.get("values") or {}).get("deviation_pct")
            self.kpis["increment"] = increment["status"].upper() + ("" if dev is None else f" {dev:+.2f} %")
        self._render_kpis()

    def set_target(self, px: int) -> None:
        for b in (self.start_button, self.end_button, self.extend_button):
            b.setMinimumHeight(px)
        larger = px > 44
        self.plot.setMinimumHeight(round(250 * px / 44))
        # with larger text the reason for ending early gets a row of its own
        target, other = (self.row2, self.row1) if larger else (self.row1, self.row2)
        for w, stretch in ((self.reason, 1), (self.end_button, 0)):
            other.removeWidget(w)
            target.removeWidget(w)
            target.addWidget(w, stretch)
