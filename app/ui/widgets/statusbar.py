"""Status bar parts: the connection (with the SIMULATION badge) and the running task."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget

from app.ui import icons
from app.ui.context import Connection, ConnectionState
from app.ui.workers import Task, TaskRunner


def format_eta(seconds: float | None) -> str:
    """``0:42`` / ``1:02:03``; empty when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ConnectionIndicator(QWidget):
    """``Connected · /dev/ttyUSB0 · 2400 Bd`` and, on the simulated bus, a SIMULATION badge."""

    def __init__(self, state: ConnectionState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.setSpacing(8)
        self.badge = QLabel("SIMULATION", self)
        self.badge.setObjectName("SimulationBadge")
        self.badge.setToolTip("The built-in simulated meter bus: no real meter is being read.")
        self.label = QLabel(self)
        self.label.setObjectName("ConnectionLabel")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.badge)
        lay.addWidget(self.label)
        lay.addStretch(1)
        state.changed.connect(self.show_connection)
        self.show_connection(state.value)

    def show_connection(self, c: Connection) -> None:
        self.badge.setVisible(c.simulated)
        self.label.setText(c.summary())
        self.label.setToolTip(c.summary())


class TaskIndicator(QWidget):
    """Name, progress (with ETA) and Cancel of the runner's current task; "Idle" otherwise."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._task: Task | None = None
        self._counts = ""
        self._text = ""
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.setSpacing(8)
        self.label = QLabel("Idle", self)
        self.label.setObjectName("TaskLabel")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)  # the numbers go in the label: text over the bar's chunk is unreadable
        self.bar.setMinimumWidth(180)
        self.bar.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setIcon(icons.icon("cancel"))
        self.cancel_button.setToolTip("Cancel the running task (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        # hidden while idle, but their room is kept: the status bar must not grow when a task starts and
        # shrink when it ends (everything above it would jump under the user's finger)
        for w in (self.bar, self.cancel_button):
            sp = w.sizePolicy()
            sp.setRetainSizeWhenHidden(True)
            w.setSizePolicy(sp)
        runner.changed.connect(self._follow_current)
        self._follow_current()

    @property
    def task(self) -> Task | None:
        return self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText(f"{self._task.name}: cancelling…")

    def _follow_current(self) -> None:
        task = self.runner.current()
        if task is self._task and task is not None:
            self._update_label(self._text)           # keep what the task said last
            return
        if self._task is not None:
            try:
                self._task.progress.disconnect(self._on_progress)
            except (RuntimeError, TypeError):
                pass
        self._task = task
        self._counts = ""
        self._text = ""
        if task is None:
            self.label.setText("Idle")
            self.bar.hide()
            self.cancel_button.hide()
            return
        task.progress.connect(self._on_progress)
        self.bar.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(not task.cancel_event.is_set())
        r = task.reporter
        self._on_progress(r.done, r.total, None, r.text)

    def _update_label(self, extra: str = "") -> None:
        if self._task is None:
            return
        others = len(self.runner.active()) - 1
        parts = [p for p in (extra, self._counts) if p]
        text = self._task.name + (": " + " · ".join(parts) if parts else "")
        if others > 0:
            text += f"  (+{others} more)"
        self.label.setText(text)

    def _on_progress(self, done, total, eta_s, text: str) -> None:
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(1.0, done / total)))
            eta = format_eta(eta_s)
            self._counts = f"{done}/{total}" + (f" · {eta} left" if eta else "")
        else:
            self.bar.setRange(0, 0)  # busy indicator
            self._counts = ""
        self.bar.setToolTip(self._counts)
        self._text = text or ""
        self._update_label(self._text)
