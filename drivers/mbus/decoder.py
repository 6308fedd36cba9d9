"""EN 13757-3 application layer of wired frames: frame bytes in, typed :class:`Telegram` out.

Entry points: :func:`decode` (bytes of one frame), :func:`decode_frame` (a
:class:`~drivers.mbus.frame.Frame` from the bus layer) and :func:`parse_hex`
(the text format of ``heatmeter decode`` input files). Both decoders take an
optional ``keys`` callable ``keys(manufacturer, identification) -> bytes | None``
for telegrams whose configuration field announces encryption (see
:mod:`drivers.mbus.security`).

The records themselves are parsed by :mod:`drivers.mbus.records`.
"""
from __future__ import annotations

from .errors import MBusError
from .frame import BAUD_RATES, Frame, FrameType, parse_frame
from .model import Record, Telegram
from .records import MAX_DIFE, MAX_VIFE, bcd_value, parse_records, scale
from .security import KeyLookup
from .tpl import decode_transport
from .tables import FIXED_MEDIUM_NAMES, FIXED_UNITS, K_NUM, UNKNOWN, application_error_name, manufacturer_int_to_code, medium_name

__all__ = ["Record", "Telegram", "decode", "decode_frame", "parse_hex", "MAX_DIFE", "MAX_VIFE"]

# transport layers with a configuration field, and the authentication layer in front of one
_TPL_CIS = frozenset((0x72, 0x76, 0x7A, 0x90))


# ---------------------------------------------------------------------------
# hex input

_HEXCHARS = frozenset("0123456789abcdefABCDEF")


def parse_hex(text) -> bytes:
    """Hex text -> bytes: pairs of hex digits separated by any whitespace or not at
    all; lines whose first non-blank character is ``#`` are comments. A lone hex
    digit, an odd-length run or a non-hex token raises MBusError naming the byte
    index it would have had and the line. ``bytes`` input is read as Latin-1; a
    leading UTF-8 byte order mark is ignored.
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text)
        if text[:3] == b"\xef\xbb\xbf":                 # UTF-8 byte order mark of some editors
            text = text[3:]
        text = text.decode("latin-1")
    elif text[:1] == "\ufeff":
        text = text[1:]
    if "#" not in text:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    out = bytearray()
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for tok in line.split():
            if len(tok) % 2 == 0 and all(ch in _HEXCHARS for ch in tok):
                out += bytes.fromhex(tok)
                continue
            shown = tok if len(tok) <= 20 else tok[:17] + "..."
            if all(ch in _HEXCHARS for ch in tok):
                what = "lone hex digit %r" % shown if len(tok) == 1 else "odd number of hex digits in %r" % shown
            else:
                what = "non-hex token %r" % shown
            raise MBusError("%s at byte %d (line %d)" % (what, len(out), lineno), len(out))
    return bytes(out)


# ---------------------------------------------------------------------------
# telegrams

def decode(frame_bytes, keys: KeyLookup | None = None) -> Telegram:
    """Decode one complete frame (bytes, bytearray or memoryview).

    ``keys(manufacturer, identification) -> bytes | None`` is asked for the
    meter's AES-128 key when the configuration field announces encryption.

    Raises MBusError (a ValueError) with a one-line message for anything that is
    not a valid EN 13757-2/-3 frame; never any other exception for bad input.
    """
    return decode_frame(parse_frame(frame_bytes), keys)


def _need(raw: bytes, end: int, pos: int, n: int, what: str):
    if end - pos < n:
        raise MBusError("%s truncated at byte %d: needs %d byte(s) after the CI field, %d present"
                        % (what, end, n, end - 7), end)


def decode_frame(frame: Frame, keys: KeyLookup | None = None) -> Telegram:
    """Decode the application layer of a frame already checked by parse_frame/extract_frame."""
    ftype = frame.type
    raw = frame.raw
    if ftype is FrameType.ACK:
        return Telegram("ack", raw)
    if ftype is FrameType.SHORT:
        return Telegram("short", raw, frame.c, frame.a)
    ci = frame.ci
    t = Telegram(ftype.value, raw, frame.c, frame.a, ci)
    end = len(raw) - 2
    pos = 7
    if ci in _TPL_CIS:
        decode_transport(t, raw, 6, end, keys=keys, wired=True)
    elif ci == 0x78:
        t.header = "none"
        t.records, t.manufacturer_data, t.more_records_follow = parse_records(raw, 7, end, False, False)
    elif ci == 0x51 or ci == 0x55:
        t.header = "none"
        t.records, t.manufacturer_data, t.more_records_follow = parse_records(raw, 7, end, ci == 0x55, True)
    elif ci == 0x73 or ci == 0x77:
        _decode_fixed(t, raw, end, ci == 0x77)
    elif ci == 0x70:
        if end > 7:
            t.application_error_code = raw[7]
            t.application_error = application_error_name(raw[7])
            t.extra_data = raw[8:end]
        else:
            t.application_error = "unspecified_error"
    elif ci == 0x71:
        _need(raw, end, pos, 1, "alarm status (CI 0x71)")
        t.alarm_status = raw[7]
        t.extra_data = raw[8:end]
    elif ci == 0x52 or ci == 0x56:
        if end - pos != 8:
            raise MBusError("secondary address selection (CI 0x%02X) needs 8 bytes after the CI field, got %d"
                            % (ci, end - pos), min(end, pos + 8))
        msb = ci == 0x56
        idb = raw[7:11]
        t.identification = (idb if msb else idb[::-1]).hex().upper()
        man = (raw[11] << 8 | raw[12]) if msb else (raw[11] | raw[12] << 8)
        t.manufacturer = None if man == 0xFFFF else manufacturer_int_to_code(man)
        t.version = raw[13]
        t.medium_code = raw[14]
        t.medium = "any" if raw[14] == 0xFF else medium_name(raw[14])
    elif ci == 0x50:
        t.extra_data = raw[7:end]
    elif ci in BAUD_RATES:
        if end > pos:
            raise MBusError("set-baud-rate frame (CI 0x%02X) carries %d unexpected data byte(s) at byte %d"
                            % (ci, end - pos, pos), pos)
        t.baud_rate = BAUD_RATES[ci]
    else:
        raise MBusError("unsupported CI field 0x%02X at byte 6" % ci, 6)
    return t


def _decode_fixed(t: Telegram, raw: bytes, end: int, msb: bool) -> None:
    """Fixed data structure (CI 0x73/0x77): id, access no., status, 2 unit bytes, 2 counters."""
    n = end - 7
    if n != 16:
        raise MBusError("fixed data structure needs 16 bytes after the CI field, got %d" % n, min(end, 23))
    d = raw[7:end]
    t.header = "fixed"
    t.identification = (d[0:4] if msb else d[3::-1]).hex().upper()
    t.access_number = d[4]
    status = t.status = d[5]
    t1, t2 = d[6], d[7]
    code = (t1 >> 6) | ((t2 >> 6) << 2)
    t.medium_code = code
    t.medium = FIXED_MEDIUM_NAMES[code]
    storage1 = 1 if status & 0x40 else 0
    u1 = FIXED_UNITS[t1 & 0x3F] or UNKNOWN
    u2 = FIXED_UNITS[t2 & 0x3F]
    storage2 = storage1
    if u2 is None:                                   # "same unit as counter 1, historic value"
        u2, storage2 = u1, 1
    recs = []
    for chunk, info, storage in ((d[8:12], u1, storage1), (d[12:16], u2, storage2)):
        quantity, unit, mul, den, off, kind = info
        flags = ()
        if status & 0x80:
            v = int.from_bytes(chunk, "big" if msb else "little", signed=False)
        else:
            v = bcd_value(chunk, msb)
            if v is None:
                flags = ("invalid_bcd",)
        if v is not None and kind == K_NUM:
            v = scale(v, mul, den, off)
        recs.append(Record(storage, 0, 0, "instantaneous", quantity, unit, v, chunk, 0, 0, (), flags))
    t.records = recs
