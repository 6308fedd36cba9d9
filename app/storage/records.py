"""Plain records the register API returns (no SQLAlchemy objects leak out)."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from app.storage.integrity import PERSONAL_FIELDS
from app.storage.columns import reason_group
from app.storage.tabular import CONTRACT_COLUMNS, format_install_date

# Meter columns a caller may set (besides placement: site, building, monitoring_point).
METER_FIELDS = (
    "manufacturer", "mbus_manufacturer", "model", "serial", "mid_class", "qp_m3h", "qi_m3h",
    "qp_qi_ratio", "qs_m3h", "dn", "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c",
    "flow_sensor_position", "primary_address", "secondary_address", "baud", "battery_expiry",
    "install_date", "install_year_only", "status", "location", "extra", "notes",
    "occupant_name", "flat", "customer_reference", "personal_extra",
)
__all__ = ["METER_FIELDS", "PERSONAL_FIELDS", "FLAG_FIELDS", "jsonable", "MeterRecord", "ImportReport",
           "ReadoutResult", "EraseReport"]
FLAG_FIELDS = ("legal_hold", "restrict_processing")


def jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


@dataclass
class MeterRecord:
    id: int
    version: int
    site: str
    building: str | None
    monitoring_point: str | None
    location: str | None
    manufacturer: str
    mbus_manufacturer: str | None
    model: str
    serial: str
    mid_class: int | None = None
    qp_m3h: float | None = None
    qi_m3h: float | None = None
    qp_qi_ratio: float | None = None
    qs_m3h: float | None = None
    dn: int | None = None
    dtheta_min_k: float | None = None
    dtheta_max_k: float | None = None
    temp_min_c: float | None = None
    temp_max_c: float | None = None
    flow_sensor_position: str | None = None
    primary_address: int | None = None
    secondary_address: str | None = None
    baud: int | None = None
    battery_expiry: dt.date | None = None
    battery_replaced_on: dt.date | None = None
    install_date: dt.date | None = None
    install_year_only: bool = False
    status: str = "in_service"
    extra: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None
    occupant_name: str | None = None
    flat: str | None = None
    customer_reference: str | None = None
    legal_hold: bool = False
    restrict_processing: bool = False
    personal_erased_at: dt.datetime | None = None
    #: spreadsheet columns marked personal (``meters personal-column``), apart from ``extra``
    personal_extra: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def qi_effective_m3h(self) -> float | None:
        """qi as given, else qp / ratio."""
        if self.qi_m3h is not None:
            return self.qi_m3h
        if self.qp_m3h and self.qp_qi_ratio:
            return self.qp_m3h / self.qp_qi_ratio
        return None

    @property
    def has_personal_data(self) -> bool:
        """Whether any personal value is stored on the meter now."""
        return any(getattr(self, f) for f in PERSONAL_FIELDS) or bool(self.personal_extra)

    @property
    def label(self) -> str:
        return f"{self.manufacturer} {self.serial}"

    def contract_dict(self) -> dict[str, Any]:
        """The register-csv columns (dates ISO, install year as "YYYY", absent = None)."""
        out: dict[str, Any] = {}
        for col in CONTRACT_COLUMNS:
            if col == "install_date":
                out[col] = format_install_date(self.install_date, self.install_year_only) or None
            else:
                out[col] = jsonable(getattr(self, col))
        return out

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        """``meters list --json`` object: the contract columns, then (full) everything else."""
        out = self.contract_dict()
        if full:
            rest = self.to_dict()
            for k, v in rest.items():
                out.setdefault(k, v)
            out["install_date_iso"] = jsonable(self.install_date)
        return out


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do). ``invalid`` lists every refused row as
    (line, reasons); ``problems`` groups them: reason group -> [rows, first lines (up to 5)]."""

    file: str
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    stored: bool = False
    seconds: float = 0.0
    #: meters whose personal data was erased (and not entered again): the file's personal values not stored
    kept_erased: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)          # how the file was read (encoding, header, mapping)
    cp1252_lines: list[int] = field(default_factory=list)
    problems: dict[str, list] = field(default_factory=dict)

    def add_invalid(self, line: int, reasons: list[str]) -> None:
        """One refused row, counted in the group of each of its reasons (once per group)."""
        self.invalid.append((line, "; ".join(reasons)))
        for g in dict.fromkeys(map(reason_group, reasons)):
            entry = self.problems.get(g)
            if entry is None:
                self.problems[g] = [1, [line]]
            else:
                entry[0] += 1
                if len(entry[1]) < 5:
                    entry[1].append(line)

    def problem_groups(self) -> list[tuple[str, int, list[int]]]:
        """(reason, rows, first lines), the commonest reason first."""
        return sorted(((g, n, lines) for g, (n, lines) in self.problems.items()), key=lambda t: (-t[1], t[2][0]))

    def problem_text(self) -> str:
        """The groups in one line: ``bad date: 38,279 rows, e.g. lines 2, 3, 4; empty serial: 1 row (line 9)``."""
        parts = []
        for g, n, lines in self.problem_groups():
            shown = ", ".join(map(str, lines)) + (", ..." if n > len(lines) else "")
            parts.append(f"{g}: {n:,} row{'s' if n != 1 else ''} "
                         + (f"(line {shown})" if n == 1 else f"(e.g. lines {shown})"))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "moved": self.moved,
                "invalid": [{"line": ln, "reason": r} for ln, r in self.invalid],
                "problems": [{"reason": g, "rows": n, "first_lines": lines} for g, n, lines in self.problem_groups()],
                "notes": self.notes, "windows_1252_lines": len(self.cp1252_lines),
                "extra_columns": self.extra_columns, "stored": self.stored,
                "seconds": round(self.seconds, 3), "kept_erased": self.kept_erased}


@dataclass
class ReadoutResult:
    """What ``save_readout`` did: ``status`` is "saved" or "no_match".

    On "no_match", ``proposal`` holds the fields to offer for a new meter
    (manufacturer FLAG code, identification as secondary address, primary
    address) and ``candidates`` meters that share the identification number.
    """

    status: str
    meter: MeterRecord | None = None
    readout_id: int | None = None
    manufacturer: str | None = None
    identification: str | None = None
    proposal: dict[str, Any] = field(default_factory=dict)
    candidates: list[MeterRecord] = field(default_factory=list)
    matched_by: str | None = None
    #: SHA-256 of the stored readout with its frames (``db verify`` checks it)
    content_hash: str | None = None

    @property
    def saved(self) -> bool:
        return self.status == "saved"


@dataclass
class EraseReport:
    erased: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    #: entries of earlier values (event log, imports) erased with them
    events_scrubbed: int = 0
    #: what may still hold erased values, and until when (PostgreSQL old row versions, WAL); empty when nothing
    remaining: list[str] = field(default_factory=list)
