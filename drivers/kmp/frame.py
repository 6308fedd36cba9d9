"""Kamstrup Meter Protocol (KMP) framing: byte stuffing, CRC-16, the number format.

Pure functions over bytes; every fault is a :class:`KmpError` (a ValueError).

Physical layer (Kamstrup's KMP description, clause 3.1, as quoted in the test
suite of the open-source PyKMP project; the same rules are in Poul-Henning
Kamp's PyKamstrup and the MeterLogger project's KMP code):

* a message from the reader starts with 0x80, one from the meter with 0x40, and
  both end with 0x0D; a single 0x06 byte (ACK) stands alone;
* between the start and stop bytes, each of 0x06, 0x0D, 0x1B, 0x40 and 0x80 is
  sent as 0x1B followed by the byte XOR 0xFF (``stuff`` / ``unstuff``).

Data link layer: destination address (0x3F: the heat meter), command id (CID),
data, then a CRC-16 CCITT (polynomial 0x1021, initial value 0, no reflection,
"CRC-16/XMODEM") over address, CID and data, sent high byte first. Over a
message with its CRC the CRC is 0.

Number format (clause 4.2): a register value is a mantissa of ``length`` bytes
(unsigned, big endian) and a SIEX byte: bit 7 the sign of the mantissa (1 =
negative), bit 6 the sign of the exponent (1 = negative), bits 0-5 the decimal
exponent. value = (-1)^SI x mantissa x 10^((-1)^SE x exponent).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

START_TO_METER = 0x80
START_FROM_METER = 0x40
STOP = 0x0D
ACK = 0x06
ESCAPE = 0x1B
STUFFED = frozenset((0x06, 0x0D, 0x1B, 0x40, 0x80))
ADDRESS_HEAT_METER = 0x3F

CID_GET_TYPE = 0x01
CID_GET_SERIAL = 0x02
CID_SET_CLOCK = 0x09
CID_GET_REGISTER = 0x10
CID_PUT_REGISTER = 0x11
MAX_REGISTERS = 8            # registers per GetRegister request


class KmpError(ValueError):
    """Bytes that are not a valid KMP message. ``offset``: index of the fault, if known."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.offset = offset


def crc16(data: bytes) -> int:
    """CRC-16 CCITT, polynomial 0x1021, initial value 0 (CRC-16/XMODEM)."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def stuff(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in STUFFED:
            out += bytes((ESCAPE, b ^ 0xFF))
        else:
            out.append(b)
    return bytes(out)


def unstuff(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == ESCAPE:
            if i + 1 >= len(data):
                raise KmpError("escape byte 0x1B at the end of the message", i)
            v = data[i + 1] ^ 0xFF
            if v not in STUFFED:
                raise KmpError(f"escape 0x1B followed by 0x{data[i + 1]:02X}, which stands for no stuffed byte", i)
            out.append(v)
            i += 2
            continue
        if b in STUFFED:
            raise KmpError(f"byte 0x{b:02X} at {i} should have been escaped", i)
        out.append(b)
        i += 1
    return bytes(out)


def encode(cid: int, data: bytes = b"", *, address: int = ADDRESS_HEAT_METER, to_meter: bool = True) -> bytes:
    """A whole physical message: start byte, stuffed (address, CID, data, CRC), 0x0D."""
    if not (0 <= cid <= 0xFF and 0 <= address <= 0xFF):
        raise KmpError("CID and address are bytes")
    link = bytes((address, cid)) + bytes(data)
    c = crc16(link)
    return bytes((START_TO_METER if to_meter else START_FROM_METER,)) + stuff(link + bytes((c >> 8, c & 0xFF))) \
        + bytes((STOP,))


@dataclass(frozen=True)
class Message:
    address: int
    cid: int
    data: bytes
    crc: int
    raw: bytes


def decode(raw: bytes, *, from_meter: bool = True) -> Message:
    """A physical message -> :class:`Message` (stuffing removed, CRC checked)."""
    if not raw:
        raise KmpError("empty message", 0)
    if raw == bytes((ACK,)):
        raise KmpError("a lone ACK (0x06), not a data message", 0)
    start = START_FROM_METER if from_meter else START_TO_METER
    if raw[0] != start:
        raise KmpError(f"message must start with 0x{start:02X}, got 0x{raw[0]:02X}", 0)
    if raw[-1] != STOP:
        raise KmpError(f"message must end with 0x0D, got 0x{raw[-1]:02X}", len(raw) - 1)
    body = unstuff(raw[1:-1])
    if len(body) < 4:
        raise KmpError(f"message of {len(body)} bytes after unstuffing: needs address, CID and CRC", 1)
    if crc16(body) != 0:
        got = body[-2] << 8 | body[-1]
        raise KmpError(f"CRC mismatch: computed 0x{crc16(body[:-2]):04X}, received 0x{got:04X}", len(raw) - 3)
    return Message(body[0], body[1], body[2:-2], body[-2] << 8 | body[-1], bytes(raw))


def message_complete(buf: bytes) -> bool:
    """True once ``buf`` holds a lone ACK or a message up to its 0x0D stop byte."""
    if buf[:1] == bytes((ACK,)):
        return True
    s = buf.find(bytes((START_FROM_METER,)))
    return s >= 0 and buf.find(bytes((STOP,)), s + 1) >= 0


# --- the number format -------------------------------------------------------

def decode_number(mantissa: bytes, siex: int) -> Decimal:
    m = int.from_bytes(mantissa, "big")
    exp = siex & 0x3F
    value = Decimal(m).scaleb(-exp if siex & 0x40 else exp)
    return -value if siex & 0x80 else value


def encode_number(value: Decimal | int | str, *, length: int = 4, decimals: int | None = None) -> tuple[int, bytes]:
    """(SIEX, mantissa bytes) for ``value``; ``decimals`` fixes the exponent (a register's resolution)."""
    d = Decimal(str(value))
    if decimals is None:
        decimals = max(0, -d.normalize().as_tuple().exponent)
    if not 0 <= decimals <= 0x3F:
        raise KmpError(f"{decimals} decimals do not fit the exponent field")
    m = int((abs(d) * (Decimal(10) ** decimals)).to_integral_value())
    if m >= 1 << (8 * length):
        raise KmpError(f"{value} does not fit {length} bytes with {decimals} decimals")
    siex = (0x80 if d < 0 else 0) | (0x40 if decimals else 0) | decimals
    return siex, m.to_bytes(length, "big")


@dataclass(frozen=True)
class RegisterValue:
    """One register of a GetRegister response."""

    register: int
    unit: int
    value: Decimal
    raw: bytes        # register id, unit, length, SIEX, mantissa


def parse_registers(data: bytes) -> list[RegisterValue]:
    """The data of a GetRegister response: [id hi, id lo, unit, length, SIEX, mantissa]..."""
    out = []
    i = 0
    while i < len(data):
        if len(data) - i < 5:
            raise KmpError(f"register block truncated at {i} ({len(data) - i} bytes left, 5 needed)", i)
        rid = data[i] << 8 | data[i + 1]
        unit, length, siex = data[i + 2], data[i + 3], data[i + 4]
        if length == 0 or length > 8:
            raise KmpError(f"register 0x{rid:04X}: value length {length} (1..8 expected)", i + 3)
        end = i + 5 + length
        if end > len(data):
            raise KmpError(f"register 0x{rid:04X}: {length} value bytes announced, {len(data) - i - 5} present", i)
        out.append(RegisterValue(rid, unit, decode_number(data[i + 5:end], siex), bytes(data[i:end])))
        i = end
    return out


def register_block(register: int, unit: int, value, *, length: int = 4, decimals: int | None = None) -> bytes:
    siex, mant = encode_number(value, length=length, decimals=decimals)
    return bytes((register >> 8, register & 0xFF, unit, length, siex)) + mant


def get_register_request(registers: list[int], *, address: int = ADDRESS_HEAT_METER) -> bytes:
    if not 1 <= len(registers) <= MAX_REGISTERS:
        raise KmpError(f"1..{MAX_REGISTERS} registers per request, got {len(registers)}")
    data = bytes([len(registers)]) + b"".join(bytes((r >> 8, r & 0xFF)) for r in registers)
    return encode(CID_GET_REGISTER, data, address=address)
