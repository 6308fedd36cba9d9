"""Reference data shipped with heatmeter (tables, catalogue, icons), each with its source."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """Absolute path of a file under ``resources/``."""
    return ROOT.joinpath(*parts)
