"""Transport layer (EN 13757-7) shared by wired frames and wireless telegrams:
short and long headers, the configuration field and what it says about
encryption, then the data records.

:func:`decode_transport` reads one transport layer starting at its CI field and
fills a :class:`~drivers.mbus.model.Telegram`. Encrypted data is decrypted when
the key lookup has the meter's key; otherwise the records are withheld
(``security_reason``) and never decoded from ciphertext.
"""
from __future__ import annotations

from .errors import MBusError
from .model import Telegram
from .records import parse_records
from .security import (
    _ZERO_IV, LEGACY_WIRED_MODES, SUPPORTED_MODES, Afl, ConfigField, KeyLookup, aes_cbc_decrypt, aes_cmac,
    cbc_blocks, check_key, derive_key, mode5_iv, parse_afl, parse_config, wrong_key,
)
from .tables import application_error_name, manufacturer_int_to_code, medium_name

__all__ = ["decode_transport", "LONG_CIS", "SHORT_CIS", "Identity"]

# (manufacturer FLAG code, identification digits, identification bytes as sent, address8 for the mode 5 IV)
Identity = tuple

# CI -> (header kind, what follows): "apl" data records, "error" application error, "alarm", "none"
LONG_CIS = {0x72: "apl", 0x76: "apl", 0x6F: "error", 0x75: "alarm", 0x8B: "none"}
SHORT_CIS = {0x7A: "apl", 0x6E: "error", 0x74: "alarm", 0x8A: "none"}
COMPACT_CIS = {0x73: "long", 0x79: "no", 0x7B: "short"}

_LEGACY_NOTE = "reserved security mode in a wired header: read as a legacy signature (not encrypted)"


def _identity(man: int, idb: bytes, version: int, dtype: int) -> Identity:
    """Identity of an address given as sent (least significant bytes first)."""
    address8 = bytes((man & 0xFF, man >> 8)) + idb + bytes((version, dtype))
    return manufacturer_int_to_code(man), idb[::-1].hex().upper(), idb, address8


def _read_long(t: Telegram, raw: bytes, pos: int, end: int, msb: bool) -> tuple[int, Identity]:
    if end - pos < 8:
        raise MBusError("long transport header truncated at byte %d: needs 8 address bytes, %d present"
                        % (end, end - pos), end)
    idb = raw[pos:pos + 4]
    man = (raw[pos + 4] << 8 | raw[pos + 5]) if msb else (raw[pos + 4] | raw[pos + 5] << 8)
    if msb:
        idb = idb[::-1]
    ver, dtype = raw[pos + 6], raw[pos + 7]
    ident = _identity(man, idb, ver, dtype)
    t.manufacturer, t.identification = ident[0], ident[1]
    t.version = ver
    t.medium_code = dtype
    t.medium = medium_name(dtype)
    return pos + 8, ident


def _read_short(t: Telegram, raw: bytes, pos: int, end: int, msb: bool, with_config: bool):
    if end - pos < (4 if with_config else 2):
        raise MBusError("transport header truncated at byte %d" % end, end)
    t.access_number = raw[pos]
    t.status = raw[pos + 1]
    if not with_config:
        return pos + 2, None
    cfg, p = parse_config(raw, pos + 2, end, msb)
    t.signature = cfg.raw
    return p, cfg


def decode_transport(t: Telegram, raw: bytes, pos: int, end: int, *, keys: KeyLookup | None,
                     link: Identity | None = None, afl: Afl | None = None, wired: bool = False,
                     msb: bool = False, m2s: bool = False) -> None:
    """Decode the transport layer whose CI field is ``raw[pos]`` (data ends before ``end``).

    ``link``: identity of the link-layer address (wireless telegrams), used for
    the IV and the key lookup when the header is short. ``afl``: an AFL already
    read in front of this transport layer (mode 7 needs its message counter).
    """
    ci = raw[pos]
    if ci == 0x90:
        if afl is not None:
            raise MBusError("second authentication layer (CI 0x90) at byte %d" % pos, pos)
        afl, pos = parse_afl(raw, pos, end)
        t.afl = afl.to_json()
        if pos >= end:
            raise MBusError("no transport layer after the authentication layer at byte %d" % pos, pos)
        ci = raw[pos]
    t.ci_field = ci
    tpl_start = pos
    pos += 1
    if ci == 0x76:
        msb = True
    if ci in COMPACT_CIS:
        raise MBusError("compact frame (CI 0x%02X, %s header) needs the meter's format frame: not supported"
                        % (ci, COMPACT_CIS[ci]), tpl_start)
    if 0xA0 <= ci <= 0xB7:                   # manufacturer specific: no standard structure to read
        t.header = "manufacturer"
        t.manufacturer_data = raw[pos:end]
        t.security_reason = "manufacturer-specific telegram (CI 0x%02X)" % ci
        t.security_mode = None
        return
    if ci == 0x78:
        t.header = "none"
        t.records, t.manufacturer_data, t.more_records_follow = parse_records(raw, pos, end, msb, m2s)
        return
    if ci == 0x70:
        _app_error(t, raw, pos, end)
        return
    meter = link
    if ci in LONG_CIS:
        follows = LONG_CIS[ci]
        pos, meter = _read_long(t, raw, pos, end, msb)
        t.header = "long"
    elif ci in SHORT_CIS:
        follows = SHORT_CIS[ci]
        t.header = "short"
    else:
        raise MBusError("unsupported CI field 0x%02X at byte %d" % (ci, tpl_start), tpl_start)
    if follows == "apl" and end - pos >= 4 and raw[pos + 2] == 0 and raw[pos + 3] == 0:
        # the common case (every wired meter without encryption): configuration field 0, records follow
        t.access_number, t.status, t.signature, t.security_mode = raw[pos], raw[pos + 1], 0, 0
        t.records, t.manufacturer_data, t.more_records_follow = parse_records(raw, pos + 4, end, msb, m2s)
        return
    pos, cfg = _read_short(t, raw, pos, end, msb, True)
    opened = _open(t, raw, pos, end, cfg, keys=keys, meter=meter, link=link, afl=afl, tpl_start=tpl_start,
                   wired=wired)
    if opened is None:
        return
    buf, start, stop = opened
    if follows == "apl":
        t.records, t.manufacturer_data, t.more_records_follow = parse_records(buf, start, stop, msb, m2s)
    elif follows == "error":
        _app_error(t, buf, start, stop)
    elif follows == "alarm":
        if stop > start:
            t.alarm_status = buf[start]
            t.extra_data = buf[start + 1:stop]
    else:
        t.extra_data = buf[start:stop]


def _app_error(t: Telegram, raw: bytes, pos: int, end: int) -> None:
    if end > pos:
        t.application_error_code = raw[pos]
        t.application_error = application_error_name(raw[pos])
        t.extra_data = raw[pos + 1:end]
    else:
        t.application_error = "unspecified_error"


def _find_key(keys: KeyLookup | None, candidates) -> tuple[bytes | None, str | None]:
    if keys is None:
        return None, None
    seen = set()
    for ident in candidates:
        if ident is None or ident[:2] in seen:
            continue
        seen.add(ident[:2])
        k = keys(ident[0], ident[1])
        if k is not None:
            return check_key(k, ident[1]), ident[1]
    return None, None


def _open(t: Telegram, raw: bytes, pos: int, end: int, cfg: ConfigField, *, keys, meter, link, afl,
          tpl_start: int, wired: bool):
    """(buffer, start, stop) holding the plaintext records, or None when they are withheld."""
    mode = cfg.mode
    t.security_mode = mode
    if mode == 0:
        return raw, pos, end
    if mode not in SUPPORTED_MODES:
        if wired and mode in LEGACY_WIRED_MODES:
            t.security_note = _LEGACY_NOTE
            return raw, pos, end
        t.security_reason = "mode %d not supported" % mode
        return None
    if mode == 7 and cfg.kdf not in (0, 1):
        t.security_reason = "mode 7 key derivation %d not supported" % cfg.kdf
        return None
    if meter is None:
        t.security_reason = "mode %d needs the meter address, which a short header on a wired frame lacks" % mode
        return None
    key, who = _find_key(keys, (meter, link))
    if key is None:
        t.security_reason = "no key"
        return None
    cend = cbc_blocks(raw, pos, end, cfg.blocks)
    if mode == 5:
        plain = aes_cbc_decrypt(key, mode5_iv(meter[3], t.access_number), raw[pos:cend])
    else:
        kenc = key
        if cfg.kdf == 1:
            if afl is None or afl.counter is None:
                raise MBusError("security mode 7 key derivation needs the AFL message counter, none present",
                                tpl_start)
            kenc = derive_key(key, 0x00, afl.counter, meter[2])
            if afl.mac is not None:
                kmac = derive_key(key, 0x01, afl.counter, meter[2])
                mac = aes_cmac(kmac, afl.mac_input_prefix() + raw[tpl_start:end])
                if mac[:len(afl.mac)] != afl.mac:
                    raise wrong_key(who)
        plain = aes_cbc_decrypt(kenc, _ZERO_IV, raw[pos:cend])
    if plain[:2] != b"\x2f\x2f":
        raise wrong_key(who)
    t.decrypted = True
    buf = plain + raw[cend:end] if cend < end else plain
    t.plaintext = buf
    return buf, 0, len(buf)
