"""The register table: a window onto the ordered ids of the matching meters.

:class:`MeterTableModel` holds the ids of every meter the filters let through
(in table order) and a cache of the rows the view has asked for. A row not in
the cache shows "…" and its page (``PAGE`` rows around it) is fetched by id
in a worker; when the page arrives, only its rows repaint. So the view has
the true row count from the start (the scroll bar is right, any row can be
reached at once) and never waits for the database: no widget per row, no
query on the GUI thread.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from app.storage.browse import EDITABLE_FIELDS, NOT_SCHEDULED, DueInfo, cell_text, check_edit
from app.storage.records import MeterRecord

PAGE = 200
MAX_CACHED_ROWS = 20_000

#: (field, header) of the table's columns, in order. "due" and "due_date" come from the schedule.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("manufacturer", "Make"), ("model", "Model"), ("serial", "Serial"), ("site", "Site"),
    ("building", "Building"), ("location", "Location"), ("monitoring_point", "Point"), ("due", "Due"),
    ("due_date", "Due date"), ("status", "Status"), ("install_date", "Installed"), ("qp_m3h", "qp m³/h"),
    ("qp_qi_ratio", "qp/qi"), ("dn", "DN"), ("mid_class", "Class"), ("secondary_address", "Secondary address"),
    ("key", "Key"), ("primary_address", "Primary"), ("battery_expiry", "Battery end"), ("flow_sensor_position", "Flow sensor"),
    ("notes", "Notes"),
)
FIELDS = tuple(f for f, _h in COLUMNS)
NUMERIC = {"qp_m3h", "qp_qi_ratio", "dn", "mid_class", "primary_address"}

DUE_WORDS = {
    "in_service": "Not due", "sampling_due": "Sampling due", "recalibrate_or_replace_due": "Recalibrate/replace",
    "battery_due": "Battery due", "overdue": "Overdue", NOT_SCHEDULED: "—",
    "flag:class_below_2": "Flag: class 3 (below MID class 2)", "flag:install_date_unknown": "Flag: install date unknown",
    "flag:failed_recalibration": "Flag: recalibration failed", "flag:defective_in_passed_lot":
    "Flag: defective in its lot", "flag:restricted": "Flag: processing restricted", "flag:at_lab": "Flag: at the lab",
}
STATUS_WORDS = {"in_service": "In service", "removed": "Removed", "spare": "Spare", "in_repair": "In repair",
                "at_lab": "At the lab", "scrapped": "Scrapped"}
# Text colours with at least 7:1 contrast on white and on the alternate row colour.
_DUE_INK = {"overdue": "#a4001d", "recalibrate_or_replace_due": "#7a3e00", "sampling_due": "#0b3d91",
            "battery_due": "#5b2a86"}
LOADING = "…"


class MeterTableModel(QAbstractTableModel):
    """Rows = meter ids (``set_ids``); cells from cached :class:`MeterRecord` s.

    ``request_rows(generation, ids)`` is emitted when rows are needed; the owner
    fetches them in a worker and hands them to :meth:`add_records`.
    Editing a cell checks the value with the import's rules: a refused value
    emits ``edit_refused(message)``; an accepted one ``edit_requested(record,
    changes)`` and the owner saves it (then :meth:`replace_record`).
    """

    request_rows = Signal(int, object)          # generation, list of ids
    edit_requested = Signal(object, object)     # MeterRecord, {field: value}
    edit_refused = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids: list[int] = []
        self._row_of: dict[int, int] | None = None
        self._rows: dict[int, MeterRecord] = {}
        self._asked: set[int] = set()             # pages asked for in this generation
        self.generation = 0
        self.due_map: dict[int, DueInfo] | None = None
        self.key_index = None                     # app.ui.keys.KeyIndex: which meters have a key (ids only)
        self.saving: set[int] = set()             # meter ids with a save under way

    # -- contents --------------------------------------------------------------------
    def set_ids(self, ids: Sequence[int], records: Sequence[MeterRecord] = (), *, keep_rows: bool = True) -> None:
        """Show these meters, in this order. ``records`` already fetched go straight into the cache."""
        self.beginResetModel()
        self.generation += 1
        self._ids = list(ids)
        self._row_of = None
        self._asked = set()
        if not keep_rows or len(self._rows) > MAX_CACHED_ROWS:
            self._rows = {}
        for r in records:
            cur = self._rows.get(r.id)
            if cur is None or r.version >= cur.version:
                self._rows[r.id] = r
        self.endResetModel()

    def set_placeholder(self, records: Sequence[MeterRecord], total: int) -> None:
        """Before the id list is known: the first rows and the total; the rest shows "…"."""
        self.beginResetModel()
        self.generation += 1
        self._ids = [r.id for r in records] + [-1] * max(0, total - len(records))
        self._row_of = None
        self._asked = set(range(0, (total + PAGE - 1) // PAGE))  # nothing to fetch until the ids come
        for r in records:
            self._rows[r.id] = r
        self.endResetModel()

    def clear_cache(self) -> None:
        """Forget every cached row (F5: show what is stored now); shown rows are fetched again."""
        self._rows = {}
        self._asked = set()
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(COLUMNS) - 1))

    def ids(self) -> list[int]:
        return [i for i in self._ids if i >= 0]

    def id_at(self, row: int) -> int | None:
        if 0 <= row < len(self._ids) and self._ids[row] >= 0:
            return self._ids[row]
        return None

    def record_at(self, row: int) -> MeterRecord | None:
        mid = self.id_at(row)
        return None if mid is None else self._rows.get(mid)

    def row_of(self, meter_id: int) -> int | None:
        if self._row_of is None:
            self._row_of = {m: r for r, m in enumerate(self._ids)}
        return self._row_of.get(meter_id)

    def add_records(self, generation: int, records: Sequence[MeterRecord]) -> None:
        """Rows fetched for ``generation`` (stale generations are kept in the cache, not repainted).

        A row never goes back to an older version than the one cached (a page read before a save
        here may arrive after it)."""
        rows = self._rows
        for r in records:
            cur = rows.get(r.id)
            if cur is None or r.version >= cur.version:
                rows[r.id] = r
        if generation != self.generation or not records:
            return
        rows = [self.row_of(r.id) for r in records]
        rows = [r for r in rows if r is not None]
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(COLUMNS) - 1))

    def replace_record(self, rec: MeterRecord) -> None:
        self._rows[rec.id] = rec
        self.saving.discard(rec.id)
        row = self.row_of(rec.id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def forget(self, meter_ids: Sequence[int]) -> None:
        """Drop cached rows (they are fetched again when shown)."""
        for mid in meter_ids:
            self._rows.pop(mid, None)
            row = self.row_of(mid)
            if row is not None:
                self._asked.discard(row // PAGE)
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def set_due_map(self, due_map: dict[int, DueInfo] | None) -> None:
        self.due_map = due_map
        if self._ids:
            a, b = FIELDS.index("due"), FIELDS.index("due_date")
            self.dataChanged.emit(self.index(0, a), self.index(len(self._ids) - 1, b))

    def set_key_index(self, index) -> None:
        """Which meters have a key in the key store (:class:`app.ui.keys.KeyIndex`; None: not known yet)."""
        self.key_index = index
        if self._ids:
            c = FIELDS.index("key")
            self.dataChanged.emit(self.index(0, c), self.index(len(self._ids) - 1, c))

    def cached_count(self) -> int:
        return len(self._rows)

    # -- Qt model --------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            f = COLUMNS[section][0]
            return f"{COLUMNS[section][1]} ({f})" + (" — double-click a cell to edit" if f in EDITABLE_FIELDS else "")
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None

    def _want(self, row: int) -> None:
        page = row // PAGE
        if page in self._asked:
            return
        self._asked.add(page)
        ids = [i for i in self._ids[page * PAGE:(page + 1) * PAGE] if i >= 0 and i not in self._rows]
        if ids:
            self.request_rows.emit(self.generation, ids)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        field = FIELDS[col]
        mid = self._ids[row] if row < len(self._ids) else -1
        rec = self._rows.get(mid)
        if role == Qt.ItemDataRole.DisplayRole:
            if field in ("due", "due_date"):
                return self._due_text(mid, field)
            if rec is None:
                if mid >= 0:
                    self._want(row)
                return LOADING if col == 0 else ""
            if field == "key":
                return "" if self.key_index is None else ("held" if self.key_index.has_meter(rec) else "")
            return self._display(rec, field)
        if role == Qt.ItemDataRole.EditRole:
            if rec is None or field == "key":
                return None
            return cell_text(rec, field) if field in EDITABLE_FIELDS else self._display(rec, field)
        if role == Qt.ItemDataRole.ToolTipRole:
            if field in ("due", "due_date") and self.due_map is not None:
                info = self.due_map.get(mid)
                return (f"{DUE_WORDS[info.state]}: {info.reason.replace('_', ' ')}"
                        + (f", due {info.due_date.isoformat()}" if info.due_date else "")) if info else \
                    "Not in the maintenance schedule (not in service, or processing restricted)"
            if rec is not None and field in ("location", "notes", "model"):
                return self._display(rec, field)
            if field == "key" and self.key_index is not None and rec is not None:
                return ("An AES key for this meter is in the key store: its encrypted telegrams are decrypted "
                        "(the key itself is never shown)") if self.key_index.has_meter(rec) else \
                    "No key in the key store: encrypted telegrams of this meter show no readings"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if field in ("due", "due_date") and self.due_map is not None:
                info = self.due_map.get(mid)
                ink = _DUE_INK.get(info.state) if info else None
                return QBrush(QColor(ink)) if ink else None
            return None
        if role == Qt.ItemDataRole.FontRole and field == "due" and self.due_map is not None:
            info = self.due_map.get(mid)
            if info and info.state == "overdue":
                from PySide6.QtGui import QFont

                f = QFont()
                f.setBold(True)
                return f
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and field in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return rec
        return None

    def _due_text(self, mid: int, field: str) -> str:
        if self.due_map is None or mid < 0:
            return LOADING if mid >= 0 and field == "due" else ""
        info = self.due_map.get(mid)
        if info is None:
            return DUE_WORDS[NOT_SCHEDULED] if field == "due" else ""
        if field == "due":
            return DUE_WORDS.get(info.state, info.state)
        return info.due_date.isoformat() if info.due_date else ""

    @staticmethod
    def _display(rec: MeterRecord, field: str) -> str:
        if field == "status":
            return STATUS_WORDS.get(rec.status, rec.status)
        if field == "flow_sensor_position":
            return rec.flow_sensor_position or ""
        v = getattr(rec, field, None)
        if field == "install_date":
            return cell_text(rec, field)
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        mid = self.id_at(index.row())
        if FIELDS[index.column()] in EDITABLE_FIELDS and mid in self._rows and mid not in self.saving:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: QModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        rec = self.record_at(index.row())
        field = FIELDS[index.column()]
        if rec is None or field not in EDITABLE_FIELDS:
            return False
        changes, error = check_edit(rec, field, "" if value is None else str(value))
        if error:
            self.edit_refused.emit(f"{rec.label}: {error}; not saved")
            return False
        if not changes:
            return False
        self.saving.add(rec.id)
        self.edit_requested.emit(rec, changes)
        return True

    def sort_key(self, column: int) -> str:
        return FIELDS[column]


def fetcher(reg_getter: Callable[[], Any]) -> Callable[[list[int]], list[MeterRecord]]:
    """A worker function that fetches rows by id from the register ``reg_getter()`` returns."""
    from app.storage.browse import meters_by_id

    def fetch(ids: list[int]) -> list[MeterRecord]:
        return meters_by_id(reg_getter(), ids)

    return fetch
