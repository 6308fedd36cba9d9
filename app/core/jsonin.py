"""Readers for JSON input objects: one-line errors naming the key."""
from __future__ import annotations

import math

from app.core.errors import InputError


def _num(d: dict, key: str, *, path: str = "", required: bool = True, default: float | None = None,
         positive: bool = False, nonneg: bool = False) -> float | None:
    name = f"{path}{key}"
    if key not in d or d[key] is None:
        if required:
            raise InputError(name, "missing")
        return default
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(name, f"must be a number, not {short(v)}")
    try:
        v = float(v)
    except OverflowError:
        raise InputError(name, "is too large a number") from None
    if not math.isfinite(v):
        raise InputError(name, "must be a finite number")
    if positive and not v > 0:
        raise InputError(name, f"must be positive, got {v:g}")
    if nonneg and v < 0:
        raise InputError(name, f"must not be negative, got {v:g}")
    return v


def short(v, limit: int = 60) -> str:
    """``repr(v)``, cut to ``limit`` characters (an error message stays one readable line)."""
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."


def _str(d: dict, key: str, choices: tuple[str, ...], *, required: bool = True, default: str | None = None) -> str | None:
    if key not in d or d[key] is None:
        if required:
            raise InputError(key, f"missing (one of {', '.join(choices)})")
        return default
    v = d[key]
    if v not in choices:
        raise InputError(key, f"must be one of {', '.join(choices)}, not {short(v)}")
    return v


def _bool(d: dict, key: str, default: bool = False) -> bool:
    v = d.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise InputError(key, f"must be true or false, not {short(v)}")
    return v


