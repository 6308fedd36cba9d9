"""The one exception type of the M-Bus package."""
from __future__ import annotations


class MBusError(ValueError):
    """A byte sequence that is not a valid M-Bus frame or telegram.

    ``str(err)`` is one line saying what is wrong and where, e.g.
    ``"checksum mismatch at byte 251: expected 0x3A, got 0x3B"``.
    ``err.offset`` is the index of the offending byte in the input (for
    :func:`drivers.mbus.parse_hex`: the index the next byte would have had),
    or ``None`` when the fault is not tied to one byte (e.g. empty input).
    """

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.offset = offset


class WrongKey(MBusError):
    """An encrypted telegram whose decryption with the key found for its meter does not check out
    (the decrypted data do not start with ``2F 2F``, or a MAC or payload CRC does not match).
    ``identification``: the meter's 8 digits (never the key)."""

    def __init__(self, identification: str):
        super().__init__("key for %s does not decrypt this telegram" % identification)
        self.identification = identification
