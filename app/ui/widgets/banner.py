"""An in-page message banner: errors, warnings and notes shown where the user is looking.

Big bold text on a strong colour, an icon, an optional action button (e.g.
"Retry") and a Dismiss button. Messages stack: dismissing one shows the one
before it, so an error is not lost under a later note. The same message twice
in a row is shown once with a count.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from app.ui import icons, theme

LEVELS = ("error", "warning", "info")
_INK = {"error": theme.ERROR_INK, "warning": theme.WARNING_INK, "info": theme.INFO_INK}
_WORD = {"error": "Error", "warning": "Warning", "info": "Note"}


@dataclass
class Message:
    text: str
    level: str = "error"
    action_text: str | None = None
    action: Callable[[], None] | None = None
    count: int = 1
    group: str | None = None


class MessageBanner(QFrame):
    """Hidden while it has nothing to say. ``show_message(text, level)`` to speak."""

    dismissed = Signal()
    shown = Signal(str, str)  # level, text

    MAX_MESSAGES = 20

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setProperty("level", "info")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._messages: list[Message] = []
        self._icon_px = theme.metrics(1.0).banner_icon
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 8, 8, 8)
        lay.setSpacing(12)
        self.icon_label = QLabel(self)
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text_label = QLabel(self)
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.more_label = QLabel(self)
        self.action_button = QPushButton(self)
        self.action_button.clicked.connect(self._run_action)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setToolTip("Dismiss this message")
        self.dismiss_button.clicked.connect(self.dismiss)
        lay.addWidget(self.icon_label)
        lay.addWidget(self.text_label, 1)
        lay.addWidget(self.more_label)
        lay.addWidget(self.action_button)
        lay.addWidget(self.dismiss_button)
        self.hide()

    # -- API -------------------------------------------------------------------
    def show_message(self, text: str, level: str = "error", action_text: str | None = None,
                     action: Callable[[], None] | None = None, group: str | None = None) -> None:
        """Show ``text`` (one line is best) at ``level`` error/warning/info.

        ``group``: messages of one group replace each other instead of stacking (a form's validation
        error, a connection's state), and :meth:`clear_group` takes them away when they no longer apply."""
        if level not in LEVELS:
            raise ValueError(f"banner level must be one of {LEVELS}, not {level!r}")
        text = " ".join(str(text).split())
        if group is not None:
            self._messages = [m for m in self._messages if m.group != group or (m.text == text and m.level == level)]
        top = self._messages[-1] if self._messages else None
        if top is not None and top.text == text and top.level == level:
            top.count += 1
        else:
            self._messages.append(Message(text, level, action_text, action, group=group))
            del self._messages[:-self.MAX_MESSAGES]
        self._render()
        self.shown.emit(level, text)

    def dismiss(self) -> None:
        """Remove the message shown; the previous one (if any) comes back."""
        if self._messages:
            self._messages.pop()
        self._render()
        self.dismissed.emit()

    def clear(self) -> None:
        self._messages.clear()
        self._render()

    def clear_group(self, group: str) -> None:
        """Take away the messages of ``group`` (e.g. the step they were about was left)."""
        kept = [m for m in self._messages if m.group != group]
        if len(kept) != len(self._messages):
            self._messages = kept
            self._render()

    def current(self) -> Message | None:
        return self._messages[-1] if self._messages else None

    def messages(self) -> list[Message]:
        return list(self._messages)

    @property
    def text(self) -> str:
        m = self.current()
        return m.text if m else ""

    @property
    def level(self) -> str | None:
        m = self.current()
        return m.level if m else None

    def set_text_scale(self, scale: float) -> None:
        self._icon_px = theme.metrics(scale).banner_icon
        self._render()

    # -- internals -------------------------------------------------------------
    def _run_action(self) -> None:
        m = self.current()
        if m is not None and m.action is not None:
            self.dismiss()
            m.action()

    def _render(self) -> None:
        m = self.current()
        if m is None:
            self.hide()
            return
        self.setProperty("level", m.level)
        self.style().unpolish(self)
        self.style().polish(self)
        for w in (self.text_label, self.more_label, self.icon_label):
            w.style().unpolish(w)
            w.style().polish(w)
        self.icon_label.setPixmap(icons.pixmap(m.level, self._icon_px, _INK[m.level]))
        self.icon_label.setAccessibleName(_WORD[m.level])
        text = m.text if m.count == 1 else f"{m.text}  (×{m.count})"
        self.text_label.setText(text)
        self.setAccessibleDescription(f"{_WORD[m.level]}: {m.text}")
        earlier = len(self._messages) - 1
        self.more_label.setVisible(earlier > 0)
        self.more_label.setText(f"+{earlier} earlier")
        self.action_button.setVisible(m.action is not None)
        self.action_button.setText(m.action_text or "Retry")
        self.show()
