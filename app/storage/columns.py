"""The register file's columns (docs/import-format.md), and how refusal reasons are grouped.

Plain data shared by the readers (``sheet_read``), the checks (``tabular``),
the mapping (``import_map``) and the exports.
"""
from __future__ import annotations

import re

# The contract's columns, in the contract's order (also the export order).
CONTRACT_COLUMNS = (
    "site", "building", "location", "monitoring_point", "manufacturer", "model", "serial",
    "mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "install_date", "primary_address",
    "secondary_address", "battery_expiry", "flow_sensor_position",
)
REQUIRED_COLUMNS = ("site", "manufacturer", "model", "serial", "install_date")
#: Required columns whose cells may not be empty: an empty install_date is accepted (the meter is then
#: flagged install_date_unknown by the schedule).
REQUIRED_VALUES = ("site", "manufacturer", "model", "serial")
# Columns beyond the contract that map onto meter fields (read when present,
# written by export when some meter has a value).
EXTENDED_COLUMNS = (
    "mbus_manufacturer", "qs_m3h", "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c",
    "baud", "status", "notes",
)
PERSONAL_COLUMNS = ("occupant_name", "flat", "customer_reference")
KNOWN_COLUMNS = CONTRACT_COLUMNS + EXTENDED_COLUMNS + PERSONAL_COLUMNS
# Columns holding numbers (exports write them as numbers, never neutralised as text).
NUMERIC_COLUMNS = ("mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "primary_address", "qs_m3h",
                   "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c", "baud")
DATE_COLUMNS = ("install_date", "battery_expiry")
# Columns that describe where the meter is (its installation) rather than the meter.
PLACEMENT_COLUMNS = ("site", "building", "location", "monitoring_point")

BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)
STATUS_VALUES = ("in_service", "removed", "spare", "in_repair", "at_lab", "scrapped")
MAX_TEXT = {"site": 200, "building": 200, "location": 300, "monitoring_point": 100, "manufacturer": 100,
            "model": 100, "serial": 100, "notes": 10000, "occupant_name": 200, "flat": 100,
            "customer_reference": 100}
MAX_EXTRA_TEXT = 2000  # a spreadsheet's own column kept with the meter

# Reasons a row is refused while it is read (before its cells are checked).
NUL_BYTE = "NUL byte in the line"
UNDECODABLE = "bytes that are neither UTF-8 nor Windows-1252"
TOO_MANY_CELLS = "more cells than the header"
CELL_TOO_LONG = "a cell longer than 32,767 characters"
_ROW_REASONS = (NUL_BYTE, UNDECODABLE, TOO_MANY_CELLS, CELL_TOO_LONG)
# what a cell's reason says, from the most to the least specific (the group it falls in)
_PHRASES = (
    "day and month order not given", "no such day", "not a date serial", "bad date", "out of range",
    "is not a finite number", "is not a number", "is not a whole number", "must be greater than 0",
    "must be 8 digits", "must be 1, 2 or 3", "must be flow or return", "is not an M-Bus rate",
    "must be one of", "must be a 3-letter FLAG code", "longer than", "must be below", "disagree",
    "must be at least 1", "decimal mark",
)
_LABELS = {"is not a finite number": "not a finite number", "is not a number": "not a number",
           "is not a whole number": "not a whole number", "longer than": "too long",
           "must be below": "not below its upper value", "disagree": "qi and qp/qi disagree",
           "is not an M-Bus rate": "not an M-Bus rate", "must be one of": "not one of the values",
           "must be a 3-letter FLAG code": "not a FLAG code"}
_COLUMN = re.compile(r"[a-z][a-z0-9_ ]*?(?=[: ]|$)")


def reason_group(reason: str) -> str:
    """The group of a refusal reason for the summary: ``install_date: bad date``, ``empty serial``,
    ``duplicate meter`` ... (the reason without the values that differ from row to row)."""
    for fixed in _ROW_REASONS:
        if reason.startswith(fixed):
            return fixed
    if reason.startswith("empty ") or reason.startswith("duplicate meter"):
        return "duplicate meter" if reason.startswith("duplicate") else reason
    m = _COLUMN.match(reason)
    col = m[0] if m else ""
    for phrase in _PHRASES:
        if phrase in reason:
            label = _LABELS.get(phrase, phrase)
            return f"{col}: {label}" if col else label
    return re.split(r"['\"(\d]", reason)[0].strip(" :;") or reason
