"""Reading the files the app writes, closing them again (an unclosed file is a ResourceWarning, an error here)."""
from __future__ import annotations

import csv
from pathlib import Path


def csv_rows(path: str | Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    """Every row of a CSV file, header included."""
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.reader(f))


def csv_dicts(path: str | Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    """The rows of a CSV file as dicts keyed by its header."""
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.DictReader(f))
