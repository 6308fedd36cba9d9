"""Reading a meters file: a CSV or XLSX file into a header and rows (docs/import-format.md).

``read_table(path, options)`` decodes the file (``text_decode``: UTF-8 with or
without BOM, UTF-16 with BOM, Windows-1252, mixed line by line) or streams the
first sheet of a workbook (``xlsx_read``), finds the header row (the first
row that gives every required column once mapped, or ``options.header_row``),
resolves the header through the mapping (``import_map``) and returns a
``Table``: the register column of each file column, the rows with their line
numbers, and what reading found wrong with a row (``line_errors``: a NUL
byte, bytes no encoding takes, more cells than the header, a cell too long).
The cells themselves are checked by ``tabular``. A file that cannot be read
at all raises ``ImportFileError`` with one line.
"""
from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from app.storage.files import MAX_IMPORT_BYTES, TooLarge, read_limited
from app.storage import import_map, text_decode, xlsx_read
from app.storage.columns import CELL_TOO_LONG, KNOWN_COLUMNS, NUL_BYTE, REQUIRED_COLUMNS, TOO_MANY_CELLS, UNDECODABLE
from app.storage.errors import ImportFileError
from app.storage.import_map import ImportOptions
from app.storage.safe_export import MAX_CELL_CHARS, restore

MAX_CSV_BYTES = 2 * 1024 ** 3     # a million meters take about 200 MB
HEADER_SEARCH_ROWS = 50           # the header is looked for among the first rows
DELIMITERS = (",", ";", "\t")


@dataclass
class Table:
    """A sheet read from a file. ``columns[i]`` is the register column (or an extra column's name,
    or None: dropped by the mapping) of the file's column i. CSV rows are lists of ``str`` (short
    rows padded with ``""``); XLSX rows hold the cells' Python values."""

    columns: list[Any]
    rows: Sequence[list[Any]]  # a list, or SplitRows for a plain CSV file
    lines: list[int]
    extra_columns: list[str] = field(default_factory=list)
    kind: str = "csv"
    header: list[str] = field(default_factory=list)        # the header cells as the file has them
    header_line: int = 1
    skipped_above: list[int] = field(default_factory=list)  # lines above the header that held something
    encoding: str = ""                                       # how the file was read (a phrase)
    cp1252_lines: list[int] = field(default_factory=list)
    line_errors: dict[int, list[str]] = field(default_factory=dict)
    delimiter: str | None = None
    decimal: str = "point"                                   # point, comma, or either (resolved from options)
    date_order: str | None = None
    mapped: list[tuple[str, Any]] = field(default_factory=list)
    unused_map: list[str] = field(default_factory=list)
    epoch: Any = None                                        # XLSX: the workbook's date system

    def notes(self) -> list[str]:
        """What reading the file did, for the import summary (one phrase each)."""
        out = []
        if self.kind == "csv":
            sep = {",": "comma", ";": "semicolon", "\t": "tab"}.get(self.delimiter or "", self.delimiter)
            out.append(f"read as {self.encoding}, {sep}-separated" + ("; decimal comma taken" if
                                                                       self.decimal in ("comma", "either") else ""))
        else:
            out.append("read the first sheet of the workbook")
        if self.header_line != 1:
            out.append(f"header on line {self.header_line}")
        if self.skipped_above:
            n = len(self.skipped_above)
            out.append(f"{n} row{'s' if n != 1 else ''} above the header skipped "
                       f"(line{'s' if n != 1 else ''} {', '.join(map(str, self.skipped_above[:5]))}"
                       f"{', ...' if n > 5 else ''})")
        if self.mapped:
            out.append("mapped: " + ", ".join(f"{h!r} -> {c or 'dropped'}" for h, c in self.mapped))
        if self.unused_map:
            out.append("in the mapping but not in the file: " + ", ".join(self.unused_map))
        return out


def _looks_xlsx(path: Path, head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm")


def read_table(path: str | Path, options: ImportOptions | None = None, *, split_late: bool = False) -> Table:
    """Read a CSV or XLSX file; raise ImportFileError (one line) for anything else.

    ``split_late``: a CSV file without quoting or blank lines gets its rows as
    ``SplitRows``, split into cells only when a chunk of them is asked for.
    """
    table = read_unresolved(path, options, split_late=split_late)
    _resolve(Path(path), table, options or ImportOptions())
    return table


PREVIEW_BYTES = 2_000_000


def read_unresolved(path: str | Path, options: ImportOptions | None = None, *, split_late: bool = False,
                    preview: bool = False) -> Table:
    """``read_table`` without resolving the header through the mapping (``columns`` stays empty): what
    the import wizard shows before the columns are mapped. ``preview``: only the first rows (the first
    2 MB of a CSV file, the first rows of a sheet)."""
    options = options or ImportOptions()
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(8)
            size = f.seek(0, 2)
    except FileNotFoundError:
        raise ImportFileError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{p}: is a folder, not a CSV or XLSX file") from None
    except OSError as exc:
        raise ImportFileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if _looks_xlsx(p, head):
        table = _read_xlsx(p, options, max_rows=HEADER_SEARCH_ROWS + 200 if preview else None)
    else:
        if size > MAX_CSV_BYTES and not preview:
            raise ImportFileError(f"{p}: {size / 1024 ** 3:.1f} GiB is more than the {MAX_CSV_BYTES // 1024 ** 3} GiB "
                                  "a meters file may have: split it")
        data = None
        if preview and size > PREVIEW_BYTES:
            with p.open("rb") as f:
                data = f.read(PREVIEW_BYTES)
            data = data[:data.rfind(b"\n") + 1] or data
        table = _read_csv(p, options, split_late, data)
    table.date_order = options.date_order
    return table


def _resolve(p: Path, table: Table, options: ImportOptions) -> None:
    res = import_map.resolve(table.header, options, KNOWN_COLUMNS)
    if res.duplicates:
        c = res.duplicates[0]
        heads = [h for h, col in zip(table.header, res.columns) if col == c]
        raise ImportFileError(f"{p}: column {c} is given twice (headers {', '.join(map(repr, heads))}): map one "
                              "of them to null to drop it")
    if res.personal_unmapped:
        h = res.personal_unmapped[0]
        more = f" (and {len(res.personal_unmapped) - 1} more)" if len(res.personal_unmapped) > 1 else ""
        raise ImportFileError(f"{p}: column {h!r}{more} may hold personal data: map it to occupant_name, flat or "
                              f'customer_reference, or drop it, in the mapping (--map: {{"{h}": null}}), or mark '
                              f"it personal first (heatmeter meters personal-column {import_map.extra_name(h)!r})")
    missing = res.missing()
    if missing:
        guesses = {h: import_map.guess_column(h) for h in table.header}
        hint = {h: g for h, g in guesses.items() if g in missing}
        sugg = (" - map them with --map MAP.json, e.g. {" + ", ".join(f'"{h}": "{g}"' for h, g in hint.items())
                + "}") if hint else " - map them with --map MAP.json"
        shown = ", ".join(str(h).strip() for h in table.header if str(h).strip())
        raise ImportFileError(
            f"{p}: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(header{' on line ' + str(table.header_line) if table.header_line != 1 else ''}: {shown}){sugg}")
    table.columns = res.columns
    table.extra_columns = [c for c in res.extra if c in res.columns]
    table.mapped = res.mapped
    table.unused_map = res.unused_map


def _find_header(rows: Sequence[Sequence[Any]], lines: Sequence[int], options: ImportOptions, p: Path,
                 what: str) -> int:
    """The index (in ``rows``) of the header row: ``options.header_row``, else the first of the first
    rows that gives every required column once mapped, else the first row."""
    if options.header_row is not None:
        i = bisect.bisect_left(lines, options.header_row)
        if i == len(lines) or lines[i] != options.header_row:
            raise ImportFileError(f"{p}: header row {options.header_row}: {what} has nothing on that row")
        return i
    n = min(len(rows), HEADER_SEARCH_ROWS)
    for i in range(n):
        if import_map.required_found(rows[i], options, KNOWN_COLUMNS):
            return i
    # none gives them all (not mapped yet): the row whose cells look most like register headers
    scores = [sum(1 for h in rows[i] if import_map.guess_column(h)) for i in range(n)]
    best = max(scores, default=0)
    return scores.index(best) if best >= 2 else 0


# ---- CSV --------------------------------------------------------------------------------------

def _read_csv(p: Path, options: ImportOptions, split_late: bool, data: bytes | None = None) -> Table:
    if data is None:
        try:
            data = read_limited(p, MAX_IMPORT_BYTES)
        except TooLarge as exc:
            raise ImportFileError(str(exc)) from None
        except OSError as exc:
            raise ImportFileError(f"{p}: cannot read: {exc.strerror}") from None
    _refuse_binary(p, data)
    dec = text_decode.decode(data, str(p))
    del data
    text = dec.text
    lines_all = text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]
    if not text.strip():
        raise ImportFileError(f"{p}: empty file: no header line")
    # the header: candidates are the first physical lines, each split at its own likeliest separator
    cand_rows, cand_lines = [], []
    for i, ln in enumerate(lines_all):
        ln = ln.rstrip("\r")
        if ln.strip():
            cand_rows.append(_split_header(ln))
            cand_lines.append(i + 1)
    if options.header_row is not None and options.header_row > len(lines_all) and options.header_row > 1:
        raise ImportFileError(f"{p}: header row {options.header_row}: the header must be within the first "
                              f"{HEADER_SEARCH_ROWS} lines")
    h = _find_header(cand_rows, cand_lines, options, p, "the file")
    header_line = cand_lines[h]
    first = lines_all[header_line - 1].rstrip("\r")
    delimiter = max(DELIMITERS, key=first.count)
    if first.count(delimiter) == 0:
        raise ImportFileError(f"{p}: not a CSV file: the header line has no column separator (, ; or tab)")
    skipped = cand_lines[:h]
    body_start = _offset_of_line(text, header_line)  # the header line and what follows
    quoted = text.startswith("'") or "\n'" in text or (delimiter + "'") in text
    header, rows, lines, long = _parse_csv(p, text[body_start:], delimiter, split_late, header_line - 1, quoted)
    width = len(header)
    line_errors: dict[int, list[str]] = {ln: [CELL_TOO_LONG] for ln in long}
    if isinstance(rows, list):
        _row_errors(rows, lines, width, line_errors, "\x00" in text)
        if quoted:
            _restore_quoted(rows)
        if rows and min(map(len, rows)) < width:  # short rows: the missing cells are empty
            rows = [r if len(r) >= width else r + [""] * (width - len(r)) for r in rows]
    if dec.bad_lines:
        for bl in dec.bad_lines:
            i = bisect.bisect_right(lines, bl) - 1
            if i >= 0:
                line_errors.setdefault(lines[i], []).append(UNDECODABLE)
    if options.decimal == "auto":
        decimal = "point" if delimiter == "," else "either"
    else:
        decimal = options.decimal
    return Table(columns=[], rows=rows, lines=lines, kind="csv", header=[import_map.strip_bom(c) for c in header],
                 header_line=header_line, skipped_above=skipped, encoding=dec.describe(),
                 cp1252_lines=dec.cp1252_lines, line_errors=line_errors, delimiter=delimiter, decimal=decimal)


def _refuse_binary(p: Path, data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 with its mark: NUL bytes are part of the text
    head = data[:4096]
    nuls = head.count(b"\x00")
    if nuls and nuls * 4 >= len(head) and (head[1::2].count(0) > len(head) // 3 or head[0::2].count(0) > len(head) // 3):
        raise ImportFileError(f"{p}: looks like UTF-16 text without a byte-order mark: save it as UTF-8 "
                              "(or UTF-16 with a byte-order mark)")
    first = data.split(b"\n", 1)[0]
    if b"\x00" in first or nuls * 8 > len(head):
        raise ImportFileError(f"{p}: not a CSV or XLSX file (binary content)")


def _split_header(line: str) -> list[str]:
    delimiter = max(DELIMITERS, key=line.count)
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return line.split(delimiter)


def _offset_of_line(text: str, line: int) -> int:
    pos = 0
    for _ in range(line - 1):
        pos = text.index("\n", pos) + 1
    return pos


def _row_errors(rows: list[list[str]], lines: list[int], width: int, out: dict[int, list[str]], nul: bool) -> None:
    """Rows longer than the header (with something in the extra cells), NUL bytes, cells too long."""
    lens = list(map(len, rows))
    if lens and max(lens) > width:
        for i, n in enumerate(lens):
            if n > width and any(c.strip() for c in rows[i][width:]):
                last = max(j for j in range(width, n) if rows[i][j].strip()) + 1
                out.setdefault(lines[i], []).append(f"{TOO_MANY_CELLS} ({last} cells, the header has {width})")
    if nul:
        for i, r in enumerate(rows):
            if any("\x00" in c for c in r):
                out.setdefault(lines[i], []).append(NUL_BYTE)


def _restore_quoted(rows: list[list[str]]) -> None:
    """Cells the tool's own export neutralised (``'=...``) get their text back."""
    for r in rows:
        for j, c in enumerate(r):
            if c[:1] == "'":
                r[j] = restore(c)


def _parse_csv(p: Path, text: str, delimiter: str, split_late: bool, before: int, quoted: bool
               ) -> tuple[list[str], Sequence[list[str]], list[int], list[int]]:
    """Header, rows, their lines, and the lines of rows with a cell too long, of ``text`` (which
    starts with the header line, line ``before + 1``). ``quoted``: a cell may start with ``'``."""
    plain = _plain_lines(text)
    long: list[int] = []
    if plain is None and '"' in text:
        mixed = _quoted_lines(p, text, delimiter, before)
        if mixed is not None:
            header, rows, lines = mixed
            return _drop_blank(header, rows, lines, long)
    if plain is not None:  # no quoting anywhere: each line is a record, split at the separator
        header, body = plain[0].split(delimiter), plain[1:]
        lines = list(range(before + 2, before + len(body) + 2))
        firsts = set(map(itemgetter(0), body)) if "" not in body else {""}
        width = len(header)
        if split_late and not quoted and not any(c == delimiter or c.isspace() or not c for c in firsts) \
                and not any(ln.count(delimiter) >= width for ln in body):
            # no line starts blank (so none is blank) and none is too long: split when checked
            return header, SplitRows(body, delimiter, width), lines, long
        rows = _split_lines(body, delimiter)
    else:
        header, rows, lines, long = _read_records(p, text, delimiter, before)
    if any(len(c) > MAX_CELL_CHARS for c in header):
        raise ImportFileError(f"{p}: line {before + 1}: a header cell longer than {MAX_CELL_CHARS:,} characters")
    return _drop_blank(header, rows, lines, long)


def _drop_blank(header, rows, lines, long):
    # blank lines, also ",,,," from spreadsheets, are not rows (a row whose first cell has text is not blank)
    if all(rows) and all(map(str.strip, map(itemgetter(0), rows))):
        return header, rows, lines, long
    blank = [i for i, r in enumerate(rows) if not r or ((not r[0] or r[0].isspace()) and not "".join(r).strip())]
    if blank:
        drop = set(blank)
        rows = [r for i, r in enumerate(rows) if i not in drop]
        lines = [ln for i, ln in enumerate(lines) if i not in drop]
    return header, rows, lines, long


def _plain_lines(text: str) -> list[str] | None:
    """The lines of ``text`` when it has nothing but plain cells, else None (read it with ``csv``).

    Without a quote character, a NUL, a lone carriage return or a line longer
    than a cell may be, every line is one record and ``csv`` splits it at each
    separator and nowhere else: ``str.split`` does the same, about twice as fast.
    """
    if '"' in text:
        return None
    return _lines(text)


def _lines(text: str) -> list[str] | None:
    """``text`` split at its line ends, or None when it has a NUL, a lone carriage return, mixed line ends,
    no line or a line longer than a cell may be."""
    if "\x00" in text:
        return None
    returns = text.count("\r")
    if not returns:
        lines = text.split("\n")
    elif returns == text.count("\n") == text.count("\r\n"):
        lines = text.split("\r\n")
    else:
        return None
    if lines and lines[-1] == "":  # the last line's end
        lines.pop()
    if not lines or max(map(len, lines)) > MAX_CELL_CHARS:
        return None
    return lines


def _quoted_lines(p: Path, text: str, delimiter: str, before: int):
    """Header, rows and lines of a file whose quoted cells all close on their own line (the common case:
    a few cells quoted for a separator or a quote inside): lines without a quote are split at the
    separator, the others read by ``csv``. None when a quoted cell may span lines (``csv`` reads it all)."""
    lines = _lines(text)
    if lines is None:
        return None
    quoted = [i for i, ln in enumerate(lines) if '"' in ln]
    if any(lines[i].count('"') % 2 for i in quoted):
        return None  # an open quote: a cell goes on on the next line
    records = _split_lines(lines, delimiter)
    try:
        for i, rec in zip(quoted, csv.reader([lines[i] for i in quoted], delimiter=delimiter, strict=True)):
            records[i] = rec
    except csv.Error:
        return None  # let csv read the whole text and name the line
    return records[0], records[1:], list(range(before + 2, before + len(records) + 1))


def _split_plain(text: str, delimiter: str) -> list[list[str]] | None:
    """The records ``csv.reader`` reads from ``text``, when ``text`` has nothing but plain cells."""
    lines = _plain_lines(text)
    if lines is None:
        return None
    return _split_lines(lines, delimiter)


def _split_lines(lines: list[str], delimiter: str) -> list[list[str]]:
    records = list(map(str.split, lines, repeat(delimiter, len(lines))))
    if "" in lines:  # csv reads an empty line as no cells at all
        records = [[] if not ln else r for ln, r in zip(lines, records)]
    return records


class SplitRows(Sequence):
    """The rows of a plain CSV file (see ``_plain_lines``), split into cells when asked for.

    ``rows[a:b]`` splits those lines only, so that a file can be checked chunk
    by chunk while the first chunks are already being written. Short rows are
    padded with empty cells to ``width``.
    """

    def __init__(self, lines: list[str], delimiter: str, width: int):
        self._lines, self._delimiter, self._width = lines, delimiter, width

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1 or None][0]
        rows = _split_lines(self._lines[index], self._delimiter)
        width = self._width
        if rows and min(map(len, rows)) < width:
            rows = [r if len(r) >= width else r + [""] * (width - len(r)) for r in rows]
        return rows

    def __iter__(self):
        for start in range(0, len(self._lines), 5000):
            yield from self[start:start + 5000]


_FIELD_LIMIT = re.compile(r"field larger than field limit")


def _read_records(p: Path, text: str, delimiter: str, before: int
                  ) -> tuple[list[str], list[list[str]], list[int], list[int]]:
    limit = csv.field_size_limit()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        rows = list(reader)
    except csv.Error as exc:
        if _FIELD_LIMIT.search(str(exc)):
            raise ImportFileError(f"{p}: line {before + reader.line_num}: {CELL_TOO_LONG} (one has more than "
                                  f"{limit:,}): refused") from None
        raise ImportFileError(f"{p}: line {before + reader.line_num}: bad CSV: {exc}") from None
    if reader.line_num == len(rows) + 1:
        # one record per physical line: row i is on line i + 2
        lines = list(range(before + 2, before + len(rows) + 2))
    else:  # a quoted cell spans lines: count them again, row by row
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        next(reader)
        lines = []
        start = reader.line_num + 1
        for _row in reader:
            lines.append(before + start)
            start = reader.line_num + 1
    long = []
    if len(text) > MAX_CELL_CHARS and max(map(len, text.split("\n"))) > MAX_CELL_CHARS:
        for i, r in enumerate(rows):
            if r and max(map(len, r)) > MAX_CELL_CHARS:  # the row is reported; the long text is not kept
                rows[i] = [c if len(c) <= MAX_CELL_CHARS else "" for c in r]
                long.append(lines[i])
    return header, rows, lines, long


# ---- XLSX -------------------------------------------------------------------------------------

def _read_xlsx(p: Path, options: ImportOptions, max_rows: int | None = None) -> Table:
    sheet = xlsx_read.read_xlsx(p, max_rows=max_rows)
    if not sheet.rows:
        raise ImportFileError(f"{p}: the first sheet is empty: no header row")
    h = _find_header(sheet.rows, sheet.lines, options, p, "the first sheet")
    header = ["" if c is None else str(c) for c in sheet.rows[h]]
    width = len(header)
    rows = sheet.rows[h + 1:]
    lines = sheet.lines[h + 1:]
    line_errors: dict[int, list[str]] = {}
    for i, r in enumerate(rows):
        if len(r) > width and any(c is not None and str(c).strip() for c in r[width:]):
            last = max(j for j in range(width, len(r)) if r[j] is not None and str(r[j]).strip()) + 1
            line_errors.setdefault(lines[i], []).append(f"{TOO_MANY_CELLS} ({last} cells, the header has {width})")
            rows[i] = r[:width]
    for ln, n in sheet.long_cells.items():
        line_errors.setdefault(ln, []).append(f"{CELL_TOO_LONG} ({n:,})")
    for i, r in enumerate(rows):
        for j, c in enumerate(r):
            if isinstance(c, str) and "\x00" in c:
                line_errors.setdefault(lines[i], []).append(NUL_BYTE)
                break
    decimal = "either" if options.decimal == "auto" else options.decimal
    return Table(columns=[], rows=rows, lines=lines, kind="xlsx", header=header, header_line=sheet.lines[h],
                 skipped_above=sheet.lines[:h], encoding="XLSX", line_errors=line_errors, decimal=decimal,
                 epoch=sheet.epoch)


__all__ = ["Table", "SplitRows", "read_table", "REQUIRED_COLUMNS"]
