"""The import wizard's column step: one row per column of the file, a drop-down of register columns each.

Each row shows the file's header text, a few of its values, the register
column it will fill (proposed from a saved profile, the header's own name or
a guess from its text) and whether it holds personal data. A personal-looking
column must be mapped or dropped before the wizard goes on.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.storage.columns import KNOWN_COLUMNS, PERSONAL_COLUMNS, REQUIRED_COLUMNS
from app.storage.import_map import looks_personal

EXTRA = "\x00extra"   # keep the column with the meter under its own name
DROP = "\x00drop"     # leave the column out
LABELS = {
    "site": "site (heat network)", "building": "building / block", "location": "location (where the meter is)",
    "monitoring_point": "monitoring point", "manufacturer": "manufacturer (make)", "model": "model / type",
    "serial": "serial number", "mid_class": "MID accuracy class", "qp_m3h": "qp, m³/h", "qi_m3h": "qi, m³/h",
    "qp_qi_ratio": "qp/qi ratio", "dn": "DN, mm", "install_date": "install date",
    "primary_address": "M-Bus primary address", "secondary_address": "M-Bus secondary address",
    "battery_expiry": "battery end of life", "flow_sensor_position": "flow sensor position (flow/return)",
    "mbus_manufacturer": "M-Bus FLAG code", "qs_m3h": "qs, m³/h", "dtheta_min_k": "Δθ min, K",
    "dtheta_max_k": "Δθ max, K", "temp_min_c": "temperature min, °C", "temp_max_c": "temperature max, °C",
    "baud": "baud rate", "status": "status", "notes": "notes", "occupant_name": "occupant name",
    "flat": "flat", "customer_reference": "customer reference",
}


def column_label(col: str) -> str:
    text = LABELS.get(col, col)
    if col in REQUIRED_COLUMNS:
        text += "  — required"
    if col in PERSONAL_COLUMNS:
        text += "  — personal data"
    return text


class ColumnMap(QWidget):
    """The mapping table. ``changed`` fires on every choice; ``choices()`` gives (columns, dropped)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Column in the file", "Values in the file", "Register column",
                                              "Personal data"])
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        lay.addWidget(self.table, 1)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setObjectName("ImportColumnStatus")
        lay.addWidget(self.status)
        self.header: list[str] = []
        self.combos: list[QComboBox] = []

    def set_columns(self, header: list[str], samples: list[list[str]], proposal: list[str | None],
                    dropped: set[int] | None = None) -> None:
        self.header = list(header)
        self.combos = []
        self.table.setRowCount(len(header))
        dropped = dropped or set()
        for i, h in enumerate(header):
            name = QTableWidgetItem(str(h).strip() or f"(column {i + 1}, no header)")
            self.table.setItem(i, 0, name)
            values = ", ".join(v for v in (samples[i] if i < len(samples) else [])[:4])
            self.table.setItem(i, 1, QTableWidgetItem(values))
            box = QComboBox(self.table)
            box.setObjectName(f"ImportColumn{i}")
            box.addItem("Keep as an extra column", EXTRA)
            box.addItem("Drop this column", DROP)
            for col in KNOWN_COLUMNS:
                box.addItem(column_label(col), col)
            want = DROP if i in dropped else (proposal[i] if i < len(proposal) and proposal[i] else EXTRA)
            box.setCurrentIndex(max(0, box.findData(want)))
            box.currentIndexChanged.connect(self._changed)
            self.table.setCellWidget(i, 2, box)
            self.combos.append(box)
        if self.combos:  # rows as tall as the drop-downs (larger text too)
            self.table.verticalHeader().setDefaultSectionSize(self.combos[0].sizeHint().height() + 6)
        self._changed()

    def set_choice(self, i: int, col: str | None, drop: bool = False) -> None:
        """Choose for file column ``i`` (tests and profiles): a register column, extra (None) or drop."""
        box = self.combos[i]
        box.setCurrentIndex(box.findData(DROP if drop else (col or EXTRA)))

    def choices(self) -> tuple[list[str | None], set[int]]:
        cols: list[str | None] = []
        dropped: set[int] = set()
        for i, box in enumerate(self.combos):
            d = box.currentData()
            if d == DROP:
                dropped.add(i)
                cols.append(None)
            elif d == EXTRA:
                cols.append(None)
            else:
                cols.append(d)
        return cols, dropped

    def problems(self) -> list[str]:
        """What keeps the wizard from going on: missing required columns, a column chosen twice,
        personal-looking columns neither mapped nor dropped."""
        cols, dropped = self.choices()
        out = []
        missing = [c for c in REQUIRED_COLUMNS if c not in cols]
        if missing:
            out.append("Choose the file's column for: " + ", ".join(missing) + ".")
        twice = sorted({c for c in cols if c and cols.count(c) > 1})
        if twice:
            out.append("Chosen for two columns: " + ", ".join(twice) + ".")
        unresolved = [str(h).strip() for i, (h, c) in enumerate(zip(self.header, cols))
                      if c is None and i not in dropped and looks_personal(h)]
        if unresolved:
            out.append("May hold personal data: " + ", ".join(unresolved)
                       + " — choose a personal column (occupant name, flat, customer reference) or drop it.")
        return out

    def _changed(self, *_a) -> None:
        cols, dropped = self.choices()
        for i, (h, c) in enumerate(zip(self.header, cols)):
            if c in PERSONAL_COLUMNS:
                text, colour = "personal data", "#8a4b00"
            elif c is None and i not in dropped and looks_personal(h):
                text, colour = "personal? map or drop", "#b3261e"
            elif i in dropped:
                text, colour = "dropped", "#666666"
            else:
                text, colour = "", "#000000"
            item = QTableWidgetItem(text)
            item.setForeground(Qt.GlobalColor.black if not text else _colour(colour))
            self.table.setItem(i, 3, item)
        problems = self.problems()
        self.status.setStyleSheet("color: #b3261e;" if problems else "")
        self.status.setText(" ".join(problems) if problems else "Every required column is chosen.")
        self.changed.emit()


def _colour(hex_: str):
    from PySide6.QtGui import QColor

    return QColor(hex_)
