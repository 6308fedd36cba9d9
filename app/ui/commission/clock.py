"""The clock step of the Commission wizard: a panel under the plausibility checks.

Shown when the meter's clock check is not a pass (or once the clock was set):
what the meter's clock says against the laptop's, a big button to set it to the
laptop's time (EN 13757-3 clock write, confirmed by a read-back), and, after
the write, the clock before and after, the outcome and where it is kept (the
meter's history in the register, with the frames). The page does the work
(``app.ui.commission.flow_evidence``); this widget only shows it.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.commissioning import human_duration

OUTCOME_WORDS = {"confirmed": "confirmed by a read-back", "refused": "refused by the meter",
                 "unchanged": "acknowledged, but the meter's clock did not move",
                 "off": "the clock moved, but not to the time written", "no_readback": "no read-back",
                 "no_clock": "the meter sends no clock: nothing written"}


def _t(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def _offset(s: float | None) -> str:
    if s is None:
        return ""
    way = "ahead of" if s > 0 else "behind"
    return f"{human_duration(abs(s))} {way} the laptop" if abs(s) >= 1 else "on the laptop's time"


class ClockPanel(QFrame):
    """See the module docstring. ``setRequested()``: the user asked to set the clock."""

    setRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ClockStep")
        self.setStyleSheet("#ClockStep { background: #fffbd6; border: 2px solid #7a5c00; border-radius: 4px; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(6)
        self.title = QLabel("<b>Meter clock: set it to the laptop's time</b>", self)
        lay.addWidget(self.title)
        self.text = QLabel("", self)
        self.text.setObjectName("ClockText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.text)
        self.set_button = QPushButton("Set the meter's clock to the laptop's time", self)
        self.set_button.setObjectName("SetClock")
        self.set_button.setProperty("primary", True)
        self.set_button.clicked.connect(self.setRequested)
        lay.addWidget(self.set_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.result = QLabel("", self)
        self.result.setObjectName("ClockResult")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.result)
        self.hide()

    def show_state(self, check: dict[str, Any] | None, clock: dict[str, Any], writable: bool = True) -> None:
        """Show the panel for the clock check ``check`` (a check dict) and the write done, if any;
        ``writable`` False: a meter whose clock is not set over this bus (a radio meter)."""
        failing = check is not None and check.get("status") != "pass" and \
            (check.get("values") or {}).get("difference_s") is not None
        self.setVisible(bool(failing or clock))
        self.title.setText("<b>Meter clock is off: set it to the laptop's time</b>" if failing else
                           "<b>Meter clock set during this commissioning</b>")
        if failing:
            v = check["values"]
            self.text.setText(f"The meter's clock reads <b>{_t(v.get('meter_time'))}</b>, the laptop "
                              f"<b>{_t(v.get('laptop_time'))}</b>: {_offset(v.get('difference_s'))}. Readings and "
                              "stored values go into the wrong interval. Set it here (the write is read back and "
                              "kept with its frames in the meter's history).")
        elif clock:
            self.text.setText("The meter's clock was set during this commissioning.")
        if failing and not writable:
            self.text.setText(self.text.text().split(" Set it here")[0] + " A radio meter's clock is set through "
                              "its M-Bus or optical port (heatmeter set-clock, or the maker's tool), not by radio.")
        self.set_button.setVisible(failing and writable)
        if clock:
            ok = clock.get("ok")
            colour = "#0a6b2d" if ok else "#a4001d"
            kept = (f"; kept in the register as write {clock['write_id']} with {clock.get('frames', 0)} frames"
                    if clock.get("write_id") else "")
            self.result.setText(
                f"<span style='color:{colour}'><b>Clock {'set' if ok else 'not set'}:</b></span> "
                f"{OUTCOME_WORDS.get(clock.get('outcome'), clock.get('outcome'))}.<br>"
                f"Before: <b>{_t(clock.get('before'))}</b> ({_offset(clock.get('offset_before_s'))}) · "
                f"written {_t(clock.get('target'))} · after: <b>{_t(clock.get('after'))}</b> "
                f"({_offset(clock.get('offset_after_s'))}), tolerance {clock.get('tolerance_s', 90):.0f} s{kept}."
                + (f"<br>{clock['detail']}" if clock.get("detail") and not ok else ""))
            self.result.show()
        else:
            self.result.hide()

    def busy(self, on: bool) -> None:
        self.set_button.setEnabled(not on)
        self.set_button.setText("Setting the clock…" if on else "Set the meter's clock to the laptop's time")
