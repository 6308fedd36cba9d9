"""Table models of the Radio page: the meters heard (one row each) and one meter's telegrams.

:class:`HeardModel` shows a :class:`app.core.radio.heard.HeardTable` and is told what changed
(:meth:`HeardModel.apply`): new meters are inserted as rows, changed meters repaint their row, and the
columns that move with time alone (expected telegrams, heard %) repaint at most once a second. So the
cost of an update grows with the telegrams of the batch, not with the meters heard.
:class:`HeardFilter` filters by text and by kind (encrypted without key, weak signal, heat, water).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from app.core.radio.heard import HeardMeter, HeardTable
from app.core.radio.reception import STATUS_WORDS, Reception
from app.ui.widgets.meters import medium_words

COLUMNS = (("meter", "Meter"), ("make", "Make"), ("medium", "Medium"), ("rssi_now", "RSSI"),
           ("rssi_min", "min"), ("rssi_median", "median"), ("heard", "Heard"), ("expected", "Expected"),
           ("ratio", "Heard %"), ("interval", "Interval"), ("key", "Key"), ("values", "Last values"),
           ("last", "Last heard"))
FIELDS = tuple(f for f, _h in COLUMNS)
NUMERIC = {"rssi_now", "rssi_min", "rssi_median", "heard", "expected", "ratio", "interval"}
TIME_COLUMNS = (FIELDS.index("expected"), FIELDS.index("ratio"))
MeterRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2

KEY_WORDS = {"plain": "—", "decrypted": "key ✓", "no key": "NO KEY", "wrong key": "WRONG KEY",
             "unsupported": "not supported", "error": "error"}
_BAD = QColor("#a4001d")       # 7:1 on white
_WARN = QColor("#7a3e00")
_UNITS = {"Wh": (1e-3, "kWh"), "W": (1e-3, "kW"), "m3": (1.0, "m³"), "m3/h": (1.0, "m³/h"), "degC": (1.0, "°C")}
_SHORT = {"energy": "E", "volume": "V", "power": "P", "volume_flow": "Q", "flow_temperature": "θf",
          "return_temperature": "θr"}


def value_text(quantity: str, value, unit: str | None) -> str:
    f, u = _UNITS.get(unit or "", (1.0, unit or ""))
    v = value * f if isinstance(value, (int, float)) else value
    if isinstance(v, float):
        v = f"{v:.3f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.0f}".replace(",", "\u2009")
    return f"{_SHORT.get(quantity, quantity)} {v} {u}".strip()


def values_text(values) -> str:
    return "  ".join(value_text(q, v, u) for q, v, u in values)


SHORT_MEDIUM = {"heat_outlet": "Heat", "heat_inlet": "Heat (inlet)", "cooling_outlet": "Cooling",
                "cooling_inlet": "Cooling (inlet)", "heat_cooling": "Heat/cooling", "water": "Water",
                "warm_water": "Warm water", "hot_water": "Hot water", "cold_water": "Cold water",
                "heat_cost_allocator": "Heat cost alloc.", "electricity": "Electricity", "gas": "Gas"}


def short_medium(name: str | None) -> str:
    return SHORT_MEDIUM.get(name or "", medium_words(name))


def _dbm(v: float | None, raw: int | None = None) -> str:
    if v is None:
        return "" if raw is None else f"raw {raw}"
    return f"{v:.0f}"


def interval_text(s: float | None) -> str:
    if s is None:
        return "…"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def key_text(m: HeardMeter) -> str:
    return KEY_WORDS.get(m.status, m.status)


class HeardModel(QAbstractTableModel):
    """Rows: the meters of ``table`` in the order first heard. ``MeterRole`` gives the HeardMeter."""

    def __init__(self, table: HeardTable, parent: Any = None) -> None:
        super().__init__(parent)
        self.table = table
        self._rows = 0
        self._row_of: dict[str, int] = {}
        self._time_painted = 0.0
        self.sensitivity_dbm: float | None = None

    def reset(self) -> None:
        self.beginResetModel()
        self._rows = len(self.table)
        self._row_of = {k: i for i, k in enumerate(self.table.order)}
        self.endResetModel()

    def apply(self, changed: set[str], wall_s: float) -> None:
        """The table gained meters and/or ``changed`` meters got telegrams; ``wall_s``: monotonic now."""
        n = len(self.table)
        if n > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, n - 1)
            for i in range(self._rows, n):
                self._row_of[self.table.order[i]] = i
            self._rows = n
            self.endInsertRows()
        last = len(FIELDS) - 1
        for key in changed:
            row = self._row_of.get(key)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        if n and wall_s - self._time_painted >= 1.0:
            self._time_painted = wall_s
            self.dataChanged.emit(self.index(0, TIME_COLUMNS[0]), self.index(n - 1, TIME_COLUMNS[-1]))

    def meter(self, row: int) -> HeardMeter | None:
        if 0 <= row < self._rows:
            return self.table.meter_at(row)
        return None

    def row_of(self, key: str) -> int | None:
        return self._row_of.get(key)

    # -- Qt ------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(FIELDS[section])
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        m = self.table.meter_at(index.row())
        f = FIELDS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(m, f)
        if role == SortRole:
            return self._sort(m, f)
        if role == MeterRole:
            return m
        if role == Qt.ItemDataRole.TextAlignmentRole and f in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if f == "key" and m.status in ("no key", "wrong key", "error"):
                return QBrush(_BAD)
            if f in ("rssi_now", "rssi_median") and self.sensitivity_dbm is not None:
                v = m.rssi_now if f == "rssi_now" else m.rssi_median
                if v is not None and v - self.sensitivity_dbm < 10:
                    return QBrush(_WARN)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if f == "key":
                return m.detail or {"plain": "not encrypted: no key needed",
                                    "decrypted": "encrypted, decrypted with the meter's key"}.get(
                    m.status, STATUS_WORDS.get(m.status, m.status))
            if f == "meter" and m.link:
                return f"Sent through the radio address {m.link}"
            if f == "medium":
                return medium_words(m.medium)
            if f == "values":
                return self._text(m, f)
        return None

    def _text(self, m: HeardMeter, f: str) -> str:
        t = self.table
        if f == "meter":
            return m.identification or m.key
        if f == "make":
            return m.make
        if f == "medium":
            return short_medium(m.medium)
        if f == "rssi_now":
            return _dbm(m.rssi_now, m.rssi_raw_last)
        if f == "rssi_min":
            return _dbm(m.rssi_min)
        if f == "rssi_median":
            return _dbm(m.rssi_median)
        if f == "heard":
            return str(m.count)
        if f == "expected":
            e = m.expected(t.started_at, t.now)
            return "…" if e is None else f"{e:.0f}"
        if f == "ratio":
            r = m.ratio(t.started_at, t.now)
            return "…" if r is None else f"{r:.0%}"
        if f == "interval":
            return interval_text(m.interval_s)
        if f == "key":
            return key_text(m)
        if f == "values":
            if m.status in ("no key", "wrong key", "unsupported"):
                return "— (encrypted)"
            return values_text(m.values)
        if f == "last":
            return _when(m.last_at)
        return ""

    def _sort(self, m: HeardMeter, f: str):
        t = self.table
        num = {"rssi_now": m.rssi_now, "rssi_min": m.rssi_min, "rssi_median": m.rssi_median, "heard": m.count,
               "expected": m.expected(t.started_at, t.now), "ratio": m.ratio(t.started_at, t.now),
               "interval": m.interval_s}
        if f in num:
            v = num[f]
            return -1e9 if v is None else float(v)
        if f == "last":
            return m.last_at.timestamp() if m.last_at else 0.0
        return self._text(m, f).casefold()


def _when(t: _dt.datetime | None) -> str:
    return "" if t is None else t.astimezone().strftime("%H:%M:%S")


_HEADER_TIPS = {
    "meter": "Identification number of the meter (from its telegrams)",
    "rssi_now": "Signal strength of the last telegram (dBm); brown: less than 10 dB above the receiver's sensitivity",
    "medium": "What the meter measures (EN 13757-3 medium)",
    "rssi_min": "Weakest telegram heard (dBm)", "rssi_median": "Median signal strength of every telegram heard (dBm)",
    "heard": "Telegrams heard since receiving started",
    "expected": "Telegrams the meter should have sent since receiving started, at its send interval",
    "ratio": "Heard / expected", "interval": "Send interval, estimated from the gaps between its telegrams",
    "key": "Encryption: not encrypted, decrypted with the meter's key, or no key / wrong key (no readings shown)",
    "values": "Current values of the last telegram decoded",
}


class HeardFilter(QSortFilterProxyModel):
    """Text (meter id, make, medium, key status) and kind filter over a :class:`HeardModel`."""

    KINDS = (("all", "All meters"), ("no_key", "Encrypted, no key"), ("weak", "Weak signal (< 10 dB margin)"),
             ("heat", "Heat and cooling"), ("water", "Water"), ("errors", "With errors"))

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.kind = "all"
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)

    def set_filter(self, text: str | None = None, kind: str | None = None) -> None:
        begin = getattr(self, "beginFilterChange", None)      # Qt 6.10 and later
        if begin is not None:
            begin()
        if text is not None:
            self.text = text.strip().casefold()
        if kind is not None:
            self.kind = kind
        if begin is not None:
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        src: HeardModel = self.sourceModel()
        m = src.meter(row)
        if m is None:
            return False
        k = self.kind
        if k == "no_key" and m.status not in ("no key", "wrong key"):
            return False
        if k == "weak":
            sens = src.sensitivity_dbm
            if sens is None or m.rssi_median is None or m.rssi_median - sens >= 10:
                return False
        if k == "heat" and not (m.medium or "").startswith(("heat", "cooling")):
            return False
        if k == "water" and "water" not in (m.medium or ""):
            return False
        if k == "errors" and not m.errors:
            return False
        if self.text:
            hay = " ".join((m.key, m.make, medium_words(m.medium), key_text(m))).casefold()
            return all(w in hay for w in self.text.split())
        return True


TELEGRAM_COLUMNS = ("Time", "dBm", "Mode", "Status", "Bytes")


class TelegramsModel(QAbstractTableModel):
    """The telegrams of one meter (its log), oldest first; new ones are appended as they come."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[Reception] = []

    def set_items(self, items) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def append(self, items) -> None:
        items = list(items)
        if not items:
            return
        n = len(self.items)
        self.beginInsertRows(QModelIndex(), n, n + len(items) - 1)
        self.items.extend(items)
        self.endInsertRows()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(TELEGRAM_COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return TELEGRAM_COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.items[index.row()]
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 0:
                return _when(r.received_at)
            if c == 1:
                return _dbm(r.rssi_dbm, r.rssi_raw)
            if c == 2:
                return (r.mode or "").upper()
            if c == 3:
                return STATUS_WORDS.get(r.status, r.status)
            return str(len(r.raw))
        if role == Qt.ItemDataRole.ForegroundRole and c == 3 and r.status in ("no key", "wrong key", "error"):
            return QBrush(_BAD)
        if role == Qt.ItemDataRole.TextAlignmentRole and c in (1, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and r.detail:
            return r.detail
        return None
