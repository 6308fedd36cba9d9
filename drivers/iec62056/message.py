"""EN 62056-21 (IEC 1107) messages: request, identification, option select, data message.

Pure functions over bytes; every fault is an :class:`Iec62056Error` (a ValueError)
whose message says what is wrong and where.

The exchange of a data readout (EN 62056-21, clause 6):

``/?!CRLF`` (request, or ``/?ADDRESS!CRLF``)
    sent by the reader at 300 baud, 7 data bits, even parity, 1 stop bit.
``/XXXZ<ident>CRLF`` (identification)
    ``XXX`` is the maker's FLAG code (the third letter in lower case: the meter
    answers within 20 ms instead of 200 ms); ``Z`` is the baud rate character, which
    also says the protocol mode: ``A``-``F`` mode B (600 ... 19200 baud, both switch
    right after the identification), ``0``-``6`` mode C (300 ... 19200 baud, the
    reader confirms with an acknowledgement/option select message), any other
    printable character mode A (the data follow at 300 baud). ``G``-``I`` and
    ``7``-``9`` are reserved. ``\\W`` after ``Z`` marks mode E (enhanced).
``ACK 0 Z 0 CRLF`` (acknowledgement / option select, mode C only)
    protocol control ``0`` (normal), the baud rate chosen (at most the one offered),
    mode control ``0`` (data readout).
``STX <data block> ! CR LF ETX BCC`` (data message)
    the data block is lines of data sets ``address(value*unit)``; the block check
    character BCC is the exclusive or of every character after STX up to and
    including ETX.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

STX, ETX, EOT, ACK, NAK, SOH = 0x02, 0x03, 0x04, 0x06, 0x15, 0x01
CRLF = b"\r\n"

BAUD_MODE_B = {"A": 600, "B": 1200, "C": 2400, "D": 4800, "E": 9600, "F": 19200}
BAUD_MODE_C = {"0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200}
RESERVED_B = "GHI"
RESERVED_C = "789"
MAX_IDENT = 16
MAX_ADDRESS = 32


class Iec62056Error(ValueError):
    """Bytes that are not a valid EN 62056-21 message. ``offset``: index of the fault, if known."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.offset = offset


def bcc(data: bytes) -> int:
    """Block check character: exclusive or of ``data`` (7-bit characters)."""
    x = 0
    for b in data:
        x ^= b
    return x & 0x7F


def request_message(address: str = "") -> bytes:
    """``/?ADDRESS!CRLF``: the sign-on request (an empty address: any meter on the eye)."""
    if len(address) > MAX_ADDRESS or not re.fullmatch(r"[0-9A-Za-z ]*", address):
        raise Iec62056Error(f"device address {address!r}: up to {MAX_ADDRESS} letters, digits or spaces")
    return b"/?" + address.encode("ascii") + b"!" + CRLF


def option_select(baud_char: str, mode_char: str = "0", protocol_char: str = "0") -> bytes:
    """``ACK V Z Y CRLF`` (mode C): V protocol control, Z baud rate, Y mode control (0 = data readout)."""
    if baud_char not in BAUD_MODE_C:
        raise Iec62056Error(f"baud character {baud_char!r} is not one of mode C (0..6)")
    return bytes([ACK]) + (protocol_char + baud_char + mode_char).encode("ascii") + CRLF


def baud_char_for(baud: int, mode: str) -> str:
    table = BAUD_MODE_B if mode == "B" else BAUD_MODE_C
    for ch, b in table.items():
        if b == baud:
            return ch
    raise Iec62056Error(f"{baud} baud has no baud character in mode {mode}")


@dataclass(frozen=True)
class Identification:
    """A parsed identification message."""

    manufacturer: str       # FLAG code as sent, e.g. "LUG"
    baud_char: str          # Z
    mode: str               # "A", "B", "C" or "E"
    baud: int               # the data baud rate the meter offers
    ident: str              # e.g. "UH50"
    fast_reaction: bool     # third letter of XXX in lower case: 20 ms reaction time
    raw: bytes

    @property
    def flag(self) -> str:
        return self.manufacturer.upper()


def parse_identification(line: bytes) -> Identification:
    """``/XXXZ[\\W]ident CRLF`` -> :class:`Identification` (raises :class:`Iec62056Error`)."""
    if not line:
        raise Iec62056Error("empty identification message", 0)
    if line[:1] != b"/":
        raise Iec62056Error(f"identification must start with '/', got 0x{line[0]:02X}", 0)
    if not line.endswith(CRLF):
        raise Iec62056Error("identification must end with CR LF", len(line))
    body = line[1:-2]
    for i, b in enumerate(body):
        if not 0x20 <= b <= 0x7E:
            raise Iec62056Error(f"identification: byte 0x{b:02X} at {i + 1} is not a printable character "
                                "(a head set to 8N1 on a 7E1 line?)", i + 1)
    text = body.decode("ascii")
    if len(text) < 4:
        raise Iec62056Error(f"identification {text!r} is too short (needs /XXXZ)", len(line))
    maker, z = text[:3], text[3]
    if not maker.isalpha():
        raise Iec62056Error(f"manufacturer code {maker!r} must be three letters", 1)
    rest = text[4:]
    mode = None
    if len(rest) >= 2 and rest[0] == "\\":
        mode = "E"                     # enhanced: \W follows Z
        rest = rest[2:]
    if len(rest) > MAX_IDENT:
        raise Iec62056Error(f"identification {rest!r} is longer than {MAX_IDENT} characters", 5)
    if z in RESERVED_B or z in RESERVED_C:
        raise Iec62056Error(f"baud character {z!r} is reserved in EN 62056-21 (identification {text!r})", 4)
    if z in "/!":
        raise Iec62056Error(f"baud character {z!r} is not allowed (identification {text!r})", 4)
    if z in BAUD_MODE_B:
        if mode == "E":
            raise Iec62056Error(f"mode E needs a mode C baud character (0..6), got {z!r}", 4)
        mode, baud = "B", BAUD_MODE_B[z]
    elif z in BAUD_MODE_C:
        mode, baud = mode or "C", BAUD_MODE_C[z]
    else:
        if mode == "E":
            raise Iec62056Error(f"mode E needs a mode C baud character (0..6), got {z!r}", 4)
        mode, baud = "A", 300
    return Identification(maker, z, mode, baud, rest, maker[2].islower(), bytes(line))


def identification_line(flag: str, baud_char: str, ident: str) -> bytes:
    """An identification message (for the simulator and tests)."""
    return ("/" + flag + baud_char + ident).encode("ascii") + CRLF


@dataclass(frozen=True)
class DataSet:
    """``address(value*unit)``; ``values`` holds (value, unit) per ``&``-separated part and per group."""

    address: str
    values: tuple
    text: str
    offset: int = 0

    @property
    def value(self) -> str:
        return self.values[0][0] if self.values else ""

    @property
    def unit(self) -> str:
        return self.values[0][1] if self.values else ""


_FORBIDDEN_ADDR = set("()/!")


def _split_value(group: str, where: int) -> tuple:
    parts = []
    for part in group.split("&"):
        if "*" in part:
            v, u = part.split("*", 1)
        else:
            v, u = part, ""
        if any(c in "()/!" for c in v + u):
            raise Iec62056Error(f"data set value {group!r} at {where} holds a reserved character", where)
        parts.append((v, u))
    return tuple(parts)


def parse_data_block(text: str) -> list[DataSet]:
    """The data sets of a data block (lines of ``address(value*unit)``), in order."""
    out: list[DataSet] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\r\n":
            i += 1
            continue
        if c == "!":
            rest = text[i + 1:].strip("\r\n")
            if rest:
                raise Iec62056Error(f"characters after the end mark '!': {rest[:20]!r}", i + 1)
            return out
        j = text.find("(", i)
        nl = min((k for k in (text.find("\r", i), text.find("\n", i)) if k >= 0), default=n)
        if j < 0 or j > nl:
            raise Iec62056Error(f"data set without '(' at {i}: {text[i:nl][:30]!r}", i)
        address = text[i:j]
        if not address or len(address) > 16 or set(address) & _FORBIDDEN_ADDR or any(ch < " " for ch in address):
            raise Iec62056Error(f"bad data set address {address!r} at {i}", i)
        values: list = []
        k = j
        while k < n and text[k] == "(":
            end = text.find(")", k + 1)
            nxt = text.find("(", k + 1)
            if end < 0 or (0 <= nxt < end):
                raise Iec62056Error(f"unclosed '(' at {k} in data set {address!r}", k)
            group = text[k + 1:end]
            if any(ch in "\r\n" for ch in group):
                raise Iec62056Error(f"line break inside the value of data set {address!r} at {k}", k)
            values.extend(_split_value(group, k))
            k = end + 1
        out.append(DataSet(address, tuple(values), text[i:k], i))
        i = k
    raise Iec62056Error("data block has no end mark '!'", n)


@dataclass
class DataMessage:
    datasets: list
    block: str
    bcc: int | None
    raw: bytes
    notes: list = field(default_factory=list)


def message_complete(buf: bytes, *, expect_bcc: bool = True) -> bool:
    """True once ``buf`` holds STX ... ETX (and the BCC after it)."""
    s = buf.find(bytes([STX]))
    if s < 0:
        return False
    e = buf.find(bytes([ETX]), s + 1)
    if e < 0:
        return False
    return len(buf) > e + 1 or not expect_bcc


def parse_data_message(raw: bytes, *, require_bcc: bool = True) -> DataMessage:
    """``STX block ETX BCC`` -> :class:`DataMessage`; the BCC is checked (mode A may omit it:
    ``require_bcc=False``). Leading NUL or line noise before STX is reported, not accepted."""
    if not raw:
        raise Iec62056Error("empty data message", 0)
    s = raw.find(bytes([STX]))
    if s < 0:
        raise Iec62056Error("no STX: not a data message (wrong baud rate?)", 0)
    if s > 0 and any(b not in (0x00, 0x0A, 0x0D) for b in raw[:s]):
        raise Iec62056Error(f"{s} unexpected bytes before STX (wrong baud rate?)", 0)
    e = raw.find(bytes([ETX]), s + 1)
    if e < 0:
        if raw.find(bytes([EOT]), s + 1) >= 0:
            raise Iec62056Error("partial block (EOT): block-wise transfer is not supported", s)
        raise Iec62056Error("data message has no ETX (truncated)", len(raw))
    body = raw[s + 1:e]
    for i, b in enumerate(body):
        if b >= 0x80 or (b < 0x20 and b not in (0x0A, 0x0D)):
            raise Iec62056Error(f"byte 0x{b:02X} at {s + 1 + i} is not a data block character "
                                "(wrong baud rate, or 8N1 on a 7E1 line?)", s + 1 + i)
    got = raw[e + 1] if len(raw) > e + 1 else None
    want = bcc(raw[s + 1:e + 1])
    if got is None:
        if require_bcc:
            raise Iec62056Error("data message ends without its BCC", e + 1)
    elif (got & 0x7F) != want:
        raise Iec62056Error(f"BCC mismatch: computed 0x{want:02X}, received 0x{got:02X}", e + 1)
    if len(raw) > e + 2 and any(b not in (0x00, 0x0A, 0x0D, 0x20) for b in raw[e + 2:]):
        raise Iec62056Error(f"{len(raw) - e - 2} bytes after the BCC", e + 2)
    block = body.decode("ascii")
    datasets = parse_data_block(block)
    return DataMessage(datasets, block, got, bytes(raw[s:e + 2]))


def data_message(block: str) -> bytes:
    """``STX block ETX BCC`` for a data block that ends with ``!CRLF`` (simulator, tests)."""
    body = block.encode("ascii") + bytes([ETX])
    return bytes([STX]) + body + bytes([bcc(body)])
