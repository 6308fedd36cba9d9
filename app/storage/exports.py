"""Writing a table the user opens in a spreadsheet: CSV or XLSX, safely.

Every CSV/XLSX the maintenance cycle writes (schedule, job lists, evidence,
lot reports) goes through here, so that:

- a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is written as text, never as a live formula (CSV: a leading ``'``;
  XLSX: a string cell, never a formula); numbers stay numbers;
- a file is written to a temporary file in the same folder and renamed over
  the target only when complete: a crash or a full disk never leaves half a
  file, and an older file is never half overwritten.

The project's import/export work may replace this module by its own writer;
the functions keep the signatures callers use.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from app.storage.errors import ImportFileError

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _number_text(text: str) -> bool:
    """A cell whose text is a plain signed number (e.g. an error of -1.5 %): safe to leave as it is."""
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and not text.lower().lstrip("+-").startswith(("inf", "nan"))


def safe_text(value: Any) -> str:
    """The CSV text of a cell: a number as written, a date ISO, None empty, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (int,)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START) and not _number_text(text):
        return "'" + text
    return text


def _atomic(path: str | os.PathLike, write, *, binary: bool) -> None:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ImportFileError(f"cannot write {target}: no folder {folder}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        if binary:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        else:
            with os.fdopen(fd, "w", newline="", encoding="utf-8-sig") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ImportFileError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_csv(target: str | os.PathLike | TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A CSV (UTF-8 with BOM for spreadsheets) to a path (atomically) or an open text stream; returns the rows."""
    count = 0

    def write(f) -> None:
        nonlocal count
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow([safe_text(h) for h in header])
        for r in rows:
            w.writerow([safe_text(c) for c in r])
            count += 1

    if hasattr(target, "write"):
        write(target)
    else:
        _atomic(target, write, binary=False)
    return count


def write_xlsx(target: str | os.PathLike, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> int:
    """An XLSX workbook, one sheet per (title, header, rows), atomically; text is never a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    count = 0
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31] or "Sheet")
        ws.append([str(h) for h in header])
        for r in rows:
            out = []
            for v in r:
                if isinstance(v, bool):
                    v = "yes" if v else "no"
                elif isinstance(v, dt.datetime):
                    v = v.isoformat(sep=" ", timespec="seconds")
                elif isinstance(v, dt.date):
                    v = v.isoformat()
                if isinstance(v, str) and v.startswith(_FORMULA_START):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.data_type = "s"  # text, never a formula
                    v = cell
                out.append(v)
            ws.append(out)
            count += 1
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    _atomic(target, lambda f: f.write(data), binary=True)
    return count
