"""Extended link layer (EN 13757-4, CI 0x8C..0x8F) and its AES-128-CTR encryption.

ELL I (0x8C): CC, ACC. ELL II (0x8D): CC, ACC, SN, payload CRC. ELL III
(0x8E): CC, ACC, receiver address. ELL IV (0x8F): III plus SN and payload CRC.
The session number SN says in its top three bits whether what follows it is
encrypted (1 = AES-128-CTR, as Kamstrup's radio modules send). The counter
block is M + A (link layer) + CC (without its hop-count and repeated-access
bits, which repeaters change) + SN + FN (0) + BC (block counter from 0). The
payload CRC (first two bytes after SN, encrypted too) is the EN 13757-4 CRC
of the rest: after decryption it tells a right key from a wrong one.
"""
from __future__ import annotations

from dataclasses import dataclass

from drivers.mbus.errors import MBusError
from drivers.mbus.security import aes_ctr
from drivers.mbus.tables import manufacturer_int_to_code

from .link import crc16

__all__ = ["ELL_CIS", "Ell", "parse_ell", "ctr_iv", "CC_MASK"]

# CI -> (has receiver address, has SN and payload CRC)
ELL_CIS = {0x8C: (False, False), 0x8D: (False, True), 0x8E: (True, False), 0x8F: (True, True)}
CC_MASK = 0xFF & ~0x10 & ~0x02       # hop count (H) and repeated access (R) bits left out of the IV


@dataclass(frozen=True, slots=True)
class Ell:
    ci: int
    cc: int
    acc: int
    receiver: tuple[str, str] | None    # (manufacturer, identification) of ELL III/IV
    sn: bytes | None                    # 4 bytes as sent
    encryption: int                     # 0 none, 1 AES-128-CTR, else reserved

    def to_json(self) -> dict:
        d: dict = {"ci": self.ci, "cc": self.cc, "access_number": self.acc}
        if self.receiver is not None:
            d["receiver"] = {"manufacturer": self.receiver[0], "identification": self.receiver[1]}
        if self.sn is not None:
            sn = int.from_bytes(self.sn, "little")
            d["session_number"] = sn & 0x0F
            d["session_time"] = (sn >> 4) & 0x1FFFFFF
            d["encryption"] = self.encryption
        return d


def parse_ell(raw: bytes, pos: int, end: int) -> tuple[Ell, int]:
    """ELL at ``raw[pos]`` (its CI) -> (ell, position after the SN: the payload CRC or the next CI)."""
    ci = raw[pos]
    if ci == 0x86:
        raise MBusError("extended link layer V (CI 0x86) not supported", pos)
    has_rx, has_sn = ELL_CIS[ci]
    need = 3 + (8 if has_rx else 0) + (4 if has_sn else 0)
    if end - pos < need:
        raise MBusError("extended link layer (CI 0x%02X) truncated at byte %d: needs %d bytes" % (ci, end, need), end)
    p = pos + 1
    cc, acc = raw[p], raw[p + 1]
    p += 2
    receiver = None
    if has_rx:
        man = raw[p] | raw[p + 1] << 8
        receiver = (manufacturer_int_to_code(man), raw[p + 2:p + 6][::-1].hex().upper())
        p += 8
    sn = None
    enc = 0
    if has_sn:
        sn = bytes(raw[p:p + 4])
        enc = sn[3] >> 5
        p += 4
    return Ell(ci, cc, acc, receiver, sn, enc), p


def ctr_iv(address8: bytes, cc: int, sn: bytes) -> bytes:
    return address8 + bytes((cc & CC_MASK,)) + sn + b"\x00\x00\x00"


def check_payload_crc(plain: bytes) -> bool:
    """True when the first two bytes (least significant first) are the CRC of the rest."""
    return len(plain) >= 2 and (plain[0] | plain[1] << 8) == crc16(plain[2:])


def ctr_crypt(key: bytes, address8: bytes, cc: int, sn: bytes, data: bytes) -> bytes:
    return aes_ctr(key, ctr_iv(address8, cc, sn), data)


__all__ += ["check_payload_crc", "ctr_crypt"]
