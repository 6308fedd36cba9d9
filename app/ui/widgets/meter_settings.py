"""Give a meter another primary address or baud rate, from the app (the Scan page's "Address / baud…").

The write goes through the bus service (``ctx.bus.set_address`` / ``set_baud``), so it runs in a
worker, alone on the wire, with the same checks as ``heatmeter set-address``: nothing is written
onto an address another meter answers at (the session asks first), and a write counts only once
the meter was read back at its new address or rate. Before the wire is asked, an address that a
meter of this bus in the list already has is refused here at once.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from app.ui.widgets.meters import address_words


class MeterSettingsDialog(QDialog):
    """See the module docstring. ``on_message(text, level)``: where results go besides the dialog."""

    def __init__(self, ctx, meter, parent: QWidget | None = None,
                 on_message: Callable[[str, str], None] | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.bus = ctx.bus
        self.key = meter.key
        self.on_message = on_message
        self.task = None
        self.last_result = None
        m = ctx.metrics
        self.setWindowTitle(f"Address and baud rate of {meter.make or meter.manufacturer} {meter.identification}")
        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        self.now_label = QLabel(self)
        self.now_label.setWordWrap(True)
        lay.addWidget(self.now_label)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.addWidget(QLabel("New primary address", self), 0, 0)
        self.address = QSpinBox(self)
        self.address.setRange(0, 250)
        self.address.setToolTip("0..250; 0 is the factory default of many meters, 1..250 the usual addresses")
        grid.addWidget(self.address, 0, 1)
        self.address_button = QPushButton("Set address", self)
        self.address_button.setProperty("primary", True)
        self.address_button.clicked.connect(self.set_address)
        grid.addWidget(self.address_button, 0, 2)
        grid.addWidget(QLabel("New baud rate", self), 1, 0)
        self.baud = QComboBox(self)
        from drivers.session import BAUD_RATES

        for b in BAUD_RATES:
            self.baud.addItem(f"{b} Bd", b)
        grid.addWidget(self.baud, 1, 1)
        self.baud_button = QPushButton("Set baud rate", self)
        self.baud_button.clicked.connect(self.set_baud)
        grid.addWidget(self.baud_button, 1, 2)
        grid.setColumnStretch(1, 1)
        lay.addLayout(grid)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        self.status = QLabel("", self)
        self.status.setObjectName("WriteStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.status)
        foot = QHBoxLayout()
        foot.addStretch(1)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        foot.addWidget(self.close_button)
        lay.addLayout(foot)
        for w in (self.address_button, self.baud_button, self.close_button):
            w.setMinimumHeight(m.target)
        for w in (self.address, self.baud):
            w.setMinimumHeight(m.input_height)
        self.setMinimumWidth(round(560 * ctx.text_scale))
        self._refresh()
        self.address.setValue(self.free_address())
        i = self.baud.findData(self.bus.spec.baud if self.bus.spec is not None else 2400)
        self.baud.setCurrentIndex(max(0, i))

    # -- what is known ----------------------------------------------------------------------
    @property
    def meter(self):
        return self.bus.meter(self.key)

    def _others_here(self) -> list:
        """The other meters of this bus in the list (not those last seen elsewhere)."""
        return [x for x in self.bus.meters() if x.key != self.key and not self.bus.absence(x)]

    def used_addresses(self) -> dict[int, object]:
        return {x.primary_address: x for x in self._others_here() if x.primary_address is not None}

    def free_address(self) -> int:
        used = self.used_addresses()
        m = self.meter
        start = (m.primary_address or 0) + 1 if m is not None else 1
        for a in list(range(max(1, start), 251)) + list(range(1, max(1, start))):
            if a not in used:
                return a
        return 0

    def _refresh(self) -> None:
        m = self.meter
        spec = self.bus.spec
        baud = spec.baud if spec is not None else 2400
        used = sorted(self.used_addresses())
        self.now_label.setText(
            f"<b>{_esc(m.label if m else self.key)}</b>: now at primary address "
            f"{address_words(m) if m else '?'}, {baud} Bd (the port's rate).<br>"
            f"In use on this bus: {', '.join(map(str, used)) if used else 'no other address in the list'}. "
            "The app asks who answers at the new address before writing.")
        others = len(self._others_here())
        self.note.setText(
            f"Changing the baud rate moves the port along to talk to this meter; the {others} other meter"
            f"{'s' if others != 1 else ''} in the list stay at {baud} Bd (switch back on the Connect page)."
            if others else "After a baud rate change the port follows the meter.")

    def _busy(self, on: bool) -> None:
        for w in (self.address_button, self.baud_button, self.address, self.baud):
            w.setEnabled(not on)

    def _say(self, text: str, level: str) -> None:
        colour = {"error": "#a4001d", "warning": "#6b4e00", "info": "#0a6b2d"}[level]
        self.status.setText(f"<span style='color:{colour}'><b>{_esc(text)}</b></span>")
        if self.on_message is not None:
            self.on_message(text, level)

    # -- writes -------------------------------------------------------------------------------
    def set_address(self) -> None:
        m, new = self.meter, self.address.value()
        if m is None:
            self._say("The meter is no longer in the list: scan again.", "error")
            return
        if m.primary_address == new:
            self._say(f"{m.label} is already at address {new}: nothing to write.", "warning")
            return
        other = self.used_addresses().get(new)
        if other is not None:
            self._say(f"Address {new} is in use by {other.label} (in the list): nothing was written; choose a "
                      "free address.", "error")
            return
        self._start_write(self.bus.set_address, m, new, f"address {new}",
                          f"Asking who answers at address {new}, then writing it…")

    def set_baud(self) -> None:
        m, new = self.meter, int(self.baud.currentData())
        spec = self.bus.spec
        if m is None:
            self._say("The meter is no longer in the list: scan again.", "error")
            return
        if spec is not None and spec.baud == new:
            self._say(f"The line already runs at {new} Bd: nothing to write.", "warning")
            return
        self._start_write(self.bus.set_baud, m, new, f"{new} Bd", f"Writing {new} Bd…")

    def _start_write(self, write, meter, new: int, what: str, status: str) -> None:
        """Start ``write`` (the bus's set_address or set_baud) in its worker; the outcome comes to ``_written``."""
        from app.ui.bus import BusUnavailable

        try:
            self.task = write(meter, new, origin=self.parent(), report_errors=False,
                              on_finished=lambda res: self._written(res, what), on_failed=self._failed)
        except (BusUnavailable, ValueError) as exc:
            self._say(str(exc), "error")
            return
        self.task.ended.connect(lambda _t: self._busy(False))
        self._busy(True)
        self.status.setText(status)

    def _written(self, res, what: str) -> None:
        self.last_result = res
        m = self.meter
        who = m.label if m is not None else self.key
        if res.ok and res.acknowledged:
            self._say(f"Confirmed: {who} answers at {what} (read back there after the write).", "info")
        elif res.ok:
            self._say(f"{who}: {res.detail}.", "info")
        else:
            self._say(f"Not confirmed: {res.detail}.", "error")
        self._refresh()

    def _failed(self, message: str) -> None:
        self._say(message[:1].upper() + message[1:], "error")
        self._refresh()


def _esc(s: str) -> str:
    return (s or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
