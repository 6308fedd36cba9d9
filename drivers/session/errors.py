"""Why a bus operation cannot start, or failed, in words for the user."""
from __future__ import annotations


class BusUnavailable(Exception):
    """The operation cannot start now (raised at once, by the start methods, on the caller's thread)."""


class BusBusy(BusUnavailable):
    """Another operation holds the bus (a scan, or live polling when a scan is asked for)."""


class NotConnected(BusUnavailable):
    """There is no open connection (never connected, disconnected, or lost)."""


class BusOperationError(Exception):
    """A bus operation failed; the text is the one-line message to show, ``cause`` the driver error."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause
