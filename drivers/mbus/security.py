"""Security of the transport layer (EN 13757-7, OMS volume 2): configuration
field, authentication and fragmentation layer (AFL), AES-128 modes 5 and 7.

Everything cryptographic is done by the ``cryptography`` package (AES in CBC,
CTR and ECB modes, AES-CMAC); this module only arranges the bytes the standards
ask for:

* mode 5: AES-128-CBC, IV = manufacturer (2 bytes) + address (identification,
  version, device type: 6 bytes) + 8 times the access number;
* mode 7: AES-128-CBC with a zero IV and an ephemeral key derived from the
  meter's key with AES-CMAC (OMS key derivation function A):
  ``K = CMAC(key, DC || message counter || identification || 07 x 7)`` with
  ``DC`` 0x00 for the encryption key and 0x01 for the MAC key; the AFL's MAC
  is ``CMAC(Kmac, MCL || MCR || [ML] || transport layer ... last byte)``,
  truncated to the length the MCL announces;
* extended link layer AES-128-CTR (used by :mod:`drivers.wmbus`).

Keys are never stored here: decoders take a *key lookup* callable
``keys(manufacturer, identification) -> bytes | None`` (``manufacturer`` the
3-letter FLAG code, ``identification`` the 8 digits) and ask it for the one
meter they need.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from .errors import MBusError, WrongKey

__all__ = [
    "KeyLookup", "ConfigField", "Afl", "parse_config", "parse_afl", "MODE_NAMES", "SUPPORTED_MODES",
    "LEGACY_WIRED_MODES", "aes_cbc_decrypt", "aes_cbc_encrypt", "aes_ctr", "aes_cmac", "derive_key",
    "mode5_iv", "wrong_key",
]

KeyLookup = Callable[[str, str], "bytes | None"]

# Security modes of the configuration field (EN 13757-7:2018, OMS volume 2).
MODE_NAMES = {
    0: "no encryption", 1: "manufacturer specific", 2: "DES-CBC, zero IV (deprecated)",
    3: "DES-CBC with IV (deprecated)", 4: "specific usage", 5: "AES-128-CBC with IV",
    7: "AES-128-CBC, zero IV, derived key", 8: "AES-128-CTR with CMAC", 9: "AES-128-GCM",
    10: "AES-128-CCM", 13: "TLS", 15: "specific usage",
}
SUPPORTED_MODES = frozenset((0, 5, 7))
# Values EN 13757-7 leaves reserved. Wired meters built before the standard gave
# these two bytes a meaning (EN 13757-3:2004 called them a "signature", many
# meters fill them with 0xFFFF or vendor data) send plaintext with such values:
# on a wired frame they are read as that legacy signature, never on a radio one.
LEGACY_WIRED_MODES = frozenset((6, 11, 12, 14)) | frozenset(range(16, 32))

AFL_MAC_LENGTHS = {3: 2, 4: 4, 5: 8, 6: 12, 7: 16}   # AT field of the MCL -> AES-CMAC length


@dataclass(frozen=True, slots=True)
class ConfigField:
    """The 2-byte configuration field of a short or long transport header."""
    raw: int
    mode: int
    blocks: int            # N: number of encrypted 16-byte blocks (modes 5 and 7)
    content: int           # C: 0 standard, 1 static, 2 ... (bits 3-2)
    bidirectional: bool
    accessibility: bool
    synchronous: bool
    kdf: int | None = None          # mode 7: key derivation selection from the extension byte
    extension: int | None = None    # mode 7: the configuration field extension byte

    def to_json(self) -> dict:
        d = {"mode": self.mode, "blocks": self.blocks, "content": self.content,
             "bidirectional": self.bidirectional, "accessibility": self.accessibility,
             "synchronous": self.synchronous}
        if self.kdf is not None:
            d["kdf"] = self.kdf
        return d


def parse_config(raw: bytes, pos: int, end: int, msb: bool = False) -> tuple[ConfigField, int]:
    """Configuration field at ``raw[pos]`` (and, in mode 7, its extension byte) -> (field, next pos)."""
    if end - pos < 2:
        raise MBusError("configuration field truncated at byte %d" % end, end)
    cfg = (raw[pos] << 8 | raw[pos + 1]) if msb else (raw[pos] | raw[pos + 1] << 8)
    mode = (cfg >> 8) & 0x1F
    pos += 2
    kdf = ext = None
    if mode == 7:
        if pos >= end:
            raise MBusError("security mode 7 needs a configuration field extension byte at byte %d" % pos, pos)
        ext = raw[pos]
        kdf = (ext >> 4) & 0x03
        pos += 1
    return ConfigField(cfg, mode, (cfg >> 4) & 0x0F, (cfg >> 2) & 0x03, bool(cfg & 0x8000), bool(cfg & 0x4000),
                       bool(cfg & 0x2000), kdf, ext), pos


@dataclass(frozen=True, slots=True)
class Afl:
    """Authentication and fragmentation layer (CI 0x90): the fields security needs."""
    fc: int
    mcl: int | None
    key_info: int | None
    counter: bytes | None       # MCR, 4 bytes as sent (least significant first)
    length: int | None          # ML
    mac: bytes | None

    def to_json(self) -> dict:
        d: dict = {"fragment_id": self.fc & 0xFF, "more_fragments": bool(self.fc & 0x4000)}
        if self.counter is not None:
            d["message_counter"] = int.from_bytes(self.counter, "little")
        if self.mac is not None:
            d["mac_length"] = len(self.mac)
        return d

    def mac_input_prefix(self) -> bytes:
        """MCL || MCR || [ML]: what precedes the transport layer in the MAC input."""
        out = bytes((self.mcl or 0,)) + (self.counter or b"")
        if self.length is not None:
            out += self.length.to_bytes(2, "little")
        return out


def parse_afl(raw: bytes, pos: int, end: int) -> tuple[Afl, int]:
    """AFL starting at its CI byte 0x90 at ``raw[pos]`` -> (afl, position of the next CI)."""
    if end - pos < 4:
        raise MBusError("authentication layer (CI 0x90) truncated at byte %d" % end, end)
    afll = raw[pos + 1]
    stop = pos + 2 + afll
    if stop > end:
        raise MBusError("authentication layer length %d at byte %d exceeds the telegram" % (afll, pos + 1), pos + 1)
    p = pos + 2
    fc = raw[p] | raw[p + 1] << 8
    p += 2
    if fc & 0x4000 or (fc & 0xFF) > 1:
        raise MBusError("fragmented telegram (AFL fragment %d%s) not supported"
                        % (fc & 0xFF, ", more follow" if fc & 0x4000 else ""), pos + 2)
    mcl = key_info = counter = length = mac = None

    def take(n: int) -> bytes:
        nonlocal p
        if p + n > stop:
            raise MBusError("authentication layer field truncated at byte %d" % p, p)
        out = raw[p:p + n]
        p += n
        return out

    if fc & 0x2000:
        mcl = take(1)[0]
    if fc & 0x0200:
        key_info = int.from_bytes(take(2), "little")
    if fc & 0x0800:
        counter = take(4)
    if fc & 0x1000:
        length = int.from_bytes(take(2), "little")
    if fc & 0x0400:
        at = (mcl or 0) & 0x0F
        n = AFL_MAC_LENGTHS.get(at)
        if n is None:
            raise MBusError("authentication type %d of the AFL at byte %d not supported" % (at, pos), pos)
        mac = take(n)
    return Afl(fc, mcl, key_info, counter, length, mac), stop


# ---------------------------------------------------------------------------
# AES through the cryptography package

_ZERO_IV = bytes(16)


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CTR (encryption and decryption are the same operation)."""
    c = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return c.update(data) + c.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def derive_key(key: bytes, dc: int, counter: bytes, identification_le: bytes) -> bytes:
    """OMS key derivation function A: the ephemeral key for derivation constant ``dc``
    (0x00 encryption and 0x01 MAC, from the meter; 0x10 and 0x11 towards it)."""
    return aes_cmac(key, bytes((dc,)) + counter + identification_le + b"\x07" * 7)


def mode5_iv(address8: bytes, access_number: int) -> bytes:
    """Mode 5 IV: manufacturer (2) + identification (4) + version + device type, then 8 x access number."""
    return address8 + bytes((access_number,)) * 8


def wrong_key(identification: str) -> MBusError:
    return WrongKey(identification)


def check_key(key, identification: str) -> bytes:
    """A key from a lookup must be 16 bytes; anything else is a bad key store, said in one line."""
    if not isinstance(key, (bytes, bytearray)) or len(key) != 16:
        raise MBusError("the key for %s is not a 128-bit AES key" % identification)
    return bytes(key)


def cbc_blocks(data: bytes, pos: int, end: int, blocks: int) -> int:
    """End of the encrypted part (N blocks of 16 bytes from ``pos``; N = 0: everything)."""
    n = end - pos
    if blocks:
        need = 16 * blocks
        if need > n:
            raise MBusError("configuration field announces %d encrypted block(s) (%d bytes) but %d byte(s) follow"
                            % (blocks, need, n), end)
        return pos + need
    if n % 16:
        raise MBusError("encrypted data of %d byte(s) at byte %d is not a whole number of AES blocks" % (n, pos), pos)
    return end


__all__ += ["check_key", "cbc_blocks", "AFL_MAC_LENGTHS", "_ZERO_IV"]
