"""The Live page: poll a meter every N seconds and plot it.

For now it plots the synthetic demo substation (``--demo``); the bus stack will
hand it a real read function (``set_source``) when it lands.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox

from app.ui import icons
from app.ui.pages.base import Page

DEFAULT_INTERVAL_S = 5


class LivePage(Page):
    name = "live"
    title = "Live"
    icon = "live"

    def build(self) -> None:
        from app.ui.widgets.liveplot import LivePlot  # pyqtgraph and numpy: only with this page
        from app.ui.workers import Poller

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(QLabel("Poll every", self))
        self.interval = QSpinBox(self)
        self.interval.setRange(1, 60)
        self.interval.setSuffix(" s")
        self.interval.setValue(int(self.ctx.settings.page_value(self.name, "interval_s", DEFAULT_INTERVAL_S, int)))
        self.interval.setToolTip("Seconds between two readouts (1 to 60)")
        row.addWidget(self.interval)
        self.start_button = QPushButton("Start polling", self)
        self.start_button.setProperty("primary", True)
        self.start_button.setIcon(icons.icon("play", "#ffffff"))
        self.start_button.clicked.connect(self.toggle_polling)
        row.addWidget(self.start_button)
        self.state_label = QLabel("", self)
        self.state_label.setWordWrap(True)
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(self.state_label, 1)
        self.body_layout.addLayout(row)

        self.plot = LivePlot(self.body, max_gap_s=2.5 * self.interval.value())
        self.plot.message.connect(lambda level, text: self.banner.show_message(text, level))
        self.body_layout.addWidget(self.plot, 1)

        self.source: Callable[[], object] | None = None
        self.poller = Poller(self.ctx.tasks, "Live polling", self._read, self.interval.value(), self)
        self.poller.sample.connect(self._on_sample)
        self.poller.missed.connect(self._on_missed)
        self.poller.runningChanged.connect(self._running_changed)
        self.interval.valueChanged.connect(self._interval_changed)

        self.make_action("Pause / resume the plot", self.plot.toggle_paused, "Space")
        self.make_action("Follow the latest samples", lambda: self.plot.set_follow(True), "F")
        self.make_action("Zoom in (time)", self.plot.zoom_in, "+")
        self.make_action("Zoom out (time)", self.plot.zoom_out, "-")
        self.make_action("Show all data", self.plot.show_all, "0")
        self.make_action("Export data as CSV", self.plot.ask_export_csv, "Ctrl+E")
        self.make_action("Save plot as PNG", self.plot.ask_export_png, "Ctrl+Shift+E")
        self.make_action("Start / stop polling", self.toggle_polling, "Ctrl+R")
        self.on_text_scale_changed(self.ctx.text_scale)

    # -- source --------------------------------------------------------------------
    def set_source(self, read: Callable[[], object] | None) -> None:
        """``read()`` returns an object with t_epoch_s (optional), power_kw, flow_m3h, t_flow_c,
        t_return_c, or raises / returns None for a missed poll. Runs in a worker thread."""
        self.source = read

    def _read(self):
        if self.source is None:
            raise RuntimeError("no meter to poll")
        return self.source()

    def toggle_polling(self) -> None:
        if self.poller.running:
            self.poller.stop()
            return
        if self.source is None and self.ctx.demo:
            from app.ui.demo import DemoLiveSource

            self.set_source(DemoLiveSource(miss_rate=0.03).read)
        if self.source is None:
            self.show_warning("Connect to a meter first (Connect page), then start polling.")
            return
        self.poller.set_interval(self.interval.value())
        self.poller.start()

    def refresh(self) -> bool:
        self.toggle_polling()
        return True

    def _interval_changed(self, seconds: int) -> None:
        self.poller.set_interval(seconds)
        self.plot.max_gap_s = 2.5 * seconds
        if not self.ctx.screenshot:
            self.ctx.settings.set_page_value(self.name, "interval_s", seconds)

    def _on_sample(self, t: float, s) -> None:
        self.plot.add_sample(t, s.power_kw, s.flow_m3h, s.t_flow_c, s.t_return_c)
        self._show_counts()

    def _on_missed(self, t: float, message: str) -> None:
        self.plot.add_gap(t)
        self._show_counts(message)

    def _show_counts(self, miss: str = "") -> None:
        p = self.poller
        text = f"{p.polls} polls, {p.misses} missed"
        if miss:
            text += f" (last: {miss})"
        self.state_label.setText(text)

    def _running_changed(self, running: bool) -> None:
        self.start_button.setText("Stop polling" if running else "Start polling")
        self.start_button.setIcon(icons.icon("pause" if running else "play", "#ffffff"))

    # -- page hooks ----------------------------------------------------------------
    def prepare_demo(self) -> None:
        from app.ui.demo import DemoLiveSource, demo_history

        self.plot.clear()
        self.plot.add_samples(demo_history())
        self.plot.set_window(3600)
        self.plot.refresh()
        self.state_label.setText("Demo: one hour of 1-second samples with two missed stretches.")
        if self.source is None:
            self.set_source(DemoLiveSource(miss_rate=0.03).read)

    def on_text_scale_changed(self, scale: float) -> None:
        self.plot.set_text_scale(scale)

    def on_hidden(self) -> None:
        pass  # polling goes on in the background; the status bar shows it
