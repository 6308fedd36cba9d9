"""Make as written on a meter -> M-Bus manufacturer FLAG code (``resources/mbus_manufacturers.csv``)."""
from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import resources
from app import paths

_FLAG = re.compile(r"^[A-Z@]{3}$")


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _read(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with path.open(newline="", encoding="utf-8") as f:
        lines = (line for line in f if not line.lstrip().startswith("#") and line.strip())
        for row in csv.DictReader(lines):
            make, flag = (row.get("make") or "").strip(), (row.get("flag") or "").strip().upper()
            if make and _FLAG.match(flag):
                rows.append((_norm(make), flag))
    return rows


def user_table_path() -> Path:
    """The user's own rows (``app.paths.user_manufacturers_csv``): they win over the shipped table."""
    return paths.user_manufacturers_csv()


@functools.lru_cache(maxsize=1)
def _table() -> tuple[tuple[str, str], ...]:
    rows = _read(resources.path("mbus_manufacturers.csv"))
    user = user_table_path()
    if user.is_file():
        try:
            rows = _read(user) + rows  # the user's rows first: they win
        except (OSError, csv.Error, UnicodeDecodeError):
            pass
    # longest names first so that "Landis & Gyr" wins over "Landis"; stable for equal lengths
    return tuple(sorted(rows, key=lambda r: -len(r[0])))


def known_flags() -> set[str]:
    return {flag for _, flag in _table()}


def flag_for_make(make: str | None) -> str | None:
    """The FLAG code for a make, or None when the table does not know it.

    A make written as a FLAG code itself ("KAM") is taken as such.
    """
    if not make:
        return None
    text = make.strip()
    if _FLAG.match(text) and text in known_flags():
        return text
    key = _norm(text)
    if not key:
        return None
    for name, flag in _table():
        if key == name or key.startswith(name):
            return flag
    return None


def clear_cache() -> None:
    _table.cache_clear()
