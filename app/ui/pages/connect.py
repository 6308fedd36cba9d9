"""The Connect page: how the laptop reaches the meters, and a line test.

A serial port (listed with its description and refreshed when a USB head is
plugged in or out), a TCP gateway URL, or the built-in simulated bus; the baud
rate; the optical head / wake-up profile with its sequence in words. Connect
opens the port in a worker and tests the line (who answers, at which baud).
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QRadioButton, QSizePolicy, QWidget)

from app.ui import icons
from app.ui.pages.base import Page
from app.ui.widgets.readout_header import PROTOCOL_CHOICES
from drivers.ports import list_ports

PORT_POLL_S = 2.0
KIND_SERIAL, KIND_GATEWAY, KIND_SIMULATED = "serial", "gateway", "simulated"


class PortWatcher(QObject):
    """Lists the serial ports every ``interval_s`` in a background thread; ``changed(list)`` when they change.

    Cheap: one directory/registry listing per turn, no port is opened.
    """

    changed = Signal(object)

    def __init__(self, interval_s: float = PORT_POLL_S, lister=list_ports, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_s = interval_s
        self.lister = lister
        self.ports: list[tuple[str, str]] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # the thread must not outlive the page: stop it when this object goes (it holds the event, not self)
        self.destroyed.connect(lambda *_a, ev=self._stop: ev.set())

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="port-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ports = self.lister()
            except Exception:  # noqa: BLE001 - a failed listing is an empty one; try again next turn
                ports = []
            if ports != self.ports:
                self.ports = ports
                try:
                    self.changed.emit(ports)
                except RuntimeError:   # the page is gone (window closed): stop quietly
                    return
            self._stop.wait(self.interval_s)


def profile_words(name: str) -> str:
    """The wake-up sequence of a profile, in words."""
    p = _profile_names().get(name)
    if p is None:
        return ""
    if not p.has_preamble:
        return ("No wake-up: REQ_UD2 without a link reset first (for meters that restart their telegram cycle "
                "on SND_NKE)." if not p.reset_before_read else
                "No wake-up (wired M-Bus): SND_NKE (link reset), then REQ_UD2.")
    else:
        char = "0x55 (U)" if p.preamble_byte == 0x55 else f"0x{p.preamble_byte:02X}"
        framing = "8N1" if p.preamble_parity == "N" else "8E1"
        seq = (f"Wake-up: {char} for {p.preamble_ms / 1000:g} s ({framing}), {p.pause_ms} ms pause, then "
               f"SND_NKE and REQ_UD2 at 8E1; again when the meter has been idle for {p.awake_s * 0.6:g} s.")
    return f"{seq} {p.note[:1].upper()}{p.note[1:]}." if p.note else seq


class ConnectPage(Page):
    name = "connect"
    title = "Connect"
    icon = "connect"
    summary = "Choose how the laptop reaches the meters, then test the line."

    def build(self) -> None:
        from drivers.timing import BAUD_RATES

        self.bus = self.ctx.bus
        m = self.ctx.metrics
        from app.ui.widgets.scroll import scroll_body

        body = scroll_body(self)

        self.sim_frame = QFrame(self)
        self.sim_frame.setObjectName("SimulationNotice")
        self.sim_frame.setStyleSheet("#SimulationNotice { background: #ffb000; border: 3px solid #000000; "
                                     "border-radius: 4px; } #SimulationNotice QLabel { color: #000000; }")
        sim_row = QHBoxLayout(self.sim_frame)
        self.sim_label = QLabel(self.sim_frame)
        self.sim_label.setWordWrap(True)
        self.sim_label.setTextFormat(Qt.TextFormat.RichText)
        sim_row.addWidget(self.sim_label, 1)
        body.addWidget(self.sim_frame)

        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(10)
        grid.setColumnStretch(1, 1)
        row = 0
        grid.addWidget(self._label("Connection"), row, 0)
        kinds = QHBoxLayout()
        kinds.setSpacing(28)
        self.kind_group = QButtonGroup(self)
        self.kind_buttons: dict[str, QRadioButton] = {}
        for kind, text in ((KIND_SERIAL, "Serial port / USB head"), (KIND_GATEWAY, "Gateway (TCP)"),
                           (KIND_SIMULATED, "Simulated bus")):
            b = QRadioButton(text, self)
            b.setMinimumHeight(m.target)
            self.kind_group.addButton(b)
            self.kind_buttons[kind] = b
            kinds.addWidget(b)
            b.toggled.connect(lambda on, k=kind: on and self._kind_changed(k))
        kinds.addStretch(1)
        grid.addLayout(kinds, row, 1, 1, 2)

        row += 1
        self.port_label = self._label("Serial port")
        grid.addWidget(self.port_label, row, 0)
        self.port_combo = QComboBox(self)
        self.port_combo.setEditable(True)
        self.port_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.port_combo.lineEdit().setPlaceholderText("/dev/ttyUSB0 or COM3")
        self.port_combo.setToolTip("The serial ports of this laptop with their description; you may type a path")
        self.port_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        grid.addWidget(self.port_combo, row, 1)
        self.ports_note = QLabel("", self)
        self.ports_note.setWordWrap(True)
        grid.addWidget(self.ports_note, row + 1, 1, 1, 2)

        row += 2
        self.gateway_label = self._label("Gateway URL")
        grid.addWidget(self.gateway_label, row, 0)
        self.gateway_edit = QLineEdit(self)
        self.gateway_edit.setPlaceholderText("socket://192.0.2.7:10001  or  rfc2217://192.0.2.7:4001")
        self.gateway_edit.setToolTip("A transparent TCP gateway (socket://HOST:PORT) or an RFC 2217 one "
                                     "that can also set the line baud rate (rfc2217://HOST:PORT)")
        grid.addWidget(self.gateway_edit, row, 1)

        row += 1
        grid.addWidget(self._label("Baud rate"), row, 0)
        self.baud_combo = QComboBox(self)
        for b in BAUD_RATES:
            self.baud_combo.addItem(f"{b} Bd", b)
        self.baud_combo.setToolTip("Line speed: 2400 Bd for most wired M-Bus meters, 300 Bd for old ones")
        self.profile_combo = QComboBox(self)
        self.profile_combo.setToolTip("Optical head / wake-up profile: what battery meters need before they answer")
        for name, prof in _profile_names().items():      # the wake-up table of the make registry
            self.profile_combo.addItem(prof.label or name, name)
        baud_row = QHBoxLayout()
        baud_row.setSpacing(12)
        baud_row.addWidget(self.baud_combo)
        baud_row.addSpacing(16)
        baud_row.addWidget(self._label("Optical head / wake-up"))
        baud_row.addWidget(self.profile_combo, 1)
        grid.addLayout(baud_row, row, 1)
        self.profile_note = QLabel("", self)
        self.profile_note.setWordWrap(True)
        self.profile_note.setObjectName("PageSummary")
        grid.addWidget(self.profile_note, row + 1, 1, 1, 2)
        row += 2
        grid.addWidget(self._label("Protocol"), row, 0)
        self.protocol_combo = QComboBox(self)
        self.protocol_combo.setObjectName("ConnectProtocol")
        for key, text in PROTOCOL_CHOICES:
            self.protocol_combo.addItem(text, key)
        self.protocol_combo.setToolTip("What reads speak: M-Bus (wired, or an optical head in M-Bus mode), or the "
                                       "meter's own optical protocol: EN 62056-21 (Landis+Gyr UH50/T550), KMP "
                                       "(Kamstrup MULTICAL)")
        grid.addWidget(self.protocol_combo, row, 1)
        self.protocol_note = QLabel("", self)
        self.protocol_note.setWordWrap(True)
        self.protocol_note.setObjectName("PageSummary")
        grid.addWidget(self.protocol_note, row + 1, 1, 1, 2)
        row += 2
        body.addLayout(grid)

        buttons = QHBoxLayout()
        self.connect_button = QPushButton("Connect and test", self)
        self.connect_button.setProperty("primary", True)
        self.connect_button.setIcon(icons.icon("connect", "#ffffff"))
        self.connect_button.setToolTip("Open the port and find out what answers (Ctrl+Return)")
        self.connect_button.clicked.connect(self.connect_now)
        self.test_button = QPushButton("Test line", self)
        self.test_button.setToolTip("Ask who answers on the open connection, trying other baud rates if silent (Ctrl+T)")
        self.test_button.clicked.connect(self.test_line)
        self.disconnect_button = QPushButton("Disconnect", self)
        self.disconnect_button.clicked.connect(self.disconnect)
        self.scan_button = QPushButton("Go to Scan", self)
        self.scan_button.setIcon(icons.icon("scan"))
        self.scan_button.clicked.connect(lambda: self.ctx.window and self.ctx.window.show_page("scan"))
        for b in (self.connect_button, self.test_button, self.disconnect_button, self.scan_button):
            b.setMinimumHeight(m.target)
            buttons.addWidget(b)
        buttons.addStretch(1)
        body.addLayout(buttons)

        self.result_label = QLabel("", self)
        self.result_label.setObjectName("LineTestResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setStyleSheet("#LineTestResult { border: 2px solid #303030; border-radius: 4px; "
                                        "background: #ffffff; padding: 10px; }")
        body.addWidget(self.result_label)
        body.addStretch(1)

        self.make_action("Connect and test the line", self.connect_now, "Ctrl+Return")
        self.make_action("Test the line", self.test_line, "Ctrl+T")

        self.watcher = PortWatcher(parent=self)
        self.watcher.changed.connect(self._ports_changed)
        self.profile_combo.currentIndexChanged.connect(self._profile_changed)
        self.protocol_combo.currentIndexChanged.connect(self._protocol_changed)
        self.bus.stateChanged.connect(lambda _s: self._sync())
        self._ports: list[tuple[str, str]] = []
        self._first_listing = False
        self._fill_from_settings()
        self._ports_changed([])
        self.ports_note.setText("Looking for serial ports…")
        self._sync()

    def _label(self, text: str) -> QLabel:
        lab = QLabel(f"<b>{text}</b>", self)
        lab.setMinimumHeight(self.ctx.metrics.input_height)
        return lab

    # -- form state ------------------------------------------------------------------
    def _fill_from_settings(self) -> None:
        s = self.ctx.settings
        c = self.ctx.connection.value
        spec = self.bus.spec
        url = (spec.url if spec and spec.url else None) or c.port or c.gateway or s.port or ""
        baud = (spec.baud if spec else None) or c.baud or s.baud or 2400
        profile = (spec.profile if spec else None) or s.profile or "none"
        if url and "://" in url:
            self.gateway_edit.setText(url)
        elif url:
            self.port_combo.setEditText(url)
        self._select_data(self.baud_combo, int(baud))
        self._select_data(self.profile_combo, profile if profile in _profile_names() else "none")
        self._select_data(self.protocol_combo, (spec.protocol if spec else None) or s.protocol or "mbus")
        if self.bus.simulated or self.ctx.mode.simulated_by_default(url):
            kind = KIND_SIMULATED
        elif url and "://" in url:
            kind = KIND_GATEWAY
        else:
            kind = KIND_SERIAL
        self.kind_buttons[kind].setChecked(True)
        self._kind_changed(kind)
        self._profile_changed()
        self._protocol_changed()

    @staticmethod
    def _select_data(combo: QComboBox, value) -> None:
        i = combo.findData(value)
        if i >= 0:
            combo.setCurrentIndex(i)

    def kind(self) -> str:
        for k, b in self.kind_buttons.items():
            if b.isChecked():
                return k
        return KIND_SERIAL

    def _kind_changed(self, kind: str) -> None:
        serial, gateway = kind == KIND_SERIAL, kind == KIND_GATEWAY
        for w in (self.port_label, self.port_combo, self.ports_note):
            w.setEnabled(serial)
        for w in (self.gateway_label, self.gateway_edit):
            w.setEnabled(gateway)
        self.baud_combo.setEnabled(kind != KIND_SIMULATED)
        self.connect_button.setText("Use the simulated bus" if kind == KIND_SIMULATED else "Connect and test")

    def _profile_changed(self, *_a) -> None:
        name = self.profile_combo.currentData() or "none"
        self.profile_note.setText(profile_words(name))
        if self.bus.connected and self.bus.spec is not None and self.bus.spec.profile != name:
            try:
                self.bus.set_profile(name)
            except ValueError as exc:
                self.show_error(str(exc))

    def protocol(self) -> str:
        return self.protocol_combo.currentData() or "mbus"

    def _protocol_changed(self, *_a) -> None:
        from drivers.makes import optical_protocols

        proto = self.protocol()
        if proto == "mbus":
            self.protocol_note.setText("M-Bus: the test asks who answers (SND_NKE, REQ_UD2); reads by address.")
        else:
            makes = ", ".join(m.name for m in optical_protocols().get(proto, []))
            notes = "; ".join(m.optical_note for m in optical_protocols().get(proto, []) if m.optical_note)
            self.protocol_note.setText(f"Reads the meter on the optical head ({makes}: {notes}). Writes (address, "
                                       "baud, clock) go over M-Bus.")
        if self.bus.connected and self.bus.spec is not None and self.bus.spec.protocol != proto:
            self.bus.set_protocol(proto)

    def _ports_changed(self, ports: list[tuple[str, str]]) -> None:
        self._ports = list(ports)
        typed = self.port_combo.currentText()
        self.port_combo.blockSignals(True)
        self.port_combo.clear()
        for dev, desc in ports:
            self.port_combo.addItem(f"{dev}  —  {desc}" if desc else dev, dev)
        self.port_combo.setEditText(self._device_of(typed) if typed else (ports[0][0] if ports else ""))
        self.port_combo.blockSignals(False)
        if ports:
            n = len(ports)
            self.ports_note.setText(f"{n} serial port{'s' if n != 1 else ''} found; the list follows when a "
                                    "USB head is plugged in or out.")
        else:
            self.ports_note.setText("No serial port found: plug in the USB head or level converter (the list "
                                    "refreshes by itself), or use a gateway.")

    def _device_of(self, text: str) -> str:
        text = text.strip()
        for dev, desc in self._ports:
            if text in (dev, f"{dev}  —  {desc}"):
                return dev
        return text.split("  —  ")[0].strip()

    def port_url(self) -> str:
        if self.kind() == KIND_GATEWAY:
            return self.gateway_edit.text().strip()
        i = self.port_combo.currentIndex()
        if i >= 0 and self.port_combo.itemText(i) == self.port_combo.currentText():
            return str(self.port_combo.itemData(i))
        return self._device_of(self.port_combo.currentText())

    def _sync(self) -> None:
        bus = self.bus
        sim = bus.simulated and bus.connected
        self.sim_frame.setVisible(sim)
        if sim:
            n = len(bus.sim.meters) if bus.sim is not None else 0
            self.sim_label.setText(
                f"<b>SIMULATION</b> — connected to the built-in simulated bus ({n} simulated meters). "
                "Nothing here is a real meter. Choose a serial port or a gateway and Connect to leave demo mode.")
        self.test_button.setEnabled(bus.connected)
        self.disconnect_button.setEnabled(bus.state in ("connected", "lost"))
        self.scan_button.setEnabled(bus.connected)
        if bus.state == "lost":
            self.result_label.setText(f"<b>Connection lost.</b> {_esc(bus.last_error)} Plug the head back in "
                                      "and press Connect and test.")
        elif bus.state == "disconnected" and not self.result_label.text():
            self.result_label.setText("Not connected. Pick a port (or the simulated bus) and press "
                                      "<b>Connect and test</b>.")

    # -- actions -----------------------------------------------------------------------
    def connect_now(self) -> None:
        from drivers.session import BusUnavailable, ConnectionSpec

        kind = self.kind()
        profile = self.profile_combo.currentData() or "none"
        proto = self.protocol()
        try:
            if kind == KIND_SIMULATED:
                self.ctx.mode.connect_simulator(profile=profile, protocol=proto)
                self.result_label.setText("Connected to the simulated bus. Testing the line…")
                self.test_line()
                return
            url = self.port_url()
            if not url:
                self.show_warning("Choose a serial port (or type its path), or switch to Gateway and give its URL.")
                return
            if kind == KIND_GATEWAY and not (url.startswith("socket://") or url.startswith("rfc2217://")):
                self.show_warning("A gateway URL starts with socket:// or rfc2217:// (e.g. socket://192.0.2.7:10001).")
                return
            spec = ConnectionSpec(url, int(self.baud_combo.currentData()), profile=profile, protocol=proto)
            self.result_label.setText(f"Opening {_esc(url)}…")
            if proto == "mbus":
                self.bus.connect(spec, origin=self, on_finished=self._tested, on_failed=self._connect_failed)
            else:     # the line test speaks M-Bus: read the meter on the head instead
                self.bus.connect(spec, test=False, origin=self, on_finished=lambda r: r and self.test_line(),
                                 on_failed=self._connect_failed)
        except BusUnavailable as exc:
            self.show_warning(str(exc))

    def _connect_failed(self, message: str) -> None:
        self.result_label.setText(f"<b>Not connected.</b> {_esc(message)}")
        self.show_error(message, action_text="Try again", action=self.connect_now)

    def test_line(self) -> None:
        from drivers.session import BusUnavailable

        try:
            if self.bus.protocol != "mbus":
                self.bus.read_optical(origin=self, on_finished=self._optical_tested,
                                      on_failed=lambda msg: self.result_label.setText(f"<b>&#10008; {_esc(msg)}</b>"))
                self.result_label.setText("Reading the meter on the optical head…")
                return
            self.bus.test_line(origin=self, on_finished=self._tested)
        except BusUnavailable as exc:
            self.show_warning(str(exc))
            return
        self.result_label.setText("Testing the line…")

    def _optical_tested(self, ro) -> None:
        if ro is None:
            return
        from app.ui.widgets.readout_header import PROTOCOL_WORDS
        from drivers.makes import make_name

        t = ro.telegrams[0]
        who = f"{make_name(t.manufacturer) or t.manufacturer} {t.identification}" + (f" ({t.model})" if t.model else "")
        mode = f" mode {ro.mode}" if ro.mode else ""
        self.result_label.setText(f"<b>&#10004; {_esc(who)} answers by {_esc(PROTOCOL_WORDS.get(ro.protocol))}"
                                  f"{mode}, data at {ro.baud} Bd.</b><br><span style='color:#333'>{len(ro.records)} "
                                  f"records; the Readout page shows them.</span>")

    def _tested(self, res) -> None:
        if res is None:
            return
        if res.ok:
            who = "".join(f"<br>• {_esc(a)}" for a in res.answered)
            self.result_label.setText(f"<b>&#10004; {_esc(res.detail)}</b>{who}<br>"
                                      f"<span style='color:#333'>{res.requests} request{'s' if res.requests != 1 else ''}, "
                                      f"{res.elapsed_s:.1f} s.</span>")
            if res.baud != self.baud_combo.currentData():
                self._select_data(self.baud_combo, res.baud)
        else:
            self.result_label.setText(f"<b>&#10008; {_esc(res.detail)}</b>")
            self.show_warning(res.detail, action_text="Test again", action=self.test_line)

    def disconnect(self) -> None:
        self.bus.disconnect()
        self.result_label.setText("Disconnected. The meters found stay in the list on the Scan page.")

    # -- page hooks ----------------------------------------------------------------------
    def on_shown(self) -> None:
        if self.watcher.ports is None and not self._first_listing:
            # the first listing as a task (the screenshot waits for it); then the watcher follows changes
            self._first_listing = True
            self.ctx.tasks.start("Listing serial ports", list_ports, on_finished=self._first_ports,
                                 report_errors=False)
        else:
            self.watcher.start()
        self._sync()

    def _first_ports(self, ports) -> None:
        if self.watcher.ports is None:
            self._ports_changed(ports)
        if self.isVisible():
            self.watcher.start()

    def on_hidden(self) -> None:
        self.watcher.stop()

    def refresh(self) -> bool:
        if self.bus.connected:
            self.test_line()
        else:
            self.connect_now()
        return True

    def prepare_demo(self) -> None:
        if not self.bus.connected:
            self.ctx.mode.connect_simulator()
        self.kind_buttons[KIND_SIMULATED].setChecked(True)
        self._sync()
        self.test_line()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.watcher.stop()
        super().closeEvent(event)


def _profile_names():
    """The wake-up table (generic profiles and each make's family profile), name -> profile."""
    from drivers.makes import profiles

    return profiles()


def _esc(s: str) -> str:
    return (s or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["ConnectPage", "PortWatcher", "list_ports", "profile_words"]
