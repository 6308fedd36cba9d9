"""The register's spreadsheet contract (register-csv.md): reading, checking, writing.

Reading gives ``(line_number, {column: text})`` pairs from a CSV file (``,`` ``;``
or tab separated, UTF-8 with or without BOM, else Windows-1252) or from the
first sheet of an XLSX workbook. ``check_row`` turns one row into the values
the register stores, or into the reasons it is invalid. Plain Python, no
database.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterator

from app.storage.errors import ImportFileError

# The contract's columns, in the contract's order (also the export order).
CONTRACT_COLUMNS = (
    "site", "building", "location", "monitoring_point", "manufacturer", "model", "serial",
    "mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "install_date", "primary_address",
    "secondary_address", "battery_expiry", "flow_sensor_position",
)
REQUIRED_COLUMNS = ("site", "manufacturer", "model", "serial", "install_date")
#: Required columns whose cells may not be empty: an empty install_date is accepted (the meter is then
#: flagged install_date_unknown by the schedule, maintenance-cycle spec).
REQUIRED_VALUES = ("site", "manufacturer", "model", "serial")
# Columns beyond the contract that map onto meter fields (read when present,
# written by export when some meter has a value).
EXTENDED_COLUMNS = (
    "mbus_manufacturer", "qs_m3h", "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c",
    "baud", "status", "notes",
)
PERSONAL_COLUMNS = ("occupant_name", "flat", "customer_reference")
KNOWN_COLUMNS = CONTRACT_COLUMNS + EXTENDED_COLUMNS + PERSONAL_COLUMNS
# Columns that describe where the meter is (its installation) rather than the meter.
PLACEMENT_COLUMNS = ("site", "building", "location", "monitoring_point")

BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)
STATUS_VALUES = ("in_service", "removed", "spare", "in_repair", "at_lab", "scrapped")
MAX_TEXT = {"site": 200, "building": 200, "location": 300, "monitoring_point": 100, "manufacturer": 100,
            "model": 100, "serial": 100, "notes": 10000, "occupant_name": 200, "flat": 100,
            "customer_reference": 100}


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Table:
    """A sheet read from a file: header (normalised), rows and each row's line number.

    CSV rows are lists of ``str`` (short rows padded with ``""``); XLSX rows
    hold the cells' Python values.
    """

    columns: list[str]
    rows: Sequence[list[Any]]  # a list, or SplitRows for a plain CSV file
    lines: list[int]
    extra_columns: list[str] = field(default_factory=list)
    kind: str = "csv"


# ---- reading ------------------------------------------------------------------

def _looks_xlsx(path: Path, head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm")


def read_table(path: str | Path, *, split_late: bool = False) -> Table:
    """Read a CSV or XLSX file; raise ImportFileError (one line) for anything else.

    ``split_late``: a CSV file without quoting or blank lines gets its rows as
    ``SplitRows``, split into cells only when a chunk of them is asked for.
    """
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise ImportFileError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{p}: is a folder, not a CSV or XLSX file") from None
    except OSError as exc:
        raise ImportFileError(f"{p}: cannot read: {exc.strerror}") from None
    if _looks_xlsx(p, head):
        header, rows, lines = _read_xlsx(p)
        kind = "xlsx"
    else:
        header, rows, lines = _read_csv(p, split_late)
        kind = "csv"
    columns = [_norm_header(h) for h in header]
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        if not c:
            columns[i] = f"column_{i + 1}"
            continue
        if c in seen:
            raise ImportFileError(f"{p}: column {c!r} appears twice in the header")
        seen[c] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise ImportFileError(
            f"{p}: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(header: {', '.join(c for c in columns if c)})")
    if kind == "csv" and isinstance(rows, list):
        width = len(columns)
        if rows and min(map(len, rows)) < width:  # short rows: the missing cells are empty
            rows = [r if len(r) >= width else r + [""] * (width - len(r)) for r in rows]
    extra = [c for c in columns if c not in KNOWN_COLUMNS]
    return Table(columns=columns, rows=rows, lines=lines, extra_columns=extra, kind=kind)


def _norm_header(h: Any) -> str:
    return "" if h is None else " ".join(str(h).split()).lower()


_FIRST_LINE = re.compile(r"[^\r\n]*")


def _read_csv(p: Path, split_late: bool = False) -> tuple[list[str], Sequence[list[str]], list[int]]:
    """Decode the whole file once (UTF-8 with or without BOM, else Windows-1252) and parse it."""
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{p}: cannot read: {exc.strerror}") from None
    if b"\x00" in data[:65536]:
        raise ImportFileError(f"{p}: not a CSV or XLSX file (binary content)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        del data
        return _parse_csv(p, text, split_late)
    raise ImportFileError(f"{p}: not a CSV or XLSX file (not UTF-8 or Windows-1252 text)")


def _parse_csv(p: Path, text: str, split_late: bool = False) -> tuple[list[str], Sequence[list[str]], list[int]]:
    first = _FIRST_LINE.match(text)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    if first.count(delimiter) == 0:
        if not first.strip():
            raise ImportFileError(f"{p}: empty file: no header line")
        raise ImportFileError(f"{p}: not a CSV file: the first line has no column separator (, ; or tab)")
    plain = _plain_lines(text)
    if plain is not None:  # no quoting anywhere: each line is a record, split at the separator
        header, body = plain[0].split(delimiter), plain[1:]
        lines = list(range(2, len(body) + 2))
        firsts = set(map(itemgetter(0), body)) if "" not in body else {""}
        if split_late and not any(c == delimiter or c.isspace() or not c for c in firsts):
            # no line starts blank, so none is blank: split the lines when they are checked
            return header, SplitRows(body, delimiter, len(header)), lines
        rows = _split_lines(body, delimiter)
    else:
        header, rows, lines = _read_records(p, text, delimiter)
    # blank lines, also ",,,," from spreadsheets, are not rows (a row whose first cell has text is not blank)
    if all(rows) and all(map(str.strip, map(itemgetter(0), rows))):
        return header, rows, lines
    blank = [i for i, r in enumerate(rows) if not r or ((not r[0] or r[0].isspace()) and not "".join(r).strip())]
    if blank:
        drop = set(blank)
        rows = [r for i, r in enumerate(rows) if i not in drop]
        lines = [ln for i, ln in enumerate(lines) if i not in drop]
    return header, rows, lines


def _plain_lines(text: str) -> list[str] | None:
    """The lines of ``text`` when it has nothing but plain cells, else None (read it with ``csv``).

    Without a quote character, a NUL, a lone carriage return or a line longer
    than csv's field limit, every line is one record and ``csv`` splits it at
    each separator and nowhere else: ``str.split`` does the same, about twice
    as fast.
    """
    if '"' in text or "\x00" in text:
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
    if not lines or max(map(len, lines)) > csv.field_size_limit():
        return None
    return lines


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


def _read_records(p: Path, text: str, delimiter: str) -> tuple[list[str], list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        rows = list(reader)
    except csv.Error as exc:
        raise ImportFileError(f"{p}: line {reader.line_num}: bad CSV: {exc}") from None
    if reader.line_num == len(rows) + 1:
        # one record per physical line: row i is on line i + 2
        lines = list(range(2, len(rows) + 2))
    else:  # a quoted cell spans lines: count them again, row by row
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        next(reader)
        lines = []
        start = reader.line_num + 1
        for _row in reader:
            lines.append(start)
            start = reader.line_num + 1
    return header, rows, lines


def _read_xlsx(p: Path) -> tuple[list[str], list[list[Any]], list[int]]:
    import zipfile

    import openpyxl

    fh = p.open("rb")  # a file object: openpyxl would refuse a name not ending in .xlsx
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        fh.close()
        raise ImportFileError(f"{p}: not a CSV or XLSX file ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # openpyxl raises assorted errors on foreign zip files
        fh.close()
        raise ImportFileError(f"{p}: not a CSV or XLSX file (unreadable workbook: {type(exc).__name__})") from None
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = None
        line = 0
        for values in it:
            line += 1
            if values and any(v not in (None, "") for v in values):
                header = list(values)
                break
        if header is None:
            raise ImportFileError(f"{p}: the first sheet is empty: no header row")
        rows: list[list[Any]] = []
        lines: list[int] = []
        for values in it:
            line += 1
            if values and any(v is not None and str(v).strip() for v in values):
                rows.append(list(values))
                lines.append(line)
    finally:
        wb.close()
        fh.close()
    return [("" if h is None else str(h)) for h in header], rows, lines


# ---- checking one row ---------------------------------------------------------

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")
_INT = re.compile(r"^[+-]?\d+$")
_DIGITS8 = re.compile(r"^\d{8}$")
_FLAG = re.compile(r"^[A-Za-z@]{3}$")


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v).strip()


def parse_date(v: Any, *, allow_year: bool) -> tuple[dt.date, bool]:
    """(date, year_only). Raises ValueError with a reason."""
    if isinstance(v, dt.datetime):
        return v.date(), False
    if isinstance(v, dt.date):
        return v, False
    if isinstance(v, (int, float)) and not isinstance(v, bool) and allow_year and float(v).is_integer() \
            and 1900 <= int(v) <= 2200:
        return dt.date(int(v), 7, 1), True
    s = _text(v)
    if allow_year and _YEAR.match(s):
        y = int(s)
        if not 1900 <= y <= 2200:
            raise ValueError(f"year {s} out of range 1900..2200")
        return dt.date(y, 7, 1), True
    m = _DATE.match(s)
    if not m:
        raise ValueError(f"bad date {s!r} (expected YYYY-MM-DD{' or YYYY' if allow_year else ''})")
    try:
        d = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"bad date {s!r} (no such day)") from None
    if not 1900 <= d.year <= 2200:
        raise ValueError(f"date {s} out of range (years 1900..2200)")
    return d, False


def _number(v: Any, name: str, *, positive: bool = True) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        x = float(v)
    else:
        s = _text(v)
        if s.count(",") == 1 and "." not in s:  # decimal comma (semicolon-separated files)
            s = s.replace(",", ".")
        try:
            x = float(s)
        except ValueError:
            raise ValueError(f"{name} {_text(v)!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} {_text(v)!r} is not a finite number")
    if positive and x <= 0:
        raise ValueError(f"{name} {_text(v)!r} must be greater than 0")
    return x


def _integer(v: Any, name: str) -> int:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    s = _text(v)
    if not _INT.match(s):
        raise ValueError(f"{name} {s!r} is not a whole number")
    return int(s)


def _check_primary(v):
    n = _integer(v, "primary_address")
    if not 0 <= n <= 250:
        raise ValueError(f"primary_address {n} out of range 0..250")
    return n


def _check_secondary(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and 0 <= v < 10**8:
        return f"{int(v):08d}"  # a spreadsheet dropped the leading zeros
    s = _text(v).replace(" ", "")
    if not _DIGITS8.match(s):
        raise ValueError(f"secondary_address {_text(v)!r} must be 8 digits")
    return s


def _check_mid_class(v):
    n = _integer(v, "mid_class")
    if n not in (1, 2, 3):
        raise ValueError(f"mid_class {_text(v)!r} must be 1, 2 or 3")
    return n


def _check_dn(v):
    n = _integer(v, "dn")
    if not 1 <= n <= 2000:
        raise ValueError(f"dn {n} out of range 1..2000 mm")
    return n


def _check_position(v):
    s = _text(v).lower()
    if s not in ("flow", "return"):
        raise ValueError(f"flow_sensor_position {_text(v)!r} must be flow or return")
    return s


def _check_baud(v):
    n = _integer(v, "baud")
    if n not in BAUD_RATES:
        raise ValueError(f"baud {n} is not an M-Bus rate ({', '.join(map(str, BAUD_RATES))})")
    return n


def _check_status(v):
    s = _text(v).lower()
    if s not in STATUS_VALUES:
        raise ValueError(f"status {_text(v)!r} must be one of {', '.join(STATUS_VALUES)}")
    return s


def _check_flag(v):
    s = _text(v)
    if not _FLAG.match(s):
        raise ValueError(f"mbus_manufacturer {s!r} must be a 3-letter FLAG code such as KAM")
    return s.upper()


def _temp(name):
    def check(v):
        x = _number(v, name, positive=False)
        if not -60 <= x <= 250:
            raise ValueError(f"{name} {x:g} out of range -60..250 °C")
        return x
    return check


def _pos(name):
    return lambda v: _number(v, name)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "mid_class": _check_mid_class,
    "qp_m3h": _pos("qp_m3h"),
    "qi_m3h": _pos("qi_m3h"),
    "qp_qi_ratio": _pos("qp_qi_ratio"),
    "qs_m3h": _pos("qs_m3h"),
    "dn": _check_dn,
    "primary_address": _check_primary,
    "secondary_address": _check_secondary,
    "flow_sensor_position": _check_position,
    "dtheta_min_k": _pos("dtheta_min_k"),
    "dtheta_max_k": _pos("dtheta_max_k"),
    "temp_min_c": _temp("temp_min_c"),
    "temp_max_c": _temp("temp_max_c"),
    "baud": _check_baud,
    "status": _check_status,
    "mbus_manufacturer": _check_flag,
}


def check_cell(col: str, raw: Any) -> tuple[Any, str | None]:
    """Check one cell of a known column: (value, reason or None).

    An empty cell gives (None, None). ``install_date`` gives ``(date,
    year_only)``. A text longer than allowed gives its text and the reason.
    """
    if col in _CHECKS:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None, None
        try:
            return _CHECKS[col](raw), None
        except ValueError as exc:
            return None, str(exc)
    if col == "install_date" or col == "battery_expiry":
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None, None
        try:
            d, year_only = parse_date(raw, allow_year=col == "install_date")
        except ValueError as exc:
            return None, f"{col}: {exc}"
        return ((d, year_only) if col == "install_date" else d), None
    s = _text(raw)
    limit = MAX_TEXT.get(col, 300)
    return s or None, (f"{col} longer than {limit} characters" if len(s) > limit else None)


def check_row(cells: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Check one row (column -> cell). Returns (values, reasons).

    ``values`` holds the meter fields for the columns present in ``cells``
    (an empty cell gives None), ``install_year_only`` when install_date is
    given, and ``extra`` for unknown columns. ``reasons`` is empty when valid.
    """
    out: dict[str, Any] = {}
    errors: list[str] = []
    extra: dict[str, str] = {}
    for col, raw in cells.items():
        if col not in KNOWN_COLUMNS:
            s = _text(raw)
            if s:
                extra[col] = s
            continue
        v, e = check_cell(col, raw)
        if e is not None:
            errors.append(e)
            if col in _CHECKS or col in ("install_date", "battery_expiry"):
                continue
        if col == "install_date":
            out["install_date"], out["install_year_only"] = v if v is not None else (None, False)
        else:
            out[col] = v
    for col in REQUIRED_VALUES:
        if col in cells and out.get(col) is None and not any(e.startswith(col) for e in errors):
            errors.append(f"empty {col}")
    _cross_checks(out, errors)
    out["extra"] = extra
    return out, errors


def rows_as_dicts(table: Table) -> Iterator[tuple[int, dict[str, Any]]]:
    cols = table.columns
    n = len(cols)
    for line, values in zip(table.lines, table.rows):
        if len(values) < n:
            values = list(values) + [None] * (n - len(values))
        yield line, dict(zip(cols, values))


# ---- writing ------------------------------------------------------------------

def format_value(v: Any) -> str:
    """A stored value as the text export writes (round-trips through check_row)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def format_install_date(d: dt.date | None, year_only: bool) -> str:
    if d is None:
        return ""
    return f"{d.year:04d}" if year_only else d.isoformat()


# ---- checking many rows fast ------------------------------------------------------

_UNCACHED_TEXT = {"serial", "location", "notes", "occupant_name", "flat", "customer_reference"}
_DIGITS8_WHOLE = re.compile(r"\d{8}")
_CROSS_COLUMNS = ("qp_m3h", "qi_m3h", "qp_qi_ratio", "dtheta_min_k", "dtheta_max_k")


class BulkResult:
    """The checked cells of a whole sheet, column by column (see ``BulkChecker``)."""

    def __init__(self, n: int, lines: list[int]):
        self.n = n
        self.lines = lines
        self.values: dict[str, list[Any]] = {}
        self.errors: dict[int, list[str]] = {}
        self.extra: list[dict[str, str] | None] = [None] * n

    def has(self, col: str) -> bool:
        return col in self.values

    def col(self, col: str) -> list[Any]:
        v = self.values.get(col)
        return v if v is not None else [None] * self.n

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as ``check_row`` gives it (columns of the file only)."""
        out = {c: v[i] for c, v in self.values.items()}
        out["extra"] = self.extra[i] or {}
        return out


class BulkChecker:
    """``check_row`` for a whole sheet, at spreadsheet speed, with the same reasons.

    Works column by column. Cells repeat a lot in a register (sites, makes,
    models, dates, flow rates), so each distinct cell of a column is checked
    once by ``check_row`` and the result spread over the column with ``map``;
    free-text columns are only trimmed and measured, and 8-digit secondary
    addresses are taken as they are. The cross-column checks run once per
    distinct combination of flow rates and temperature differences.
    """

    def __init__(self, columns: list[str]):
        self.columns = columns
        # per column: distinct cell -> value, and distinct cell -> reason (kept from chunk to chunk)
        self._values: dict[str, dict[Any, Any]] = {}
        self._bad: dict[str, dict[Any, str]] = {}
        self._cross: dict[tuple, list[str]] = {}
        self._year_only: dict[Any, bool] = {}  # install_date cell -> year only

    @staticmethod
    def _cell(col: str, raw: Any) -> tuple[Any, str | None]:
        v, e = check_cell(col, raw)
        return (None, e) if e is not None else (v, None)

    def _distinct(self, col: str, raw: Sequence[Any], all_str: bool) -> tuple[Sequence[Any], list[Any]]:
        """(keys, values): each distinct cell checked once, also across chunks."""
        values = self._values.setdefault(col, {})
        if all_str:
            keys: Sequence[Any] = raw
            try:  # every cell seen before: the usual case after the first chunk
                return keys, list(map(values.__getitem__, keys))
            except KeyError:
                new = set(raw).difference(values)
                cells = dict(zip(new, new))
        else:  # 1, 1.0 and True are equal as dict keys but not as cells: keep them apart
            keys = [x if type(x) is str else (type(x), x) for x in raw]
            cells = {k: x for k, x in zip(keys, raw) if k not in values}
        bad = self._bad.setdefault(col, {})
        year_only = self._year_only if col == "install_date" else None
        for k, x in cells.items():
            v, e = self._cell(col, x)
            if year_only is not None:  # (date, year_only): kept apart
                year_only[k] = bool(v and v[1])
                v = v[0] if v else None
            values[k] = v
            if e:
                bad[k] = e
        return keys, list(map(values.__getitem__, keys))

    def check_all(self, rows: list[list[Any]], lines: list[int], *, all_str: bool = False) -> BulkResult:
        """Check these rows (a whole sheet, or one chunk of it after another).

        ``all_str``: every cell is a ``str`` and no row is short (CSV).
        """
        n = len(rows)
        res = BulkResult(n, lines)
        width = len(self.columns)
        if not all_str:
            rows = [r if len(r) >= width else list(r) + [None] * (width - len(r)) for r in rows]
        raw_cols = list(zip(*rows)) if rows else [()] * width
        errors = res.errors
        values = res.values

        def report(col, keys):
            bad = self._bad.get(col)
            if bad and not bad.keys().isdisjoint(keys):
                for i, k in enumerate(keys):
                    e = bad.get(k)
                    if e is not None:
                        errors.setdefault(i, []).append(e)

        for idx, col in enumerate(self.columns):
            raw = raw_cols[idx] if idx < len(raw_cols) else (None,) * n
            if col not in KNOWN_COLUMNS:
                for i, x in enumerate(raw):
                    s = _text(x)
                    if s:
                        if res.extra[i] is None:
                            res.extra[i] = {}
                        res.extra[i][col] = s
                continue
            if col in _UNCACHED_TEXT:
                limit = MAX_TEXT.get(col, 300)
                texts = list(map(str.strip, raw)) if all_str else [_text(x) for x in raw]
                if texts and max(map(len, texts)) > limit:
                    for i, s in enumerate(texts):
                        if len(s) > limit:
                            errors.setdefault(i, []).append(f"{col} longer than {limit} characters")
                values[col] = [s or None for s in texts] if "" in texts else texts
                continue
            if col == "secondary_address" and all_str:  # nearly every cell differs: take 8 digits as they are
                joined = "".join(raw)
                if joined.isascii() and joined.isdigit() and set(map(len, raw)) == {8}:
                    values[col] = list(raw)
                    continue
                whole = list(map(_DIGITS8_WHOLE.fullmatch, raw))
                vals = list(raw)
                odd = [i for i, m in enumerate(whole) if m is None]
                if odd:
                    keys, checked = self._distinct(col, [raw[i] for i in odd], True)
                    for i, v in zip(odd, checked):
                        vals[i] = v
                    bad = self._bad.get(col) or {}
                    for i, k in zip(odd, keys):
                        if k in bad:
                            errors.setdefault(i, []).append(bad[k])
                values[col] = vals
                continue
            keys, vals = self._distinct(col, raw, all_str)
            values[col] = vals
            if col == "install_date":
                values["install_year_only"] = list(map(self._year_only.__getitem__, keys))
            report(col, keys)
        for col in REQUIRED_VALUES:
            vals = values.get(col)
            if vals is None or None not in vals:
                continue
            for i in [i for i, v in enumerate(vals) if v is None]:
                if not any(e.startswith(col) for e in errors.get(i, ())):
                    errors.setdefault(i, []).append(f"empty {col}")
        present = [c for c in _CROSS_COLUMNS if c in values]
        if present:
            combos = list(zip(*(values[c] for c in present)))
            distinct = set(combos)
            bad = self._cross
            for combo in distinct.difference(bad):
                errs: list[str] = []
                _cross_checks(dict(zip(present, combo)), errs)
                bad[combo] = errs
            if any(bad[c] for c in distinct):
                for i, combo in enumerate(combos):
                    errs = bad.get(combo)
                    if errs:
                        errors.setdefault(i, []).extend(errs)
        return res


def _cross_checks(out: dict[str, Any], errors: list[str]) -> None:
    qp, qi, ratio = out.get("qp_m3h"), out.get("qi_m3h"), out.get("qp_qi_ratio")
    if qp and qi and qi >= qp:
        errors.append(f"qi_m3h {qi:g} must be below qp_m3h {qp:g}")
    if qp and qi and ratio and abs(qp / qi - ratio) > 0.01 * ratio:
        errors.append(f"qi_m3h {qi:g} and qp_qi_ratio {ratio:g} disagree (qp/qi = {qp / qi:g})")
    if ratio is not None and ratio < 1:
        errors.append(f"qp_qi_ratio {ratio:g} must be at least 1")
    lo, hi = out.get("dtheta_min_k"), out.get("dtheta_max_k")
    if lo and hi and lo >= hi:
        errors.append(f"dtheta_min_k {lo:g} must be below dtheta_max_k {hi:g}")
