"""How a file's columns become register columns: options, header matching, mapping, personal columns.

A mapping (``--map MAP.json``, or a profile saved by the import wizard) is a
JSON object from a file's header text to a register column, or to ``null`` to
drop the column: ``{"Meter No": "serial", "Make": "manufacturer", "Notes": null}``.
Header texts are matched ignoring case, spaces, ``_``/``-`` and a byte-order
mark (``header_key``): ``" Meter  No"``, ``"METER_NO"`` and ``"meter-no"`` are
one header. Without a mapping, a header matching a register column's name
is that column; any other column is kept as an extra column of the meter,
unless its header looks personal (name, tenant, occupant, customer, phone,
e-mail, account, ...): such a column is refused until it is mapped, dropped
or marked personal in the register (``heatmeter meters personal-column``),
so that personal data never hides in an extra column.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.storage.columns import KNOWN_COLUMNS, REQUIRED_COLUMNS
from app.storage.errors import ImportFileError

DATE_ORDERS = ("dmy", "mdy", "ymd")
DECIMAL_MARKS = ("auto", "point", "comma")
_REQUIRED = REQUIRED_COLUMNS
_BOMS = ("\ufeff", "ï»¿", "þÿ", "ÿþ")
_NON_WORD = re.compile(r"[^0-9a-z]+")
#: Words that make an unmapped column's header look like personal data.
PERSONAL_WORDS = frozenset({
    "name", "names", "tenant", "tenants", "occupant", "occupants", "occupier", "occupiers", "resident",
    "residents", "customer", "customers", "client", "phone", "telephone", "tel", "mobile", "email", "mail",
    "account", "acct", "surname", "forename", "firstname", "lastname", "contact", "owner", "landlord",
    "birth", "dob", "payer", "bill", "billing", "iban", "flat", "apartment",
})


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file: ``mapping`` (normalised header key -> column or None; see ``parse_mapping``),
    ``date_order`` (``dmy``/``mdy``/``ymd`` or None: such dates are then errors), ``decimal``
    (``auto``: a comma is a decimal mark unless ``,`` separates the cells; ``point``; ``comma``),
    ``header_row`` (1-based, or None: found), ``personal_columns`` (the extra columns the register
    has marked personal: kept, as personal data, however their header looks)."""

    mapping: Mapping[str, str | None] | None = None
    date_order: str | None = None
    decimal: str = "auto"
    header_row: int | None = None
    personal_columns: frozenset[str] = frozenset()

    def __post_init__(self):
        if self.date_order is not None and self.date_order not in DATE_ORDERS:
            raise ImportFileError(f"date order {self.date_order!r}: choose dmy, mdy or ymd")
        if self.decimal not in DECIMAL_MARKS:
            raise ImportFileError(f"decimal mark {self.decimal!r}: choose auto, point or comma")
        if self.header_row is not None and not 1 <= self.header_row <= 1_048_576:
            raise ImportFileError(f"header row {self.header_row}: must be a row number from 1 to 1,048,576")


def strip_bom(text: str) -> str:
    for b in _BOMS:
        if text.startswith(b):
            return text[len(b):]
    return text


def header_key(text: Any) -> str:
    """The form headers are matched in: lower case, words joined by ``_``, no byte-order mark."""
    if text is None:
        return ""
    return _NON_WORD.sub("_", strip_bom(str(text)).strip().lower()).strip("_")


def extra_name(text: Any) -> str:
    """The name an extra column is kept under (spaces collapsed, lower case, as before mappings)."""
    return " ".join(strip_bom("" if text is None else str(text)).split()).lower()


def looks_personal(header: str) -> bool:
    return not PERSONAL_WORDS.isdisjoint(header_key(header).split("_"))


def parse_mapping(obj: Any, name: str, known: Sequence[str] = KNOWN_COLUMNS) -> dict[str, str | None]:
    """Check a mapping object; returns header key -> register column (or None). One-line errors."""
    if not isinstance(obj, dict):
        raise ImportFileError(f"{name}: a mapping is a JSON object from header text to a register column, "
                              f'e.g. {{"Meter No": "serial"}}')
    out: dict[str, str | None] = {}
    source_of: dict[str, str] = {}
    known_set = set(known)
    for src, dst in obj.items():
        key = header_key(src)
        if not key:
            raise ImportFileError(f"{name}: an empty header text {src!r} cannot be mapped")
        if key in out:
            raise ImportFileError(f"{name}: {src!r} is mapped twice (headers match ignoring case and spaces)")
        if dst is not None:
            if not isinstance(dst, str) or header_key(dst) not in known_set:
                raise ImportFileError(f"{name}: {src!r} -> {dst!r}: not a register column (columns: "
                                      f"{', '.join(known)}; null drops the column)")
            dst = header_key(dst)
            if dst in source_of:
                raise ImportFileError(f"{name}: {source_of[dst]!r} and {src!r} are both mapped to {dst}")
            source_of[dst] = str(src)
        out[key] = dst
    return out


#: The largest mapping file read (a real one is a few hundred bytes).
MAX_MAPPING_BYTES = 1_000_000


def load_mapping(path: str | Path, known: Sequence[str] = KNOWN_COLUMNS) -> dict[str, str | None]:
    """Read a mapping file (UTF-8 JSON, see ``parse_mapping``)."""
    p = Path(path)
    try:
        with p.open("rb") as f:        # never more than the limit (a device such as /dev/zero has no end)
            data = f.read(MAX_MAPPING_BYTES + 1)
    except FileNotFoundError:
        raise ImportFileError(f"{p}: no such mapping file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{p}: is a folder, not a mapping file") from None
    except OSError as exc:
        raise ImportFileError(f"{p}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_MAPPING_BYTES:
        raise ImportFileError(f"{p}: more than {MAX_MAPPING_BYTES:,} bytes is not a mapping file")
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportFileError(f"{p}: not UTF-8 text: save the mapping as UTF-8 JSON") from None
    except RecursionError:
        raise ImportFileError(f"{p}: not a mapping: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{p}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return parse_mapping(obj, p.name, known)


@dataclass
class Columns:
    """A header resolved: ``columns[i]`` is the register column of the file's column i, an extra
    column's name, or None (dropped). ``mapped`` lists (header, column) the mapping applied."""

    columns: list[str | None]
    extra: list[str] = field(default_factory=list)
    mapped: list[tuple[str, str | None]] = field(default_factory=list)
    unused_map: list[str] = field(default_factory=list)   # mapping keys no header matched
    personal_unmapped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)   # register columns two headers give

    def missing(self) -> list[str]:
        return [c for c in _REQUIRED if c not in self.columns]


def resolve(header: Sequence[Any], options: ImportOptions, known: Sequence[str] = KNOWN_COLUMNS) -> Columns:
    """Which register column each header cell gives (see ``Columns``); checks nothing else."""
    mapping = options.mapping or {}
    known_set = set(known)
    cols: list[str | None] = []
    res = Columns(columns=cols)
    seen: dict[str, str] = {}
    used = set()
    for i, h in enumerate(header):
        key = header_key(h)
        text = "" if h is None else str(h)
        if key in mapping:
            used.add(key)
            target = mapping[key]
            res.mapped.append((text, target))
            if target is None:
                cols.append(None)
                continue
        elif key in known_set:
            target = key
        elif not key:
            target = f"column_{i + 1}"  # a blank header: its cells, if any, are an extra column
            res.extra.append(target)
        else:
            target = extra_name(h)
            if looks_personal(text) and target not in options.personal_columns:
                res.personal_unmapped.append(text.strip())
            res.extra.append(target)
        if target in seen:
            res.duplicates.append(target)
        seen[target] = text
        cols.append(target)
    res.unused_map = [k for k in mapping if k not in used]
    return res


def required_found(header: Sequence[Any], options: ImportOptions, known: Sequence[str] = KNOWN_COLUMNS) -> bool:
    """True when this row, read as a header, gives every required column (finding the header row)."""
    cols = set(resolve(header, options, known).columns)
    return all(c in cols for c in _REQUIRED)


# ---- guesses for the wizard -----------------------------------------------------------------

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "site": ("site", "site name", "scheme", "scheme name", "heat network", "network", "estate", "development",
             "property", "site address"),
    "building": ("building", "block", "building name", "block name"),
    "location": ("location", "meter location", "position", "address", "flat address", "property address",
                 "location description"),
    "monitoring_point": ("monitoring point", "mp", "mp id", "point", "monitoring point id"),
    "manufacturer": ("manufacturer", "make", "meter make", "brand", "mfr", "meter manufacturer"),
    "model": ("model", "type", "meter type", "meter model", "model type"),
    "serial": ("serial", "serial no", "serial number", "meter serial", "meter serial number", "meter no",
               "meter number", "s n", "sn", "meter id"),
    "mid_class": ("class", "mid class", "accuracy class", "mid"),
    "qp_m3h": ("qp", "qp m3h", "qp m3 h", "nominal flow", "permanent flow", "permanent flow rate"),
    "qi_m3h": ("qi", "qi m3h", "qi m3 h", "minimum flow", "min flow"),
    "qp_qi_ratio": ("qp qi", "qp qi ratio", "ratio", "dynamic range"),
    "dn": ("dn", "size", "pipe size", "nominal diameter", "dn mm", "meter size"),
    "install_date": ("install date", "installation date", "installed", "installed on", "date installed",
                     "installed date", "date of installation", "fitted", "fitted date", "fitted on", "date fitted",
                     "fit date", "commissioned", "commissioning date"),
    "primary_address": ("primary address", "mbus address", "m bus address", "primary"),
    "secondary_address": ("secondary address", "mbus id", "m bus id", "id number", "identification number",
                          "secondary"),
    "battery_expiry": ("battery expiry", "battery", "battery end", "battery date", "battery life end"),
    "flow_sensor_position": ("flow sensor position", "sensor position", "mounting", "flow sensor"),
    "notes": ("notes", "note", "comment", "comments", "remarks"),
    "occupant_name": ("occupant", "occupant name", "tenant", "tenant name", "resident", "resident name",
                      "customer name", "name", "occupier"),
    "flat": ("flat", "flat no", "flat number", "apartment", "unit", "unit no", "dwelling"),
    "customer_reference": ("customer reference", "customer ref", "account", "account number", "account no",
                           "customer number", "customer no", "customer id", "account reference"),
    "status": ("status", "meter status"),
}
_GUESS = {header_key(s): col for col, words in _SYNONYMS.items() for s in words}


def guess_column(header: Any, known: Sequence[str] = KNOWN_COLUMNS) -> str | None:
    """The register column a header most likely means (for the wizard to propose), or None."""
    key = header_key(header)
    if key in known:
        return key
    return _GUESS.get(key)


def guess_mapping(header: Sequence[Any], known: Sequence[str] = KNOWN_COLUMNS) -> dict[str, str | None]:
    """A proposal for each header (first come first served: no column given twice)."""
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    for h in header:
        g = guess_column(h, known)
        if g in taken:
            g = None
        if g:
            taken.add(g)
        out[str(h)] = g
    return out
