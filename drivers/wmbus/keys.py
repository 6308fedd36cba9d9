"""Meter keys in memory and the key CSV format.

A key file is CSV with a header ``id,key``: one row per meter, ``id`` the
8-digit identification number as printed on the meter, optionally preceded by
the 3-letter FLAG manufacturer code and a space (``KAM 12345678``), ``key`` 32
hex digits (AES-128). ``;`` or tab separators and a few common header names
(``meter``, ``serial``, ``aes``, ``aes_key``) are accepted too; blank lines and
lines starting with ``#`` are skipped.

:class:`KeyTable` answers the decoders' key lookups: ``keys_for(manufacturer,
identification)`` returns the key given for that FLAG and id, else the one
given for the id without FLAG, else ``None``. Its ``repr`` never shows a key.
"""
from __future__ import annotations

import csv
import io
import re

__all__ = ["KeyTable", "KeyFileError", "parse_key_csv", "normalise_id", "format_id"]

_ID_NAMES = ("id", "meter", "meter_id", "serial", "identification", "meter id", "serial number")
_KEY_NAMES = ("key", "aes", "aes_key", "aes key", "aes-key")
_ID_RE = re.compile(r"^(?:([A-Za-z]{3})[ _:\-])?\s*([0-9]{1,8})$")
_HEX_RE = re.compile(r"^[0-9A-Fa-f]{32}$")


class KeyFileError(ValueError):
    """A key file or key id that cannot be read; the message is one line and never contains a key."""


def normalise_id(text: str) -> tuple[str | None, str]:
    """``"KAM 12345678"`` -> ``("KAM", "12345678")``; ``"1234"`` -> ``(None, "00001234")``."""
    m = _ID_RE.match(str(text).strip())
    if not m:
        raise KeyFileError("not a meter id: %r (8 digits, optionally after a FLAG code and a space)"
                           % str(text).strip()[:40])
    flag = m.group(1).upper() if m.group(1) else None
    return flag, m.group(2).zfill(8)


def format_id(flag: str | None, ident: str) -> str:
    return ident if flag is None else "%s %s" % (flag, ident)


class KeyTable:
    """(FLAG or None, 8-digit id) -> 16-byte key."""

    def __init__(self, entries: dict | None = None):
        self._keys: dict[tuple[str | None, str], bytes] = {}
        for (flag, ident), key in (entries or {}).items():
            self.add(flag, ident, key)

    def add(self, flag: str | None, ident: str, key: bytes) -> None:
        if not isinstance(key, (bytes, bytearray)) or len(key) != 16:
            raise KeyFileError("a key must be 16 bytes (32 hex digits)")
        self._keys[(flag.upper() if flag else None, str(ident).zfill(8))] = bytes(key)

    def keys_for(self, manufacturer: str | None, identification: str) -> bytes | None:
        k = self._keys.get((manufacturer, identification)) if manufacturer else None
        return k if k is not None else self._keys.get((None, identification))

    __call__ = keys_for

    def ids(self) -> list[str]:
        return sorted(format_id(f, i) for f, i in self._keys)

    def items(self):
        return self._keys.items()

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return "KeyTable(%d key(s))" % len(self._keys)


def parse_key_csv(text: str, source: str = "key file") -> KeyTable:
    """Read the key CSV format (see the module docstring). Errors name the line, never the key."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise KeyFileError("%s is empty: expected a header 'id,key' and one row per meter" % source)
    first = lines[0]
    delim = max((",", ";", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    head = [c.strip().lower() for c in rows[0]]
    try:
        ci = next(i for i, c in enumerate(head) if c in _ID_NAMES)
        ki = next(i for i, c in enumerate(head) if c in _KEY_NAMES)
    except StopIteration:
        raise KeyFileError("%s: the first line must be the header 'id,key', not %r"
                           % (source, ",".join(rows[0])[:60])) from None
    table = KeyTable()
    for n, row in enumerate(rows[1:], 2):
        if len(row) <= max(ci, ki):
            raise KeyFileError("%s line %d: expected an id and a key" % (source, n))
        try:
            flag, ident = normalise_id(row[ci])
        except KeyFileError as exc:
            raise KeyFileError("%s line %d: %s" % (source, n, exc)) from None
        key = row[ki].strip().replace(" ", "")
        if not _HEX_RE.match(key):
            raise KeyFileError("%s line %d: the key for %s is not 32 hex digits" % (source, n, format_id(flag, ident)))
        if (flag, ident) in table._keys:
            raise KeyFileError("%s line %d: %s appears twice" % (source, n, format_id(flag, ident)))
        table.add(flag, ident, bytes.fromhex(key))
    return table


def key_csv(table: KeyTable) -> str:
    """The CSV text of a table (only for writing an encrypted export)."""
    out = ["id,key"]
    for (flag, ident), key in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0] or "")):
        out.append("%s,%s" % (format_id(flag, ident), key.hex().upper()))
    return "\n".join(out) + "\n"


__all__ += ["key_csv"]
