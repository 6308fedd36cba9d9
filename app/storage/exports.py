"""The maintenance cycle's names for the safe writer (schedule, job lists, evidence, lot reports).

Everything is written by :mod:`app.storage.safe_export` (the one writer of every CSV and XLSX file: no
live formula, atomic write); these functions keep the signatures their callers use. A text that is a
plain number (``-1.5``) is left as it is in any column, ``True``/``False`` are written ``yes``/``no``,
and in a workbook dates are written as ISO text.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from app.storage import safe_export


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def safe_text(value: Any) -> str:
    """The CSV text of a cell: a number as written, a date ISO, None empty, formula-like text neutralised."""
    return safe_export.csv_cell(_plain(value), numeric=True)


def write_csv(target: str | os.PathLike | TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A CSV (UTF-8 with BOM for spreadsheets) to a path (atomically) or an open text stream; returns the rows."""
    return safe_export.write_csv(target, header, ([_plain(v) for v in r] for r in rows), numeric=set(header),
                                 bom=not hasattr(target, "write"))


def _cell(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    return _plain(v)


def write_xlsx(target: str | os.PathLike, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> int:
    """An XLSX workbook, one sheet per (title, header, rows), atomically; text is never a formula."""
    return safe_export.write_workbook(target, [(t, h, ([_cell(v) for v in r] for r in rows)) for t, h, rows in sheets])
