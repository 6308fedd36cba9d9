"""Step 3 of the Commission wizard: the EN 1434-6 installation checklist, one row per item."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.core import commissioning as cm
from app.services.commissioning import CommissioningState
from app.ui.commission.steps.base import ERROR_STYLE, MUTED, Step, scroll_area
from app.ui.commission.photos import PhotoGallery
from app.ui.commission.widgets import AnswerButtons


class ChecklistRow(QFrame):
    """One checklist item: its text and clause, Yes/No/n.a., the note, an error line."""

    changed = Signal(str)
    photoRequested = Signal(str)

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
        self.photo_button = QPushButton("Photo…", self)
        self.photo_button.setObjectName(f"Photo_{item.key}")
        self.photo_button.setToolTip("Attach a photo of what this item is about (kept with the record)")
        self.photo_button.clicked.connect(lambda: self.photoRequested.emit(self.item.key))
        lay.addWidget(self.photo_button, 0, 2, Qt.AlignmentFlag.AlignTop)
        self.error = QLabel("", self)
        self.error.setObjectName(f"Error_{item.key}")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        lay.addWidget(self.error, 3, 0, 1, 3)
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

    def set_photo_count(self, n: int) -> None:
        self.photo_button.setText(f"Photo… ({n})" if n else "Photo…")

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
            "Each answer is saved as you give it. Photos (per item, or of the installation below) go with the "
            "record and onto the certificate.")

    changed = Signal(str)
    photoRequested = Signal(str)          # the photo's step: "installation" or "checklist:<item key>"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.area, inner, lay = scroll_area(self)
        self.outer.addWidget(self.area, 1)
        self.rows: dict[str, ChecklistRow] = {}
        for n, item in enumerate(cm.CHECKLIST, start=1):
            row = ChecklistRow(n, item, inner)
            row.changed.connect(self.changed)
            row.photoRequested.connect(lambda key: self.photoRequested.emit(f"checklist:{key}"))
            self.rows[item.key] = row
            lay.addWidget(row)
        self.gallery = PhotoGallery("installation", parent=inner)
        self.gallery.addRequested.connect(self.photoRequested)
        lay.addWidget(self.gallery)
        lay.addStretch(1)

    def show_photo_counts(self) -> None:
        counts = self.gallery.steps_with_photos()
        for key, row in self.rows.items():
            row.set_photo_count(counts.get(f"checklist:{key}", 0))

    def answers(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, r in self.rows.items() if (v := r.value()) is not None}

    def load(self, state: CommissioningState) -> None:
        for k, r in self.rows.items():
            r.set_value(state.answers.get(k))
            r.clear_error()

    def collect(self, state: CommissioningState) -> None:
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
            r.photo_button.setMinimumHeight(px)
        self.gallery.set_target(px)
