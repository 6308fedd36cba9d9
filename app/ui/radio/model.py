"""Table models of the Radio page: the meters heard (one row each) and one meter's telegrams.

:class:`HeardModel` shows a :class:`app.core.radio.heard.HeardTable`, filtered by text and kind
(encrypted without key, weak signal, heat, water) and sorted, and is told what changed
(:meth:`HeardModel.apply`): new meters are added as rows, changed meters repaint their row, and the
columns that move with time alone (expected telegrams, heard %) repaint at most once a second, when the
rows are also sorted again. So the cost of an update grows with the telegrams of the batch, not with the
meters heard. :class:`TelegramsModel` lists one meter's telegrams.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
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


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FORE = int(Qt.ItemDataRole.ForegroundRole)
_TIP = int(Qt.ItemDataRole.ToolTipRole)
_METER = int(MeterRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_NUM_COLS = frozenset(i for i, f in enumerate(FIELDS) if f in NUMERIC)
_KEY_COL, _NOW_COL, _MED_COL = FIELDS.index("key"), FIELDS.index("rssi_now"), FIELDS.index("rssi_median")
_BAD_BRUSH, _WARN_BRUSH = QBrush(_BAD), QBrush(_WARN)
KINDS = (("all", "All meters"), ("no_key", "Encrypted, no key"), ("weak", "Weak signal (< 10 dB margin)"),
         ("heat", "Heat and cooling"), ("water", "Water"), ("errors", "With errors"))


class HeardModel(QAbstractTableModel):
    """The meters of ``table``, filtered (:meth:`set_filter`) and sorted (:meth:`sort`), one row each.

    Sorting and filtering are done here rather than by a proxy model: every call from a view into a
    Python model costs, and a proxy multiplies them. Each row's texts are made once and cached until the
    meter changes (the time-dependent columns: once a second). Between two re-sorts (at most one a second,
    and at once on a header click or a filter change) a meter that changes keeps its row, a new meter is
    added at the end: rows never jump under the technician's finger faster than that.
    """

    KINDS = KINDS

    def __init__(self, table: HeardTable, parent: Any = None) -> None:
        super().__init__(parent)
        self.table = table
        self._keys: list[str] = []              # the rows shown, in order
        self._row_of: dict[str, int] = {}
        self._cache: dict[str, tuple] = {}
        self._seen = 0                          # meters of the table already considered
        self._time_painted = 0.0
        self._dirty_order = False
        self.sort_column = 0
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.text = ""
        self.kind = "all"
        self.sensitivity_dbm: float | None = None

    # -- what is shown ---------------------------------------------------------------------------
    def _accepts(self, m: HeardMeter) -> bool:
        k = self.kind
        if k == "no_key" and m.status not in ("no key", "wrong key"):
            return False
        if k == "weak":
            sens = self.sensitivity_dbm
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

    def _ordered(self) -> list[str]:
        meters = self.table.meters
        keys = [k for k in self.table.order if self._accepts(meters[k])]
        f = FIELDS[self.sort_column]
        keys.sort(key=lambda k: self._sort(meters[k], f), reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        return keys

    def _relayout(self) -> None:
        """Filter and sort again, keeping the selection and the view's persistent indexes."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_keys = [(self._keys[i.row()] if 0 <= i.row() < len(self._keys) else None, i.column()) for i in old]
        self._keys = self._ordered()
        self._row_of = {k: i for i, k in enumerate(self._keys)}
        self._seen = len(self.table.order)
        new = [self.index(self._row_of[k], c) if k in self._row_of else QModelIndex() for k, c in old_keys]
        self.changePersistentIndexList(old, new)
        self._dirty_order = False
        self.layoutChanged.emit()

    def set_filter(self, text: str | None = None, kind: str | None = None) -> None:
        if text is not None:
            self.text = text.strip().casefold()
        if kind is not None:
            self.kind = kind
        self._relayout()

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:  # noqa: D401 - Qt override
        self.sort_column, self.sort_order = column, order
        self._relayout()

    def reset(self) -> None:
        self.beginResetModel()
        self._keys = self._ordered()
        self._row_of = {k: i for i, k in enumerate(self._keys)}
        self._seen = len(self.table.order)
        self._cache.clear()
        self.endResetModel()

    def apply(self, changed: set[str], wall_s: float) -> None:
        """The table gained meters and/or ``changed`` meters got telegrams; ``wall_s``: monotonic now."""
        order, meters = self.table.order, self.table.meters
        if len(order) > self._seen:
            new = [k for k in order[self._seen:] if self._accepts(meters[k])]
            self._seen = len(order)
            if new:
                n = len(self._keys)
                self.beginInsertRows(QModelIndex(), n, n + len(new) - 1)
                for i, k in enumerate(new):
                    self._row_of[k] = n + i
                self._keys.extend(new)
                self.endInsertRows()
                self._dirty_order = True
        last = len(FIELDS) - 1
        cache = self._cache
        for key in changed:
            cache.pop(key, None)
            row = self._row_of.get(key)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        if changed and FIELDS[self.sort_column] != "meter":
            self._dirty_order = True
        if wall_s - self._time_painted >= 1.0:
            self._time_painted = wall_s
            if self.kind != "all" or self._dirty_order:
                self._cache.clear()
                self._relayout()
            elif self._keys:
                self._cache.clear()
                self.dataChanged.emit(self.index(0, TIME_COLUMNS[0]), self.index(len(self._keys) - 1, TIME_COLUMNS[-1]))

    def settle(self) -> None:
        """Sort and filter now what came in since the last time (receiving stopped)."""
        if self._dirty_order or len(self.table.order) > self._seen:
            self._cache.clear()
            self._relayout()

    def meter(self, row: int) -> HeardMeter | None:
        if 0 <= row < len(self._keys):
            return self.table.meters[self._keys[row]]
        return None

    def row_of(self, key: str) -> int | None:
        return self._row_of.get(key)

    # -- Qt ------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._keys)

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

    def _texts(self, key: str) -> tuple:
        t = self._cache.get(key)
        if t is None:
            m = self.table.meters[key]
            t = self._cache[key] = tuple(self._text(m, f) for f in FIELDS)
        return t

    def data(self, index: QModelIndex, role: int = _DISPLAY) -> Any:
        role = int(role)
        if role == _DISPLAY:
            return self._texts(self._keys[index.row()])[index.column()]
        if role == _ALIGN:
            return _RIGHT if index.column() in _NUM_COLS else None
        if role == _FORE:
            col = index.column()
            if col == _KEY_COL:
                m = self.table.meters[self._keys[index.row()]]
                return _BAD_BRUSH if m.status in ("no key", "wrong key", "error") else None
            if (col == _NOW_COL or col == _MED_COL) and self.sensitivity_dbm is not None:
                m = self.table.meters[self._keys[index.row()]]
                v = m.rssi_now if col == _NOW_COL else m.rssi_median
                return _WARN_BRUSH if v is not None and v - self.sensitivity_dbm < 10 else None
            return None
        if role == _METER:
            return self.table.meters[self._keys[index.row()]]
        if role == _TIP:
            m = self.table.meters[self._keys[index.row()]]
            f = FIELDS[index.column()]
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


TELEGRAM_COLUMNS = ("Time", "dBm", "Mode", "Status", "Bytes")


class TelegramsModel(QAbstractTableModel):
    """The telegrams of one meter (its log), oldest first; new ones are appended as they come."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[Reception] = []
        self._texts: list[tuple] = []

    @staticmethod
    def _row(r: Reception) -> tuple:
        return (_when(r.received_at), _dbm(r.rssi_dbm, r.rssi_raw), (r.mode or "").upper(),
                STATUS_WORDS.get(r.status, r.status), str(len(r.raw)))

    def set_items(self, items) -> None:
        self.beginResetModel()
        self.items = list(items)
        self._texts = [self._row(r) for r in self.items]
        self.endResetModel()

    def append(self, items) -> None:
        items = list(items)
        if not items:
            return
        n = len(self.items)
        self.beginInsertRows(QModelIndex(), n, n + len(items) - 1)
        self.items.extend(items)
        self._texts.extend(self._row(r) for r in items)
        self.endInsertRows()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(TELEGRAM_COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return TELEGRAM_COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = _DISPLAY) -> Any:
        role = int(role)
        if role == _DISPLAY:
            return self._texts[index.row()][index.column()]
        c = index.column()
        if role == _FORE and c == 3 and self.items[index.row()].status in ("no key", "wrong key", "error"):
            return _BAD_BRUSH
        if role == _ALIGN and c in (1, 4):
            return _RIGHT
        if role == _TIP:
            return self.items[index.row()].detail or None
        return None
