"""The base of the Commission wizard's steps and their shared helpers."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.services.commissioning import CommissioningState


MUTED = "color: #333333;"
ERROR_STYLE = "color: #b3261e; font-weight: bold;"


def scroll_area(parent: QWidget) -> tuple[QScrollArea, QWidget, QVBoxLayout]:
    area = QScrollArea(parent)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    inner = QWidget(area)
    lay = QVBoxLayout(inner)
    lay.setContentsMargins(0, 0, 8, 0)
    lay.setSpacing(8)
    area.setWidget(inner)
    return area, inner, lay


def parse_num(text: str) -> float | None:
    t = text.strip().replace(",", ".")
    if not t:
        return None
    return float(t)


def fmt(v: Any, digits: int | None = None) -> str:
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

    def load(self, state: CommissioningState) -> None:  # pragma: no cover - overridden
        pass

    def collect(self, state: CommissioningState) -> None:  # pragma: no cover - overridden
        pass

    def problems(self) -> list[tuple[QWidget, str]]:
        """(widget, message) for what must be fixed before Next; [] when fine."""
        return []

    def set_target(self, px: int) -> None:
        pass
