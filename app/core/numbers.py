"""Numbers as a person writes them, for every JSON the program gives (CLI and GUI alike)."""
from __future__ import annotations

from typing import Any

SIGNIFICANT_DIGITS = 15   # DBL_DIG: the decimal digits a double always carries faithfully


def tidy_floats(obj: Any) -> Any:
    """Every float to 15 significant digits, in dicts, lists and tuples (tuples become lists).

    A double carries 15 decimal digits faithfully (DBL_DIG); the 16th and 17th that
    ``repr`` prints are binary noise of arithmetic (3.32 + 3.3200000000000003 printed
    as 6.640000000000001 becomes 6.64). Other values are returned as they are.
    """
    if isinstance(obj, float):
        return float(f"{obj:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(obj, dict):
        return {k: tidy_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [tidy_floats(v) for v in obj]
    return obj
