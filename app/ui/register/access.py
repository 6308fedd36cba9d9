"""The meter page's access log: who read or exported the meter's personal data, and what was refused (MMS 2.2.7.2).

Fed from the meter's history (``Register.history``: the entries with action
``access`` or ``refused``), newest first. Opening the meter page is itself an
access when the meter holds personal data, so the first line is usually
this very look.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

HEADERS = ["When (UTC)", "Who", "Access or refused", "What", "Data / reason"]


def access_rows(history: list[dict[str, Any]]) -> list[list[str]]:
    """The access and refused entries of a meter's history as table rows, newest first."""
    rows = []
    for e in reversed(history):
        if e.get("action") not in ("access", "refused"):
            continue
        after = e.get("after") or {}
        detail = ", ".join(after.get("fields") or []) if e["action"] == "access" else str(after.get("reason") or "")
        rows.append([str(e.get("at") or ""), str(e.get("user") or ""),
                     "read" if e["action"] == "access" else "refused", str(after.get("what") or ""), detail])
    return rows


class AccessPanel(QWidget):
    """A table of the meter's access log, with one line saying what it holds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 1)

    def show_history(self, history: list[dict[str, Any]], *, personal_hidden: bool = False) -> int:
        """Fill from the meter's history; returns how many entries are shown."""
        rows = access_rows(history)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                item = QTableWidgetItem(v)
                item.setToolTip(v)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        reads = sum(1 for r in rows if r[2] == "read")
        text = (f"{reads} access(es) to this meter's personal data and {len(rows) - reads} refused action(s) "
                "are logged." if rows else "Nobody has read or exported this meter's personal data.")
        if personal_hidden:
            text += " The register is read-only: this page could not log an access, so it does not show the " \
                    "personal data."
        self.summary.setText(text)
        return len(rows)
