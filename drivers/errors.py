"""Typed errors of the bus stack (transports, link layer, scans, writes).

Every failure a caller can meet while talking to a bus is one of these, so a
GUI worker or the CLI can tell the user what happened in one line without a
traceback. The errors say what happened, nothing about how a front end
reports it: the CLI maps them to its exit statuses (``app.cli``), the GUI to
one-line messages (:mod:`drivers.session.messages`).

:class:`Cancelled` is the project's one cancel exception (bus operations,
worker tasks, the CLI): it is not a failure, so it is not a :class:`BusError`.
"""
from __future__ import annotations


class Cancelled(Exception):
    """The caller's cancel hook stopped the operation (a scan sets ``partial``: the meters found so far)."""


class BusError(Exception):
    """Base class of every bus error."""


# --- the port -------------------------------------------------------------

class PortError(BusError):
    """The port could not be opened or used."""


class BadPortURL(PortError):
    """The port name or URL is not something pyserial can open."""


class PortNotFound(PortError):
    """The device path does not exist (unplugged adapter, typo)."""


class PortBusy(PortError):
    """Another program holds the port (exclusive lock)."""


class PortPermission(PortError):
    """The operating system refuses access to the device."""


class ConnectionRefused(PortError):
    """A TCP gateway refused the connection (nothing listens there)."""


class GatewayUnreachable(PortError):
    """A TCP gateway did not accept the connection in time (wrong host, no route)."""


class PortLost(PortError):
    """The port went away during an operation (USB adapter unplugged, socket closed)."""


class BaudNotSupported(PortError):
    """The transport cannot switch to the requested baud rate."""


# --- the line ---------------------------------------------------------------

class LinkError(BusError):
    """The slave's answer was missing or unusable."""


class NoAnswer(LinkError):
    """Nothing came back within the response timeout (after the retries)."""


class ChecksumError(LinkError):
    """An answer arrived with a wrong checksum or broken framing."""


class Collision(LinkError):
    """Several slaves answered at once: the line carried a garbled answer."""


class UnexpectedAnswer(LinkError):
    """A well-formed frame that is not what the request calls for."""


class WrongMeter(UnexpectedAnswer):
    """Another meter answered than the one asked for (``got`` and ``expected``: secondary addresses)."""

    def __init__(self, message: str, *, got: str = "", expected: str = "") -> None:
        super().__init__(message)
        self.got = got
        self.expected = expected


class WrongKey(UnexpectedAnswer):
    """An encrypted telegram that the key held for its meter does not decrypt (``identification``: the
    meter's 8 digits). Nothing of the telegram is kept as readings."""

    def __init__(self, message: str, *, identification: str = "") -> None:
        super().__init__(message)
        self.identification = identification


# --- operations ---------------------------------------------------------------

class NotConfirmed(BusError):
    """A write was acknowledged (or not) but the read-back did not confirm it."""


class AddressInUse(BusError):
    """The primary address a meter was to be moved to already answers (nothing was written).

    ``address``: that address; ``occupant``: the ``ID.MAN.VV.MM`` of the meter there, "" when several
    answered at once (or the one there did not say who it is)."""

    def __init__(self, message: str, *, address: int = 0, occupant: str = "") -> None:
        super().__init__(message)
        self.address = address
        self.occupant = occupant
