"""The first sheet of an XLSX workbook, cell by cell as the sheet shows it, within hard limits.

- Text cells stay text (``00100076`` keeps its zeros); a number shown with
  leading zeros (number format ``00000000``) is given as the digits shown.
- A number whose cell has a date format is a date (``datetime``); other
  numbers stay numbers (the checks read an Excel serial number in a date
  column as that day).
- Only the cells the sheet holds are read (the XML is streamed, empty rows
  and columns cost nothing), and a workbook beyond the limits is refused at
  once with one line: more columns than ``MAX_COLUMNS`` (declared by the
  sheet or met), members of the zip larger than ``MAX_XML_BYTES`` unpacked.
  A cell over ``MAX_CELL_CHARS`` characters is an error of its row.
"""
from __future__ import annotations

import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.storage.errors import ImportFileError
from app.storage.safe_export import MAX_CELL_CHARS, xlsx_unescape

MAX_COLUMNS = 1000              # a register export has a few dozen; Excel's own limit is 16,384
MAX_ROWS = 1_048_576            # Excel's limit
MAX_XML_BYTES = 2 * 1024 ** 3   # one member of the zip, unpacked
MAX_TOTAL_BYTES = 3 * 1024 ** 3
_ZERO_PAD = re.compile(r'(?:"[^"]*")?(0+)')


@dataclass
class Sheet:
    rows: list[list[Any]]        # the rows that hold a value, each up to its last cell
    lines: list[int]             # each row's number in the sheet
    long_cells: dict[int, int] = field(default_factory=dict)  # row number -> characters of its longest cell
    epoch: Any = None


def read_xlsx(p: Path, max_rows: int | None = None) -> Sheet:
    """Read the first sheet (see the module's notes); ``ImportFileError`` (one line) if it cannot be.
    ``max_rows``: stop after that many rows holding something (a preview)."""
    import openpyxl

    _check_zip(p)
    fh = p.open("rb")  # a file object: openpyxl would refuse a name not ending in .xlsx
    try:
        with warnings.catch_warnings(record=True):  # openpyxl's notes on styles it drops are no concern here
            warnings.simplefilter("always")
            try:
                wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
            except Exception as exc:  # noqa: BLE001 - openpyxl raises assorted errors on foreign zip files
                raise ImportFileError(f"{p}: not a CSV or XLSX file (unreadable workbook: "
                                      f"{type(exc).__name__})") from None
            try:
                return _read_first_sheet(p, wb, max_rows)
            finally:
                wb.close()
    finally:
        fh.close()


def _check_zip(p: Path) -> None:
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(f"{p}: not a CSV or XLSX file ({type(exc).__name__}: {exc})") from None
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > MAX_XML_BYTES or total > MAX_TOTAL_BYTES:
            raise ImportFileError(f"{p}: the workbook unpacks to more than {MAX_TOTAL_BYTES // 1024 ** 3} GiB "
                                  f"({info.filename}): refused")


def _formats(wb) -> tuple[set[int], dict[int, int]]:
    """Style ids whose number format is a date, and style ids that pad numbers with zeros (-> width)."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE, is_date_format

    dates: set[int] = set()
    pads: dict[int, int] = {}
    try:
        styles = list(wb._cell_styles)
        custom = list(wb._number_formats)
    except AttributeError:  # pragma: no cover - an openpyxl without these: numbers stay numbers
        return dates, pads
    for sid, st in enumerate(styles):
        fid = st.numFmtId
        code = BUILTIN_FORMATS.get(fid, "General") if fid < BUILTIN_FORMATS_MAX_SIZE else \
            (custom[fid - BUILTIN_FORMATS_MAX_SIZE] if fid - BUILTIN_FORMATS_MAX_SIZE < len(custom) else "General")
        if is_date_format(code):
            dates.add(sid)
            continue
        m = _ZERO_PAD.fullmatch(code.split(";")[0])
        if m and len(m[1]) > 1:
            pads[sid] = len(m[1])
    return dates, pads


def _read_first_sheet(p: Path, wb, max_rows: int | None = None) -> Sheet:
    from openpyxl.utils.datetime import from_excel
    from openpyxl.worksheet._reader import WorkSheetParser

    if not wb.worksheets:
        raise ImportFileError(f"{p}: the workbook has no sheet")
    ws = wb.worksheets[0]
    declared = getattr(ws, "max_column", None)
    if declared is not None and declared > MAX_COLUMNS:
        raise ImportFileError(f"{p}: the first sheet spans {declared:,} columns (to {_dimension(ws)}); the limit "
                              f"is {MAX_COLUMNS:,}: delete the empty columns, or copy the used cells to a new sheet")
    dates, pads = _formats(wb)
    epoch = wb.epoch
    rows: list[list[Any]] = []
    lines: list[int] = []
    long_cells: dict[int, int] = {}
    src = ws._get_source()
    try:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=epoch,
                                 date_formats=set(), timedelta_formats=set())
        for rnum, cells in parser.parse():
            if rnum > MAX_ROWS:
                raise ImportFileError(f"{p}: row {rnum:,} is beyond the {MAX_ROWS:,} rows a sheet has: refused")
            row: list[Any] = []
            for c in cells:
                v = c["value"]
                if v is None:
                    continue
                col = c["column"]
                if col > MAX_COLUMNS:
                    raise ImportFileError(f"{p}: row {rnum}: a cell in column {col:,}; the limit is {MAX_COLUMNS:,} "
                                          "columns: delete the cells far to the right")
                t = c["data_type"]
                sid = c["style_id"]
                if t == "n" and isinstance(v, (int, float)):
                    if sid in dates:
                        try:
                            v = from_excel(v, epoch)
                        except (OverflowError, ValueError):
                            pass  # shown as a number: the checks say why it is no date
                    elif sid in pads and float(v).is_integer() and v >= 0:
                        v = f"{int(v):0{pads[sid]}d}"
                elif isinstance(v, str):
                    if len(v) > MAX_CELL_CHARS:
                        long_cells[rnum] = max(long_cells.get(rnum, 0), len(v))
                    elif "_x" in v:
                        v = xlsx_unescape(v)
                elif not isinstance(v, (int, float, bool)) and v is not None:
                    v = v if hasattr(v, "isoformat") else str(v)
                if len(row) < col - 1:
                    row.extend([None] * (col - 1 - len(row)))
                if len(row) == col - 1:
                    row.append(v)
                else:
                    row[col - 1] = v
            if row and any(x is not None and (not isinstance(x, str) or x.strip()) for x in row):
                rows.append(row)
                lines.append(rnum)
                if max_rows is not None and len(rows) >= max_rows:
                    break
    except ImportFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed sheet: one line, not a traceback
        raise ImportFileError(f"{p}: the first sheet cannot be read ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:120]})") from None
    finally:
        src.close()
    return Sheet(rows=rows, lines=lines, long_cells=long_cells, epoch=epoch)


def _dimension(ws) -> str:
    try:
        return ws.calculate_dimension()
    except ValueError:
        return "?"
