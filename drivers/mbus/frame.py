"""EN 13757-2 link layer: frame parsing, building and stream extraction.

Frame formats::

    ACK      E5
    short    10 C A CS 16
    control  68 03 03 68 C A CI CS 16          (a long frame with L = 3)
    long     68 L L 68 C A CI data... CS 16    (L = 3 + len(data), at most 255)

``CS`` is the arithmetic sum of C, A, CI and the data, modulo 256.

:func:`parse_frame` checks one complete frame strictly and raises
:class:`~drivers.mbus.errors.MBusError`. :func:`extract_frame` is for the bus
layer: it looks at the start of a receive buffer and tells a complete frame,
"need more bytes" and garbage (a collision or line noise) apart, and how many
bytes to drop to resynchronise.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import MBusError

# --- start/stop bytes -------------------------------------------------------
ACK = 0xE5
START_SHORT = 0x10
START_LONG = 0x68
STOP = 0x16

# --- C field ----------------------------------------------------------------
# master to slave
SND_NKE = 0x40          # link reset (initialise slave), answered by ACK
SND_UD = 0x53           # send user data (with FCB: 0x73)
SND_UD_FCB = 0x73
REQ_UD2 = 0x5B          # request class 2 data (with FCB: 0x7B)
REQ_UD2_FCB = 0x7B
REQ_UD1 = 0x5A          # request class 1 (alarm) data (with FCB: 0x7A)
REQ_UD1_FCB = 0x7A
# slave to master
RSP_UD = 0x08           # user data response; ACD and DFC bits give 0x18, 0x28, 0x38
RSP_UD_VALUES = (0x08, 0x18, 0x28, 0x38)
# bits
C_PRM = 0x40            # 1 = message from the primary station (master)
C_FCB = 0x20            # frame count bit (master to slave)
C_FCV = 0x10            # frame count bit valid (master to slave)
C_ACD = 0x20            # access demand (slave to master)
C_DFC = 0x10            # data flow control (slave to master)

# --- A field ----------------------------------------------------------------
ADDRESS_UNCONFIGURED = 0x00
ADDRESS_SECONDARY = 0xFD      # use the selected secondary address
ADDRESS_TEST = 0xFE           # point-to-point / test address, every slave answers
ADDRESS_BROADCAST = 0xFF      # broadcast, no slave answers

# --- CI field ---------------------------------------------------------------
CI_APPLICATION_RESET = 0x50
CI_DATA_SEND = 0x51               # master to slave, records without header
CI_SELECT_SLAVE = 0x52            # secondary address selection
CI_DATA_SEND_MSB = 0x55
CI_SELECT_SLAVE_MSB = 0x56
CI_APPLICATION_ERROR = 0x70       # slave: general application error
CI_ALARM_STATUS = 0x71
CI_RESP_VARIABLE = 0x72           # variable data structure, 12-byte (long) header
CI_RESP_FIXED = 0x73              # fixed data structure
CI_RESP_VARIABLE_MSB = 0x76       # variable data structure, multi-byte fields MSB first (mode 2)
CI_RESP_FIXED_MSB = 0x77
CI_RESP_NO_HEADER = 0x78          # variable data structure without header (2013)
CI_RESP_SHORT_HEADER = 0x7A       # variable data structure, 4-byte (short) header
CI_BAUD_300 = 0xB8
CI_BAUD_600 = 0xB9
CI_BAUD_1200 = 0xBA
CI_BAUD_2400 = 0xBB
CI_BAUD_4800 = 0xBC
CI_BAUD_9600 = 0xBD
CI_BAUD_19200 = 0xBE
CI_BAUD_38400 = 0xBF
BAUD_RATES = {0xB8: 300, 0xB9: 600, 0xBA: 1200, 0xBB: 2400, 0xBC: 4800, 0xBD: 9600,
              0xBE: 19200, 0xBF: 38400}


def c_field_name(c: int) -> str:
    """A readable name for a C field, e.g. 0x7B -> 'REQ_UD2', 0x08 -> 'RSP_UD'."""
    if c & C_PRM:
        base = c & ~C_FCB & 0xFF
        return {0x40: "SND_NKE", 0x53: "SND_UD", 0x5B: "REQ_UD2", 0x5A: "REQ_UD1"}.get(base, "0x%02X" % c)
    if (c & 0x0F) == 0x08:
        return "RSP_UD"
    return "0x%02X" % c


def checksum(data) -> int:
    """Arithmetic sum modulo 256 (the CS byte over C, A, CI and data)."""
    return sum(data) & 0xFF


class FrameType(str, enum.Enum):
    ACK = "ack"
    SHORT = "short"
    CONTROL = "control"
    LONG = "long"


@dataclass(slots=True, frozen=True)
class Frame:
    """One link-layer frame. ``raw`` is the whole frame, start to stop byte.

    ``c``, ``a`` are ``None`` for ACK; ``ci`` is ``None`` for ACK and short
    frames. ``data`` is the user data after the CI field (empty for control frames).
    """
    type: FrameType
    raw: bytes
    c: int | None = None
    a: int | None = None
    ci: int | None = None
    data: bytes = b""

    @property
    def from_master(self) -> bool:
        """True for a frame sent by the master (PRM bit set); False for ACK and slave frames."""
        return self.c is not None and bool(self.c & C_PRM)


# --- builders ----------------------------------------------------------------

def _byte(name: str, v: int) -> int:
    if not isinstance(v, int) or not 0 <= v <= 0xFF:
        raise ValueError("%s must be an int 0..255, got %r" % (name, v))
    return v


def ack_frame() -> bytes:
    return b"\xE5"


def short_frame(c: int, a: int) -> bytes:
    """``10 C A CS 16``, e.g. ``short_frame(REQ_UD2, 5)``."""
    c, a = _byte("c", c), _byte("a", a)
    return bytes((START_SHORT, c, a, (c + a) & 0xFF, STOP))


def control_frame(c: int, a: int, ci: int) -> bytes:
    """``68 03 03 68 C A CI CS 16``, e.g. ``control_frame(SND_UD, 5, CI_BAUD_9600)``."""
    return long_frame(c, a, ci, b"")


def long_frame(c: int, a: int, ci: int, payload: bytes = b"") -> bytes:
    """``68 L L 68 C A CI payload CS 16`` with L and CS filled in (payload at most 252 bytes)."""
    c, a, ci = _byte("c", c), _byte("a", a), _byte("ci", ci)
    payload = bytes(payload)
    length = 3 + len(payload)
    if length > 255:
        raise ValueError("payload of %d bytes does not fit a long frame (at most 252)" % len(payload))
    body = bytes((c, a, ci)) + payload
    return bytes((START_LONG, length, length, START_LONG)) + body + bytes((sum(body) & 0xFF, STOP))


# --- strict parser -------------------------------------------------------------

def parse_frame(data) -> Frame:
    """Parse exactly one complete frame; anything else raises MBusError."""
    raw = bytes(data)
    n = len(raw)
    if n == 0:
        raise MBusError("empty frame: no bytes", None)
    start = raw[0]
    if start == START_LONG:
        if n < 4:
            raise MBusError("long frame header truncated at byte %d: %d of 4 bytes" % (n, n), n)
        length = raw[1]
        if raw[2] != length:
            raise MBusError("L-fields differ at byte 2: 0x%02X then 0x%02X" % (length, raw[2]), 2)
        if raw[3] != START_LONG:
            raise MBusError("bad second start byte at byte 3: expected 0x68, got 0x%02X" % raw[3], 3)
        if length < 3:
            raise MBusError("L-field 0x%02X at byte 1 is below the minimum of 3 (C, A and CI)" % length, 1)
        total = length + 6
        if n < total:
            raise MBusError("frame truncated at byte %d: L-field 0x%02X announces %d bytes, got %d"
                            % (n, length, total, n), n)
        cs = sum(raw[4:4 + length]) & 0xFF
        if raw[total - 2] != cs:
            raise MBusError("checksum mismatch at byte %d: expected 0x%02X, got 0x%02X"
                            % (total - 2, cs, raw[total - 2]), total - 2)
        if raw[total - 1] != STOP:
            raise MBusError("bad stop byte at byte %d: expected 0x16, got 0x%02X"
                            % (total - 1, raw[total - 1]), total - 1)
        if n > total:
            raise MBusError("%d trailing byte(s) after the frame end at byte %d" % (n - total, total), total)
        kind = FrameType.CONTROL if length == 3 else FrameType.LONG
        return Frame(kind, raw, raw[4], raw[5], raw[6], raw[7:total - 2])
    if start == START_SHORT:
        if n < 5:
            raise MBusError("short frame truncated at byte %d: %d of 5 bytes" % (n, n), n)
        cs = (raw[1] + raw[2]) & 0xFF
        if raw[3] != cs:
            raise MBusError("checksum mismatch at byte 3: expected 0x%02X, got 0x%02X" % (cs, raw[3]), 3)
        if raw[4] != STOP:
            raise MBusError("bad stop byte at byte 4: expected 0x16, got 0x%02X" % raw[4], 4)
        if n > 5:
            raise MBusError("%d trailing byte(s) after the frame end at byte 5" % (n - 5), 5)
        return Frame(FrameType.SHORT, raw, raw[1], raw[2])
    if start == ACK:
        if n > 1:
            raise MBusError("%d trailing byte(s) after the frame end at byte 1" % (n - 1), 1)
        return Frame(FrameType.ACK, raw)
    raise MBusError("unknown start byte 0x%02X at byte 0 (expected 0x68, 0x10 or 0xE5)" % start, 0)


# --- stream extraction -----------------------------------------------------------

class ExtractStatus(str, enum.Enum):
    FRAME = "frame"            # a complete, valid frame starts the buffer
    NEED_MORE = "need_more"    # the buffer is a valid beginning of a frame: read more bytes
    GARBAGE = "garbage"        # the buffer does not start with a valid frame: drop `consumed` bytes


class Extraction(tuple):
    """Result of :func:`extract_frame`; unpacks as ``frame, consumed, status``.

    ``error`` (an attribute, not unpacked) explains a GARBAGE result in one line.
    """

    def __new__(cls, frame: Frame | None, consumed: int, status: ExtractStatus, error: str | None = None):
        self = tuple.__new__(cls, (frame, consumed, status))
        self.error = error
        return self

    frame = property(lambda self: self[0])
    consumed = property(lambda self: self[1])
    status = property(lambda self: self[2])

    def __repr__(self) -> str:
        return "Extraction(frame=%r, consumed=%d, status=%s, error=%r)" % (self[0], self[1], self[2].value, self.error)


def _resync(buf, start: int = 1) -> int:
    """Index of the next byte that could start a frame (or len(buf))."""
    n = len(buf)
    for i in range(start, n):
        if buf[i] in (START_LONG, START_SHORT, ACK):
            return i
    return n


def extract_frame(buf) -> Extraction:
    """Look at the start of a receive buffer (bytes, bytearray or memoryview).

    Returns ``(frame, consumed, status)``:

    * ``(Frame, n, FRAME)``: a valid frame of ``n`` bytes starts the buffer;
      drop ``n`` bytes and call again for the next one.
    * ``(None, 0, NEED_MORE)``: the bytes so far are a consistent beginning of
      a frame (or the buffer is empty); wait for more bytes (or time out).
    * ``(None, n, GARBAGE)``: the buffer does not start with a valid frame
      (bad start byte, L-fields differ, checksum or stop byte wrong: typically a
      collision of two slaves answering at once). Drop ``n`` >= 1 bytes, i.e.
      up to the next byte that could start a frame, and call again.
      ``result.error`` says what was wrong.
    """
    n = len(buf)
    if n == 0:
        return Extraction(None, 0, ExtractStatus.NEED_MORE)
    start = buf[0]
    if start == ACK:
        return Extraction(Frame(FrameType.ACK, b"\xE5"), 1, ExtractStatus.FRAME)
    if start == START_SHORT:
        if n < 5:
            return Extraction(None, 0, ExtractStatus.NEED_MORE)
        raw = bytes(buf[:5])
        try:
            return Extraction(parse_frame(raw), 5, ExtractStatus.FRAME)
        except MBusError as exc:
            return Extraction(None, _resync(buf), ExtractStatus.GARBAGE, str(exc))
    if start == START_LONG:
        if n >= 3 and buf[2] != buf[1]:
            return Extraction(None, _resync(buf), ExtractStatus.GARBAGE,
                              "L-fields differ at byte 2: 0x%02X then 0x%02X" % (buf[1], buf[2]))
        if n >= 4 and buf[3] != START_LONG:
            return Extraction(None, _resync(buf), ExtractStatus.GARBAGE,
                              "bad second start byte at byte 3: expected 0x68, got 0x%02X" % buf[3])
        if n >= 2 and buf[1] < 3:
            return Extraction(None, _resync(buf), ExtractStatus.GARBAGE,
                              "L-field 0x%02X at byte 1 is below the minimum of 3 (C, A and CI)" % buf[1])
        if n < 4:
            return Extraction(None, 0, ExtractStatus.NEED_MORE)
        total = buf[1] + 6
        if n < total:
            return Extraction(None, 0, ExtractStatus.NEED_MORE)
        raw = bytes(buf[:total])
        try:
            return Extraction(parse_frame(raw), total, ExtractStatus.FRAME)
        except MBusError as exc:
            return Extraction(None, _resync(buf), ExtractStatus.GARBAGE, str(exc))
    return Extraction(None, _resync(buf), ExtractStatus.GARBAGE,
                      "unknown start byte 0x%02X at byte 0 (expected 0x68, 0x10 or 0xE5)" % start)
