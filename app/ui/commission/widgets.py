"""Small widgets of the Commission wizard: the step bar, big yes/no/n.a. toggles,
pass/warn/fail chips."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from app.ui import theme

STATUS_COLOURS = {  # background, ink (contrast >= 7:1)
    "pass": ("#0a6b2d", "#ffffff"),
    "warn": (theme.WARNING_BG, theme.WARNING_INK),
    "fail": (theme.ERROR_BG, theme.ERROR_INK),
    "none": ("#dcdcdc", "#000000"),
}
STATUS_WORDS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "none": "—"}
ANSWER_STYLE = {  # checked colours of the answer buttons
    "yes": ("#0a6b2d", "#ffffff"),
    "no": (theme.ERROR_BG, "#ffffff"),
    "na": ("#404040", "#ffffff"),
}


class StepBar(QWidget):
    """The six steps in a row: done ones are clickable, the current one is marked."""

    stepRequested = Signal(int)

    def __init__(self, titles: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.buttons: list[QToolButton] = []
        self.titles = titles
        for i, t in enumerate(titles, start=1):
            b = QToolButton(self)
            b.setObjectName(f"Step{i}")
            b.setText(f"{i}  {t}")
            b.setCheckable(True)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            b.clicked.connect(lambda _c=False, n=i: self.stepRequested.emit(n))
            self.buttons.append(b)
            lay.addWidget(b, 1)
        self._current = 1
        self._reached = 1

    def set_state(self, current: int, reached: int) -> None:
        self._current, self._reached = current, reached
        for i, b in enumerate(self.buttons, start=1):
            b.setChecked(i == current)
            b.setEnabled(i <= reached)
            done = i < reached and i != current
            b.setText(f"{'✓' if done else i}  {self.titles[i - 1]}")
            if i == current:
                b.setStyleSheet(f"QToolButton {{ background: {theme.NAV_CURRENT_BG}; color: #000; font-weight: bold; "
                                f"border: 2px solid #000; }}")
            else:
                b.setStyleSheet("")


class AnswerButtons(QWidget):
    """Three big exclusive toggles: Yes, No, n.a. ``answerChanged(str)`` on a click."""

    answerChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        for key, text in (("yes", "Yes"), ("no", "No"), ("na", "n.a.")):
            b = QPushButton(text, self)
            b.setObjectName(f"Answer_{key}")
            b.setCheckable(True)
            b.setMinimumWidth(84)
            bg, ink = ANSWER_STYLE[key]
            b.setStyleSheet(f"QPushButton:checked {{ background: {bg}; color: {ink}; border-color: #000; "
                            f"font-weight: bold; }}")
            b.setAccessibleName(text)
            self.group.addButton(b)
            self.buttons[key] = b
            lay.addWidget(b)
            b.clicked.connect(lambda _c=False, k=key: self.answerChanged.emit(k))

    def answer(self) -> str | None:
        for k, b in self.buttons.items():
            if b.isChecked():
                return k
        return None

    def set_answer(self, answer: str | None) -> None:
        if answer is None:
            self.group.setExclusive(False)
            for b in self.buttons.values():
                b.setChecked(False)
            self.group.setExclusive(True)
        elif answer in self.buttons:
            self.buttons[answer].setChecked(True)

    def set_target(self, px: int) -> None:
        for b in self.buttons.values():
            b.setMinimumHeight(px)
            b.setMinimumWidth(round(px * 1.9))


class StatusChip(QLabel):
    """PASS / WARN / FAIL in a strong colour, readable at arm's length."""

    def __init__(self, status: str = "none", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumWidth(72)
        self.set_status(status)

    def set_status(self, status: str) -> None:
        self.status = status if status in STATUS_COLOURS else "none"
        bg, ink = STATUS_COLOURS[self.status]
        self.setText(STATUS_WORDS[self.status])
        self.setStyleSheet(f"QLabel {{ background: {bg}; color: {ink}; font-weight: bold; border-radius: 4px; "
                           f"padding: 4px 8px; }}")


def section(title: str, parent: QWidget | None = None) -> tuple[QFrame, QVBoxLayout]:
    """A white panel with a bold heading."""
    box = QFrame(parent)
    box.setObjectName("WizardSection")
    box.setStyleSheet("#WizardSection { background: #ffffff; border: 1px solid #9a9a9a; border-radius: 4px; }")
    lay = QVBoxLayout(box)
    lay.setContentsMargins(12, 8, 12, 10)
    lay.setSpacing(6)
    if title:
        h = QLabel(f"<b>{title}</b>", box)
        lay.addWidget(h)
    return box, lay
