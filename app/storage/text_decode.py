"""The text of a CSV file, whatever its encoding among those the import takes, line by line if need be.

Taken (docs/import-format.md): UTF-8 with or without a byte-order mark,
UTF-16 with a byte-order mark, and Windows-1252. A file that is UTF-8 except
for a few lines (a billing system that appended rows typed on an old PC) is
read line by line: UTF-8 where the line is valid UTF-8, else Windows-1252,
and the lines read as Windows-1252 are counted and named. A line that is
neither (bytes Windows-1252 does not define) is an error naming the line;
its undecodable bytes are shown as U+FFFD so that the row is reported, never
stored. No encoding is guessed beyond this: a guess among the many 8-bit code
pages (charset detection) misreads exactly the short names and places a
register holds, so the file is read by these rules or refused.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from app.storage.errors import ImportFileError

_UTF32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass
class DecodedText:
    text: str
    encoding: str                                          # what the file was read as, for the summary
    cp1252_lines: list[int] = field(default_factory=list)  # 1-based physical lines read as Windows-1252
    bad_lines: list[int] = field(default_factory=list)     # lines with bytes neither UTF-8 nor Windows-1252

    def describe(self) -> str:
        """One phrase for the import summary: how the file was read."""
        s = self.encoding
        n = len(self.cp1252_lines)
        if n:
            shown = ", ".join(map(str, self.cp1252_lines[:5])) + (", ..." if n > 5 else "")
            s += f"; {n:,} line{'s' if n != 1 else ''} read as Windows-1252 (line{'s' if n != 1 else ''} {shown})"
        return s


def decode(data: bytes, name: str) -> DecodedText:
    """Decode a CSV file's bytes; ``ImportFileError`` (one line) when it is none of the taken encodings."""
    if data.startswith(_UTF32):  # before UTF-16: the UTF-32 LE mark starts with the UTF-16 LE one
        raise ImportFileError(f"{name}: UTF-32 text is not taken: save the file as UTF-8 (or UTF-16)")
    if data.startswith(_UTF16):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].decode("utf-16", "replace").count("\n") + 1
            raise ImportFileError(f"{name}: line {line}: not valid UTF-16 although the file starts with a "
                                  "UTF-16 byte-order mark") from None
        return DecodedText(text, "UTF-16 " + ("LE" if data.startswith(codecs.BOM_UTF16_LE) else "BE"))
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[3:] if bom else data
    label = "UTF-8 with a byte-order mark" if bom else "UTF-8"
    try:
        return DecodedText(body.decode("utf-8"), label)
    except UnicodeDecodeError:
        pass
    return _line_by_line(body, label if bom else None)


def _line_by_line(body: bytes, label: str | None) -> DecodedText:
    parts: list[str] = []
    cp1252: list[int] = []
    bad: list[int] = []
    utf8 = 0
    for i, raw in enumerate(body.split(b"\n"), 1):
        try:
            parts.append(raw.decode("utf-8"))
            if not raw.isascii():
                utf8 += 1
            continue
        except UnicodeDecodeError:
            pass
        try:
            parts.append(raw.decode("cp1252"))
        except UnicodeDecodeError:
            parts.append(raw.decode("cp1252", "replace"))
            bad.append(i)
        cp1252.append(i)
    text = "\n".join(parts)
    if label is None:
        label = "UTF-8" if utf8 else "Windows-1252"  # no line needed UTF-8: the whole file is Windows-1252
    if label == "Windows-1252":  # the whole file: no line to single out
        return DecodedText(text, label, [], bad)
    return DecodedText(text, label, cp1252, bad)
