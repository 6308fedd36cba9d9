"""Step 4 of the Commission wizard: a live readout's values, the plausibility checks and the MPE."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core import commissioning as cm
from app.services.commissioning import CommissioningState
from app.ui.commission.clock import ClockPanel
from app.ui.commission.steps.base import Step, scroll_area
from app.ui.commission.widgets import StatusChip, section


CHECK_ROWS = (("temperature_order", "Flow and return temperatures"),
              ("dtheta_range", "Temperature difference in range"), ("flow_range", "Flow rate in range"),
              ("energy_increment", "Energy increment = k·V·Δθ"), ("clock", "Meter clock"),
              ("status", "Status and error flags"), ("data_items", "Data items of the monitoring point"),
              ("vwaft_setpoint", "VWAFT at the design flow temperature (SS-KPI-09A)"),
              ("approach", "Approach temperature SS1/SS2 (SS-KPI-12)"))
#: rows shown only when the monitoring point has the check
OPTIONAL_ROWS = ("data_items", "vwaft_setpoint", "approach")

READING_ROWS = (("energy_kwh", "Energy", "kWh", 0), ("volume_m3", "Volume", "m³", 2), ("power_kw", "Power", "kW", 2),
                ("flow_m3h", "Flow", "m³/h", 3), ("t_flow_c", "Flow temperature", "°C", 2),
                ("t_return_c", "Return temperature", "°C", 2), ("dtheta", "Δθ", "K", 2),
                ("meter_time", "Meter clock", "", None), ("status", "Status byte", "", None))


class PlausibilityStep(Step):
    hint = ("Checks on a live readout. Read again after a few minutes to check the energy increment "
            "against k·V·Δθ; the observation window (next step) checks it again over its whole length. A meter "
            "clock that is off can be set here (the clock step).")

    readRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        top = QHBoxLayout()
        self.read_button = QPushButton("Read now  (F5)", self)
        self.read_button.setObjectName("PlausibilityRead")
        self.read_button.setProperty("primary", True)
        self.read_button.clicked.connect(self.readRequested)
        top.addWidget(self.read_button)
        self.read_info = QLabel("No readout yet.", self)
        self.read_info.setWordWrap(True)
        top.addWidget(self.read_info, 1)
        self.outer.addLayout(top)
        outer_area, outer_inner, outer_lay = scroll_area(self)
        self.area = outer_area
        cols = QHBoxLayout()
        cols.setSpacing(10)
        outer_lay.addLayout(cols, 1)
        left, ll = section("Latest readout", outer_inner)
        self.values: dict[str, QLabel] = {}
        g = QGridLayout()
        g.setVerticalSpacing(2)
        self.labels: dict[str, QLabel] = {}
        for r, (key, label, _unit, _d) in enumerate(READING_ROWS):
            self.labels[key] = QLabel(label, left)
            g.addWidget(self.labels[key], r, 0)
            v = QLabel("—", left)
            v.setObjectName(f"value_{key}")
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            g.addWidget(v, r, 1, Qt.AlignmentFlag.AlignRight)
            self.values[key] = v
        ll.addLayout(g)
        self.mpe_label = QLabel("", left)
        self.mpe_label.setObjectName("MpeInfo")
        self.mpe_label.setWordWrap(True)
        self.mpe_label.setTextFormat(Qt.TextFormat.RichText)
        ll.addWidget(self.mpe_label)
        ll.addStretch(1)
        left.setMinimumWidth(300)
        cols.addWidget(left, 0, Qt.AlignmentFlag.AlignTop)
        inner = QWidget(outer_inner)
        self.checks_layout = QVBoxLayout(inner)
        self.checks_layout.setContentsMargins(0, 0, 0, 0)
        self.checks_layout.setSpacing(6)
        self.check_rows: dict[str, tuple[StatusChip, QLabel, QLabel]] = {}
        self.check_frames: dict[str, QFrame] = {}
        for key, title in CHECK_ROWS:
            fr = QFrame(inner)
            fr.setObjectName(f"Check_{key}")
            fr.setStyleSheet(f"#Check_{key} {{ background: #ffffff; border: 1px solid #9a9a9a; border-radius: 4px; }}")
            fl = QHBoxLayout(fr)
            fl.setContentsMargins(8, 6, 8, 6)
            chip = StatusChip("none", fr)
            chip.setObjectName(f"Chip_{key}")
            fl.addWidget(chip, 0, Qt.AlignmentFlag.AlignTop)
            m = QLabel(fr)
            m.setObjectName(f"Message_{key}")
            m.setWordWrap(True)
            m.setTextFormat(Qt.TextFormat.RichText)
            m.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            fl.addWidget(m, 1)
            self.check_rows[key] = (chip, title, m)
            self.check_frames[key] = fr
            self._set_message(key, "Not checked yet.")
            self.checks_layout.addWidget(fr)
            fr.setVisible(key not in OPTIONAL_ROWS)
        self.clock_panel = ClockPanel(inner)
        self.checks_layout.addWidget(self.clock_panel)
        self.checks_layout.addStretch(1)
        cols.addWidget(inner, 1)
        self.outer.addWidget(outer_area, 1)

    def show_values(self, v: cm.ReadoutValues | None, when: str = "") -> None:
        if v is None:
            for lab in self.values.values():
                lab.setText("—")
            return
        for key, _label, unit, digits in READING_ROWS:
            x = getattr(v, key, None)
            if key == "dtheta" and v.dtheta_k is not None:
                x = v.dtheta_k             # the meter's own Δθ (finer than two rounded temperatures)
            if key == "status":
                text = "—" if x is None else (f"0x{x:02X}" + (f" ({', '.join(v.status_words)})"
                                                             if v.status_words else " (no flags)"))
            elif x is None:
                text = "—"
            elif digits is None:
                text = str(x).replace("T", " ")
            else:
                text = f"{x:,.{digits}f} {unit}".replace(",", " ")
            self.values[key].setText(text)
        if when:
            self.read_info.setText(when)

    def _set_message(self, key: str, text: str) -> None:
        from html import escape

        _chip, title, m = self.check_rows[key]
        m.setText(f"<b>{escape(title)}</b><br>{escape(text)}")

    def message(self, key: str) -> str:
        """The plain text of a check's row (title and message)."""
        from PySide6.QtGui import QTextDocument

        d = QTextDocument()
        d.setHtml(self.check_rows[key][2].text())
        return d.toPlainText()

    def show_checks(self, checks: list[dict[str, Any]], clock: dict[str, Any] | None = None,
                    writable: bool = True) -> None:
        """The checks' results; ``clock``: the clock step's write; ``writable``: the meter's clock can be set
        over the bus (not a radio meter)."""
        by_key = {c["key"]: c for c in checks}
        for key, (chip, _t, _m) in self.check_rows.items():
            c = by_key.get(key)
            chip.set_status(c["status"] if c else "none")
            self._set_message(key, c["message"] if c else "Not checked yet.")
            if key in OPTIONAL_ROWS:
                self.check_frames[key].setVisible(c is not None)
        was = self.clock_panel.isVisibleTo(self)
        self.clock_panel.show_state(by_key.get("clock"), clock or {}, writable)
        if self.clock_panel.isVisibleTo(self) and not was:
            self.area.ensureWidgetVisible(self.clock_panel)     # the clock step: where the technician looks

    def show_mpe(self, mpe: dict[str, Any] | None, q: float | None, dtheta: float | None) -> None:
        if not mpe:
            self.mpe_label.setText("<i>MPE at this operating point: needs class, qp, qi, Δθmin and flow.</i>")
            return
        viol = ", ".join(v.replace("_", " ") for v in mpe.get("violations") or [])
        self.mpe_label.setText(
            f"<b>MPE here</b> (q {q:.3f} m³/h, Δθ {abs(dtheta):.2f} K, EN 1434-1): "
            f"Ef {mpe['ef']:.2f} + Et {mpe['et']:.2f} + Ec {mpe['ec']:.2f} = <b>{mpe['e_total']:.2f} %</b>"
            f"; in service {mpe['in_service_total']:.2f} %" + (f"<br>outside rated range: {viol}" if viol else ""))

    def load(self, state: CommissioningState) -> None:
        self.show_checks(state.checks, state.clock, not state.identify.get("radio"))
        # the register the checks read: heat or cooling energy (MMS 1.1.13)
        self.labels["energy_kwh"].setText("Cooling energy" if state.kind == "cooling" else "Heat energy")

    def collect(self, state: CommissioningState) -> None:
        pass

    def set_target(self, px: int) -> None:
        self.read_button.setMinimumHeight(px)
        self.clock_panel.set_button.setMinimumHeight(px)
        for chip, _t, _m in self.check_rows.values():
            chip.setMinimumHeight(px - 8)
            chip.setMinimumWidth(round(px * 1.8))
