"""Stand-in RSP_UD encoding for the simulator's records.

The decoder package documents a telegram encoder (``drivers.mbus.encoder``)
for tests and this simulator; until it is in the tree, this thin layer codes
the few record shapes the simulated meters use (integers, BCD, dates type G,
date-times type F) and frames them with :func:`drivers.mbus.long_frame`
(which does the length fields and the checksum). :func:`drivers.framing.encode_rsp_ud`
prefers the package's encoder whenever it is importable.
"""
from __future__ import annotations

import datetime as _dt

from drivers.address import manufacturer_code
from drivers.mbus import frame as _fr

_DATA_CODE = {"int8": 1, "int16": 2, "int24": 3, "int32": 4, "int48": 6, "int64": 7,
              "bcd2": 9, "bcd4": 0xA, "bcd6": 0xB, "bcd8": 0xC, "bcd12": 0xE, "date": 2, "datetime": 4}
_LEN = {1: 1, 2: 2, 3: 3, 4: 4, 6: 6, 7: 8, 9: 1, 0xA: 2, 0xB: 3, 0xC: 4, 0xE: 6}
_FUNCTION = {"instantaneous": 0, "maximum": 1, "minimum": 2, "error": 3}


def _bcd(raw: int, n: int) -> bytes:
    neg = raw < 0
    digits = f"{abs(raw):0{2 * n}d}"[-2 * n:]
    if neg:
        digits = "F" + digits[1:]
    return bytes(int(digits[i:i + 2], 16) for i in range(2 * n - 2, -2, -2))


def _type_g(d: _dt.date) -> bytes:
    yy = d.year % 100
    return bytes([d.day | ((yy & 7) << 5), d.month | ((yy >> 3) << 4)])


def _type_f(t: _dt.datetime) -> bytes:
    yy = t.year % 100
    return bytes([t.minute, t.hour, t.day | ((yy & 7) << 5), t.month | ((yy >> 3) << 4)])


def encode_record(rec) -> bytes:
    from drivers.simulator.layouts import VIF_SCALE

    code = _DATA_CODE[rec.coding]
    dif = code | (_FUNCTION[rec.function] << 4) | ((rec.storage & 1) << 6)
    difes = []
    st, ta, su = rec.storage >> 1, rec.tariff, rec.subunit
    while st or ta or su:
        difes.append((st & 0xF) | ((ta & 3) << 4) | ((su & 1) << 6))
        st, ta, su = st >> 4, ta >> 2, su >> 1
    for i in range(len(difes) - 1):
        difes[i] |= 0x80
    if difes:
        dif |= 0x80
    vib = [rec.vif | (0x80 if rec.vife else 0)]
    for i, v in enumerate(rec.vife):
        vib.append(v | (0x80 if i < len(rec.vife) - 1 else 0))
    if rec.coding == "date":
        data = _type_g(_dt.date.fromisoformat(rec.value))
    elif rec.coding == "datetime":
        data = _type_f(_dt.datetime.fromisoformat(rec.value))
    else:
        n = _LEN[code]
        if isinstance(rec.value, str):
            raw = int(rec.value)
        else:
            raw = int(round(rec.value / VIF_SCALE[rec.vif][2]))
        data = _bcd(raw, n) if code >= 9 else raw.to_bytes(n, "little", signed=True)
    return bytes([dif, *difes, *vib]) + data


def encode_rsp_ud(*, address: int, identification: str, manufacturer: str, version: int, medium: int,
                  access_number: int, status: int, records: list, more_records_follow: bool) -> bytes:
    header = _bcd(int(identification), 4) + manufacturer_code(manufacturer).to_bytes(2, "little") + \
        bytes([version, medium, access_number, status, 0, 0])
    body = header + b"".join(encode_record(r) for r in records) + (b"\x1F" if more_records_follow else b"")
    return _fr.long_frame(_fr.RSP_UD, address, _fr.CI_RESP_VARIABLE, body)
