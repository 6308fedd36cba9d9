"""The receiver interface: every wireless M-Bus source yields :class:`Heard` telegrams.

``Receiver`` is used as a context manager (or ``open()``/``close()``);
``set_mode("t1"|"c1"|"s1")`` configures the radio where it can be set;
``receive(timeout_s)`` returns the next telegram heard or ``None`` when
nothing arrived in time; iterating yields telegrams until the source ends.
Errors opening or losing the port are :mod:`drivers.errors` port errors.
"""
from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field

__all__ = ["Heard", "Receiver", "MODES", "ReceiverError"]

MODES = ("t1", "c1", "s1")


class ReceiverError(Exception):
    """A receiver that does not answer or speaks another protocol (one-line message)."""


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@dataclass(slots=True)
class Heard:
    """One telegram as received: starting with its L-field, ``crc`` says whether block CRCs are in it."""
    telegram: bytes
    rssi_dbm: float | None = None
    rssi_raw: int | None = None
    received_at: _dt.datetime = field(default_factory=_now)
    mode: str | None = None
    crc: str = "none"
    source: str = ""


class Receiver:
    """Base class: subclasses implement ``_open``, ``_close``, ``_read(timeout_s) -> list[Heard]``
    and, where the radio can be set, ``_set_mode``."""

    name = "receiver"

    def __init__(self):
        self._pending: list[Heard] = []
        self.mode: str | None = None
        self.is_open = False

    def open(self) -> "Receiver":
        if not self.is_open:
            self._open()
            self.is_open = True
        return self

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._close()

    def __enter__(self) -> "Receiver":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def now(self) -> _dt.datetime:
        """The receiver's clock (UTC), the one ``received_at`` is on (a simulator's may run faster)."""
        return _now()

    def set_mode(self, mode: str) -> None:
        mode = mode.lower()
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % ", ".join(MODES))
        self._set_mode(mode)
        self.mode = mode

    def _set_mode(self, mode: str) -> None:
        pass

    def receive(self, timeout_s: float | None = None) -> Heard | None:
        """The next telegram, or None after ``timeout_s`` (None: wait as long as the source lives)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            got = self._read(left if left is not None else 1.0)
            if got is None:                  # the source has ended
                return None
            self._pending.extend(got)
            if not self._pending and deadline is not None and time.monotonic() >= deadline:
                return None
        return self._pending.pop(0)

    def __iter__(self):
        while True:
            h = self.receive(None)
            if h is None:
                return
            yield h

    # subclasses
    def _open(self) -> None:
        pass

    def _close(self) -> None:
        pass

    def _read(self, timeout_s: float) -> list[Heard] | None:
        raise NotImplementedError
