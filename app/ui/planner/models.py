"""A read-only table model over a list of dicts (fast for tens of thousands of rows)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor


class DictTableModel(QAbstractTableModel):
    """Rows are dicts; ``columns`` are (key, header) pairs. ``colour(row) -> (background, bold)`` optional.

    A cell's tooltip is its text, or ``row[f"{key}_tip"]`` when the row has one."""

    def __init__(self, columns: list[tuple[str, str]], parent=None, colour=None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[dict[str, Any]] = []
        self.colour = colour

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = self.columns[index.column()][0]
        if role == Qt.ItemDataRole.ToolTipRole and row.get(f"{key}_tip"):
            return row[f"{key}_tip"]      # a longer text than the cell's, when the row gives one
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            v = row.get(key)
            if v is None:
                return ""
            if isinstance(v, bool):
                return "yes" if v else "no"
            if isinstance(v, float):
                return f"{v:g}"
            return str(v)
        if self.colour is not None and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole):
            bg, bold = self.colour(row, key)
            if role == Qt.ItemDataRole.BackgroundRole and bg:
                return QBrush(QColor(bg))
            if role == Qt.ItemDataRole.FontRole and bold:
                from PySide6.QtGui import QFont

                f = QFont()
                f.setBold(True)
                return f
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section][1]
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        return None
