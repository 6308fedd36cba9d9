"""The six step widgets of the Commission wizard.

Each step shows and edits part of a :class:`~app.ui.commission.state.WizardState`:
``load(state)`` fills the widgets, ``collect(state)`` writes them back. They
do no I/O: the page runs the bus and register work in worker tasks and hands
the results in.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDateEdit, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QScrollArea, QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from app.core import commissioning as cm
from app.ui.commission.state import WizardState
from app.ui.commission.widgets import AnswerButtons, StatusChip, section

MUTED = "color: #333333;"
ERROR_STYLE = "color: #b3261e; font-weight: bold;"


def _scroll(parent: QWidget) -> tuple[QScrollArea, QWidget, QVBoxLayout]:
    area = QScrollArea(parent)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    inner = QWidget(area)
    lay = QVBoxLayout(inner)
    lay.setContentsMargins(0, 0, 8, 0)
    lay.setSpacing(8)
    area.setWidget(inner)
    return area, inner, lay


def _num(text: str) -> float | None:
    t = text.strip().replace(",", ".")
    if not t:
        return None
    return float(t)


def _fmt(v: Any, digits: int | None = None) -> str:
    if v is None or v == "":
        return ""
    if digits is not None and isinstance(v, (int, float)):
        return f"{v:.{digits}f}"
    return f"{v:g}" if isinstance(v, float) else str(v)


class Step(QWidget):
    """Base of the steps: a title line and a body."""

    title = ""
    hint = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(0, 0, 0, 0)
        self.outer.setSpacing(8)
        self.hint_label = QLabel(self.hint, self)
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet(MUTED)
        self.hint_label.setVisible(bool(self.hint))
        self.outer.addWidget(self.hint_label)

    def show_hint(self, on: bool) -> None:
        """The line of help under the step bar (hidden with larger text, where room is short;
        the step bar's tooltip has it too)."""
        self.hint_label.setVisible(on and bool(self.hint))

    def load(self, state: WizardState) -> None:  # pragma: no cover - overridden
        pass

    def collect(self, state: WizardState) -> None:  # pragma: no cover - overridden
        pass

    def problems(self) -> list[tuple[QWidget, str]]:
        """(widget, message) for what must be fixed before Next; [] when fine."""
        return []

    def set_target(self, px: int) -> None:
        pass


# --------------------------------------------------------------------------- 1 identify


class IdentifyStep(Step):
    hint = ("Read the meter on the bus (or pick it from the register): make, serial, identification and medium "
            "are filled in from its telegram. Check the rating against the meter's plate.")

    readRequested = Signal()
    refreshRequested = Signal()
    searchRequested = Signal(str)
    registerMeterChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        area, inner, lay = _scroll(self)
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

    def _use_found(self) -> None:
        mid = self.found_combo.currentData()
        if mid is not None:
            self.registerMeterChosen.emit(int(mid))

    # state ------------------------------------------------------------------------------
    def load(self, state: WizardState) -> None:
        i = state.identify
        for k, e in self.fields.items():
            e.setText(_fmt(i.get(k)))
        self.mid_class.setCurrentText(_fmt(i.get("mid_class")))
        idx = self.position.findData(i.get("flow_sensor_position"))
        self.position.setCurrentIndex(max(0, idx))
        self._extra = {k: i.get(k) for k in ("kind", "medium_code", "version", "identification") if k in i}

    def collect(self, state: WizardState) -> None:
        i = dict(state.identify)
        for k, e in self.fields.items():
            i[k] = e.text().strip()
        for k in ("qp_m3h", "qi_m3h", "qs_m3h", "dtheta_min_k", "dtheta_max_k"):
            try:
                i[k] = _num(i[k])
            except ValueError:
                pass  # problems() reports it
        pa = i.get("primary_address")
        i["primary_address"] = int(pa) if isinstance(pa, str) and pa.isdigit() else None
        cls = self.mid_class.currentText()
        i["mid_class"] = int(cls) if cls else None
        i["flow_sensor_position"] = self.position.currentData()
        i["mbus_manufacturer"] = (i.get("mbus_manufacturer") or "").upper() or None
        i.update(self._extra)
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
                v = _num(self.fields[k].text())
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
        for b in (self.read_button, self.refresh_button, self.use_button):
            b.setMinimumHeight(px)


# --------------------------------------------------------------------------- 2 place


class PlaceStep(Step):
    hint = ("Where the meter is: site, building, location and its monitoring point (MMS Annex A id such as SS1 "
            "or CC1, which sets the read interval). New names are created in the register.")

    siteChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        area, inner, lay = _scroll(self)
        self.outer.addWidget(area, 1)
        box, bl = section("Place", inner)
        g = QGridLayout()
        g.setHorizontalSpacing(10)
        g.addWidget(QLabel("Site (heat network)", inner), 0, 0)
        self.site = QComboBox(inner)
        self.site.setObjectName("field_site")
        self.site.setEditable(True)
        self.site.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.site.currentTextChanged.connect(self.siteChanged)
        g.addWidget(self.site, 0, 1)
        g.addWidget(QLabel("Building", inner), 1, 0)
        self.building = QLineEdit(inner)
        self.building.setObjectName("field_building")
        self.building.setPlaceholderText("e.g. Block A")
        g.addWidget(self.building, 1, 1)
        g.addWidget(QLabel("Location", inner), 2, 0)
        self.location = QLineEdit(inner)
        self.location.setObjectName("field_location")
        self.location.setPlaceholderText("e.g. plant room, riser cupboard level 2")
        g.addWidget(self.location, 2, 1)
        g.addWidget(QLabel("Monitoring point", inner), 3, 0)
        self.point = QComboBox(inner)
        self.point.setObjectName("field_monitoring_point")
        self.point.setEditable(True)
        self.point.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.point.currentTextChanged.connect(self._point_changed)
        g.addWidget(self.point, 3, 1)
        self.point_info = QLabel("", inner)
        self.point_info.setWordWrap(True)
        self.point_info.setStyleSheet(MUTED)
        g.addWidget(self.point_info, 4, 1)
        g.addWidget(QLabel("Installed on", inner), 5, 0)
        self.installed = QDateEdit(inner)
        self.installed.setObjectName("field_install_date")
        self.installed.setCalendarPopup(True)
        self.installed.setDisplayFormat("yyyy-MM-dd")
        self.installed.setDate(QDate.currentDate())
        g.addWidget(self.installed, 5, 1)
        g.setColumnStretch(1, 1)
        bl.addLayout(g)
        lay.addWidget(box)
        self.where_now = QLabel("", inner)
        self.where_now.setWordWrap(True)
        lay.addWidget(self.where_now)
        lay.addStretch(1)
        self.annex: dict[str, dict[str, Any]] = {}
        self.points_at_site: list[dict[str, Any]] = []

    def set_sites(self, names: list[str]) -> None:
        cur = self.site.currentText()
        self.site.blockSignals(True)
        self.site.clear()
        self.site.addItems(names)
        self.site.setCurrentText(cur)
        self.site.blockSignals(False)

    def set_points(self, annex: dict[str, dict[str, Any]], at_site: list[dict[str, Any]]) -> None:
        self.annex = annex
        self.points_at_site = at_site
        cur = self.point.currentText()
        self.point.blockSignals(True)
        self.point.clear()
        seen = set()
        for p in at_site:
            self.point.addItem(p["label"])
            seen.add(p["label"].upper())
        for pid, info in annex.items():
            if pid not in seen:
                self.point.addItem(pid)
                self.point.setItemData(self.point.count() - 1, f"{info['description']}", Qt.ItemDataRole.ToolTipRole)
        self.point.setCurrentText(cur)
        self.point.blockSignals(False)
        self._point_changed(cur)

    def _point_changed(self, text: str) -> None:
        info = self.annex.get(text.strip().upper())
        if info:
            self.point_info.setText(f"MMS Annex A {text.strip().upper()}: {info['description']} "
                                    f"({info['element'].replace('_', ' ')}); read at least every "
                                    f"{info['read_interval_min']} min.")
        elif text.strip():
            self.point_info.setText("Not an MMS Annex A id: kept as a local label.")
        else:
            self.point_info.setText("")

    def read_interval_min(self) -> int | None:
        info = self.annex.get(self.point.currentText().strip().upper())
        return info["read_interval_min"] if info else None

    def load(self, state: WizardState) -> None:
        p = state.place
        self.site.setCurrentText(p.get("site") or "")
        self.building.setText(p.get("building") or "")
        self.location.setText(p.get("location") or "")
        self.point.setCurrentText(p.get("monitoring_point") or "")
        if p.get("install_date"):
            self.installed.setDate(QDate.fromString(p["install_date"], "yyyy-MM-dd"))

    def collect(self, state: WizardState) -> None:
        state.place = {"site": " ".join(self.site.currentText().split()),
                       "building": self.building.text().strip() or None,
                       "location": self.location.text().strip() or None,
                       "monitoring_point": self.point.currentText().strip() or None,
                       "install_date": self.installed.date().toString("yyyy-MM-dd")}

    def problems(self) -> list[tuple[QWidget, str]]:
        out = []
        if not self.site.currentText().strip():
            out.append((self.site, "Enter the site (heat network) the meter belongs to."))
        if not self.point.currentText().strip():
            out.append((self.point, "Choose the monitoring point (MMS Annex A id, e.g. CC1)."))
        return out


# --------------------------------------------------------------------------- 3 checklist


class ChecklistRow(QFrame):
    """One checklist item: its text and clause, Yes/No/n.a., the note, an error line."""

    changed = Signal(str)

    def __init__(self, number: int, item: cm.ChecklistItem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.setObjectName(f"Item_{item.key}")
        self.setStyleSheet(f"#Item_{item.key} {{ background: #ffffff; border: 1px solid #9a9a9a; "
                           "border-radius: 4px; }")
        lay = QGridLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setHorizontalSpacing(12)
        lay.setVerticalSpacing(4)
        req = "" if item.required else "  <i>(optional)</i>"
        self.text = QLabel(f"<b>{number}.</b> {item.text}{req}", self)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.text, 0, 0)
        self.clause = QLabel(item.clause, self)
        self.clause.setStyleSheet(MUTED)
        self.clause.setWordWrap(True)
        lay.addWidget(self.clause, 1, 0, Qt.AlignmentFlag.AlignTop)
        self.buttons = AnswerButtons(self)
        self.buttons.answerChanged.connect(self._answered)
        lay.addWidget(self.buttons, 0, 1, Qt.AlignmentFlag.AlignTop)
        self.note = QLineEdit(self)
        self.note.setObjectName(f"Note_{item.key}")
        self.note.setPlaceholderText(item.note_hint or "Note (needed for No)")
        self.note.editingFinished.connect(lambda: self.changed.emit(self.item.key))
        lay.addWidget(self.note, 1, 1, 2, 1, Qt.AlignmentFlag.AlignTop)
        self.error = QLabel("", self)
        self.error.setObjectName(f"Error_{item.key}")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        lay.addWidget(self.error, 3, 0, 1, 2)
        lay.setColumnStretch(0, 1)
        lay.setRowStretch(2, 1)

    def _answered(self, _answer: str) -> None:
        self.clear_error()
        self.changed.emit(self.item.key)

    def value(self) -> dict[str, Any] | None:
        a = self.buttons.answer()
        if a is None:
            return None
        return {"answer": a, "note": self.note.text().strip() or None}

    def set_value(self, v: dict[str, Any] | None) -> None:
        v = v or {}
        self.buttons.set_answer(v.get("answer"))
        self.note.setText(v.get("note") or "")

    def show_error(self, text: str) -> None:
        self.error.setText("⚠ " + text)
        self.error.show()
        self.setStyleSheet(f"#Item_{self.item.key} {{ background: #fff1f0; border: 3px solid #b3261e; "
                           "border-radius: 4px; }")

    def clear_error(self) -> None:
        if self.error.isVisible():
            self.error.hide()
            self.setStyleSheet(f"#Item_{self.item.key} {{ background: #ffffff; border: 1px solid #9a9a9a; "
                               "border-radius: 4px; }")


class ChecklistStep(Step):
    hint = ("Answer every item from what you see: Yes (conforms), No (say what is wrong in the note) or n.a. "
            "Each answer is saved as you give it.")

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.area, inner, lay = _scroll(self)
        self.outer.addWidget(self.area, 1)
        self.rows: dict[str, ChecklistRow] = {}
        for n, item in enumerate(cm.CHECKLIST, start=1):
            row = ChecklistRow(n, item, inner)
            row.changed.connect(self.changed)
            self.rows[item.key] = row
            lay.addWidget(row)
        lay.addStretch(1)

    def answers(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, r in self.rows.items() if (v := r.value()) is not None}

    def load(self, state: WizardState) -> None:
        for k, r in self.rows.items():
            r.set_value(state.answers.get(k))
            r.clear_error()

    def collect(self, state: WizardState) -> None:
        state.answers = self.answers()

    def show_problems(self, problems: list[cm.Problem]) -> ChecklistRow | None:
        """Mark every problem at its item; scroll to the first and put the focus there."""
        for r in self.rows.values():
            r.clear_error()
        first = None
        for p in problems:
            row = self.rows[p.key]
            row.show_error(p.message)
            first = first or (row, p)
        if first is None:
            return None
        row, p = first
        self.area.ensureWidgetVisible(row, 0, 40)
        target = row.note if p.field == "note" else row.buttons.buttons["yes"]
        target.setFocus(Qt.FocusReason.OtherFocusReason)
        return row

    def set_target(self, px: int) -> None:
        for r in self.rows.values():
            r.buttons.set_target(px)
            r.note.setMinimumHeight(px - 8)


# --------------------------------------------------------------------------- 4 plausibility


READING_ROWS = (("energy_kwh", "Energy", "kWh", 0), ("volume_m3", "Volume", "m³", 2), ("power_kw", "Power", "kW", 2),
                ("flow_m3h", "Flow", "m³/h", 3), ("t_flow_c", "Flow temperature", "°C", 2),
                ("t_return_c", "Return temperature", "°C", 2), ("dtheta", "Δθ", "K", 2),
                ("meter_time", "Meter clock", "", None), ("status", "Status byte", "", None))


class PlausibilityStep(Step):
    hint = ("Checks on a live readout. Read again after a few minutes to check the energy increment "
            "against k·V·Δθ; the observation window (next step) checks it again over its whole length.")

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
        outer_area, outer_inner, outer_lay = _scroll(self)
        cols = QHBoxLayout()
        cols.setSpacing(10)
        outer_lay.addLayout(cols, 1)
        left, ll = section("Latest readout", outer_inner)
        self.values: dict[str, QLabel] = {}
        g = QGridLayout()
        g.setVerticalSpacing(2)
        for r, (key, label, _unit, _d) in enumerate(READING_ROWS):
            g.addWidget(QLabel(label, left), r, 0)
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
        for key, title in (("temperature_order", "Flow and return temperatures"),
                           ("dtheta_range", "Temperature difference in range"), ("flow_range", "Flow rate in range"),
                           ("energy_increment", "Energy increment = k·V·Δθ"), ("clock", "Meter clock"),
                           ("status", "Status and error flags")):
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
            self._set_message(key, "Not checked yet.")
            self.checks_layout.addWidget(fr)
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

    def show_checks(self, checks: list[dict[str, Any]]) -> None:
        by_key = {c["key"]: c for c in checks}
        for key, (chip, _t, _m) in self.check_rows.items():
            c = by_key.get(key)
            chip.set_status(c["status"] if c else "none")
            self._set_message(key, c["message"] if c else "Not checked yet.")

    def show_mpe(self, mpe: dict[str, Any] | None, q: float | None, dtheta: float | None) -> None:
        if not mpe:
            self.mpe_label.setText("<i>MPE at this operating point: needs class, qp, qi, Δθmin and flow.</i>")
            return
        viol = ", ".join(v.replace("_", " ") for v in mpe.get("violations") or [])
        self.mpe_label.setText(
            f"<b>MPE here</b> (q {q:.3f} m³/h, Δθ {abs(dtheta):.2f} K, EN 1434-1): "
            f"Ef {mpe['ef']:.2f} + Et {mpe['et']:.2f} + Ec {mpe['ec']:.2f} = <b>{mpe['e_total']:.2f} %</b>"
            f"; in service {mpe['in_service_total']:.2f} %" + (f"<br>outside rated range: {viol}" if viol else ""))

    def load(self, state: WizardState) -> None:
        self.show_checks(state.checks)

    def collect(self, state: WizardState) -> None:
        pass

    def set_target(self, px: int) -> None:
        self.read_button.setMinimumHeight(px)
        for chip, _t, _m in self.check_rows.values():
            chip.setMinimumHeight(px - 8)
            chip.setMinimumWidth(round(px * 1.8))


# --------------------------------------------------------------------------- 5 observation


class ObserveStep(Step):
    hint = ("Watch the meter for a few minutes: polls through the bus feed the plot; data completeness "
            "(HNTAS SS-KPI-02) and the volume-weighted average flow temperature (SS-KPI-09A) are kept for the "
            "certificate. You may end early with a reason.")

    startRequested = Signal()
    endRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from app.ui.widgets.liveplot import LivePlot  # pyqtgraph: only when the wizard is built

        self.area, inner, lay = _scroll(self)
        self.outer.addWidget(self.area, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Window", inner))
        self.minutes = QSpinBox(inner)
        self.minutes.setObjectName("WindowMinutes")
        self.minutes.setRange(1, 120)
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

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.end_button.setEnabled(running)
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
        for b in (self.start_button, self.end_button):
            b.setMinimumHeight(px)
        larger = px > 44
        self.plot.setMinimumHeight(round(250 * px / 44))
        # with larger text the reason for ending early gets a row of its own
        target, other = (self.row2, self.row1) if larger else (self.row1, self.row2)
        for w, stretch in ((self.reason, 1), (self.end_button, 0)):
            other.removeWidget(w)
            target.removeWidget(w)
            target.addWidget(w, stretch)


# --------------------------------------------------------------------------- 6 sign-off


class SignStep(Step):
    hint = ("Sign off: the record is saved to the register as signed, with the raw telegrams as evidence, "
            "and the commissioning certificate (PDF) is written.")

    signRequested = Signal()
    openRequested = Signal()
    newRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        area, inner, lay = _scroll(self)
        self.outer.addWidget(area, 1)
        self.verdict = QLabel("", inner)
        self.verdict.setObjectName("Verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.verdict)
        self.summary = QLabel("", inner)
        self.summary.setObjectName("SignSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.summary)
        box, bl = section("Signature", inner)
        g = QGridLayout()
        g.addWidget(QLabel("Technician", inner), 0, 0)
        self.technician = QLineEdit(inner)
        self.technician.setObjectName("field_technician")
        self.technician.setPlaceholderText("Full name of the technician who commissioned the meter")
        g.addWidget(self.technician, 0, 1)
        g.addWidget(QLabel("Date", inner), 1, 0)
        self.date = QLabel(dt.date.today().isoformat(), inner)
        g.addWidget(self.date, 1, 1)
        g.addWidget(QLabel("Notes", inner), 2, 0, Qt.AlignmentFlag.AlignTop)
        self.notes = QPlainTextEdit(inner)
        self.notes.setObjectName("field_notes")
        self.notes.setPlaceholderText("Anything the next person should know (optional)")
        self.notes.setFixedHeight(80)
        g.addWidget(self.notes, 2, 1)
        g.setColumnStretch(1, 1)
        bl.addLayout(g)
        lay.addWidget(box)
        row = QHBoxLayout()
        self.sign_button = QPushButton("Sign, save and write certificate", inner)
        self.sign_button.setObjectName("SignButton")
        self.sign_button.setProperty("primary", True)
        self.sign_button.clicked.connect(self.signRequested)
        row.addWidget(self.sign_button)
        self.open_button = QPushButton("Open certificate", inner)
        self.open_button.setObjectName("OpenCertificate")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.openRequested)
        row.addWidget(self.open_button)
        self.new_button = QPushButton("Commission another meter", inner)
        self.new_button.setObjectName("NewCommissioning")
        self.new_button.clicked.connect(self.newRequested)
        self.new_button.hide()
        row.addWidget(self.new_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.result = QLabel("", inner)
        self.result.setObjectName("SignResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.result)
        lay.addStretch(1)

    def load(self, state: WizardState) -> None:
        self.technician.setText(state.technician)
        self.notes.setPlainText(state.notes)
        verdict = cm.overall_verdict(state.answers, state.checks)
        colour = {"conforms": "#0a6b2d", "conforms_with_remarks": "#7a5a00", "does_not_conform": "#b3261e"}[verdict]
        self.verdict.setText(f"<span style='font-size:16pt; color:{colour}'><b>{cm.VERDICT_WORDS[verdict]}</b></span>")
        nos = cm.nonconformities(state.answers)
        checks = state.checks
        counts = {s: sum(1 for c in checks if c.get("status") == s) for s in cm.STATUSES}
        obs = state.observation.get("kpis") or {}
        comp = (obs.get("completeness") or {}).get("pct")
        vw = obs.get("vwaft_c")
        parts = [f"<b>{state.meter_label}</b> at {state.place.get('site') or '?'}"
                 + (f", {state.place.get('location')}" if state.place.get("location") else "")
                 + (f" ({state.place.get('monitoring_point')})" if state.place.get("monitoring_point") else ""),
                 f"Checklist: {len(state.answers)} of {len(cm.CHECKLIST)} answered"
                 + (f", <b>No</b> at {', '.join(nos)}" if nos else ", no nonconformity"),
                 f"Plausibility: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail",
                 "Observation: " + ("not run" if not obs else
                                    f"completeness {'—' if comp is None else f'{comp:.1f} %'}, VWAFT "
                                    f"{'—' if vw is None else f'{vw:.2f} °C'}"
                                    + (f"; ended early: {state.observation.get('ended_early')}"
                                       if state.observation.get("ended_early") else ""))]
        self.summary.setText("<br>".join(parts))

    def collect(self, state: WizardState) -> None:
        state.technician = self.technician.text().strip()
        state.notes = self.notes.toPlainText().strip()

    def problems(self) -> list[tuple[QWidget, str]]:
        if not self.technician.text().strip():
            return [(self.technician, "Enter the technician's name to sign.")]
        return []

    def set_signed(self, text: str, signed: bool) -> None:
        self.result.setText(text)
        self.sign_button.setEnabled(not signed)
        self.sign_button.setVisible(not signed)
        self.technician.setReadOnly(signed)
        self.notes.setReadOnly(signed)
        self.open_button.setEnabled(signed)
        self.new_button.setVisible(signed)

    def set_target(self, px: int) -> None:
        for b in (self.sign_button, self.open_button, self.new_button):
            b.setMinimumHeight(px)
