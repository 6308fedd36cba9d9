"""Step 1 of the Commission wizard: identify the meter (read it on the bus, or pick it from the register)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QWidget

from app.services.commissioning import CommissioningState
from app.ui.commission.steps.base import Step, fmt, parse_num, scroll_area
from app.ui.commission.widgets import section


class IdentifyStep(Step):
    hint = ("Read the meter on the bus, pick it from the register, or take a radio meter heard on the Radio page: "
            "make, serial, identification and medium come from its telegram. Check the rating against the plate.")

    readRequested = Signal()
    refreshRequested = Signal()
    searchRequested = Signal(str)
    registerMeterChosen = Signal(int)
    radioMeterChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        area, inner, lay = scroll_area(self)
        self.outer.addWidget(area, 1)

        box, bl = section("Meter on the bus", inner)
        row = QHBoxLayout()
        self.meter_combo = QComboBox(box)
        self.meter_combo.setObjectName("BusMeters")
        self.meter_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.meter_combo.setToolTip("Meters found on the bus (Scan page); the selected one is read")
        row.addWidget(self.meter_combo, 1)
        self.refresh_button = QPushButton("Refresh list", box)
        self.refresh_button.clicked.connect(self.refreshRequested)
        row.addWidget(self.refresh_button)
        self.read_button = QPushButton("Read meter  (F5)", box)
        self.read_button.setObjectName("ReadMeter")
        self.read_button.setProperty("primary", True)
        self.read_button.clicked.connect(self.readRequested)
        row.addWidget(self.read_button)
        bl.addLayout(row)
        reg_row = QHBoxLayout()
        reg_row.addWidget(QLabel("Or from the register:", box))
        self.search = QLineEdit(box)
        self.search.setPlaceholderText("serial, make or location")
        self.search.returnPressed.connect(lambda: self.searchRequested.emit(self.search.text()))
        reg_row.addWidget(self.search, 1)
        self.found_combo = QComboBox(box)
        self.found_combo.setMinimumWidth(280)
        reg_row.addWidget(self.found_combo, 1)
        self.use_button = QPushButton("Use this meter", box)
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use_found)
        reg_row.addWidget(self.use_button)
        bl.addLayout(reg_row)
        self.read_status = QLabel("", box)
        self.read_status.setWordWrap(True)
        bl.addWidget(self.read_status)
        lay.addWidget(box)

        rbox, rl = section("Or a radio meter (wireless M-Bus, heard on the Radio page)", inner)
        row = QHBoxLayout()
        self.radio_combo = QComboBox(rbox)
        self.radio_combo.setObjectName("RadioMeters")
        self.radio_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.radio_combo.setToolTip("Meters heard by the receiver (Radio page), strongest first")
        row.addWidget(self.radio_combo, 1)
        self.radio_button = QPushButton("Use radio meter", rbox)
        self.radio_button.setObjectName("UseRadioMeter")
        self.radio_button.setEnabled(False)
        self.radio_button.setToolTip("Identify the meter from its telegrams; check its key, signal and send interval")
        self.radio_button.clicked.connect(self._use_radio)
        row.addWidget(self.radio_button)
        rl.addLayout(row)
        self.radio_status = QLabel("", rbox)
        self.radio_status.setObjectName("RadioStatus")
        self.radio_status.setWordWrap(True)
        self.radio_status.setTextFormat(Qt.TextFormat.RichText)
        rl.addWidget(self.radio_status)
        lay.addWidget(rbox)

        cols = QHBoxLayout()
        ident, il = section("Identity (MMS 1.2.8: make, type, serial)", inner)
        g = QGridLayout()
        g.setHorizontalSpacing(10)
        self.fields: dict[str, QLineEdit] = {}

        def add(grid, r, key, label, placeholder="", read_only=False, col=0):
            grid.addWidget(QLabel(label, inner), r, col)
            e = QLineEdit(inner)
            e.setObjectName(f"field_{key}")
            e.setPlaceholderText(placeholder)
            e.setReadOnly(read_only)
            grid.addWidget(e, r, col + 1)
            self.fields[key] = e
            return e

        add(g, 0, "manufacturer", "Make", "e.g. Kamstrup")
        add(g, 0, "mbus_manufacturer", "FLAG", "3 letters", col=2)
        add(g, 1, "model", "Model (type)", "as on the plate")
        add(g, 1, "serial", "Serial", "fabrication number", col=2)
        add(g, 2, "secondary_address", "Identification", "8 digits")
        add(g, 2, "primary_address", "Address", "0..250", col=2)
        add(g, 3, "medium", "Medium", "", read_only=True)
        g.setColumnStretch(1, 3)
        g.setColumnStretch(3, 2)
        il.addLayout(g)
        cols.addWidget(ident, 1)

        rate, rl = section("Rating (EN 1434-1, from the plate)", inner)
        g2 = QGridLayout()
        g2.setHorizontalSpacing(10)
        g2.addWidget(QLabel("MID class", inner), 0, 0)
        self.mid_class = QComboBox(inner)
        self.mid_class.setObjectName("field_mid_class")
        self.mid_class.addItems(["", "1", "2", "3"])
        g2.addWidget(self.mid_class, 0, 1)
        g2.addWidget(QLabel("Flow sensor", inner), 0, 2)
        self.position = QComboBox(inner)
        self.position.setObjectName("field_flow_sensor_position")
        self.position.setToolTip("The pipe the flow (volume) sensor sits in")
        self.position.addItem("", None)
        self.position.addItem("flow pipe", "flow")
        self.position.addItem("return pipe", "return")
        g2.addWidget(self.position, 0, 3)
        add(g2, 1, "qp_m3h", "qp (m³/h)", "permanent")
        add(g2, 1, "qi_m3h", "qi (m³/h)", "lowest", col=2)
        add(g2, 2, "qs_m3h", "qs (m³/h)", "highest")
        add(g2, 2, "dtheta_min_k", "Δθmin (K)", "e.g. 3", col=2)
        add(g2, 3, "dtheta_max_k", "Δθmax (K)", "e.g. 100")
        g2.setColumnStretch(1, 1)
        g2.setColumnStretch(3, 1)
        rl.addLayout(g2)
        cols.addWidget(rate, 1)
        lay.addLayout(cols)
        self.register_status = QLabel("", inner)
        self.register_status.setWordWrap(True)
        self.register_status.setObjectName("RegisterStatus")
        lay.addWidget(self.register_status)
        lay.addStretch(1)
        self._found: list[Any] = []
        self._extra: dict[str, Any] = {}

    # bus and register lists ------------------------------------------------------------
    def set_bus_meters(self, meters: list, selected: Any = None) -> None:
        cur = self.meter_combo.currentData()
        self.meter_combo.clear()
        for m in meters:
            self.meter_combo.addItem(m.label, m)
        want = selected or cur
        if want is not None:
            for i in range(self.meter_combo.count()):
                d = self.meter_combo.itemData(i)
                if (d.secondary_address, d.manufacturer) == (want.secondary_address, want.manufacturer):
                    self.meter_combo.setCurrentIndex(i)
                    break
        self.read_button.setEnabled(bool(meters))

    def chosen_bus_meter(self):
        return self.meter_combo.currentData()

    def set_found(self, meters: list) -> None:
        self._found = meters
        self.found_combo.clear()
        for m in meters:
            where = " · ".join(x for x in (m.site, m.building, m.location) if x)
            self.found_combo.addItem(f"{m.manufacturer} {m.serial} · {m.model} · {where}", m.id)
        self.use_button.setEnabled(bool(meters))
        if not meters:
            self.found_combo.addItem("nothing found")

    def set_radio_meters(self, items: list[tuple[str, str]]) -> None:
        """(key, label) of the meters heard; the current choice is kept when still there."""
        cur = self.radio_combo.currentData()
        self.radio_combo.blockSignals(True)
        self.radio_combo.clear()
        for key, label in items:
            self.radio_combo.addItem(label, key)
        i = self.radio_combo.findData(cur) if cur is not None else -1
        self.radio_combo.setCurrentIndex(max(0, i))
        self.radio_combo.blockSignals(False)
        self.radio_button.setEnabled(bool(items))

    def _use_radio(self) -> None:
        key = self.radio_combo.currentData()
        if key:
            self.radioMeterChosen.emit(key)

    def _use_found(self) -> None:
        mid = self.found_combo.currentData()
        if mid is not None:
            self.registerMeterChosen.emit(int(mid))

    # state ------------------------------------------------------------------------------
    def load(self, state: CommissioningState) -> None:
        from app.core.registers import medium_words

        i = state.identify
        for k, e in self.fields.items():
            e.setText(fmt(i.get(k)))
        # the medium in words (it is read from the meter, never typed: collect() keeps the code name)
        self.fields["medium"].setText(medium_words(i.get("medium")))
        self._medium = i.get("medium")
        self.mid_class.setCurrentText(fmt(i.get("mid_class")))
        idx = self.position.findData(i.get("flow_sensor_position"))
        self.position.setCurrentIndex(max(0, idx))
        self._extra = {k: i.get(k) for k in ("kind", "medium_code", "version", "identification") if k in i}

    def collect(self, state: CommissioningState) -> None:
        i = dict(state.identify)
        for k, e in self.fields.items():
            i[k] = e.text().strip()
        for k in ("qp_m3h", "qi_m3h", "qs_m3h", "dtheta_min_k", "dtheta_max_k"):
            try:
                i[k] = parse_num(i[k])
            except ValueError:
                pass  # problems() reports it
        pa = i.get("primary_address")
        i["primary_address"] = int(pa) if isinstance(pa, str) and pa.isdigit() else None
        cls = self.mid_class.currentText()
        i["mid_class"] = int(cls) if cls else None
        i["flow_sensor_position"] = self.position.currentData()
        i["mbus_manufacturer"] = (i.get("mbus_manufacturer") or "").upper() or None
        i.update(self._extra)
        i["medium"] = getattr(self, "_medium", None) or state.identify.get("medium")   # the code, not the words
        state.identify = i

    def problems(self) -> list[tuple[QWidget, str]]:
        out: list[tuple[QWidget, str]] = []
        for k, what in (("manufacturer", "the make"), ("serial", "the serial number"),
                        ("model", "the model (type, MMS 1.2.8)")):
            if not self.fields[k].text().strip():
                out.append((self.fields[k], f"Enter {what}."))
        for k, what in (("qp_m3h", "qp"), ("qi_m3h", "qi"), ("qs_m3h", "qs"), ("dtheta_min_k", "Δθmin"),
                        ("dtheta_max_k", "Δθmax")):
            try:
                v = parse_num(self.fields[k].text())
            except ValueError:
                out.append((self.fields[k], f"{what} must be a number, e.g. 1.5."))
                continue
            if v is not None and v <= 0:
                out.append((self.fields[k], f"{what} must be positive."))
        pa = self.fields["primary_address"].text().strip()
        if pa and not (pa.isdigit() and 0 <= int(pa) <= 250):
            out.append((self.fields["primary_address"], "The primary address is a number 0..250."))
        return out

    def set_target(self, px: int) -> None:
        for b in (self.read_button, self.refresh_button, self.use_button, self.radio_button):
            b.setMinimumHeight(px)
