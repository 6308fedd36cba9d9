"""Secondary addresses and wildcard masks (EN 13757-3, selection with CI 0x52).

A secondary address is the 8-digit identification number, the manufacturer
(3-letter FLAG code), the version byte and the medium (device type) byte. A
selection mask carries the same 8 bytes, where each identification digit may
be the wildcard nibble F and manufacturer, version and medium may be the
wildcards FFFF, FF and FF.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from drivers.mbus.tables import manufacturer_code_to_int, manufacturer_int_to_code

WILD_MAN = 0xFFFF
WILD_BYTE = 0xFF


def manufacturer_code(man: str | int) -> int:
    """The 2-byte manufacturer field for a FLAG code such as "KAM" (ints pass through)."""
    if isinstance(man, int):
        return man
    return manufacturer_code_to_int(man.upper())


def manufacturer_name(code: int) -> str:
    return manufacturer_int_to_code(code)


@dataclass(frozen=True, order=True)
class SecondaryAddress:
    identification: str          # 8 digits, most significant first
    manufacturer: str            # FLAG code
    version: int
    medium: int

    def key(self) -> str:
        return f"{self.identification}.{self.manufacturer}.{self.version:02X}.{self.medium:02X}"

    def mask(self) -> "SecondaryMask":
        return SecondaryMask(self.identification, manufacturer_code(self.manufacturer), self.version, self.medium)


@dataclass(frozen=True)
class SecondaryMask:
    """A selection mask: ``digits`` is 8 characters of 0-9 or F (wildcard)."""

    digits: str = "FFFFFFFF"
    manufacturer: int = WILD_MAN
    version: int = WILD_BYTE
    medium: int = WILD_BYTE

    def __post_init__(self):
        d = self.digits.upper()
        if len(d) != 8 or any(c not in "0123456789ABCDEF" for c in d):
            raise ValueError(f"identification mask must be 8 hex digits (F = any), not {self.digits!r}")
        object.__setattr__(self, "digits", d)

    @classmethod
    def parse(cls, text: str) -> "SecondaryMask":
        """``12345678``, ``1234FFFF``, ``ID.MAN`` (any version and medium), or ``ID.MAN.VV.MM`` (MAN a
        FLAG code or FFFF; VV, MM hex or FF)."""
        parts = text.strip().split(".")
        if len(parts) == 2:
            parts += ["FF", "FF"]
        if len(parts) not in (1, 4):
            raise ValueError(f"secondary address must be 8 digits, ID.MAN or ID.MAN.VER.MEDIUM, not {text!r}")
        digits = parts[0]
        if len(digits) != 8 or any(c not in "0123456789ABCDEFabcdef" for c in digits):
            raise ValueError(f"secondary address must be 8 digits (F as wildcard), not {parts[0]!r}")
        if len(parts) == 1:
            return cls(digits)
        man_s, ver_s, med_s = parts[1:]
        man = WILD_MAN if man_s.upper() == "FFFF" else manufacturer_code(man_s)
        try:
            ver, med = int(ver_s, 16), int(med_s, 16)
        except ValueError:
            raise ValueError(f"version and medium must be hex bytes, not {ver_s!r}/{med_s!r}") from None
        if not (0 <= ver <= 255 and 0 <= med <= 255):
            raise ValueError("version and medium must be bytes 00..FF")
        return cls(digits, man, ver, med)

    def payload(self) -> bytes:
        """The 8 data bytes after CI 0x52: id (BCD, least significant byte first), man, version, medium."""
        ident = bytes(int(self.digits[i:i + 2], 16) for i in (6, 4, 2, 0))
        return ident + self.manufacturer.to_bytes(2, "little") + bytes([self.version, self.medium])

    @classmethod
    def from_payload(cls, data: bytes) -> "SecondaryMask":
        if len(data) < 8:
            raise ValueError("selection payload is 8 bytes")
        digits = "".join(f"{b:02X}" for b in reversed(data[:4]))
        return cls(digits, int.from_bytes(data[4:6], "little"), data[6], data[7])

    def matches(self, addr: SecondaryAddress) -> bool:
        ident = addr.identification.upper()
        for m, d in zip(self.digits, ident):
            if m != "F" and m != d:
                return False
        if self.manufacturer != WILD_MAN and self.manufacturer != manufacturer_code(addr.manufacturer):
            return False
        if self.version != WILD_BYTE and self.version != addr.version:
            return False
        if self.medium != WILD_BYTE and self.medium != addr.medium:
            return False
        return True

    def with_digit(self, pos: int, digit: str) -> "SecondaryMask":
        return replace(self, digits=self.digits[:pos] + digit + self.digits[pos + 1:])

    @property
    def exact(self) -> bool:
        return "F" not in self.digits and WILD_MAN != self.manufacturer and WILD_BYTE not in (self.version, self.medium)

    def __str__(self) -> str:
        man = "FFFF" if self.manufacturer == WILD_MAN else manufacturer_name(self.manufacturer)
        return f"{self.digits}.{man}.{self.version:02X}.{self.medium:02X}"
