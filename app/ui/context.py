"""What every page shares: settings, the task runner, the connection, the run's options."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.ui import theme
from app.ui.settings import Settings
from app.ui.workers import TaskRunner

if TYPE_CHECKING:  # pragma: no cover
    from app.ui.mainwindow import MainWindow


@dataclass(frozen=True)
class Connection:
    """What the status bar shows about the meter bus.

    ``state`` is one of ``disconnected``, ``connecting``, ``connected``, ``lost``.
    ``port`` is a serial device (``/dev/ttyUSB0``, ``COM3``) or a gateway URL is
    in ``gateway`` (``socket://10.0.0.5:10001``). ``simulated`` marks the built-in
    simulated bus: the status bar then shows a SIMULATION badge.
    """

    state: str = "disconnected"
    port: str | None = None
    baud: int | None = None
    gateway: str | None = None
    profile: str | None = None
    simulated: bool = False
    detail: str = ""
    protocol: str | None = None          # an optical protocol (EN 62056-21, KMP); None: M-Bus
    extra: dict[str, Any] = field(default_factory=dict)

    STATES = ("disconnected", "connecting", "connected", "lost")

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def summary(self) -> str:
        """One line for the status bar, e.g. ``Connected · /dev/ttyUSB0 · 2400 Bd``."""
        words = {"disconnected": "Not connected", "connecting": "Connecting…",
                 "connected": "Connected", "lost": "Connection lost"}
        parts = [words.get(self.state, self.state)]
        if self.simulated and not self.port and not self.gateway:
            parts.append("simulated bus")
        if self.port:
            parts.append(self.port)
        if self.gateway:
            parts.append(f"gateway {self.gateway}")
        if self.baud:
            parts.append(f"{self.baud} Bd")
        if self.profile:
            parts.append(self.profile)
        if self.protocol and self.protocol != "mbus":
            parts.append({"iec62056-21": "EN 62056-21", "kmp": "KMP"}.get(self.protocol, self.protocol))
        if self.detail:
            parts.append(self.detail)
        return " · ".join(parts)


class ConnectionState(QObject):
    """The current :class:`Connection`; ``changed(Connection)`` on every update."""

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._value = Connection()

    @property
    def value(self) -> Connection:
        return self._value

    def update(self, **fields: Any) -> Connection:
        """Change some fields, e.g. ``update(state="connected", port="/dev/ttyUSB0", baud=2400)``."""
        state = fields.get("state")
        if state is not None and state not in Connection.STATES:
            raise ValueError(f"unknown connection state {state!r}")
        self._value = replace(self._value, **fields)
        self.changed.emit(self._value)
        return self._value

    def set(self, connection: Connection) -> None:
        self._value = connection
        self.changed.emit(connection)


class AppContext(QObject):
    """Handed to every page as ``page.ctx``.

    Attributes: ``settings`` (:class:`~app.ui.settings.Settings`), ``tasks``
    (:class:`~app.ui.workers.TaskRunner`), ``connection``
    (:class:`ConnectionState`), ``demo`` (run on demo data and the simulated
    bus), ``screenshot`` (rendering a screenshot: no dialogs, no persistence),
    ``db_url`` and ``port_url`` (from ``--db`` / ``--port``), ``mode`` (the
    :class:`~app.ui.demo.RunMode` pages ask about demo and screenshot runs), ``text_scale``
    (1.0, or larger with the larger-text setting) and ``window``.
    """

    textScaleChanged = Signal(float)

    def __init__(self, settings: Settings, *, demo: bool = False, screenshot: bool = False,
                 db_url: str | None = None, port_url: str | None = None,
                 text_scale: float = theme.NORMAL_SCALE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.tasks = TaskRunner(self)
        self.connection = ConnectionState(self)
        self.demo = demo
        self.screenshot = screenshot
        self.db_url = db_url
        self.port_url = port_url
        self._text_scale = text_scale
        self.window: MainWindow | None = None
        self.demo_dir: str | None = None  # where demo mode keeps its register (default: user data dir)
        self._register = None
        self._register_lock = threading.Lock()
        self._bus = None
        self._keys = None
        self._radio = None
        from app.ui.demo import RunMode

        self.mode = RunMode(self)   # what demo and screenshot runs change: pages ask it

    def register_url(self) -> str | None:
        """The register's URL: ``--db``, else the demo register in demo mode, else None (the default)."""
        if self.db_url:
            return self.db_url
        if self.demo:
            from app import paths

            db = paths.demo_database_file(self.demo_dir)
            os.makedirs(db.parent, exist_ok=True)
            return f"sqlite:///{db}"
        return None

    def register(self):
        """The open :class:`~app.storage.register.Register` (opened on first use, then shared).

        Opening may create, migrate or (in demo mode) fill the database: call it
        from a worker task, not on the GUI thread. Raises the storage errors
        (``RegisterError`` subclasses) with a one-line message.
        """
        with self._register_lock:
            if self._register is None:
                url = self.register_url()
                if self.demo and not self.db_url:
                    from app.storage.demo import build_demo_register

                    self._register = build_demo_register(url)
                else:
                    from app.storage.register import open_register

                    self._register = open_register(url)
            return self._register

    def close_register(self) -> None:
        """Close the register's connections (when the window closes); the next :meth:`register` reopens it."""
        with self._register_lock:
            reg, self._register = self._register, None
        if reg is not None:
            reg.close()

    @property
    def bus(self):
        """The shared :class:`~app.ui.bus.BusService` (connection, bus operations, known meters).

        The context owns it: made on first use (so that a window that never talks to a
        meter does not load the bus stack), then the same object for every page."""
        if self._bus is None:
            from app.ui.bus import BusService

            self._bus = BusService(self)
        return self._bus

    @property
    def radio(self):
        """The shared :class:`~app.ui.radio.service.RadioService` (wireless M-Bus receiving, the meters heard):
        the Radio page and the Commission wizard both use it."""
        if self._radio is None:
            from app.ui.radio.service import RadioService

            self._radio = RadioService(self)
        return self._radio

    @property
    def keys(self):
        """The shared :class:`~app.ui.keys.KeyService` (the meter key store: decrypting, key status)."""
        if self._keys is None:
            from app.ui.keys import KeyService

            self._keys = KeyService(self)
        return self._keys

    @property
    def text_scale(self) -> float:
        return self._text_scale

    @property
    def larger_text(self) -> bool:
        return self._text_scale > theme.NORMAL_SCALE

    @property
    def metrics(self) -> theme.Metrics:
        return theme.metrics(self._text_scale)

    def set_text_scale(self, scale: float) -> None:
        if scale != self._text_scale:
            self._text_scale = scale
            self.textScaleChanged.emit(scale)

    def show_message(self, text: str, level: str = "error", group: str | None = None) -> None:
        """Show ``text`` in the banner of the page the user is looking at (``group``: messages of one
        group replace each other; :meth:`clear_messages` takes them away)."""
        if self.window is not None:
            self.window.show_message(text, level, group)

    def clear_messages(self, group: str) -> None:
        """Take the messages of ``group`` away from every page's banner."""
        if self.window is not None:
            self.window.clear_messages(group)
