"""The Live page: poll the selected meter every N seconds and plot it.

Each poll is one complete readout through the bus service (never at the same
time as a scan or another read on the wire); its current values
(``app.core.readings.current_readings``: power kW, flow m³/h, flow and return
°C; Δθ is flow − return) become a point of the live plot. A missed poll is a
gap, never a line across. A meter that stops answering gets a warning in the
banner of the page the user is looking at after ``MISSES_TO_WARN`` misses in a
row; polling goes on (the gaps show the outage) and a note says when it
answers again. Stop polling with the button, Ctrl+R, or Esc.
"""
from __future__ import annotations

import time

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox

from app.ui import icons
from app.ui.pages.base import Page

DEFAULT_INTERVAL_S = 5
MISSES_TO_WARN = 3
DEMO_HISTORY_S = 1800        # prepare_demo: half an hour of polls
DEMO_OUTAGE = (200, 212)     # poll numbers during which the demo meter does not answer


class LivePage(Page):
    name = "live"
    title = "Live"
    icon = "live"
    summary = "Poll a meter every few seconds and plot power, flow and temperatures."

    def build(self) -> None:
        from app.ui.widgets.liveplot import LivePlot  # pyqtgraph and numpy: only with this page
        from app.ui.widgets.meters import MeterPicker

        self.bus = self.ctx.bus
        m = self.ctx.metrics
        from app.ui.widgets.scroll import scroll_body

        body = scroll_body(self)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.picker = MeterPicker(self.bus, self)
        row.addWidget(self.picker, 1)
        row.addWidget(QLabel("every", self))
        self.interval = QSpinBox(self)
        self.interval.setRange(1, 60)
        self.interval.setSuffix(" s")
        self.interval.setValue(int(self.recall("interval_s", DEFAULT_INTERVAL_S, int)))
        self.interval.setToolTip("Seconds between two readouts (1 to 60)")
        row.addWidget(self.interval)
        self.start_button = QPushButton("Start polling", self)
        self.start_button.setProperty("primary", True)
        self.start_button.setIcon(icons.icon("play", "#ffffff"))
        self.start_button.setMinimumHeight(m.target)
        self.start_button.setToolTip("Start / stop polling the meter (Ctrl+R)")
        self.start_button.clicked.connect(self.toggle_polling)
        row.addWidget(self.start_button)
        body.addLayout(row)
        self.state_label = QLabel("", self)     # one line under the controls: polls, misses, the last miss
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        body.addWidget(self.state_label)

        self.plot = LivePlot(self.body, max_gap_s=2.5 * self.interval.value())
        self.plot.message.connect(lambda level, text: self.banner.show_message(text, level))
        body.addWidget(self.plot, 1)

        self.poller = None
        self.polled_key: str | None = None
        self.polls = self.misses = 0
        self.misses_in_row = 0
        self.warned = False
        self.source = None          # an optional read function instead of the bus (tests of the plot)
        self.down_misses = 0        # polls missed while the connection was down (not the meter's fault)
        self._bus_down = False
        self._user_stop = False
        self.interval.valueChanged.connect(self._interval_changed)
        self.bus.selectedChanged.connect(self._selected_changed)
        self.bus.stateChanged.connect(self._bus_state_changed)

        self.make_action("Pause / resume the plot", self.plot.toggle_paused, "Space")
        self.make_action("Follow the latest samples", lambda: self.plot.set_follow(True), "F")
        self.make_action("Zoom in (time)", self.plot.zoom_in, "+")
        self.make_action("Zoom out (time)", self.plot.zoom_out, "-")
        self.make_action("Show all data", self.plot.show_all, "0")
        self.make_action("Export data as CSV", self.plot.ask_export_csv, "Ctrl+E")
        self.make_action("Save plot as PNG", self.plot.ask_export_png, "Ctrl+Shift+E")
        self.make_action("Start / stop polling", self.toggle_polling, "Ctrl+R")
        self.on_text_scale_changed(self.ctx.text_scale)
        self._show_counts()

    # -- polling -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.poller is not None and self.poller.running

    def set_source(self, read) -> None:
        """Poll ``read()`` (returning an object with power_kw, flow_m3h, t_flow_c, t_return_c) instead of the
        selected meter: for tests of the plot and the poll loop. None goes back to the bus."""
        self.source = read

    def toggle_polling(self) -> None:
        if self.running:
            self.stop_polling()
        else:
            self.start_polling()

    def start_polling(self) -> None:
        from app.ui.bus import BusUnavailable
        from app.ui.workers import Poller

        if self.running:
            return
        if self.poller is not None:
            self.poller.deleteLater()           # the previous run's poller (stopped)
            self.poller = None
        interval = self.interval.value()
        if self.source is not None:
            self.poller = Poller(self.ctx.tasks, "Live polling", self.source, interval, self)
            self.polled_key = None
        else:
            m = self.bus.selected
            if m is None:
                self.show_warning("Connect and pick a meter first (Connect and Scan pages), then start polling.",
                                  action_text="Scan", action=lambda: self.ctx.window.show_page("scan"))
                return
            if not self.bus.connected:
                self.show_warning("Connect first (Connect page), then start polling.",
                                  action_text="Connect", action=lambda: self.ctx.window.show_page("connect"))
                return
            try:
                self.poller = self.bus.live_poller(m, interval, parent=self)
            except BusUnavailable as exc:
                self.show_warning(str(exc))
                return
            if self.polled_key is not None and self.polled_key != m.key and len(self.plot):
                self.plot.clear()
                self.show_info(f"The plot now shows {m.label}.")
            self.polled_key = m.key
        self.polls = self.misses = self.misses_in_row = self.down_misses = 0
        self.warned = False
        self._user_stop = False
        self._bus_down = self.source is None and not self.bus.connected
        self.poller.sample.connect(self._on_sample)
        self.poller.missed.connect(self._on_missed)
        self.poller.runningChanged.connect(self._running_changed)
        self.poller.stopped.connect(self._poller_stopped)
        self.poller.start()
        self._running_changed(True)

    def stop_polling(self) -> None:
        if self.poller is not None:
            self._user_stop = True
            self.poller.stop()

    def _poller_stopped(self) -> None:
        """Polling ended: said when it was not the Stop button (Esc on the task, the bus disconnected)."""
        if not self._user_stop:
            why = "the connection was closed" if not self.bus.connected else "the polling task was cancelled"
            self.show_warning(f"Polling of {self._meter_words()} stopped ({why}). Start polling again (Ctrl+R) "
                              "to go on.", action_text="Start polling", action=self.start_polling)
        self._user_stop = False

    def _bus_state_changed(self, state: str) -> None:
        """A lost connection is not the meter's fault: polling goes on and says so; when the connection
        is back (Connect page), the next poll answers again."""
        if not self.running or self.source is not None:
            return
        if state == "lost":
            self._bus_down = True
            self.show_warning(f"Connection lost: polling of {self._meter_words()} goes on and picks up again "
                              "by itself once you connect again (Connect page); the gap in the plot is the time "
                              "without data.", action_text="Connect",
                              action=lambda: self.ctx.window and self.ctx.window.show_page("connect"),
                              group="connection")
        elif state == "connected" and self._bus_down:
            self._bus_down = False
            text = f"Connection back: polling of {self._meter_words()} goes on."
            self.show_info(text, group="connection")
            if self.ctx.window is not None and self.ctx.window.current_page() is not self:
                self.ctx.show_message(f"Live: {text}", "info")

    def refresh(self) -> bool:
        self.toggle_polling()
        return True

    def _interval_changed(self, seconds: int) -> None:
        if self.poller is not None:
            self.poller.set_interval(seconds)
        self.plot.max_gap_s = 2.5 * seconds
        self.remember("interval_s", seconds)

    def _selected_changed(self, m) -> None:
        if self.running and self.polled_key is not None and (m is None or m.key != self.polled_key):
            self.stop_polling()
            self.show_info("Polling stopped: another meter was picked. Start again to plot it.")

    @staticmethod
    def _values(value):
        """(power_kw, flow_m3h, t_flow_c, t_return_c, dtheta_k) of a Readout (bus) or a sample object
        (set_source); Δθ is the meter's own record where it sends one (None: flow − return)."""
        if hasattr(value, "readings"):
            r = value.readings()
            return r.power_kw, r.flow_m3h, r.t_flow_c, r.t_return_c, r.dtheta_k
        return (value.power_kw, value.flow_m3h, value.t_flow_c, value.t_return_c,
                getattr(value, "dtheta_k", None))

    def _on_sample(self, t: float, value) -> None:
        self.polls += 1
        self.plot.add_sample(t, *self._values(value))
        if self.warned:
            self.show_info(f"{self._meter_words()} answers again after {self.misses_in_row} missed "
                           f"poll{'s' if self.misses_in_row != 1 else ''}.")
        self.misses_in_row = 0
        self.warned = False
        self._show_counts()

    def _on_missed(self, t: float, message: str) -> None:
        self.polls += 1
        self.misses += 1
        self.plot.add_gap(t)
        if self.source is None and not self.bus.connected:
            # the port is lost or reconnecting: the banner says so (never "the meter stopped answering")
            self.down_misses += 1
            self._show_counts(message)
            return
        self.misses_in_row += 1
        self._show_counts(message)
        if self.misses_in_row >= MISSES_TO_WARN and not self.warned:
            self.warned = True
            text = (f"{self._meter_words()} stopped answering: {self.misses_in_row} polls in a row missed "
                    f"({message}). Polling goes on; the gaps in the plot show the missing time.")
            self.show_warning(text, action_text="Stop polling", action=self.stop_polling)
            if self.ctx.window is not None and self.ctx.window.current_page() is not self:
                self.ctx.show_message(f"Live: {text}", "warning")

    def _meter_words(self) -> str:
        m = self.bus.meter(self.polled_key) if self.polled_key else None
        return m.label if m is not None else "The meter"

    def _show_counts(self, miss: str = "") -> None:
        if not self.polls:
            sel = self.bus.selected
            self.state_label.setText("Not polling." if sel is None else f"Ready to poll {sel.label}.")
            return
        text = f"{self.polls} polls, {self.misses} missed"
        if self.down_misses:
            text += f" ({self.down_misses} while the connection was down)"
        if self.misses_in_row:
            text += f" ({self.misses_in_row} in a row; last: {miss})" if miss else f" ({self.misses_in_row} in a row)"
        self.state_label.setText(text)

    def _running_changed(self, running: bool) -> None:
        self.start_button.setText("Stop polling" if running else "Start polling")
        self.start_button.setIcon(icons.icon("pause" if running else "play", "#ffffff"))

    # -- page hooks ------------------------------------------------------------------------------
    def prepare_demo(self) -> None:
        """Half an hour of real 5-second polls of the simulated Kamstrup, on a fast-forwarded meter clock,
        with a minute in which it did not answer (a gap)."""
        from app.ui.bus import BusUnavailable

        bus = self.bus
        if not bus.connected:
            self.ctx.mode.connect_simulator()
        if not bus.simulated:
            return
        key = "71234567.KAM.08.04"
        if bus.meter(key) is None:
            from app.ui.bus import KnownMeter

            bus.add_meter(KnownMeter("71234567", "KAM", 0x08, 0x04, "heat_outlet", primary_address=1,
                                     make="Kamstrup", model="MULTICAL 601", simulated=True))
        bus.select(key)
        interval = self.interval.value()
        n = DEMO_HISTORY_S // interval
        t_end = time.time()
        line = bus.transport
        sim = bus.sim

        def history(link, progress, cancel):
            from app.ui.demo import sim_meter

            meter = sim_meter(sim, "71234567", "KAM")
            pace, line.pace = line.pace, 0.0
            rows = []
            try:
                for i in range(n):
                    if cancel.is_set():
                        break
                    line.advance(interval)
                    meter.cfg.faults = {"silent": True} if DEMO_OUTAGE[0] <= i < DEMO_OUTAGE[1] else {}
                    t = t_end - (n - i) * interval
                    try:
                        ro = bus.reader(bus.meter(key) or _key_meter(key))(link)
                        rows.append((t, ro))
                    except Exception:  # noqa: BLE001 - a miss: a gap in the plot
                        rows.append((t, None))
                    progress(i + 1, n, "polls of the simulated meter")
            finally:
                meter.cfg.faults = {}
                line.pace = pace
            return rows

        def done(rows) -> None:
            data = []
            for t, ro in rows:
                data.append(t if ro is None else (t, *self._values(ro)))
            self.plot.clear()
            self.plot.add_samples(data)
            self.plot.set_window(DEMO_HISTORY_S)
            self.plot.refresh()
            self.polls = len(rows)
            self.misses = sum(1 for _t, ro in rows if ro is None)
            self.polled_key = key
            last = next((ro for _t, ro in reversed(rows) if ro is not None), None)
            if last is not None:
                bus.store_readout(last)
            self.state_label.setText(f"Demo: {self.polls} polls every {interval} s of the simulated meter "
                                     f"(clock fast-forwarded), {self.misses} missed.")
        try:
            bus.run("Demo: polls of the simulated meter", history, kind="poll", origin=self, on_finished=done)
        except BusUnavailable as exc:
            self.show_warning(str(exc))

    def on_text_scale_changed(self, scale: float) -> None:
        self.plot.set_text_scale(scale)

    def on_shown(self) -> None:
        if not self.polls:
            self._show_counts()

    def on_hidden(self) -> None:
        pass  # polling goes on in the background; the status bar shows it


def _key_meter(key: str):
    from app.ui.bus import KnownMeter

    ident, man, ver, med = key.split(".")
    return KnownMeter(ident, man, int(ver, 16), int(med, 16), "")
