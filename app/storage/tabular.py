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
import json as _json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from app.storage.errors import ImportFileError

_json_str = _json.encoder.encode_basestring  # JSON text of a str (C accelerated), non-ASCII kept

# The contract's columns, in the contract's order (also the export order).
CONTRACT_COLUMNS = (
    "site", "building", "location", "monitoring_point", "manufacturer", "model", "serial",
    "mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "install_date", "primary_address",
    "secondary_address", "battery_expiry", "flow_sensor_position",
)
REQUIRED_COLUMNS = ("site", "manufacturer", "model", "serial", "install_date")
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
    """A sheet read from a file: header (normalised) and rows with their line numbers."""

    columns: list[str]
    rows: list[tuple[int, list[Any]]]
    extra_columns: list[str] = field(default_factory=list)
    kind: str = "csv"


# ---- reading ------------------------------------------------------------------

def _looks_xlsx(path: Path, head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm")


def read_table(path: str | Path) -> Table:
    """Read a CSV or XLSX file; raise ImportFileError (one line) for anything else."""
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
        header, rows = _read_xlsx(p)
        kind = "xlsx"
    else:
        header, rows = _read_csv(p)
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
    extra = [c for c in columns if c not in KNOWN_COLUMNS]
    return Table(columns=columns, rows=rows, extra_columns=extra, kind=kind)


def _norm_header(h: Any) -> str:
    return "" if h is None else " ".join(str(h).split()).lower()


def _read_csv(p: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    with p.open("rb") as f:
        head = f.read(65536)
    if b"\x00" in head:
        raise ImportFileError(f"{p}: not a CSV or XLSX file (binary content)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return _parse_csv(p, encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(f"{p}: not a CSV or XLSX file (not UTF-8 or Windows-1252 text)")


def _parse_csv(p: Path, encoding: str) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    with p.open(newline="", encoding=encoding) as f:
        first = f.readline()
        delimiter = max((",", ";", "\t"), key=first.count)
        if first.count(delimiter) == 0:
            if not first.strip():
                raise ImportFileError(f"{p}: empty file: no header line")
            raise ImportFileError(f"{p}: not a CSV file: the first line has no column separator (, ; or tab)")
        f.seek(0)
        if encoding == "utf-8-sig":
            f.read(0)
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
            rows: list[tuple[int, list[Any]]] = []
            append = rows.append
            start = 2
            for row in reader:
                if "".join(row).strip():  # skip blank lines, also ",,,," from spreadsheets
                    append((start, row))
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ImportFileError(f"{p}: line {reader.line_num}: bad CSV: {exc}") from None
    return header, rows


def _read_xlsx(p: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
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
        rows: list[tuple[int, list[Any]]] = []
        for values in it:
            line += 1
            if values and any(v is not None and str(v).strip() for v in values):
                rows.append((line, list(values)))
    finally:
        wb.close()
        fh.close()
    return [("" if h is None else str(h)) for h in header], rows


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
        if col in _CHECKS:
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                out[col] = None
                continue
            try:
                out[col] = _CHECKS[col](raw)
            except ValueError as exc:
                errors.append(str(exc))
        elif col == "install_date" or col == "battery_expiry":
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                out[col] = None
                if col == "install_date":
                    out["install_year_only"] = False
                continue
            try:
                d, year_only = parse_date(raw, allow_year=col == "install_date")
            except ValueError as exc:
                errors.append(f"{col}: {exc}")
                continue
            out[col] = d
            if col == "install_date":
                out["install_year_only"] = year_only
        elif col in KNOWN_COLUMNS:
            s = _text(raw)
            if len(s) > MAX_TEXT.get(col, 300):
                errors.append(f"{col} longer than {MAX_TEXT.get(col, 300)} characters")
            out[col] = s or None
        else:
            s = _text(raw)
            if s:
                extra[col] = s
    for col in REQUIRED_COLUMNS:
        if col in cells and out.get(col) is None and not any(e.startswith(col) for e in errors):
            errors.append(f"empty {col}" if col != "install_date" else "empty install_date")
    _cross_checks(out, errors)
    out["extra"] = extra
    return out, errors


def rows_as_dicts(table: Table) -> Iterator[tuple[int, dict[str, Any]]]:
    cols = table.columns
    n = len(cols)
    for line, values in table.rows:
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


class BulkResult:
    """The checked cells of a whole sheet, column by column (see ``BulkChecker``)."""

    def __init__(self, n: int, lines: list[int]):
        self.n = n
        self.lines = lines
        self.values: dict[str, list[Any]] = {}
        self.errors: dict[int, list[str]] = {}
        self.json: list[str] = []
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
    """``check_row`` for a whole sheet, at spreadsheet speed.

    Works column by column; cells repeat a lot in a register (sites, makes,
    models, dates, flow rates), so each distinct cell of a column is checked
    once (by ``check_row``) and the result reused. Each row also gets its known
    values as a JSON object text for the event log, joined from ``json``'s
    encoding of each cell.
    """

    def __init__(self, columns: list[str]):
        self.columns = columns

    @staticmethod
    def _cell(col: str, raw: Any) -> tuple[Any, str | None, str | None]:
        values, errors = check_row({col: raw})
        errors = [e for e in errors if not e.startswith("empty ")]  # reported once per row below
        if errors:
            return None, errors[0], None
        v = values[col]
        if v is None:
            return None, None, None
        if col == "install_date":
            v = (v, values["install_year_only"])
            frag = f'"install_date":"{v[0].isoformat()}","install_year_only":{"true" if v[1] else "false"}'
        elif isinstance(v, str):
            frag = f'"{col}":{_json_str(v)}'
        elif isinstance(v, dt.date):
            frag = f'"{col}":"{v.isoformat()}"'
        else:
            frag = f'"{col}":{_json.dumps(v)}'
        return v, None, frag

    def check_all(self, rows: list[tuple[int, list[Any]]]) -> BulkResult:
        n = len(rows)
        res = BulkResult(n, [ln for ln, _ in rows])
        width = len(self.columns)
        padded = [r if len(r) >= width else list(r) + [None] * (width - len(r)) for _, r in rows]
        raw_cols = list(zip(*padded)) if padded else [()] * width
        frag_cols: list[list[str | None]] = []
        errors = res.errors
        cell = self._cell
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
                vals = [(x.strip() or None) if type(x) is str else (_text(x) or None) for x in raw]
                for i, v in enumerate(vals):
                    if v is not None and len(v) > limit:
                        errors.setdefault(i, []).append(f"{col} longer than {limit} characters")
                res.values[col] = vals
                frag_cols.append([None if v is None else f'"{col}":{_json_str(v)}' for v in vals])
                continue
            cache: dict[Any, tuple] = {None: (None, None, None), "": (None, None, None)}
            get = cache.get
            if col == "secondary_address":  # nearly every cell differs: check the plain case inline
                match = _DIGITS8.match
                out = [get(x) or (((x, None, f'"secondary_address":"{x}"') if type(x) is str and match(x)
                                   else cell(col, x))) for x in raw]
            else:
                out = []
                for x in raw:
                    hit = get(x)
                    if hit is None:
                        hit = cache[x] = cell(col, x)
                    out.append(hit)
            if col == "secondary_address" or any(o[1] for o in cache.values()):
                for i, o in enumerate(out):
                    if o[1]:
                        errors.setdefault(i, []).append(o[1])
            if col == "install_date":
                res.values["install_date"] = [o[0][0] if o[0] else None for o in out]
                res.values["install_year_only"] = [bool(o[0] and o[0][1]) for o in out]
            else:
                res.values[col] = [o[0] for o in out]
            frag_cols.append([o[2] for o in out])
        for col in REQUIRED_COLUMNS:
            vals = res.values.get(col)
            if vals is None:
                continue
            for i in [i for i, v in enumerate(vals) if v is None]:
                if not any(e.startswith(col) for e in errors.get(i, ())):
                    errors.setdefault(i, []).append(f"empty {col}")
        qp, qi, ratio = res.col("qp_m3h"), res.col("qi_m3h"), res.col("qp_qi_ratio")
        lo, hi = res.col("dtheta_min_k"), res.col("dtheta_max_k")
        suspects = {i for i, (a, b) in enumerate(zip(qp, qi)) if a is not None and b is not None}
        suspects.update(i for i, r in enumerate(ratio) if r is not None and (r < 1 or qi[i] is not None))
        suspects.update(i for i, (a, b) in enumerate(zip(lo, hi)) if a is not None and b is not None)
        cross_cols = ("qp_m3h", "qi_m3h", "qp_qi_ratio", "dtheta_min_k", "dtheta_max_k")
        for i in sorted(suspects):
            row = {c: res.values[c][i] for c in cross_cols if c in res.values}
            errs: list[str] = []
            _cross_checks(row, errs)
            if errs:
                errors.setdefault(i, []).extend(errs)
        extra_json = [None if e is None else f'"extra":{_json.dumps(e, ensure_ascii=False)}' for e in res.extra]
        frag_cols.append(extra_json)
        res.json = ["{" + ",".join([f for f in fr if f is not None]) + "}" for fr in zip(*frag_cols)]
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
