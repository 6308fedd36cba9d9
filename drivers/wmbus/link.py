"""EN 13757-4 data link layer: block CRCs of frame formats A and B, the link header.

A wireless telegram starts with its L-field: ``L C M M A A A A A A CI ...``.
On air it carries CRC-16 check fields (polynomial 0x3D65, complemented, most
significant byte first):

* format A: a CRC after the first block (L..A, 10 bytes), then after every 16
  bytes and after the last, shorter block; L counts the bytes without CRCs;
* format B: one CRC over the first 126 bytes (L included) and, for longer
  telegrams, one more over the rest; L counts every byte after itself, CRCs
  included.

Receivers usually hand the telegram over with the CRCs already checked and
removed. :func:`strip_crcs` accepts all three shapes and tells which one it
got from the bytes (see there); :func:`add_crcs` builds them.
"""
from __future__ import annotations

from dataclasses import dataclass

from drivers.mbus.errors import MBusError
from drivers.mbus.tables import manufacturer_int_to_code

__all__ = ["crc16", "strip_crcs", "add_crcs", "format_a_length", "LinkHeader", "parse_link", "C_FIELDS"]


def _table() -> list[int]:
    out = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x3D65) if c & 0x8000 else (c << 1)
        out.append(c & 0xFFFF)
    return out


_T = _table()


def crc16(data: bytes) -> int:
    """The EN 13757-4 CRC of ``data`` (already complemented, as sent)."""
    c = 0
    t = _T
    for b in data:
        c = ((c << 8) & 0xFFFF) ^ t[(c >> 8) ^ b]
    return c ^ 0xFFFF


def format_a_length(l_field: int) -> int:
    """Number of bytes of a format A telegram with CRCs whose L-field is ``l_field``."""
    blocks = 1 + (max(l_field - 9, 0) + 15) // 16
    return l_field + 1 + 2 * blocks


def _crc_error(fmt: str, block: int, start: int, stop: int, want: int, got: int) -> MBusError:
    return MBusError("CRC error in block %d (bytes %d-%d) of a format %s telegram: computed 0x%04X, received 0x%04X"
                     % (block, start, stop - 1, fmt, want, got), stop)


def _strip_a(data: bytes) -> bytes:
    out = bytearray()
    n = len(data)
    blocks = [(0, 10)]
    p = 12
    while p < n:
        blocks.append((p, min(p + 16, n - 2)))
        p += 18
    for i, (a, b) in enumerate(blocks, 1):
        got = data[b] << 8 | data[b + 1]
        want = crc16(data[a:b])
        if got != want:
            raise _crc_error("A", i, a, b, want, got)
        out += data[a:b]
    return bytes(out)


def _b_blocks(n: int) -> list[tuple[int, int]]:
    """(start, crc position) of the format B blocks of an n-byte telegram with CRCs."""
    if n <= 128:
        return [(0, n - 2)]
    return [(0, 126), (128, n - 2)]


def _check_b(data: bytes) -> tuple[int, int, int, int, int] | None:
    """None when the format B CRCs are right, else (block, start, stop, computed, received)."""
    for i, (a, c) in enumerate(_b_blocks(len(data)), 1):
        got = data[c] << 8 | data[c + 1]
        want = crc16(data[a:c])
        if got != want:
            return i, a, c, want, got
    return None


def strip_crcs(data: bytes, crc: str = "auto") -> tuple[bytes, str]:
    """Telegram bytes (starting with L) -> (telegram without CRCs, L set to match; format).

    ``crc`` is ``"auto"`` (tell from the bytes), ``"A"``, ``"B"`` or ``"none"``.
    The format comes back as ``"A"``, ``"B"`` or ``"none"``. Auto-detection:

    * the length a format A telegram with this L-field has -> format A, whose
      CRCs must then be right;
    * L + 1 bytes -> format B when its CRC(s) are right, else no CRCs (the two
      have the same length; a format B telegram damaged on the way is then read
      as one without CRCs, whose trailing bytes rarely make a valid telegram --
      receivers that know their format say so with ``crc``);
    * any other length -> an error naming the lengths expected.
    """
    n = len(data)
    if n < 11:
        raise MBusError("wireless telegram too short: %d byte(s), at least 11 needed (L C M A CI)" % n, n)
    lf = data[0]
    if lf < 10:
        raise MBusError("L-field 0x%02X too small: a telegram has at least 10 bytes after it (C, M, A, CI)" % lf, 0)
    crc = crc.upper() if crc != "none" else "none"
    if crc == "AUTO":
        if n == format_a_length(lf):
            crc = "A"
        elif n == lf + 1:
            crc = "B" if n >= 12 and _check_b(data) is None else "none"
        else:
            raise MBusError("L-field 0x%02X announces %d bytes (%d with format A CRCs), got %d"
                            % (lf, lf + 1, format_a_length(lf), n), min(n, lf + 1))
    if crc == "A":
        if n != format_a_length(lf):
            raise MBusError("L-field 0x%02X needs %d bytes in format A, got %d" % (lf, format_a_length(lf), n), n)
        return _strip_a(data), "A"
    if crc == "B":
        if n != lf + 1 or n < 12:
            raise MBusError("L-field 0x%02X needs %d bytes in format B, got %d" % (lf, lf + 1, n), n)
        bad = _check_b(data)
        if bad is not None:
            i, a, c, want, got = bad
            raise _crc_error("B", i, a, c, want, got)
        out = bytearray()
        for a, c in _b_blocks(n):
            out += data[a:c]
        out[0] = len(out) - 1
        return bytes(out), "B"
    if crc != "none":
        raise ValueError("crc must be 'auto', 'A', 'B' or 'none', not %r" % crc)
    if n != lf + 1:
        raise MBusError("L-field 0x%02X announces %d bytes, got %d" % (lf, lf + 1, n), min(n, lf + 1))
    return bytes(data), "none"


def add_crcs(frame: bytes, fmt: str = "A") -> bytes:
    """A telegram without CRCs (L = its length - 1) -> the same with format ``fmt`` CRCs."""
    if fmt == "none":
        return bytes(frame)
    if fmt == "A":
        out = bytearray()
        blocks = [frame[:10]] + [frame[i:i + 16] for i in range(10, len(frame), 16)]
        for b in blocks:
            out += b + crc16(b).to_bytes(2, "big")
        return bytes(out)
    if fmt == "B":
        body = bytearray(frame)
        total = len(body) + 2 if len(body) <= 126 else len(body) + 4
        if total > 256:
            raise ValueError("telegram too long for format B")
        body[0] = total - 1
        if total <= 128:
            return bytes(body) + crc16(bytes(body)).to_bytes(2, "big")
        first, rest = bytes(body[:126]), bytes(body[126:])
        return first + crc16(first).to_bytes(2, "big") + rest + crc16(rest).to_bytes(2, "big")
    raise ValueError("fmt must be 'A', 'B' or 'none'")


# C-fields a meter or a collector sends on the wireless link (EN 13757-4 table)
C_FIELDS = {0x44: "SND_NR", 0x46: "SND_IR", 0x47: "ACC_NR", 0x48: "ACC_DMD", 0x08: "RSP_UD", 0x06: "ACK",
            0x53: "SND_UD", 0x73: "SND_UD", 0x5A: "REQ_UD1", 0x7A: "REQ_UD1", 0x5B: "REQ_UD2", 0x7B: "REQ_UD2",
            0x40: "SND_NKE", 0x00: "ACK", 0x10: "ACK", 0x20: "ACK", 0x30: "ACK", 0x01: "NACK", 0x11: "NACK",
            0x18: "RSP_UD", 0x28: "RSP_UD", 0x38: "RSP_UD", 0x0A: "RSP_UD", 0x4A: "RSP_UD", 0x43: "CNF_IR"}


@dataclass(frozen=True, slots=True)
class LinkHeader:
    """L, C and the link-layer address (M, A) of a wireless telegram."""
    l_field: int
    c_field: int
    manufacturer_int: int
    id_bytes: bytes         # 4 bytes as sent (least significant first)
    version: int
    device_type: int

    @property
    def manufacturer(self) -> str:
        return manufacturer_int_to_code(self.manufacturer_int)

    @property
    def identification(self) -> str:
        return self.id_bytes[::-1].hex().upper()

    @property
    def address8(self) -> bytes:
        """M (2) + A (6) as sent: the first half of the mode 5 and ELL IVs."""
        return bytes((self.manufacturer_int & 0xFF, self.manufacturer_int >> 8)) + self.id_bytes + \
            bytes((self.version, self.device_type))


def parse_link(frame: bytes) -> LinkHeader:
    """Link header of a telegram without CRCs (at least 11 bytes)."""
    return LinkHeader(frame[0], frame[1], frame[2] | frame[3] << 8, bytes(frame[4:8]), frame[8], frame[9])
