"""What the import wizard shows before anything is stored, and the mapping profiles it saves.

``preview(path, options)`` reads the first rows of a file as the import reads
them (encoding, header row, separator) without mapping them; ``Preview``
tells which columns would be which register column (the mapping, else the
header's own name, else a guess from the header text), which look personal,
and whether the file needs a date order or a decimal-mark choice.

``ImportProfiles`` keeps named mappings (JSON files in the configuration
folder, see ``app.paths.import_profiles_dir``), finds the one saved for a
file with the same header, and exports/imports a mapping as the same JSON as
``heatmeter meters import --map``. Plain Python, no Qt.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.storage import import_map, safe_export
from app.storage.columns import DATE_COLUMNS, KNOWN_COLUMNS, NUMERIC_COLUMNS, PERSONAL_COLUMNS, REQUIRED_COLUMNS
from app.storage.errors import ImportFileError
from app.storage.import_map import ImportOptions, header_key
from app.storage.sheet_read import read_unresolved

PREVIEW_ROWS = 20
_SLASH_DATE = re.compile(r"\s*\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}(?:[ T].*)?\s*")
_ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?:[ T].*)?\s*")
_COMMA_NUMBER = re.compile(r"\s*[+-]?\d+,\d+\s*")


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


@dataclass
class Preview:
    path: str
    kind: str                      # csv or xlsx
    reading: list[str]             # how the file was read (encoding, separator, header line)
    rows: list[list[str]]          # the first rows as read, the header row among them
    lines: list[int]               # their line (or sheet row) numbers
    header_index: int              # which of ``rows`` is the header
    header: list[str]
    samples: list[list[str]]       # per column: the first values below the header
    delimiter: str | None = None
    line_errors: dict[int, list[str]] = field(default_factory=dict)

    def proposal(self, mapping: dict[str, str | None] | None = None) -> list[str | None]:
        """The register column each file column would give: the mapping (header key -> column), else the
        header's own name when it is a register column, else a guess from the header text; None: kept as
        an extra column (or dropped, when the mapping says so)."""
        out: list[str | None] = []
        taken: set[str] = set()
        for h in self.header:
            key = header_key(h)
            if mapping is not None and key in mapping:
                col = mapping[key]
            else:
                col = import_map.guess_column(h)
            if col in taken:
                col = None
            if col:
                taken.add(col)
            out.append(col)
        return out

    def personal(self, columns: list[str | None]) -> list[bool]:
        """Per file column: personal data (mapped to a personal column, or a personal-looking header)."""
        return [c in PERSONAL_COLUMNS or (c is None and import_map.looks_personal(h))
                for h, c in zip(self.header, columns)]

    def needs_date_order(self, columns: list[str | None]) -> list[str]:
        """Examples of dates whose day/month order the file does not say (empty: none needed)."""
        out = []
        for col, values in zip(columns, self.samples):
            if col in DATE_COLUMNS:
                out += [v for v in values if _SLASH_DATE.fullmatch(v) and not _ISO_DATE.fullmatch(v)]
        return out[:5]

    def decimal_commas(self, columns: list[str | None]) -> list[str]:
        """Examples of numbers written with a decimal comma in numeric columns."""
        out = []
        for col, values in zip(columns, self.samples):
            if col in NUMERIC_COLUMNS:
                out += [v for v in values if _COMMA_NUMBER.fullmatch(v)]
        return out[:5]


def preview(path: str | Path, options: ImportOptions | None = None, rows: int = PREVIEW_ROWS) -> Preview:
    """The first rows of a file as the import reads them (``ImportFileError`` when it cannot be read)."""
    options = options or ImportOptions()
    table = read_unresolved(path, options, preview=True)
    above = [(ln, None) for ln in table.skipped_above]
    head = table.header
    body = list(table.rows[:rows]) if not isinstance(table.rows, list) else table.rows[:rows]
    shown_rows = [[] for _ in above] + [list(head)] + [[_text(c) for c in r] for r in body]
    shown_lines = [ln for ln, _ in above] + [table.header_line] + list(table.lines[:rows])
    if above and table.kind == "csv":
        shown_rows[:len(above)] = [[f"(line {ln}: above the header, skipped)"] for ln, _ in above]
    elif above:
        shown_rows[:len(above)] = [["(above the header, skipped)"] for _ in above]
    samples = [[_text(r[i]) for r in body[:rows] if i < len(r) and _text(r[i]).strip()] for i in range(len(head))]
    return Preview(path=str(path), kind=table.kind, reading=table.notes(), rows=shown_rows, lines=shown_lines,
                   header_index=len(above), header=[str(h) for h in head], samples=samples,
                   delimiter=table.delimiter, line_errors=table.line_errors)


def mapping_of(header: list[str], columns: list[str | None], dropped: set[int] | None = None
               ) -> dict[str, str | None]:
    """The --map JSON object for the wizard's choices: every header whose column is not its own name
    (or is dropped) -> the chosen register column (or null)."""
    out: dict[str, str | None] = {}
    dropped = dropped or set()
    for i, (h, c) in enumerate(zip(header, columns)):
        if not str(h).strip():
            continue
        if i in dropped:
            out[str(h).strip()] = None
        elif c is not None and header_key(h) != c:
            out[str(h).strip()] = c
    return out


def missing_required(columns: list[str | None]) -> list[str]:
    return [c for c in REQUIRED_COLUMNS if c not in columns]


# ---- profiles ---------------------------------------------------------------------------------

@dataclass
class Profile:
    name: str
    header: list[str]
    mapping: dict[str, str | None]
    date_order: str | None = None
    decimal: str = "auto"

    def options(self, header_row: int | None = None) -> ImportOptions:
        return ImportOptions(mapping=import_map.parse_mapping(self.mapping, self.name, KNOWN_COLUMNS),
                             date_order=self.date_order, decimal=self.decimal, header_row=header_row)


def _slug(name: str) -> str:
    s = re.sub(r"[^0-9A-Za-z_-]+", "-", name.strip()).strip("-").lower()
    return s[:60] or "profile"


class ImportProfiles:
    """Named mapping profiles, one JSON file each (written atomically)."""

    def __init__(self, folder: str | Path | None = None):
        if folder is None:
            from app.paths import import_profiles_dir

            folder = import_profiles_dir()
        self.folder = Path(folder)

    def _path(self, name: str) -> Path:
        return self.folder / f"{_slug(name)}.json"

    def all(self) -> list[Profile]:
        out = []
        if not self.folder.is_dir():
            return out
        for p in sorted(self.folder.glob("*.json")):
            try:
                d = json.loads(p.read_text(encoding="utf-8"))
                out.append(Profile(name=str(d["name"]), header=[str(h) for h in d.get("header", [])],
                                   mapping=dict(d["mapping"]), date_order=d.get("date_order"),
                                   decimal=d.get("decimal", "auto")))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged or foreign file is not a profile
        return out

    def names(self) -> list[str]:
        return [p.name for p in self.all()]

    def get(self, name: str) -> Profile | None:
        return next((p for p in self.all() if p.name == name), None)

    def save(self, profile: Profile) -> Path:
        import_map.parse_mapping(profile.mapping, profile.name, KNOWN_COLUMNS)  # refuse a bad one
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(profile.name)
        data = {"name": profile.name, "header": profile.header, "mapping": profile.mapping,
                "date_order": profile.date_order, "decimal": profile.decimal}
        with safe_export.atomic_file(path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(data, f, ensure_ascii=False, indent=2)
        return path

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            pass

    def for_header(self, header: list[str]) -> Profile | None:
        """The profile saved for a file with this header (same headers, ignoring case, spaces, order)."""
        want = sorted(header_key(h) for h in header if str(h).strip())
        for p in self.all():
            if sorted(header_key(h) for h in p.header if str(h).strip()) == want:
                return p
        return None

    @staticmethod
    def export_mapping(mapping: dict[str, str | None], path: str | Path) -> None:
        """Write a mapping as ``--map`` JSON."""
        with safe_export.atomic_file(path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(mapping, f, ensure_ascii=False, indent=2)

    @staticmethod
    def import_mapping(path: str | Path) -> dict[str, str | None]:
        """Read ``--map`` JSON (checked); keys as written in the file."""
        import_map.load_mapping(path, KNOWN_COLUMNS)  # one-line errors for a bad file
        try:
            return dict(json.loads(Path(path).read_text(encoding="utf-8-sig")))
        except (OSError, ValueError) as exc:  # pragma: no cover - load_mapping read it just now
            raise ImportFileError(f"{path}: {exc}") from None
