"""User settings of the desktop app (QSettings, organisation "heatmeter").

Settings are stored in an INI file in the user's configuration directory
(``~/.config/heatmeter/heatmeter-gui.ini`` on Linux). The environment variable
``HEATMETER_SETTINGS_DIR`` (or :func:`use_settings_dir`) moves them elsewhere;
the tests and the screenshot mode use that so they never touch the user's file.

Keys (all strings; pages keep their own under ``page/<name>/<key>``):

==========================  ==========  ==========================================
key                         type        meaning
==========================  ==========  ==========================================
``window/geometry``         QByteArray  QMainWindow.saveGeometry()
``window/state``            QByteArray  QMainWindow.saveState()
``window/last_page``        str         page shown when the app was closed
``view/larger_text``        bool        the larger-text setting
``connection/port``         str         last serial port or gateway URL used
``connection/baud``         int         last baud rate
``connection/profile``      str         last optical head / converter profile
``connection/protocol``     str         last protocol: mbus, iec62056-21, kmp
==========================  ==========  ==========================================
"""
from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "heatmeter"
APPLICATION = "heatmeter-gui"
ENV_SETTINGS_DIR = "HEATMETER_SETTINGS_DIR"

GEOMETRY = "window/geometry"
WINDOW_STATE = "window/state"
LAST_PAGE = "window/last_page"
LARGER_TEXT = "view/larger_text"
PORT = "connection/port"
BAUD = "connection/baud"
PROFILE = "connection/profile"
PROTOCOL = "connection/protocol"

DEFAULT_BAUD = 2400


def use_settings_dir(path: str | os.PathLike[str]) -> None:
    """Store the settings of this process under ``path`` (INI format)."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.fspath(path))


def open_qsettings() -> QSettings:
    """The QSettings object of the app, honouring ``HEATMETER_SETTINGS_DIR``."""
    where = os.environ.get(ENV_SETTINGS_DIR)
    if where:
        use_settings_dir(where)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


class Settings:
    """Typed access to the app's settings.

    ``Settings()`` opens the user's settings; pass a ``QSettings`` to use another
    store. Every setter writes through at once (``sync()`` on each change is not
    needed: QSettings flushes on destruction and on ``sync``).
    """

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else open_qsettings()

    # -- generic -------------------------------------------------------------
    def value(self, key: str, default: Any = None, type_: type | None = None) -> Any:
        if type_ is None:
            return self.q.value(key, default)
        value = self.q.value(key, default)
        if value is None:
            return default
        if type_ is bool and isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        try:
            return type_(value)
        except (TypeError, ValueError):
            return default

    def set_value(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def page_value(self, page: str, key: str, default: Any = None, type_: type | None = None) -> Any:
        return self.value(f"page/{page}/{key}", default, type_)

    def set_page_value(self, page: str, key: str, value: Any) -> None:
        self.set_value(f"page/{page}/{key}", value)

    def sync(self) -> None:
        self.q.sync()

    def file_name(self) -> str:
        return self.q.fileName()

    # -- window --------------------------------------------------------------
    @property
    def geometry(self) -> QByteArray | None:
        v = self.q.value(GEOMETRY)
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    @geometry.setter
    def geometry(self, v: QByteArray) -> None:
        self.q.setValue(GEOMETRY, v)

    @property
    def window_state(self) -> QByteArray | None:
        v = self.q.value(WINDOW_STATE)
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    @window_state.setter
    def window_state(self, v: QByteArray) -> None:
        self.q.setValue(WINDOW_STATE, v)

    @property
    def last_page(self) -> str | None:
        v = self.value(LAST_PAGE, None, str)
        return v or None

    @last_page.setter
    def last_page(self, v: str) -> None:
        self.q.setValue(LAST_PAGE, v)

    # -- view ----------------------------------------------------------------
    @property
    def larger_text(self) -> bool:
        return bool(self.value(LARGER_TEXT, False, bool))

    @larger_text.setter
    def larger_text(self, v: bool) -> None:
        self.q.setValue(LARGER_TEXT, bool(v))

    # -- connection ----------------------------------------------------------
    @property
    def port(self) -> str | None:
        return self.value(PORT, None, str) or None

    @port.setter
    def port(self, v: str | None) -> None:
        self.q.setValue(PORT, v or "")

    @property
    def baud(self) -> int:
        return int(self.value(BAUD, DEFAULT_BAUD, int))

    @baud.setter
    def baud(self, v: int) -> None:
        self.q.setValue(BAUD, int(v))

    @property
    def profile(self) -> str | None:
        return self.value(PROFILE, None, str) or None

    @profile.setter
    def profile(self, v: str | None) -> None:
        self.q.setValue(PROFILE, v or "")

    @property
    def protocol(self) -> str:
        """The protocol of the last connection (``mbus`` when none was chosen)."""
        return self.value(PROTOCOL, "mbus", str) or "mbus"

    @protocol.setter
    def protocol(self, v: str | None) -> None:
        self.q.setValue(PROTOCOL, v or "mbus")
