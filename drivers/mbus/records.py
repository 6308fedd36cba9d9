"""EN 13757-3 data records: DIF/VIF structure, value decoding, scaling.

:func:`parse_records` turns the bytes of a variable data structure into
:class:`~drivers.mbus.model.Record` objects. The hot path is plain Python over
precomputed tables; a value is scaled with integer arithmetic and divided once,
so it is exact to the last digit the data carries (an ``int`` whenever the
result is whole).
"""
from __future__ import annotations

import math
import struct

from .errors import MBusError
from .model import Record
from .tables import (
    COMBINABLE_EXT, COMBINABLE_VIFE, DATA_IS_BCD, DATA_LENGTH, FB_VIF, FD_VIF, FUNCTIONS, K_DATE, K_FLAGS,
    K_ID, K_MAN, K_NUM, K_RAW, MANUFACTURER_SPECIFIC, OBJECT_ACTIONS, PRIMARY_VIF, UNKNOWN,
    manufacturer_int_to_code,
)

__all__ = ["parse_records", "MAX_DIFE", "MAX_VIFE", "bcd_value", "scale"]

assert (K_NUM, K_ID, K_DATE) == (0, 1, 2)   # the record loop tests these kinds as literals

MAX_DIFE = 10   # EN 13757-3: at most 10 DIFEs per record
MAX_VIFE = 10   # and at most 10 VIFEs


# ---------------------------------------------------------------------------
# VIB resolution (cached per distinct VIB byte string)
#
# A resolved VIB is a tuple
#   (quantity, unit, mul, den, off, kind, modifiers, subject, record_error, action, date_of)

def _res(info) -> tuple:
    return info + ((), None, None, None, False)


_PRIMARY_RES = [None if i is None else _res(i) for i in PRIMARY_VIF]
_UNKNOWN_RES = _res(UNKNOWN)
_MFR_RES = _res(MANUFACTURER_SPECIFIC)
_VIB_CACHE: dict = {}          # VIB bytes -> resolved meaning, slave-to-master frames
_VIB_CACHE_M2S: dict = {}      # the same for master-to-slave frames (E00x xxxx are actions there)


def _resolve_vib(vib: bytes, m2s: bool) -> tuple:
    """Meaning of a VIF plus its VIFEs (structure already checked by the scanner)."""
    vif = vib[0]
    code = vif & 0x7F
    i = 1
    plain_text = None
    if code == 0x7B:
        base = FB_VIF[vib[1] & 0x7F]
        ext = vib[1] & 0x80
        i = 2
    elif code == 0x7D:
        ext = vib[1] & 0x80
        if (vib[1] & 0x7F) == 0x7D:                 # 0xFD 0xFD: second-level table (2013)
            base = UNKNOWN
            i = 2
            if ext:
                ext = vib[2] & 0x80
                i = 3
        else:
            base = FD_VIF[vib[1] & 0x7F]
            i = 2
    elif code == 0x7C:
        n = vib[1]
        plain_text = vib[2:2 + n][::-1].decode("latin-1")
        base = ("plain_text", plain_text, 1, 1, 0, K_NUM)
        i = 2 + n
        ext = vif & 0x80
    elif code == 0x7F:
        # manufacturer-specific VIF: its VIFEs are manufacturer specific too (not combinable codes)
        return _MFR_RES
    else:
        base = PRIMARY_VIF[code]
        ext = vif & 0x80
    quantity, unit, mul, den, off, kind = base
    mods: list = []
    subject = None
    record_error = None
    action = None
    date_of = False
    unknown = base is UNKNOWN
    changed = False          # a VIFE already changed what the value is
    vifes = vib[i:] if ext else b""
    j = 0
    nv = len(vifes)
    while j < nv:
        c = vifes[j] & 0x7F
        j += 1
        what, name, arg = COMBINABLE_VIFE[c]
        if what == "err":
            if m2s:
                action = OBJECT_ACTIONS.get(c, "reserved_0x%02x" % c)
            else:
                record_error = name
        elif what == "mod":
            mods.append(name)
        elif what == "per":
            mods.append(name)
            unit = (unit or "1") + arg
        elif what == "mul":
            if arg >= 0:
                mul *= 10 ** arg
            else:
                den *= 10 ** -arg
                off *= 10 ** -arg
        elif what == "ext":
            if j < nv and (vifes[j] & 0x7F) in COMBINABLE_EXT:
                mods.append(COMBINABLE_EXT[vifes[j] & 0x7F])
            else:
                unknown = True
            j += 1
        elif what == "mfr":
            # EN 13757-3: the following VIFEs and the data are manufacturer specific
            if not unknown and quantity not in ("manufacturer_specific", "plain_text"):
                subject = quantity
            quantity, unit, mul, den, off, kind = MANUFACTURER_SPECIFIC
            mods.append(name)
            unknown = False
            break
        elif what in ("date", "count", "dur"):
            if changed or kind == K_DATE or kind == K_ID or unknown:
                unknown = True
                continue
            changed = True
            subject = quantity
            mods.append(name)
            if what == "date":
                quantity, unit, mul, den, off, kind = "date", "", 1, 1, 0, K_DATE
                date_of = True
            elif what == "count":
                quantity, unit, mul, den, off, kind = "exceed_count", "", 1, 1, 0, K_NUM
            else:
                quantity, unit, mul, den, off, kind = "duration", "s", arg, 1, 0, K_NUM
        else:                                       # "unk": reserved / no exact meaning
            unknown = True
    if unknown:
        quantity, unit, mul, den, off, kind = UNKNOWN
        if plain_text is not None:
            unit = plain_text
    return (quantity, unit, mul, den, off, kind, tuple(mods), subject, record_error, action, date_of)


# ---------------------------------------------------------------------------
# values

_UNPACK_F_LE = struct.Struct("<f").unpack
_UNPACK_F_BE = struct.Struct(">f").unpack
_INT_CODES = (False, True, True, True, True, False, True, True, False, False, False, False, False, False, False, False)
_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _bcd(chunk: bytes, msb: bool):
    """(number or None). Sign nibble F in the most significant position = negative."""
    s = chunk.hex() if msb else chunk[::-1].hex()
    if s.isdigit():
        return int(s)
    if s[0] == "f" and (len(s) == 1 or s[1:].isdigit()):
        return -int(s[1:] or "0")
    return None


_INVALID = ("date_invalid",)
_UNSET = ("date_unset",)
_PERIODIC = ("date_periodic",)


def _bad_day(y: int, m: int, d: int) -> bool:
    """True unless y-m-d is a calendar date."""
    if m < 1 or m > 12 or d < 1 or d > _DAYS[m]:
        return True
    return m == 2 and d == 29 and (y % 4 != 0 or (y % 100 == 0 and y % 400 != 0))


def _type_g(c: bytes):
    """Type G (date): (value, flags). yy <= 80 -> 20yy, else 19yy."""
    b0, b1 = c
    if not (b0 or b1):
        return None, _UNSET
    d = b0 & 0x1F
    m = b1 & 0x0F
    yy = (b0 >> 5) | ((b1 & 0xF0) >> 1)
    if yy == 127 or m == 15:
        return None, _PERIODIC
    if yy > 99:
        return None, _INVALID
    y = 2000 + yy if yy <= 80 else 1900 + yy
    if _bad_day(y, m, d):
        return None, _INVALID
    return "%04d-%02d-%02d" % (y, m, d), ()


def _type_f(c: bytes):
    """Type F (date and time, no seconds): 1900 + 100*HY + yy; HY = 0 and yy <= 80 -> 20yy."""
    b0, b1, b2, b3 = c
    if not (b0 or b1 or b2 or b3):
        return None, _UNSET
    if b0 & 0x80:
        return None, _INVALID
    mi = b0 & 0x3F
    h = b1 & 0x1F
    hy = (b1 >> 5) & 0x03
    d = b2 & 0x1F
    m = b3 & 0x0F
    yy = (b2 >> 5) | ((b3 & 0xF0) >> 1)
    if yy == 127 or m == 15:
        return None, _PERIODIC
    if yy > 99:
        return None, _INVALID
    y = 2000 + yy if (hy == 0 and yy <= 80) else 1900 + 100 * hy + yy
    if mi > 59 or h > 23 or _bad_day(y, m, d):
        return None, _INVALID
    return "%04d-%02d-%02dT%02d:%02d:00" % (y, m, d, h, mi), ()


def _type_i(c: bytes):
    """Type I (date and time with seconds, 6 bytes); century as type G."""
    b0, b1, b2, b3, b4 = c[:5]
    if not any(c):
        return None, _UNSET
    if b1 & 0x80:
        return None, _INVALID
    sec = b0 & 0x3F
    mi = b1 & 0x3F
    h = b2 & 0x1F
    d = b3 & 0x1F
    m = b4 & 0x0F
    yy = (b3 >> 5) | ((b4 & 0xF0) >> 1)
    if yy == 127 or m == 15:
        return None, _PERIODIC
    if yy > 99:
        return None, _INVALID
    y = 2000 + yy if yy <= 80 else 1900 + yy
    if sec > 59 or mi > 59 or h > 23 or _bad_day(y, m, d):
        return None, _INVALID
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (y, m, d, h, mi, sec), ()


def _type_j(c: bytes):
    """Type J (time of day)."""
    if not any(c):
        return None, _UNSET
    sec, mi, h = c[0] & 0x3F, c[1] & 0x3F, c[2] & 0x1F
    if sec > 59 or mi > 59 or h > 23:
        return None, _INVALID
    return "%02d:%02d:%02d" % (h, mi, sec), ()


# data length -> (decoder, quantity name for VIF 0x6C/0x6D and the "date of ..." VIFEs)
_DATE_TYPES = {2: (_type_g, "date"), 3: (_type_j, "time"), 4: (_type_f, "datetime"), 6: (_type_i, "datetime")}


def _lvar_value(lvar: int, chunk: bytes, kind: int, msb: bool):
    """(value, flags) for a variable-length data field (DIF data code 0x0D)."""
    if lvar < 0xC0:                                 # text, last character first (mode 1)
        return (chunk if msb else chunk[::-1]).decode("latin-1"), ()
    if lvar < 0xE0:                                 # BCD, 0xC0.. positive, 0xD0.. negative
        s = chunk.hex() if msb else chunk[::-1].hex()
        if not s.isdigit() and s:
            return None, ("invalid_bcd",)
        if kind == K_ID:
            return s, ()
        v = int(s or "0")
        return (-v if lvar >= 0xD0 else v), ()
    if len(chunk) > 8:                              # long binary (keys, hashes): hex, MSB first
        return (chunk if msb else chunk[::-1]).hex().upper(), ("binary_as_hex",)
    signed = kind not in (K_ID, K_FLAGS)
    return int.from_bytes(chunk, "big" if msb else "little", signed=signed), ()


def _scale(v, mul: int, den: int, off: int):
    if v.__class__ is int:
        if den == 1:
            return v * mul + off
        n = v * mul + off
        q, r = divmod(n, den)
        return q if r == 0 else n / den
    return (v * mul + off) / den


# ---------------------------------------------------------------------------
# records

def _scan_vib_end(raw: bytes, pos: int, end: int) -> int:
    """Index after the VIB starting at ``pos`` (VIF with ext bit or VIF 0x7B..0x7F)."""
    vif = raw[pos]
    p = pos + 1
    code = vif & 0x7F
    if code == 0x7C:
        if p >= end:
            raise MBusError("premature end of record at byte %d: plain-text VIF length expected" % p, p)
        ln = raw[p]
        if p + 1 + ln > end:
            raise MBusError("plain-text VIF length 0x%02X at byte %d exceeds the %d remaining byte(s)"
                            % (ln, p, end - p - 1), p)
        p += 1 + ln
    elif (code == 0x7B or code == 0x7D) and not vif & 0x80:
        raise MBusError("VIF 0x%02X at byte %d announces an extension table but has no extension byte"
                        % (vif, pos), pos)
    ext = vif & 0x80
    n = 0
    while ext:
        if p >= end:
            raise MBusError("premature end of record at byte %d: VIFE expected" % p, p)
        b = raw[p]
        n += 1
        if n > MAX_VIFE:
            raise MBusError("more than %d VIFEs in one record at byte %d" % (MAX_VIFE, p), p)
        p += 1
        ext = b & 0x80
    return p


def parse_records(raw: bytes, pos: int, end: int, msb: bool, m2s: bool):
    """Variable data records in raw[pos:end] -> (records, manufacturer_data, more_records_follow)."""
    records = []
    append = records.append
    primary = _PRIMARY_RES
    cache = _VIB_CACHE_M2S if m2s else _VIB_CACHE
    data_len = DATA_LENGTH
    int_codes = _INT_CODES
    is_bcd = DATA_IS_BCD
    functions = FUNCTIONS
    order = "big" if msb else "little"
    from_bytes = int.from_bytes
    isfinite = math.isfinite
    while pos < end:
        dif = raw[pos]
        if dif == 0x2F:                             # idle filler
            pos += 1
            continue
        start = pos
        pos += 1
        dcode = dif & 0x0F
        if dcode == 0x0F:
            if dif == 0x0F or dif == 0x1F:
                return records, raw[pos:end], dif == 0x1F
            if dif == 0x7F and m2s:                 # global readout request
                append(Record(0, 0, 0, "instantaneous", "global_readout_request", "", None,
                              raw[start:pos], 1, 1))
                continue
            raise MBusError("reserved special-function DIF 0x%02X at byte %d" % (dif, start), start)
        storage = (dif >> 6) & 1
        tariff = subunit = 0
        if dif & 0x80:
            k = 0
            while True:
                if pos >= end:
                    raise MBusError("premature end of record at byte %d: DIFE expected after 0x%02X"
                                    % (pos, raw[pos - 1]), pos)
                dife = raw[pos]
                k += 1
                if k > MAX_DIFE:
                    raise MBusError("more than %d DIFEs in one record at byte %d" % (MAX_DIFE, pos), pos)
                pos += 1
                storage |= (dife & 0x0F) << (4 * k - 3)
                tariff |= ((dife >> 4) & 0x03) << (2 * k - 2)
                subunit |= ((dife >> 6) & 0x01) << (k - 1)
                if not dife & 0x80:
                    break
        vib_off = pos - start
        if pos >= end:
            raise MBusError("premature end of record at byte %d: VIF expected after the DIB at byte %d"
                            % (pos, start), pos)
        vif = raw[pos]
        if vif < 0x7B:
            res = primary[vif]
            pos += 1
        else:
            vend = _scan_vib_end(raw, pos, end)
            key = raw[pos:vend]
            res = cache.get(key)
            if res is None:
                if len(cache) > 8192:
                    cache.clear()
                res = cache[key] = _resolve_vib(key, m2s)
            pos = vend
        data_off = pos - start
        length = data_len[dcode]
        lvar = -1
        if length >= 0:
            dend = pos + length
            if dend > end:
                raise MBusError("premature end of data at byte %d: record at byte %d (DIF 0x%02X) needs %d "
                                "data byte(s), %d left" % (end, start, dif, length, end - pos), end)
            chunk = raw[pos:dend]
        else:
            if pos >= end:
                raise MBusError("premature end of data at byte %d: LVAR byte expected" % pos, pos)
            lvar = raw[pos]
            if lvar < 0xC0:
                n = lvar
            elif lvar <= 0xC9:
                n = lvar - 0xC0
            elif 0xD0 <= lvar <= 0xD9:
                n = lvar - 0xD0
            elif 0xE0 <= lvar <= 0xEF:
                n = lvar - 0xE0
            elif 0xF0 <= lvar <= 0xF4:
                n = 4 * (lvar - 0xEC)
            else:
                raise MBusError("reserved LVAR 0x%02X at byte %d" % (lvar, pos), pos)
            dend = pos + 1 + n
            if dend > end:
                raise MBusError("premature end of data at byte %d: LVAR 0x%02X at byte %d needs %d byte(s), "
                                "%d left" % (end, lvar, pos, n, end - pos - 1), end)
            chunk = raw[pos + 1:dend]
        pos = dend
        quantity, unit, mul, den, off, kind, mods, subject, rec_err, action, date_of = res
        function = functions[(dif >> 4) & 3]
        flags = ()
        # ---- value
        if kind == 0:                                # K_NUM, the hot path
            if int_codes[dcode]:
                v = from_bytes(chunk, order, signed=True)
            elif is_bcd[dcode]:
                s = chunk.hex() if msb else chunk[::-1].hex()
                if s.isdigit():
                    v = int(s)
                elif s[0] == "f" and (len(s) == 1 or s[1:].isdigit()):
                    v = -int(s[1:] or "0")
                else:
                    v = None
                    flags = ("invalid_bcd",)
            elif dcode == 5:
                v = (_UNPACK_F_BE if msb else _UNPACK_F_LE)(chunk)[0]
                if not isfinite(v):
                    v = None
                    flags = ("not_finite",)
            elif lvar >= 0:
                v, flags = _lvar_value(lvar, chunk, kind, msb)
                if v.__class__ is str:
                    mul = den = 1
                    off = 0
            else:
                v = None
            if v is not None:
                if den == 1:
                    if mul != 1 or off:
                        v = v * mul + off
                elif v.__class__ is int:
                    n = v * mul + off
                    q, rem = divmod(n, den)
                    v = n / den if rem else q
                elif v.__class__ is float:
                    v = (v * mul + off) / den
        elif kind == 2:                              # K_DATE
            dt = _DATE_TYPES.get(length) if int_codes[dcode] else None
            if dt is not None:
                v, flags = dt[0](chunk[::-1] if msb else chunk)
                if quantity == "date" or quantity == "datetime":
                    quantity = dt[1]
            elif dcode == 0 or dcode == 8:
                v = None
            else:
                v = None
                flags = ("date_type_mismatch",)
                if quantity == "date" or quantity == "datetime":
                    quantity, unit = "unknown", ""
        elif kind == 1:                              # K_ID
            if is_bcd[dcode]:
                s = chunk.hex() if msb else chunk[::-1].hex()
                if s.isdigit():
                    v = s
                else:
                    v = None
                    flags = ("invalid_bcd",)
            elif int_codes[dcode]:
                v = from_bytes(chunk, order, signed=False)
            elif lvar >= 0:
                v, flags = _lvar_value(lvar, chunk, kind, msb)
            elif dcode == 5:
                v = (_UNPACK_F_BE if msb else _UNPACK_F_LE)(chunk)[0]
                if not math.isfinite(v):
                    v = None
                    flags = ("not_finite",)
            else:
                v = None
        else:                                        # K_RAW, K_FLAGS, K_MAN: unscaled
            if int_codes[dcode]:
                v = int.from_bytes(chunk, order, signed=(kind == K_RAW))
                if kind == K_MAN and length == 2:
                    v = manufacturer_int_to_code(v)
            elif is_bcd[dcode]:
                v = _bcd(chunk, msb)
                if v is None:
                    flags = ("invalid_bcd",)
            elif dcode == 5:
                v = (_UNPACK_F_BE if msb else _UNPACK_F_LE)(chunk)[0]
                if not math.isfinite(v):
                    v = None
                    flags = ("not_finite",)
            elif lvar >= 0:
                v, flags = _lvar_value(lvar, chunk, kind, msb)
            else:
                v = None
        if rec_err == "no_data_available":
            v = None
        if date_of and function in ("maximum", "minimum"):
            mods = ("date_of_" + function,) + mods
        append(Record(storage, tariff, subunit, function, quantity, unit, v, raw[start:pos],
                      vib_off, data_off, mods, flags, subject, rec_err, action))
    return records, b"", False



bcd_value = _bcd
scale = _scale
