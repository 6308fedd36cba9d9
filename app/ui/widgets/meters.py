"""The known meters of the bus service, as a table model and as a picker.

``MetersModel`` shows ``ctx.bus.meters()`` (make, model, identification,
address, medium, last read) and follows the bus service's signals;
``MeterPicker`` is a combo box of the same meters that follows and sets the
selected meter. Scan, Readout, Live (and Commission) use them.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from app.core.registers import MEDIUM_WORDS, medium_words  # noqa: F401 - the pages take them from here too

COLUMNS = (("make", "Make"), ("model", "Model"), ("identification", "Identification"), ("address", "Address"),
           ("medium", "Medium"), ("last_read", "Last read"))
MeterRole = Qt.ItemDataRole.UserRole + 1
ABSENT_INK = "#5a5a5a"      # meters not known to be on this bus now (another port, missed by the last scan)




def when_words(t: _dt.datetime | None, now: _dt.datetime | None = None) -> str:
    """``14:03:12`` today, else ``2026-03-01 14:03`` (local time)."""
    if t is None:
        return ""
    local = t.astimezone()
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone()
    if local.date() == now.date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def address_words(m) -> str:
    return str(m.primary_address) if m.primary_address is not None else "secondary only"


class MetersModel(QAbstractTableModel):
    """Rows: the bus service's known meters (``meters()`` order). ``MeterRole`` gives the KnownMeter."""

    def __init__(self, bus, parent: Any = None) -> None:
        super().__init__(parent)
        self.bus = bus
        self._rows = list(bus.meters())
        bus.metersChanged.connect(self.reload)
        bus.meterChanged.connect(self._meter_changed)
        # another port: the meters found on the last one are marked as not seen here
        bus.stateChanged.connect(lambda _s: self._all_changed())

    def _all_changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = list(self.bus.meters())
        self.endResetModel()

    def _meter_changed(self, m) -> None:
        order = list(self.bus.meters())
        if [x.key for x in order] != [x.key for x in self._rows]:
            self.reload()
            return
        for i, r in enumerate(self._rows):
            if r.key == m.key:
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))

    def meter_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, key: str) -> int:
        for i, r in enumerate(self._rows):
            if r.key == key:
                return i
        return -1

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def text(self, m, column: str) -> str:
        if column == "make":
            return m.make or m.manufacturer
        if column == "model":
            return m.model or ""
        if column == "identification":
            return m.identification
        if column == "address":
            return address_words(m)
        if column == "medium":
            return medium_words(m.medium)
        if column == "last_read":
            if self._absence(m):
                return "not seen here" if m.port != self.bus.here() else "not found by last scan"
            text = when_words(m.last_read_at)
            if m.misses:
                text = (text + " · " if text else "") + f"{m.misses} missed"
            return text
        return ""

    def _absence(self, m) -> str:
        absence = getattr(self.bus, "absence", None)
        return absence(m) if absence is not None else ""

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        m = self._rows[index.row()]
        col = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(m, col)
        if role == MeterRole:
            return m
        absent = self._absence(m)
        if role == Qt.ItemDataRole.ForegroundRole and absent:
            return QColor(ABSENT_INK)
        if role == Qt.ItemDataRole.FontRole and absent:
            f = QFont()
            f.setItalic(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = [f"Not current: {absent} (read it or scan again to check)"] if absent else []
            tip += [f"Secondary address {m.key} (id.make.version.medium)", f"FLAG code {m.manufacturer}"]
            if m.model:
                tip.append(f"Model from the version byte 0x{m.version:02X}")
            if m.optical_profile:
                tip.append(f"Optical head profile: {m.optical_profile}")
            if m.found_by:
                tip.append(f"Found by {'reading it' if m.found_by == 'read' else m.found_by + ' scan'}")
            return "\n".join(tip)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == "address":
            return int(Qt.AlignmentFlag.AlignCenter)
        return None


class MeterPicker(QComboBox):
    """A combo box of the known meters; choosing one selects it in the bus service (and follows it)."""

    def __init__(self, bus, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bus = bus
        self.setMinimumContentsLength(28)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The meter to read (the list comes from the Scan page)")
        self._filling = False
        self.reload()
        bus.metersChanged.connect(self.reload)
        bus.meterChanged.connect(lambda _m: self.reload())
        bus.selectedChanged.connect(self._follow)
        self.currentIndexChanged.connect(self._chosen)

    def reload(self) -> None:
        self._filling = True
        try:
            self.clear()
            meters = self.bus.meters()
            if not meters:
                self.addItem("No meters yet: scan the bus first", None)
            absence = getattr(self.bus, "absence", lambda _m: "")
            for m in meters:
                model = f" {m.model}" if m.model else ""
                gone = " · not seen here" if absence(m) else ""
                self.addItem(f"{m.make or m.manufacturer}{model} · {m.identification} · "
                             f"address {address_words(m)}{gone}", m.key)
            sel = self.bus.selected
            i = self.findData(sel.key) if sel is not None else -1
            if i >= 0:
                self.setCurrentIndex(i)
        finally:
            self._filling = False

    def current_meter(self):
        key = self.currentData()
        return self.bus.meter(key) if key else None

    def _follow(self, m) -> None:
        if m is None:
            return
        i = self.findData(m.key)
        if i >= 0 and i != self.currentIndex():
            self._filling = True
            self.setCurrentIndex(i)
            self._filling = False

    def _chosen(self, _i: int) -> None:
        if self._filling:
            return
        key = self.currentData()
        if key and self.bus.meter(key) is not None:
            self.bus.select(key)
