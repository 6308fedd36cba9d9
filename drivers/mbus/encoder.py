"""Build EN 13757-3 records and RSP_UD telegrams from a high-level description.

Used by the round-trip property tests and by the bus simulator::

    from drivers.mbus.encoder import RecordSpec, encode_rsp_ud
    frame = encode_rsp_ud(
        [RecordSpec("energy", 1234000, unit="Wh", data_type="bcd8"),          # -> VIF 0x06 (kWh), 1234
         RecordSpec("volume", 561.08, data_type="int32"),                      # -> VIF 0x14 (0.01 m3)
         RecordSpec("energy", 5000, modifiers=("accumulation_negative",)),     # cooling register
         RecordSpec("flow_temperature", 101.69, data_type="int16"),
         RecordSpec("datetime", "2024-03-01T12:30:00"),                        # type F
         RecordSpec("datetime", "2011-08-26T20:50:00", subject="flow_temperature",
                    modifiers=("date_of_last_end",), function="maximum", tariff=1)],
        identification="12345678", manufacturer="KAM", medium="heat_outlet", address=5)

Values are given in the decoder's canonical units (Wh or J, m3, W or J/h, m3/h,
kg, kg/h, degC, K, bar, s, ...). Unless ``vif`` or ``scale`` is given, the
encoder picks the VIF with the coarsest step that still holds the value exactly
in the chosen data type, so ``decode(encode(x))`` gives ``x`` back.
"""
from __future__ import annotations

import datetime as _dt
import struct
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .frame import ADDRESS_SECONDARY, RSP_UD, SND_UD, long_frame
from .tables import (
    COMBINABLE_EXT, COMBINABLE_VIFE, FB_VIF, FD_VIF, FUNCTIONS, K_DATE, K_FLAGS, K_ID, K_MAN, K_NUM,
    K_RAW, MEDIUM_NAMES, OBJECT_ACTIONS, PRIMARY_VIF, RECORD_ERRORS, UNKNOWN, manufacturer_code_to_int,
    manufacturer_int_to_code,
)

__all__ = ["RecordSpec", "encode_record", "encode_variable_data", "encode_rsp_ud", "encode_application_error",
           "encode_selection",
           "manufacturer_code_to_int", "manufacturer_int_to_code", "DATA_TYPES", "vif_candidates"]

# data_type -> (DIF data-field code, byte length)
DATA_TYPES = {
    "none": (0x0, 0), "int8": (0x1, 1), "int16": (0x2, 2), "int24": (0x3, 3), "int32": (0x4, 4),
    "real32": (0x5, 4), "int48": (0x6, 6), "int64": (0x7, 8), "selection": (0x8, 0),
    "bcd2": (0x9, 1), "bcd4": (0xA, 2), "bcd6": (0xB, 3), "bcd8": (0xC, 4), "bcd12": (0xE, 6),
    "text": (0xD, -1),
    # points in time: type G (date), J (time), F (date+time), I (date+time with seconds)
    "G": (0x2, 2), "J": (0x3, 3), "F": (0x4, 4), "I": (0x6, 6),
}
_INT_TYPES = ("int8", "int16", "int24", "int32", "int48", "int64")
_FUNCTION_BITS = {name: i << 4 for i, name in enumerate(FUNCTIONS)}


@dataclass(slots=True, frozen=True)
class RecordSpec:
    """One data record, described in the decoder's terms.

    quantity   contract name (``"energy"``, ``"volume"``, ``"date"``, ``"fabrication_number"``,
               ``"plain_text"``, ``"manufacturer_specific"``, ...) or ``"unknown"`` with ``vif``.
    value      in the canonical unit: int, float, Decimal, Fraction or numeric str; ISO string or
               ``datetime.date``/``datetime.datetime`` for points in time; digit string for BCD
               identifiers; str for text; ``None`` for a record without data.
    unit       picks the family where a quantity has two (``"Wh"``/``"J"``, ``"W"``/``"J/h"``);
               for ``plain_text`` it is the unit text sent in the frame.
    data_type  one of DATA_TYPES (default: the smallest signed integer that holds the value;
               ``"G"``/``"F"`` for dates/datetimes, BCD for digit-string identifiers).
    scale      the VIF step in canonical units (e.g. ``"0.01"`` m3, ``60`` s for minutes); default:
               the coarsest step that represents the value exactly.
    vif        explicit VIF byte(s) (int or bytes, VIFEs included): bypasses quantity lookup.
    modifiers  VIFE meanings, e.g. ``("accumulation_positive",)``, ``("future_value",)``,
               ``("date_of_last_end",)`` (then ``subject`` names the quantity the date is about).
    raw_data   explicit data-field bytes (overrides ``value``; length must fit ``data_type``).
    """
    quantity: str
    value: object = None
    unit: str | None = None
    data_type: str | None = None
    storage: int = 0
    tariff: int = 0
    subunit: int = 0
    function: str = "instantaneous"
    modifiers: tuple = ()
    subject: str | None = None
    scale: object = None
    vif: object = None
    raw_data: bytes | None = None
    record_error: str | None = None
    action: str | None = None


# ---------------------------------------------------------------------------
# VIF candidates from the decoder's own tables

def _index() -> dict:
    idx: dict = {}
    for table, prefix in ((PRIMARY_VIF, b""), (FB_VIF, b"\xFB"), (FD_VIF, b"\xFD")):
        for code, info in enumerate(table):
            if info is None or info is UNKNOWN:
                continue
            if prefix == b"" and code in (0x7E, 0x7F):
                continue
            quantity, unit, mul, den, off, kind = info
            idx.setdefault(quantity, []).append((unit, Fraction(mul, den), off, den, prefix, code, kind))
    return idx


_VIF_INDEX = _index()


def vif_candidates(quantity: str, unit: str | None = None) -> list[tuple[str, Fraction, bytes]]:
    """[(unit, step, vif_bytes)]: the VIFs that code ``quantity`` as ``raw * step`` in ``unit``.

    VIFs with an offset (degree Fahrenheit) are left out; they are used only when
    nothing else holds a value exactly.
    """
    out = []
    for u, step, off, den, prefix, code, kind in _VIF_INDEX.get(quantity, ()):
        if (unit is None or u == unit) and not off:
            out.append((u, step, prefix + bytes((code,))))
    return out


def _fraction(v) -> Fraction:
    if isinstance(v, bool):
        raise ValueError("a boolean is not a value")
    if isinstance(v, (int, Fraction)):
        return Fraction(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("value %r is not finite" % v)
        return Fraction(Decimal(repr(v)))
    if isinstance(v, (Decimal, str)):
        return Fraction(Decimal(v))
    raise ValueError("cannot encode value %r" % (v,))


def _fits(raw: int, data_type: str) -> bool:
    if data_type in _INT_TYPES:
        n = DATA_TYPES[data_type][1] * 8
        return -(1 << (n - 1)) <= raw < (1 << (n - 1))
    if data_type.startswith("bcd"):
        digits = int(data_type[3:])
        return -(10 ** (digits - 1)) < raw < 10 ** digits
    return False


# ---------------------------------------------------------------------------
# data fields

def _int_bytes(raw: int, n: int, signed: bool = True) -> bytes:
    return raw.to_bytes(n, "little", signed=signed)


def _bcd_bytes(raw: int, digits: int) -> bytes:
    if raw < 0:
        s = "f" + str(-raw).rjust(digits - 1, "0")
    else:
        s = str(raw).rjust(digits, "0")
    if len(s) != digits:
        raise ValueError("%d does not fit %d BCD digits" % (raw, digits))
    return bytes.fromhex(s)[::-1]


def _digits_bcd(s: str, digits: int) -> bytes:
    if not s.isdigit() or len(s) > digits:
        raise ValueError("identifier %r does not fit %d BCD digits" % (s, digits))
    return bytes.fromhex(s.rjust(digits, "0"))[::-1]


def _text_field(text: str) -> bytes:
    b = text.encode("latin-1")
    if len(b) > 0xBF:
        raise ValueError("text of %d bytes is longer than 191" % len(b))
    return bytes((len(b),)) + b[::-1]


def _parse_point(value, data_type: str):
    if isinstance(value, _dt.datetime):
        return value.year, value.month, value.day, value.hour, value.minute, value.second
    if isinstance(value, _dt.date):
        return value.year, value.month, value.day, 0, 0, 0
    if isinstance(value, _dt.time):
        return 0, 0, 0, value.hour, value.minute, value.second
    if not isinstance(value, str):
        raise ValueError("a point in time must be an ISO string or a date/datetime, got %r" % (value,))
    if data_type == "J":
        t = _dt.time.fromisoformat(value)
        return 0, 0, 0, t.hour, t.minute, t.second
    if "T" in value:
        d = _dt.datetime.fromisoformat(value)
        return d.year, d.month, d.day, d.hour, d.minute, d.second
    d = _dt.date.fromisoformat(value)
    return d.year, d.month, d.day, 0, 0, 0


def _yy(year: int) -> int:
    if not 1981 <= year <= 2080:
        raise ValueError("year %d cannot be coded without hundred-year bits (1981..2080)" % year)
    return year % 100


def _date_bytes(value, data_type: str) -> bytes:
    y, mo, d, h, mi, s = _parse_point(value, data_type)
    if data_type == "J":
        return bytes((s, mi, h))
    if data_type == "G":
        yy = _yy(y)
        return bytes((d | (yy & 0x07) << 5, mo | (yy >> 3) << 4))
    if data_type == "F":
        if s:
            raise ValueError("type F has no seconds (%r)" % (value,))
        if 1981 <= y <= 2080:
            hy, yy = (0, y - 1900) if y < 2000 else (1, y - 2000)
        elif 2100 <= y <= 2199:
            hy, yy = 2, y - 2100
        else:
            raise ValueError("year %d cannot be coded in type F" % y)
        return bytes((mi, h | hy << 5, d | (yy & 0x07) << 5, mo | (yy >> 3) << 4))
    if data_type == "I":
        yy = _yy(y)
        weekday = _dt.date(y, mo, d).isoweekday()
        week = _dt.date(y, mo, d).isocalendar()[1]
        return bytes((s, mi, h | weekday << 5, d | (yy & 0x07) << 5, mo | (yy >> 3) << 4, week))
    raise ValueError("data type %r is not a date/time type" % data_type)


# ---------------------------------------------------------------------------
# VIFEs

def _vife_codes() -> dict:
    names: dict = {}
    for code, (what, name, arg) in enumerate(COMBINABLE_VIFE):
        if what in ("mod", "per", "date", "count", "mfr") and name not in names:
            names[name] = (code,)
    for code, name in COMBINABLE_EXT.items():
        names[name] = (0x7C, code)
    return names


_VIFE_BY_NAME = _vife_codes()
_DUR_CODES: dict = {}
for _code, (_what, _name, _arg) in enumerate(COMBINABLE_VIFE):
    if _what == "dur":
        _DUR_CODES.setdefault(_name, []).append((_arg, _code))
_ERR_CODES = {v: k for k, v in RECORD_ERRORS.items()}
_ACTION_CODES = {v: k for k, v in OBJECT_ACTIONS.items()}
_MULT_VIFE = {Fraction(10) ** (n - 6): 0x70 + n for n in range(8)}
_MULT_VIFE[Fraction(1000)] = 0x7D


def _set_ext(vib: list[int]) -> bytes:
    """Set the extension bit on every byte of a VIB list except the last 'logical' one."""
    return bytes(b | 0x80 if i < len(vib) - 1 else b & 0x7F for i, b in enumerate(vib))


# ---------------------------------------------------------------------------

def _choose_type(raw: int, requested: str | None) -> str:
    if requested is not None:
        if not _fits(raw, requested):
            raise ValueError("raw value %d does not fit data type %s" % (raw, requested))
        return requested
    for t in _INT_TYPES:
        if _fits(raw, t):
            return t
    raise ValueError("raw value %d does not fit 64 bits" % raw)


def _numeric(spec: RecordSpec, quantity: str, unit: str | None, value):
    """-> (vif_bytes_without_ext, data_type, data_bytes) for a scaled number."""
    cands = [c for c in _VIF_INDEX.get(quantity, ()) if (unit is None or c[0] == unit) and c[6] in (K_NUM, K_FLAGS)]
    if not cands:
        raise ValueError("no VIF for quantity %r%s" % (quantity, "" if unit is None else " in " + unit))
    if spec.scale is not None:
        step = _fraction(spec.scale)
        cands = [c for c in cands if c[1] == step]
        if not cands:
            raise ValueError("no VIF for %r with a step of %s" % (quantity, spec.scale))
    dtype = spec.data_type
    if value is None:
        u, step, off, den, prefix, code, kind = cands[0]
        t = dtype or "none"
        return prefix + bytes((code,)), t, b""
    if dtype == "real32":
        # reals: the step 1 VIF where there is one, else the first
        c = next((c for c in cands if c[1] == 1 and c[2] == 0), cands[0])
        u, step, off, den, prefix, code, kind = c
        f = (_fraction(value) * den - off) / (step * den)
        return prefix + bytes((code,)), "real32", struct.pack("<f", float(f))
    fv = _fraction(value)
    # coarsest step first: try every candidate, keep those giving an integer raw value that fits
    best = None
    for c in sorted(cands, key=lambda c: (c[4] != b"", -c[1])):   # primary table first, coarsest step first
        u, step, off, den, prefix, code, kind = c
        raw = (fv * den - off) / (step * den)
        if raw.denominator != 1:
            continue
        raw = int(raw)
        try:
            t = _choose_type(raw, dtype)
        except ValueError:
            continue
        best = (prefix + bytes((code,)), t, raw)
        break
    if best is None:
        raise ValueError("value %r of %r cannot be coded exactly%s" % (value, quantity,
                         "" if dtype is None else " as " + dtype))
    vib, t, raw = best
    if t.startswith("bcd"):
        data = _bcd_bytes(raw, int(t[3:]))
    else:
        data = _int_bytes(raw, DATA_TYPES[t][1])
    return vib, t, data


def _identifier(spec: RecordSpec, vib: bytes):
    v = spec.value
    dtype = spec.data_type
    if v is None:
        return vib, dtype or "none", b""
    if isinstance(v, str) and (dtype == "text" or not v.isdigit()):
        return vib, "text", _text_field(v)
    if isinstance(v, str):
        if dtype is None:
            dtype = {2: "bcd2", 4: "bcd4", 6: "bcd6", 8: "bcd8", 12: "bcd12"}.get(len(v) + len(v) % 2)
            if dtype is None:
                return vib, "text", _text_field(v)
        if not dtype.startswith("bcd"):
            raise ValueError("identifier %r needs a BCD or text data type, not %s" % (v, dtype))
        return vib, dtype, _digits_bcd(v, int(dtype[3:]))
    if isinstance(v, int) and not isinstance(v, bool):
        if dtype is None:
            dtype = next(t for t in _INT_TYPES if v < 1 << (8 * DATA_TYPES[t][1]))
        if dtype.startswith("bcd"):
            return vib, dtype, _bcd_bytes(v, int(dtype[3:]))
        return vib, dtype, _int_bytes(v, DATA_TYPES[dtype][1], signed=False)
    raise ValueError("cannot encode identifier %r" % (v,))


def encode_record(spec: RecordSpec) -> bytes:
    """DIF, DIFEs, VIF, VIFEs and data of one record."""
    if spec.function not in _FUNCTION_BITS:
        raise ValueError("function must be one of %s" % ", ".join(FUNCTIONS))
    quantity = spec.quantity
    mods = [m for m in spec.modifiers if m not in ("date_of_maximum", "date_of_minimum")]
    vifes: list[int] = []
    date_of = [m for m in mods if m in _VIFE_BY_NAME and COMBINABLE_VIFE[_VIFE_BY_NAME[m][0]][0] == "date"]
    dur_of = [m for m in mods if m in _DUR_CODES]
    count_of = [m for m in mods if m in _VIFE_BY_NAME and COMBINABLE_VIFE[_VIFE_BY_NAME[m][0]][0] == "count"]
    plain_text = None
    dtype = spec.data_type
    data: bytes
    if spec.vif is not None:
        vib = bytes((spec.vif,)) if isinstance(spec.vif, int) else bytes(spec.vif)
        dtype = dtype or ("none" if spec.value is None and spec.raw_data is None else None)
        if spec.raw_data is None and dtype != "none":
            if not isinstance(spec.value, int):
                raise ValueError("with an explicit vif give raw_data or an integer value (the raw number)")
            dtype = _choose_type(spec.value, dtype)
            data = (_bcd_bytes(spec.value, int(dtype[3:])) if dtype.startswith("bcd")
                    else _int_bytes(spec.value, DATA_TYPES[dtype][1]))
        else:
            data = b"" if spec.raw_data is None else bytes(spec.raw_data)
        base = None
    else:
        base_q = spec.subject if (date_of or dur_of or count_of) else quantity
        if base_q is None:
            raise ValueError("modifier %s needs subject= (the quantity it is about)" % (date_of or dur_of or count_of)[0])
        if date_of or dur_of or count_of:
            cands = _VIF_INDEX.get(base_q, ())
            if not cands:
                raise ValueError("no VIF for quantity %r" % base_q)
            u, step, off, den, prefix, code, kind = cands[0]
            base = prefix + bytes((code,))
            if date_of:
                vifes.append(_VIFE_BY_NAME[date_of[0]][0])
                dtype = dtype or ("G" if quantity == "date" else "J" if quantity == "time" else "F")
                data = _date_bytes(spec.value, dtype) if spec.raw_data is None else bytes(spec.raw_data)
            elif count_of:
                vifes.append(_VIFE_BY_NAME[count_of[0]][0])
                raw = int(spec.value)
                dtype = _choose_type(raw, dtype)
                data = _bcd_bytes(raw, int(dtype[3:])) if dtype.startswith("bcd") else _int_bytes(raw, DATA_TYPES[dtype][1])
            else:
                secs = _fraction(spec.value)
                for factor, c in sorted(_DUR_CODES[dur_of[0]], reverse=True):
                    if (secs / factor).denominator == 1:
                        vifes.append(c)
                        raw = int(secs / factor)
                        break
                else:
                    raise ValueError("duration %r s is not a whole number of seconds" % (spec.value,))
                dtype = _choose_type(raw, dtype)
                data = _bcd_bytes(raw, int(dtype[3:])) if dtype.startswith("bcd") else _int_bytes(raw, DATA_TYPES[dtype][1])
            mods = [m for m in mods if m not in date_of + dur_of + count_of]
        elif quantity == "plain_text":
            if not spec.unit:
                raise ValueError("plain_text needs unit= (the unit text)")
            plain_text = spec.unit.encode("latin-1")
            base = None
            if isinstance(spec.value, str):
                dtype, data = "text", _text_field(spec.value)
            elif spec.value is None:
                dtype, data = dtype or "none", b""
            else:
                step = _fraction(spec.scale if spec.scale is not None else 1)
                if step != 1:
                    if step not in _MULT_VIFE:
                        raise ValueError("plain_text scale must be a power of ten 1e-6..1e1 or 1000")
                    vifes.append(_MULT_VIFE[step])
                raw = _fraction(spec.value) / step
                if raw.denominator != 1:
                    raise ValueError("value %r is not a whole multiple of %s" % (spec.value, step))
                dtype = _choose_type(int(raw), dtype)
                data = (_bcd_bytes(int(raw), int(dtype[3:])) if dtype.startswith("bcd")
                        else _int_bytes(int(raw), DATA_TYPES[dtype][1]))
        elif quantity == "manufacturer_specific":
            base = b"\x7F"
            raw = 0 if spec.value is None else int(spec.value)
            dtype = _choose_type(raw, dtype) if spec.raw_data is None else dtype
            data = bytes(spec.raw_data) if spec.raw_data is not None else (
                _bcd_bytes(raw, int(dtype[3:])) if dtype.startswith("bcd") else _int_bytes(raw, DATA_TYPES[dtype][1]))
        else:
            cands = _VIF_INDEX.get(quantity)
            if quantity in ("date", "datetime", "time"):
                base = b"\x6C" if quantity == "date" else b"\x6D"
                dtype = dtype or {"date": "G", "datetime": "F", "time": "J"}[quantity]
                data = _date_bytes(spec.value, dtype) if spec.raw_data is None else bytes(spec.raw_data)
            elif not cands:
                raise ValueError("unknown quantity %r (give vif= for anything exotic)" % quantity)
            else:
                kind = cands[0][6]
                if kind == K_RAW:
                    base = cands[0][4] + bytes((cands[0][5],))
                    raw = 0 if spec.value is None else int(spec.value)
                    dtype = _choose_type(raw, dtype) if spec.raw_data is None else dtype
                    data = bytes(spec.raw_data) if spec.raw_data is not None else (
                        _bcd_bytes(raw, int(dtype[3:])) if dtype.startswith("bcd")
                        else _int_bytes(raw, DATA_TYPES[dtype][1]))
                elif kind in (K_ID, K_MAN):
                    base = cands[0][4] + bytes((cands[0][5],))
                    if kind == K_MAN and isinstance(spec.value, str):
                        dtype, data = "int16", _int_bytes(manufacturer_code_to_int(spec.value), 2, signed=False)
                    else:
                        base, dtype, data = _identifier(spec, base)
                elif kind == K_DATE:
                    base = cands[0][4] + bytes((cands[0][5],))
                    dtype = dtype or "F"
                    data = _date_bytes(spec.value, dtype) if spec.raw_data is None else bytes(spec.raw_data)
                elif spec.raw_data is not None:
                    base = cands[0][4] + bytes((cands[0][5],))
                    data = bytes(spec.raw_data)
                else:
                    base, dtype, data = _numeric(spec, quantity, spec.unit, spec.value)
        for m in mods:
            if m not in _VIFE_BY_NAME:
                raise ValueError("unknown modifier %r" % m)
            vifes.extend(_VIFE_BY_NAME[m])
        if spec.record_error is not None:
            vifes.append(_ERR_CODES[spec.record_error])
        if spec.action is not None:
            vifes.append(_ACTION_CODES[spec.action])
        if plain_text is not None:
            if len(plain_text) > 0xFF:
                raise ValueError("plain-text unit too long")
            head = bytes((0xFC if vifes else 0x7C, len(plain_text))) + plain_text[::-1]
            vib = head + _set_ext(vifes) if vifes else head
        else:
            parts = list(base) + vifes
            if base[0] in (0xFB, 0xFD):
                parts[0] = base[0]
                vib = bytes((base[0],)) + _set_ext(parts[1:])
            else:
                vib = _set_ext(parts)
    if dtype is None:
        raise ValueError("data_type is needed")
    if dtype not in DATA_TYPES:
        raise ValueError("unknown data type %r" % dtype)
    code, length = DATA_TYPES[dtype]
    if length >= 0 and len(data) != length:
        raise ValueError("data of %d byte(s) does not fit %s (%d)" % (len(data), dtype, length))
    return _dib(spec, code) + vib + data


def _dib(spec: RecordSpec, data_code: int) -> bytes:
    storage, tariff, subunit = spec.storage, spec.tariff, spec.subunit
    if min(storage, tariff, subunit) < 0:
        raise ValueError("storage, tariff and subunit must not be negative")
    dif = data_code | _FUNCTION_BITS[spec.function] | (storage & 1) << 6
    storage >>= 1
    difes = []
    while storage or tariff or subunit:
        difes.append((storage & 0x0F) | (tariff & 0x03) << 4 | (subunit & 1) << 6)
        storage >>= 4
        tariff >>= 2
        subunit >>= 1
    if len(difes) > 10:
        raise ValueError("storage/tariff/subunit need more than 10 DIFEs")
    if not difes:
        return bytes((dif,))
    return bytes((dif | 0x80,)) + bytes(d | 0x80 for d in difes[:-1]) + bytes((difes[-1],))


# ---------------------------------------------------------------------------
# telegrams

_MEDIUM_CODES = {v: k for k, v in MEDIUM_NAMES.items()}


def _records_bytes(records) -> bytes:
    return b"".join(r if isinstance(r, (bytes, bytearray)) else encode_record(r) for r in records)


def encode_variable_data(records=(), *, identification="00000000", manufacturer="KAM", version=0,
                         medium=0x04, access_number=0, status=0, signature=0,
                         manufacturer_data: bytes = b"", more_records_follow: bool = False,
                         security: int = 0, key: bytes | None = None) -> bytes:
    """User data of a CI 0x72 response: 12-byte header, records, optional DIF 0x0F/0x1F block.

    ``security=5`` with a 16-byte ``key``: the records encrypted in security mode 5 (AES-128-CBC, IV =
    the header's address + 8 x access number; ``2F 2F`` in front, ``2F`` fillers to whole blocks); the
    configuration field takes the place of ``signature``; a DIF 0x0F/0x1F block follows unencrypted."""
    if isinstance(identification, int):
        identification = "%08d" % identification
    ident = _digits_bcd(str(identification), 8)
    man = manufacturer_code_to_int(manufacturer) if isinstance(manufacturer, str) else int(manufacturer)
    med = _MEDIUM_CODES[medium] if isinstance(medium, str) else int(medium)
    body = _records_bytes(records)
    tail = b""
    if manufacturer_data or more_records_follow:
        tail = bytes((0x1F if more_records_follow else 0x0F,)) + bytes(manufacturer_data)
    if security == 5:
        from .security import aes_cbc_encrypt, mode5_iv

        if key is None or len(key) != 16:
            raise ValueError("security mode 5 needs a 16-byte key")
        plain = b"\x2f\x2f" + body
        plain += b"\x2f" * (-len(plain) % 16)
        blocks = len(plain) // 16
        if blocks > 15:
            raise ValueError("too many records for one encrypted telegram: %d AES blocks (15 at most)" % blocks)
        signature = (5 << 8) | (blocks << 4)
        address8 = man.to_bytes(2, "little") + ident + bytes((version, med))
        body = aes_cbc_encrypt(bytes(key), mode5_iv(address8, access_number), plain)
    elif security:
        raise ValueError("security must be 0 or 5 for a wired telegram")
    header = ident + man.to_bytes(2, "little") + bytes((version, med, access_number, status)) + \
        int(signature).to_bytes(2, "little")
    return header + body + tail


def encode_rsp_ud(records=(), *, address: int = 0, c_field: int = RSP_UD, **header) -> bytes:
    """A complete RSP_UD long frame (CI 0x72) with checksum; header keywords as encode_variable_data."""
    return long_frame(c_field, address, 0x72, encode_variable_data(records, **header))


def encode_application_error(code: int | None = 0, *, address: int = 0, c_field: int = RSP_UD) -> bytes:
    """A CI 0x70 application error response (``code=None``: a control frame without code byte)."""
    return long_frame(c_field, address, 0x70, b"" if code is None else bytes((code,)))


def encode_selection(identification: str = "FFFFFFFF", manufacturer: str | None = None, version: int | None = None,
                     medium: int | str | None = None, *, c_field: int = SND_UD) -> bytes:
    """SND_UD to address 0xFD with CI 0x52: select a slave by secondary address.

    ``identification`` is 8 hex digits where F is a wildcard digit (``"1234FFFF"``);
    ``None`` for manufacturer, version or medium means "any" (FFFF / FF / FF).
    """
    ident = str(identification).upper()
    if len(ident) != 8 or any(ch not in "0123456789F" for ch in ident):
        raise ValueError("identification must be 8 digits 0-9 or F (wildcard), got %r" % (identification,))
    man = 0xFFFF if manufacturer is None else manufacturer_code_to_int(manufacturer)
    ver = 0xFF if version is None else int(version)
    med = 0xFF if medium is None else (_MEDIUM_CODES[medium] if isinstance(medium, str) else int(medium))
    payload = bytes.fromhex(ident)[::-1] + man.to_bytes(2, "little") + bytes((ver, med))
    return long_frame(c_field, ADDRESS_SECONDARY, 0x52, payload)
