"""Build wireless M-Bus telegrams: for tests, the radio simulator and benchmarks.

:func:`encode_wmbus` writes what a meter sends: link header, optional extended
link layer (AES-CTR when ``security="ell_ctr"``), optional AFL (mode 7), the
transport header with its configuration field, and the records, encrypted in
mode 5 or 7 with the given key. Every byte layout here mirrors the decoder's
reading of the standards; the decoder's tests check both against published
example telegrams.
"""
from __future__ import annotations

from drivers.mbus.encoder import _records_bytes
from drivers.mbus.security import (
    _ZERO_IV, aes_cbc_encrypt, aes_cmac, derive_key, mode5_iv,
)
from drivers.mbus.tables import manufacturer_code_to_int

from .ell import ctr_crypt
from .link import add_crcs, crc16

__all__ = ["encode_wmbus", "address8", "SND_NR"]

SND_NR = 0x44


def address8(manufacturer: str | int, identification: str, version: int, device_type: int) -> bytes:
    """M (2) + A (6) in the byte order of the telegram."""
    man = manufacturer_code_to_int(manufacturer) if isinstance(manufacturer, str) else int(manufacturer)
    idb = bytes.fromhex("%08d" % int(identification) if str(identification).isdigit() else identification)[::-1]
    return man.to_bytes(2, "little") + idb + bytes((version, device_type))


def _pad(data: bytes) -> bytes:
    """2F 2F check bytes in front, 2F fillers to a whole number of AES blocks."""
    data = b"\x2f\x2f" + data
    return data + b"\x2f" * (-len(data) % 16)


def encode_wmbus(records=(), *, manufacturer: str = "KAM", identification: str = "12345678", version: int = 1,
                 device_type: int = 0x04, c_field: int = SND_NR, access_number: int = 0, status: int = 0,
                 security: int | str = 0, key: bytes | None = None, header: str = "short",
                 meter: tuple | None = None, message_counter: int = 1, session: int = 0,
                 cc: int = 0x20, manufacturer_data: bytes = b"", plain_tail: bytes = b"",
                 fmt: str = "none") -> bytes:
    """One wireless telegram.

    ``security``: 0, 5, 7 (with AFL, OMS key derivation, 8-byte CMAC) or
    ``"ell_ctr"`` (extended link layer II with AES-CTR, no transport header, as
    Kamstrup sends). ``header``: ``"short"`` (CI 0x7A) or ``"long"`` (CI 0x72,
    the meter address ``meter = (manufacturer, identification, version,
    device_type)``, default the link address). ``plain_tail``: record bytes
    sent unencrypted after the encrypted blocks. ``fmt``: ``"none"``, ``"A"``
    or ``"B"`` block CRCs.
    """
    link8 = address8(manufacturer, identification, version, device_type)
    apdu = _records_bytes(records)
    if manufacturer_data:
        apdu += b"\x0f" + bytes(manufacturer_data)
    if security == "ell_ctr":
        if key is None:
            raise ValueError("security 'ell_ctr' needs a key")
        inner = b"\x78" + apdu
        sn = ((session & 0x0F) | (1 << 29)).to_bytes(4, "little")
        plain = crc16(inner).to_bytes(2, "little") + inner
        body = bytes((0x8D, cc, access_number)) + sn + ctr_crypt(key, link8, cc, sn, plain)
    else:
        meter8 = link8 if meter is None else address8(*meter)
        if header == "long":
            tpl_head = b"\x72" + meter8[2:6] + meter8[0:2] + meter8[6:8]
        elif header == "short":
            tpl_head = b"\x7a"
        else:
            raise ValueError("header must be 'short' or 'long'")
        tpl_head += bytes((access_number, status))
        afl = b""
        if security == 0:
            body = tpl_head + b"\x00\x00" + apdu + plain_tail
        elif security in (5, 7):
            if key is None:
                raise ValueError("security mode %s needs a key" % security)
            plain = _pad(apdu)
            n = len(plain) // 16
            if n > 15:
                raise ValueError("too many records for one telegram: %d AES blocks (15 at most)" % n)
            cfg = (security << 8) | (n << 4)
            if security == 5:
                enc = aes_cbc_encrypt(key, mode5_iv(meter8, access_number), plain)
                body = tpl_head + cfg.to_bytes(2, "little") + enc + plain_tail
            else:
                mcr = int(message_counter).to_bytes(4, "little")
                meter_id = meter8[2:6]
                kenc = derive_key(key, 0x00, mcr, meter_id)
                kmac = derive_key(key, 0x01, mcr, meter_id)
                tpl = tpl_head + cfg.to_bytes(2, "little") + b"\x10" + aes_cbc_encrypt(kenc, _ZERO_IV, plain) + \
                    plain_tail
                mcl = 0x25                                   # MCR present, AES-CMAC truncated to 8 bytes
                mac = aes_cmac(kmac, bytes((mcl,)) + mcr + tpl)[:8]
                afl = bytes((0x90, 0x0F, 0x00, 0x2C, mcl)) + mcr + mac
                body = afl + tpl
        else:
            raise ValueError("security must be 0, 5, 7 or 'ell_ctr'")
    frame = bytes((0, c_field)) + link8 + body
    frame = bytes((len(frame) - 1,)) + frame[1:]
    if len(frame) > 256:
        raise ValueError("telegram too long: %d bytes" % len(frame))
    return add_crcs(frame, fmt)
