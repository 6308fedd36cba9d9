"""Reading a test lab's results: a results CSV (one row per meter or per calibration point) or a points JSON file."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from app.storage.files import MAX_IMPORT_BYTES, MAX_SMALL_FILE_BYTES, TooLarge, read_limited
from app.core.errors import InputError
from app.storage.errors import ValidationError
from app.storage.planning.results import ResultEntry
from app.storage.register import SUBASSEMBLIES

#: Columns of a results file (docs/planning.md). One row per meter (single error figure or
#: inaccessible) or one row per calibration point (several rows of the same meter).
RESULT_COLUMNS = ("manufacturer", "serial", "error_pct", "q_m3h", "dtheta_k", "interval", "subassembly",
                  "inaccessible", "mpe_initial_pct", "tested_on", "lab", "certificate", "notes")
_TRUE = ("1", "yes", "y", "true", "x")
_FALSE = ("", "0", "no", "n", "false")


def read_results_csv(path: str | Path) -> list[ResultEntry]:
    """Read a test lab's results CSV (``,`` ``;`` or tab; UTF-8 or Windows-1252) into entries.

    Rows of the same manufacturer + serial are one meter: a single row with
    only ``error_pct`` is a single error figure; several rows, or a row with
    ``q_m3h``, ``dtheta_k`` or ``interval``, are calibration points. Bad
    cells raise ``ValidationError`` naming the line and the column.
    """
    p = Path(path)
    try:
        raw = read_limited(p, MAX_IMPORT_BYTES)
    except TooLarge as exc:
        raise ValidationError(str(exc)) from None
    except FileNotFoundError:
        raise ValidationError(f"{p}: no such file") from None
    except OSError as exc:
        raise ValidationError(f"{p}: cannot read: {exc.strerror}") from None
    from app.storage.errors import ImportFileError
    from app.storage.text_decode import decode

    try:
        dec = decode(raw, p.name)  # UTF-8 (BOM or not), UTF-16 with BOM, Windows-1252 line by line
    except ImportFileError as exc:
        raise ValidationError(str(exc)) from None
    if dec.bad_lines:
        raise ValidationError(f"{p.name}: line {dec.bad_lines[0]}: bytes that are neither UTF-8 nor Windows-1252")
    text = dec.text
    first = text.split("\n", 1)[0]
    delim = max((",", ";", "\t"), key=first.count)
    if not first.strip() or first.count(delim) == 0:
        raise ValidationError(f"{p.name}: not a results CSV: the first line must be a header with "
                              f"manufacturer{delim}serial{delim}error_pct ...")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = [" ".join(h.split()).lower() for h in next(reader)]
    except csv.Error as exc:
        raise ValidationError(f"{p.name}: line 1: bad CSV: {exc}") from None
    for need in ("manufacturer", "serial"):
        if need not in header:
            raise ValidationError(f"{p.name}: missing column {need} (header: {', '.join(header)})")
    unknown = [h for h in header if h and h not in RESULT_COLUMNS]
    if unknown:
        raise ValidationError(f"{p.name}: unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                              f"(known: {', '.join(RESULT_COLUMNS)})")
    idx = {h: i for i, h in enumerate(header)}
    groups: dict[tuple[str, str], list[tuple[int, dict[str, str]]]] = {}
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not "".join(row).strip():
                continue
            if any(c.strip() for c in row[len(header):]):  # "0,4" in a comma file: never read as 0
                raise ValidationError(f"{p.name}: line {line}: {len(row)} cells, the header has {len(header)}"
                                      + (" (a decimal comma in a comma-separated file? quote the number or "
                                         "write it with a point)" if delim == "," else ""))
            if any("\x00" in c for c in row):
                raise ValidationError(f"{p.name}: line {line}: a NUL byte")
            cells = {h: (row[i].strip() if i < len(row) else "") for h, i in idx.items()}
            cells["\x00delim"] = delim
            make, serial = cells["manufacturer"], cells["serial"]
            if not make or not serial:
                raise ValidationError(f"{p.name}: line {line}: empty {'manufacturer' if not make else 'serial'}")
            groups.setdefault((" ".join(make.split()).casefold(), serial), []).append((line, cells))
    except csv.Error as exc:
        raise ValidationError(f"{p.name}: line {reader.line_num}: bad CSV: {exc}") from None
    if not groups:
        raise ValidationError(f"{p.name}: no result rows")
    entries = []
    for rows in groups.values():
        entries.append(_entry_of(p.name, rows))
    return entries


def _num(name: str, line: int, cells: dict, col: str, *, required: bool = False) -> float | None:
    t = cells.get(col, "")
    if not t:
        if required:
            raise ValidationError(f"{name}: line {line}: {col}: missing")
        return None
    comma_ok = cells.get("\x00delim") != ","  # a decimal comma only where commas do not separate cells
    try:
        v = float(t.replace(",", ".") if comma_ok and t.count(",") == 1 and "." not in t else t)
    except (ValueError, OverflowError):
        raise ValidationError(f"{name}: line {line}: {col}: not a number: {t!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ValidationError(f"{name}: line {line}: {col}: not a finite number: {t!r}")
    return v


def _entry_of(name: str, rows: list[tuple[int, dict[str, str]]]) -> ResultEntry:
    line0, c0 = rows[0]
    lines = [ln for ln, _ in rows]

    def same(col: str) -> str:
        vals = {c.get(col, "") for _, c in rows} - {""}
        if len(vals) > 1:
            raise ValidationError(f"{name}: line {line0}: {col}: differs between the rows of meter "
                                  f"{c0['manufacturer']} {c0['serial']} ({', '.join(sorted(vals))})")
        return vals.pop() if vals else ""

    flags = {c.get("inaccessible", "").lower() for _, c in rows}
    bad = flags - set(_TRUE) - set(_FALSE)
    if bad:
        raise ValidationError(f"{name}: line {line0}: inaccessible: {bad.pop()!r} is not yes/no")
    is_inacc = bool(flags & set(_TRUE))
    tested = same("tested_on")
    try:
        tested_on = dt.date.fromisoformat(tested) if tested else None
    except ValueError:
        raise ValidationError(f"{name}: line {line0}: tested_on: bad date {tested!r} (expected YYYY-MM-DD)") from None
    sub = same("subassembly") or None
    if sub is not None and sub not in SUBASSEMBLIES:
        raise ValidationError(f"{name}: line {line0}: subassembly: must be one of {', '.join(SUBASSEMBLIES)}, "
                              f"not {sub!r}")
    common = {"manufacturer": c0["manufacturer"], "serial": c0["serial"], "subassembly": sub, "tested_on": tested_on,
              "lab": same("lab") or None, "certificate": same("certificate") or None, "notes": same("notes") or None,
              "lines": lines, "source": name}
    if is_inacc:
        if len(rows) > 1 or c0.get("error_pct"):
            raise ValidationError(f"{name}: line {line0}: meter {c0['manufacturer']} {c0['serial']} is marked "
                                  "inaccessible and has results")
        return ResultEntry(inaccessible=True, **common)
    single = (len(rows) == 1 and not any(c0.get(k) for k in ("q_m3h", "dtheta_k", "interval")))
    if single:
        return ResultEntry(error_pct=_num(name, line0, c0, "error_pct", required=True),
                           mpe_initial_pct=_num(name, line0, c0, "mpe_initial_pct"), **common)
    if any(c.get("mpe_initial_pct") for _, c in rows):
        raise ValidationError(f"{name}: line {line0}: mpe_initial_pct: only for a single error figure "
                              "(calibration points are judged by their own MPE)")
    points = []
    for ln, c in rows:
        pt: dict[str, Any] = {"error_pct": _num(name, ln, c, "error_pct", required=True)}
        for col in ("q_m3h", "dtheta_k"):
            v = _num(name, ln, c, col)
            if v is not None:
                pt[col] = v
        if c.get("interval"):
            pt["interval"] = c["interval"].upper()
        points.append(pt)
    return ResultEntry(points=points, **common)


def read_points_json(path: str | Path) -> dict[str, Any]:
    """A calibration points file: a list of points, or ``{"points": [...], "subassembly"?, "apply_guard_band"?,
    "test_uncertainty_pct"?}`` (the ``heatmeter calc calibration`` JSON input; meter data come from the register)."""
    p = Path(path)
    try:
        data = json.loads(read_limited(p, MAX_SMALL_FILE_BYTES).decode("utf-8-sig"))
    except TooLarge as exc:
        raise ValidationError(str(exc)) from None
    except FileNotFoundError:
        raise ValidationError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{p}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{p.name}: not JSON: line {exc.lineno}: {exc.msg}") from None
    if isinstance(data, list):
        data = {"points": data}
    if not isinstance(data, dict):
        raise InputError("points", f"{p.name}: expected a list of points or an object with points")
    pts = data.get("points")
    if not isinstance(pts, list) or not pts:
        raise InputError("points", f"{p.name}: missing or empty (a list of {{error_pct, q_m3h?, dtheta_k?, interval?}})")
    for i, pt in enumerate(pts):
        if not isinstance(pt, dict):
            raise InputError(f"points[{i}]", f"{p.name}: must be an object")
        if "error_pct" not in pt:
            raise InputError(f"points[{i}].error_pct", f"{p.name}: missing")
    return data

