"""Safe spreadsheet exports: no live formula in any cell, and a file that is complete or not there.

Every CSV or XLSX file the tool writes goes through this module (meters,
schedule, lots, evidence, personal data, job lists, live readings):

- **Formula neutralisation.** A text cell whose text begins with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return would be taken for a formula by a
  spreadsheet program (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). In a CSV
  file it is written with a leading ``'`` (the spreadsheet convention for
  "this is text"); in an XLSX file it is written as a string cell. A text
  that already begins with ``'`` followed by such a character gets one more
  ``'``, so that ``restore`` (used by the import) gives back exactly the text
  that was exported. Numbers are never touched: a Python ``int``/``float``
  anywhere, and a plain number written as text (``-5.2``, ``1e-3``) in a
  column named in ``numeric``.
- **Atomic write.** The file is written to a temporary file in the same
  folder, flushed to the disk (``fsync``) and renamed over the target name.
  A failure (full disk, permission, a cell XLSX cannot hold) removes the
  temporary file and leaves an earlier file of that name as it was; the
  caller gets one ``ExportError`` with a one-line message.

Plain Python (openpyxl for XLSX), no database, no Qt.

    write_csv(path_or_stream, header, rows, numeric=("qp_m3h",), bom=True) -> rows written
    write_xlsx(path, header, rows, numeric=("qp_m3h",), sheet="meters") -> rows written
    write_workbook(path, [(title, header, rows), ...], numeric=()) -> rows written (one sheet each)
    with atomic_file(path, "w", encoding="utf-8") as f: ...   # any other file format
    csv_cell(value, numeric=False) -> str;  neutralise(text) -> str;  restore(text) -> str
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import os
import re
import secrets
import stat
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from app.storage.errors import ExportError

#: The first characters that make a spreadsheet read a cell as a formula (or a DDE command).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: The longest text a spreadsheet cell holds (Excel's limit; openpyxl would cut a longer one silently).
MAX_CELL_CHARS = 32767

# the first characters that make ``csv_cell`` look closer at a text (a trigger, or a quote already there)
_NEEDS_LOOK = frozenset(FORMULA_TRIGGERS) | {"'"}

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# characters an XLSX file cannot hold at all (XML 1.0 forbids them)
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _escaped(text: str) -> bool:
    """True when ``text`` is ``'`` (one or more) then a formula trigger: the form ``neutralise`` writes."""
    if not text.startswith("'"):
        return False
    rest = text.lstrip("'")
    return bool(rest) and rest[0] in FORMULA_TRIGGERS


def neutralise(text: str) -> str:
    """The CSV form of a text cell: a leading ``'`` when a spreadsheet would read it as a formula."""
    if text and (text[0] in FORMULA_TRIGGERS or _escaped(text)):
        return "'" + text
    return text


def restore(text: str) -> str:
    """The text ``neutralise`` was given (the import of a CSV file the tool wrote)."""
    return text[1:] if _escaped(text) else text


def is_plain_number(text: str) -> bool:
    """``-5``, ``+1.5``, ``2e-3``: a number a spreadsheet shows as a number, never a formula."""
    return _PLAIN_NUMBER.fullmatch(text) is not None


def csv_cell(value: Any, numeric: bool = False) -> str:
    """One cell as CSV text: numbers as they are, dates ISO, text neutralised.

    ``numeric``: the column holds numbers; a text that is a plain number is
    written as it is (``-5.2``), anything else is still neutralised.
    """
    if type(value) is str:                  # the common case first: text that needs nothing
        if not value or value[0] not in _NEEDS_LOOK:
            return value
        if numeric and is_plain_number(value):
            return value
        return neutralise(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)  # nan / inf: words, not formulas
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    text = str(value)
    if numeric and is_plain_number(text):
        return text
    return neutralise(text)


# ---- atomic files ----------------------------------------------------------------------

def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


@contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8",
                newline: str | None = "") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit flush it to disk and rename it to ``path``.

    On any exception the temporary file is removed and ``path`` is left as it
    was; an ``OSError`` becomes ``ExportError`` ("cannot write PATH: reason").
    ``mode`` is ``"w"`` (text, with ``encoding`` and ``newline``) or ``"wb"``.
    A symbolic link is followed (the file it names is replaced, the link
    stays); a device or a pipe (``/dev/null``, a FIFO) is written as it is and
    never replaced; a folder is refused.
    """
    target = Path(path)
    binary = "b" in mode
    try:
        st = os.stat(target)  # follows a symbolic link: the file it points to is the one replaced
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {_describe(exc)}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise ExportError(f"cannot write {target}: it is a folder")
        # a device or a pipe (/dev/null, a FIFO another program reads): written as it is, never replaced
        yield from _write_in_place(target, mode, encoding, newline)
        return
    target = Path(os.path.realpath(target))
    folder = target.parent
    tmp = folder / f".{target.name}.{secrets.token_hex(4)}.part"
    try:
        # 0o666 less the umask, like any file the user creates (mkstemp would make it private)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {_describe(exc)}") from None
    f: IO | None = None
    try:
        f = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline=newline)
        yield f
        f.flush()
        os.fsync(f.fileno())
        f.close()
        f = None
        os.replace(tmp, target)
        _sync_folder(folder)
    except BaseException as exc:
        if f is not None:
            try:
                f.close()
            except OSError:
                pass  # the data never reached the disk: the file goes anyway
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write {target}: {_describe(exc)}") from None
        raise


def _write_in_place(target: Path, mode: str, encoding: str | None, newline: str | None) -> Iterator[IO]:
    try:
        f = open(target, "wb") if "b" in mode else open(target, "w", encoding=encoding, newline=newline)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {_describe(exc)}") from None
    try:
        with f:
            yield f
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {_describe(exc)}") from None


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); nothing to do where folders cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- CSV ---------------------------------------------------------------------------------

class SafeCsvWriter:
    """``csv.writer`` that writes every cell through ``csv_cell`` (``numeric``: column names)."""

    def __init__(self, f: IO[str], header: Sequence[str], *, numeric: Collection[str] = (),
                 delimiter: str = ",", lineterminator: str = "\r\n"):
        self._w = csv.writer(f, delimiter=delimiter, lineterminator=lineterminator)
        self._numeric = [c in numeric for c in header]
        self.rows = 0
        self._w.writerow([csv_cell(h) for h in header])

    def writerow(self, row: Sequence[Any]) -> None:
        self.writerows((row,))

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        numeric, width, cell, write = self._numeric, len(self._numeric), csv_cell, self._w.writerow
        looks = _NEEDS_LOOK
        for row in rows:
            out = [v if type(v) is str and (not v or v[0] not in looks) else cell(v, num)
                   for v, num in zip(row, numeric)]
            if len(row) > width:
                out += [cell(v) for v in row[width:]]
            write(out)
            self.rows += 1


@contextmanager
def csv_output(target: str | os.PathLike[str] | IO[str], header: Sequence[str], *,
               numeric: Collection[str] = (), bom: bool = False, delimiter: str = ",",
               lineterminator: str = "\r\n") -> Iterator[SafeCsvWriter]:
    """A ``SafeCsvWriter`` on a path (written atomically) or on an open text stream (left open).

    ``bom``: UTF-8 with a byte-order mark (spreadsheet programs then read the
    file as UTF-8); a stream is written as it is.
    """
    if hasattr(target, "write"):
        yield SafeCsvWriter(target, header, numeric=numeric, delimiter=delimiter,  # type: ignore[arg-type]
                            lineterminator=lineterminator)
        return
    with atomic_file(target, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        yield SafeCsvWriter(f, header, numeric=numeric, delimiter=delimiter, lineterminator=lineterminator)


def write_csv(target: str | os.PathLike[str] | IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              numeric: Collection[str] = (), bom: bool = False, delimiter: str = ",",
              lineterminator: str = "\r\n") -> int:
    """Write a whole CSV file (or stream) safely; returns the number of rows (header not counted)."""
    with csv_output(target, header, numeric=numeric, bom=bom, delimiter=delimiter,
                    lineterminator=lineterminator) as w:
        w.writerows(rows)
    return w.rows


# ---- XLSX --------------------------------------------------------------------------------

def write_xlsx(target: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]], *,
               numeric: Collection[str] = (), sheet: str = "data") -> int:
    """Write a one-sheet XLSX workbook safely; returns the number of rows (header not counted).

    Text is written as string cells (never formulas or error values); a plain
    number in a ``numeric`` column, and any ``int``/``float``, as a number
    cell; dates as date cells. A text longer than a cell holds, or with a
    control character XLSX cannot hold, is refused (``ExportError`` naming
    the row and column) rather than cut or changed.
    """
    return write_workbook(target, [(sheet, header, rows)], numeric=numeric)


_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


def sheet_titles(titles: Sequence[str]) -> list[str]:
    """Titles Excel accepts (none of the characters [ ] : * ? / and backslash, at most 31 characters, none
    twice, none empty)."""
    out: list[str] = []
    for t in titles:
        base = _BAD_TITLE.sub("_", str(t)).strip().strip("'")[:31] or "Sheet"
        title, k = base, 2
        while title.lower() in (o.lower() for o in out):
            suffix = f" ({k})"
            title, k = base[:31 - len(suffix)] + suffix, k + 1
        out.append(title)
    return out


def write_workbook(target: str | os.PathLike[str],
                   sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]], *,
                   numeric: Collection[str] = ()) -> int:
    """Write an XLSX workbook of several sheets, each ``(title, header, rows)``, safely (see
    ``write_xlsx``); titles are made acceptable (``sheet_titles``). Returns the rows written."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    n = 0
    sheets = list(sheets) or [("data", [], [])]
    titles = sheet_titles([t for t, _h, _r in sheets])
    made = []

    def text_cell(ws, header, text: str, r: int, c: int):
        if len(text) > MAX_CELL_CHARS:
            raise ExportError(f"cannot write {target}: row {r}, column {header[c] if c < len(header) else c + 1}: "
                              f"{len(text):,} characters, more than a spreadsheet cell holds ({MAX_CELL_CHARS:,})")
        if _XLSX_ILLEGAL.search(text):
            raise ExportError(f"cannot write {target}: row {r}, column {header[c] if c < len(header) else c + 1}: "
                              "a control character XLSX cannot hold (export as CSV instead)")
        if "\r" in text or "_x" in text:
            text = xlsx_escape(text)
        if text.startswith("=") or text.startswith("#"):  # openpyxl would make a formula / an error value
            cell = WriteOnlyCell(ws, value=text)
            cell.data_type = "s"
            return cell
        return text

    def convert(ws, header, nums, row: Sequence[Any], r: int) -> list[Any]:
        out: list[Any] = []
        for c, v in enumerate(row):
            if v is None or isinstance(v, (bool, dt.date, dt.datetime)):
                out.append(v)
            elif isinstance(v, (int, float)):
                out.append(v if not isinstance(v, float) or math.isfinite(v) else str(v))
            else:
                s = str(v)
                if c < len(nums) and nums[c] and is_plain_number(s):
                    x = float(s)
                    out.append(int(x) if _PLAIN_INT.fullmatch(s) and abs(x) < 1e15 else x)
                else:
                    out.append(text_cell(ws, header, s, r, c))
        return out

    try:
        with atomic_file(target, "wb") as f:
            try:
                for title, (_t, header, rows) in zip(titles, sheets):
                    ws = wb.create_sheet(title)
                    made.append(ws)
                    header = [str(h) for h in header]
                    nums = [h in numeric for h in header]
                    ws.append([text_cell(ws, header, h, 1, c) for c, h in enumerate(header)])
                    r = 2
                    for row in rows:
                        ws.append(convert(ws, header, nums, row, r))
                        r += 1
                        n += 1
                _save_workbook(wb, f)
            finally:
                for ws in made:
                    _close_unsaved(ws)
    except ExportError:
        raise
    except (ValueError, TypeError) as exc:  # openpyxl refusing a value
        raise ExportError(f"cannot write {target}: {' '.join(str(exc).split())[:200]}") from None
    return n


_PLAIN_INT = re.compile(r"[+-]?\d+")
_OOXML_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_")


def xlsx_escape(text: str) -> str:
    """OOXML's escape for text XML would change: a carriage return (XML reads it as a line feed)
    becomes ``_x000D_``, and a literal ``_xHHHH_`` is protected as ``_x005F_xHHHH_``."""
    text = _OOXML_ESCAPE.sub(lambda m: "_x005F" + m[0], text)
    return text.replace("\r", "_x000D_")


def xlsx_unescape(text: str) -> str:
    """The text Excel shows for a cell stored with OOXML escapes (``xlsx_escape`` undone)."""
    if "_x" not in text:
        return text
    return _OOXML_ESCAPE.sub(lambda m: chr(int(m[0][2:6], 16)), text)


def _save_workbook(wb, f) -> None:
    """``wb.save(f)``, but a zip left half-written by an error (a full disk) is let go of here: its
    later clean-up would otherwise fail on the closed file and print "Exception ignored"."""
    import datetime as _dt
    from zipfile import ZIP_DEFLATED, ZipFile

    from openpyxl.writer.excel import ExcelWriter

    archive = ZipFile(f, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        wb.properties.modified = _dt.datetime.now(tz=_dt.timezone.utc).replace(tzinfo=None)
        ExcelWriter(wb, archive).save()  # writes every part and closes the archive
    except BaseException:
        try:
            archive.close()
        except Exception:  # noqa: BLE001 - the disk is full: the real error is raised below
            pass
        archive.fp = None  # nothing left for ZipFile.__del__ to do
        raise


def _close_unsaved(ws) -> None:
    """Finish a write-only sheet that was not saved (an error midway), so that nothing is left
    half-open for the garbage collector to complain about later."""
    if getattr(ws, "closed", True):
        return
    rows = getattr(ws, "_rows", None)
    writer = getattr(ws, "_writer", None)
    try:
        if rows is not None:
            rows.close()
    except Exception:  # noqa: BLE001 - cleaning up after the real error, which is raised
        pass
    try:
        if writer is not None:
            writer.xf.close()  # closes the sheet's temporary XML file
    except Exception:  # noqa: BLE001
        pass
    out = getattr(writer, "out", None)
    if isinstance(out, str):
        try:
            os.unlink(out)
        except OSError:
            pass
