"""The current values of a heat meter, picked out of its decoded records.

Works on decoded records as objects (``drivers.mbus`` ``Record``) or as the
JSON dicts of the decode contract (stored evidence). Only current values are
taken: storage 0, tariff 0, subunit 0, function "instantaneous", and records
without modifiers (a heating register with ``accumulation_positive`` is
reported apart from a cooling register with ``accumulation_negative``).
Units are converted to the names' units.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_J_PER_KWH = 3.6e6


def _get(rec: Any, key: str, default: Any = None) -> Any:
    if isinstance(rec, dict):
        return rec.get(key, default)
    return getattr(rec, key, default)


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


@dataclass(frozen=True)
class Readings:
    """Current values of one readout; None where the meter did not report them."""
    energy_kwh: float | None = None
    cooling_energy_kwh: float | None = None
    volume_m3: float | None = None
    power_kw: float | None = None
    flow_m3h: float | None = None
    t_flow_c: float | None = None
    t_return_c: float | None = None
    dtheta_k: float | None = None
    meter_time: str | None = None  # ISO local date-time as the meter reports it
    fabrication_number: str | None = None
    error_flags: int | None = None
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def dtheta_or_difference_k(self) -> float | None:
        """Δθ as reported, else flow minus return temperature."""
        if self.dtheta_k is not None:
            return self.dtheta_k
        if self.t_flow_c is not None and self.t_return_c is not None:
            return self.t_flow_c - self.t_return_c
        return None


def _energy_kwh(value: float, unit: str) -> float | None:
    if unit == "Wh":
        return value / 1000.0
    if unit == "J":
        return value / _J_PER_KWH
    return None


def _power_kw(value: float, unit: str) -> float | None:
    if unit == "W":
        return value / 1000.0
    if unit == "J/h":
        return value / _J_PER_KWH
    return None


def current_readings(records: Iterable[Any]) -> Readings:
    """The first current value of each quantity, in telegram order."""
    found: dict[str, Any] = {}
    for rec in records:
        if (_get(rec, "storage", 0) or _get(rec, "tariff", 0) or _get(rec, "subunit", 0)
                or _get(rec, "function") != "instantaneous"):
            continue
        q, unit, value = _get(rec, "quantity"), _get(rec, "unit", ""), _get(rec, "value")
        mods = tuple(_get(rec, "modifiers", ()) or ())
        num = _number(value)
        if q == "energy" and num is not None:
            if mods == ("accumulation_negative",):
                found.setdefault("cooling_energy_kwh", _energy_kwh(num, unit))
            elif mods in ((), ("accumulation_positive",)):
                found.setdefault("energy_kwh", _energy_kwh(num, unit))
            continue
        if mods:
            continue
        if q == "volume" and unit == "m3" and num is not None:
            found.setdefault("volume_m3", num)
        elif q == "power" and num is not None:
            found.setdefault("power_kw", _power_kw(num, unit))
        elif q == "volume_flow" and unit == "m3/h" and num is not None:
            found.setdefault("flow_m3h", num)
        elif q == "flow_temperature" and num is not None:
            found.setdefault("t_flow_c", num)
        elif q == "return_temperature" and num is not None:
            found.setdefault("t_return_c", num)
        elif q == "temperature_difference" and num is not None:
            found.setdefault("dtheta_k", num)
        elif q == "datetime" and isinstance(value, str):
            found.setdefault("meter_time", value)
        elif q == "fabrication_number" and value is not None:
            found.setdefault("fabrication_number", str(value))
        elif q == "error_flags" and num is not None:
            found.setdefault("error_flags", int(num))
    return Readings(**{k: v for k, v in found.items() if v is not None})
