"""The register's spreadsheet contract: checking the cells of a meters file, and the export's text.

Reading (``read_table``, in ``sheet_read``) gives the header and the rows of a
CSV or XLSX file. ``check_row`` turns one row into the values the register
stores, or into the reasons it is invalid; ``BulkChecker`` does the same for
a whole sheet at spreadsheet speed. How dates and numbers are read is a
``CellRules``: the day/month order (``dmy``, ``mdy``, ``ymd`` or none: then a
``03/04/2015`` is an error, never a guess) and the decimal mark (``point``,
``comma``, or ``either``). Plain Python, no database.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from app.storage.columns import (  # noqa: F401 - the names other modules import from here
    BAUD_RATES, CONTRACT_COLUMNS, DATE_COLUMNS, EXTENDED_COLUMNS, KNOWN_COLUMNS, MAX_EXTRA_TEXT, MAX_TEXT,
    NUMERIC_COLUMNS, PERSONAL_COLUMNS, PLACEMENT_COLUMNS, REQUIRED_COLUMNS, REQUIRED_VALUES, STATUS_VALUES,
    reason_group,
)
from app.storage.sheet_read import SplitRows, Table, _split_plain, read_table  # noqa: F401 - re-exported


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


# ---- checking one row ---------------------------------------------------------

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DMY = re.compile(r"(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_YEAR = re.compile(r"^\d{4}$")
_INT = re.compile(r"^[+-]?\d+$")
_DIGITS8 = re.compile(r"^\d{8}$")
_FLAG = re.compile(r"^[A-Za-z@]{3}$")
_EXCEL_1900 = dt.date(1899, 12, 30)   # day 0 of Excel's 1900 date system (serial 60 is its 29 Feb 1900)
_EXCEL_1904 = dt.date(1904, 1, 1)
MIN_YEAR, MAX_YEAR = 1900, 2200
_ORDER_WORDS = {"dmy": "day/month/year", "mdy": "month/day/year", "ymd": "year/month/day"}


@dataclass(frozen=True)
class CellRules:
    """How this file's dates and numbers are read (see the module's notes)."""

    date_order: str | None = None   # dmy, mdy, ymd, or None
    decimal: str = "either"         # point, comma, either
    epoch_1904: bool = False        # XLSX: the workbook counts days from 1904


DEFAULT_RULES = CellRules()


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


def _in_range(d: dt.date, s: str) -> dt.date:
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise ValueError(f"date {s} out of range (years {MIN_YEAR}..{MAX_YEAR})")
    return d


def _serial(x: float, rules: CellRules) -> dt.date:
    """An Excel serial day number (a spreadsheet's date cell without its date format)."""
    if not math.isfinite(x) or not 1 <= x < 200_000:
        raise ValueError(f"{x:g} is not a date serial of years {MIN_YEAR}..{MAX_YEAR}")
    if rules.epoch_1904:
        return _in_range(_EXCEL_1904 + dt.timedelta(days=int(x)), f"serial {x:g}")
    if int(x) == 60:
        raise ValueError("serial 60 is 29 February 1900, a day that never was")
    base = _EXCEL_1900 if x > 60 else _EXCEL_1900 + dt.timedelta(days=1)  # Excel's phantom 29 Feb 1900
    return _in_range(base + dt.timedelta(days=int(x)), f"serial {x:g}")


def parse_date(v: Any, *, allow_year: bool, rules: CellRules = DEFAULT_RULES) -> tuple[dt.date, bool]:
    """(date, year_only). Raises ValueError with a reason.

    Read in any case: ISO ``YYYY-MM-DD`` (a time after it is ignored), a year
    alone (``allow_year``), date cells, and Excel serial numbers (numbers from
    a workbook). ``03/04/2015``, ``3.4.15`` and ``2015/04/03`` need
    ``rules.date_order``; two-digit years are 1969..2068.
    """
    if isinstance(v, dt.datetime):
        return _in_range(v.date(), v.date().isoformat()), False
    if isinstance(v, dt.date):
        return _in_range(v, v.isoformat()), False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if allow_year and float(v).is_integer() and MIN_YEAR <= v <= MAX_YEAR:
            return dt.date(int(v), 7, 1), True
        return _serial(float(v), rules), False
    s = _text(v)
    if allow_year and _YEAR.match(s):
        y = int(s)
        if not MIN_YEAR <= y <= MAX_YEAR:
            raise ValueError(f"year {s} out of range {MIN_YEAR}..{MAX_YEAR}")
        return dt.date(y, 7, 1), True
    m = _DATE.fullmatch(s)
    if m:
        parts = (int(m[1]), int(m[2]), int(m[3]))
    else:
        m = _DMY.fullmatch(s)
        if not m:
            raise ValueError(f"bad date {s!r} (expected YYYY-MM-DD{' or YYYY' if allow_year else ''})")
        order = rules.date_order
        if order is None:
            raise ValueError(f"bad date {s!r}: day and month order not given (--date-order dmy, mdy or ymd)")
        if order == "ymd":
            ys, ms, ds = m[1], m[3], m[4]
        elif order == "dmy":
            ds, ms, ys = m[1], m[3], m[4]
        else:
            ms, ds, ys = m[1], m[3], m[4]
        if len(ds) > 2 or len(ms) > 2 or len(ys) not in (2, 4):
            raise ValueError(f"bad date {s!r} (not {_ORDER_WORDS[order]})")
        y, mo, d = int(ys), int(ms), int(ds)
        if len(ys) == 2:
            y += 2000 if y < 69 else 1900
        parts = (y, mo, d)
    try:
        day = dt.date(*parts)
    except ValueError:
        raise ValueError(f"bad date {s!r} (no such day)") from None
    return _in_range(day, s), False


def _number(v: Any, name: str, *, positive: bool = True, decimal: str = "either") -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        x = float(v)
    else:
        s = _text(v)
        if "," in s:
            if decimal == "point":
                raise ValueError(f"{name} {s!r} is not a number (a comma is no decimal mark in a comma-separated "
                                 "file; give the number with a point)")
            if s.count(",") == 1 and "." not in s:
                s = s.replace(",", ".")
            else:
                raise ValueError(f"{name} {s!r} is not a number (digit grouping is not read: give the number "
                                 "without thousands separators)")
        elif "." in s and decimal == "comma":
            raise ValueError(f"{name} {s!r}: the decimal mark is a comma, so a point is ambiguous (thousands?)")
        try:
            x = float(s)
        except (ValueError, OverflowError):
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
    if not _INT.match(s) or len(s) > 12:
        raise ValueError(f"{name} {s[:40]!r} is not a whole number")
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
        raise ValueError(f"secondary_address {_text(v)[:40]!r} must be 8 digits")
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
        raise ValueError(f"flow_sensor_position {_text(v)[:40]!r} must be flow or return")
    return s


def _check_baud(v):
    n = _integer(v, "baud")
    if n not in BAUD_RATES:
        raise ValueError(f"baud {n} is not an M-Bus rate ({', '.join(map(str, BAUD_RATES))})")
    return n


def _check_status(v):
    s = _text(v).lower()
    if s not in STATUS_VALUES:
        raise ValueError(f"status {_text(v)[:40]!r} must be one of {', '.join(STATUS_VALUES)}")
    return s


def _check_flag(v):
    s = _text(v)
    if not _FLAG.match(s):
        raise ValueError(f"mbus_manufacturer {s[:40]!r} must be a 3-letter FLAG code such as KAM")
    return s.upper()


def _temp(name):
    def check(v, decimal="either"):
        x = _number(v, name, positive=False, decimal=decimal)
        if not -60 <= x <= 250:
            raise ValueError(f"{name} {x:g} out of range -60..250 °C")
        return x
    return check


def _pos(name):
    return lambda v, decimal="either": _number(v, name, decimal=decimal)


_CHECKS: dict[str, Callable[..., Any]] = {
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
_DECIMAL_CHECKS = {"qp_m3h", "qi_m3h", "qp_qi_ratio", "qs_m3h", "dtheta_min_k", "dtheta_max_k", "temp_min_c",
                   "temp_max_c"}


def check_cell(col: str, raw: Any, rules: CellRules = DEFAULT_RULES) -> tuple[Any, str | None]:
    """Check one cell of a known column: (value, reason or None).

    An empty cell gives (None, None). ``install_date`` gives ``(date,
    year_only)``. A text longer than allowed gives its text and the reason.
    """
    if col in _CHECKS:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None, None
        try:
            if col in _DECIMAL_CHECKS:
                return _CHECKS[col](raw, rules.decimal), None
            return _CHECKS[col](raw), None
        except ValueError as exc:
            return None, str(exc)
    if col == "install_date" or col == "battery_expiry":
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None, None
        try:
            d, year_only = parse_date(raw, allow_year=col == "install_date", rules=rules)
        except ValueError as exc:
            return None, f"{col}: {exc}"
        return ((d, year_only) if col == "install_date" else d), None
    s = _text(raw)
    limit = MAX_TEXT.get(col, 300)
    return s or None, (f"{col} longer than {limit} characters" if len(s) > limit else None)


def check_row(cells: dict[str, Any], rules: CellRules = DEFAULT_RULES) -> tuple[dict[str, Any], list[str]]:
    """Check one row (column -> cell). Returns (values, reasons).

    ``values`` holds the meter fields for the columns present in ``cells``
    (an empty cell gives None), ``install_year_only`` when install_date is
    given, and ``extra`` for unknown columns. ``reasons`` is empty when valid.
    """
    out: dict[str, Any] = {}
    errors: list[str] = []
    extra: dict[str, str] = {}
    for col, raw in cells.items():
        if col is None:
            continue
        if col not in KNOWN_COLUMNS:
            s = _text(raw)
            if len(s) > MAX_EXTRA_TEXT:
                errors.append(f"{col} longer than {MAX_EXTRA_TEXT} characters")
            elif s:
                extra[col] = s
            continue
        v, e = check_cell(col, raw, rules)
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


def rules_of(table: Table) -> CellRules:
    """The cell rules a table read with its options asks for."""
    epoch = table.epoch
    return CellRules(date_order=table.date_order, decimal=table.decimal,
                     epoch_1904=bool(epoch is not None and getattr(epoch, "year", 1899) == 1904))


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
        self.extra_cols: dict[str, list[str]] = {}  # spreadsheet column -> its cells as text ("" when empty)

    @property
    def extra(self) -> list[dict[str, str] | None]:
        """Each row's spreadsheet columns with a value (None when it has none)."""
        out: list[dict[str, str] | None] = [None] * self.n
        for col, texts in self.extra_cols.items():
            for i, s in enumerate(texts):
                if s:
                    if out[i] is None:
                        out[i] = {}
                    out[i][col] = s
        return out

    def has(self, col: str) -> bool:
        return col in self.values

    def col(self, col: str) -> list[Any]:
        v = self.values.get(col)
        return v if v is not None else [None] * self.n

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as ``check_row`` gives it (columns of the file only)."""
        out = {c: v[i] for c, v in self.values.items()}
        out["extra"] = {c: t[i] for c, t in self.extra_cols.items() if t[i]}
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

    def __init__(self, columns: list[Any], rules: CellRules = DEFAULT_RULES):
        self.columns = columns
        self.rules = rules
        # per column: distinct cell -> value, and distinct cell -> reason (kept from chunk to chunk)
        self._values: dict[str, dict[Any, Any]] = {}
        self._bad: dict[str, dict[Any, str]] = {}
        self._cross: dict[tuple, list[str]] = {}
        self._year_only: dict[Any, bool] = {}  # install_date cell -> year only

    def _cell(self, col: str, raw: Any) -> tuple[Any, str | None]:
        v, e = check_cell(col, raw, self.rules)
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
            if col is None:  # dropped by the mapping
                continue
            raw = raw_cols[idx] if idx < len(raw_cols) else (None,) * n
            if col not in KNOWN_COLUMNS:
                texts = list(map(str.strip, raw)) if all_str else [_text(x) for x in raw]
                if texts and max(map(len, texts)) > MAX_EXTRA_TEXT:
                    for i, s in enumerate(texts):
                        if len(s) > MAX_EXTRA_TEXT:
                            errors.setdefault(i, []).append(f"{col} longer than {MAX_EXTRA_TEXT} characters")
                            texts[i] = ""
                res.extra_cols[col] = texts
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
