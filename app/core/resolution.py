"""Register resolution rule of the DECC domestic RHI metering packages (2013).

[Resolution of meter] ≤ fraction × [minimum non-zero output in one logging
interval] (fraction 3 %, interval 2 minutes in the RHI). A heat or electricity
meter "need not be finer than 1 pulse per 1 Wh"; a meter of a DHW draw-off
shall resolve at least 1 Wh.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import InputError

FLOOR_WH = 1.0


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    e_min_wh: float
    required_resolution_wh: float
    effective_limit_wh: float
    basis: str
    passed: bool

    def as_dict(self) -> dict:
        return {"e_min_wh": self.e_min_wh, "required_resolution_wh": self.required_resolution_wh,
                "effective_limit_wh": self.effective_limit_wh, "basis": self.basis, "pass": self.passed}


def min_output_wh(power_kw: float, interval_min: float) -> float:
    """Energy of ``power_kw`` over one logging interval, in Wh."""
    return power_kw * 1000.0 * interval_min / 60.0


def resolution_check(min_power_kw: float, meter_resolution_wh: float, interval_min: float = 2.0,
                     fraction: float = 0.03, dhw_drawoff: bool = False) -> ResolutionResult:
    if not min_power_kw > 0:
        raise InputError("min_power_kw", "must be positive (the minimum non-zero output)")
    if not interval_min > 0:
        raise InputError("interval_min", "must be positive")
    if not 0 < fraction <= 1:
        raise InputError("fraction", "must be in (0, 1]")
    if not meter_resolution_wh > 0:
        raise InputError("meter_resolution_wh", "must be positive")
    e_min = min_output_wh(min_power_kw, interval_min)
    required = fraction * e_min
    if dhw_drawoff:
        limit, basis = FLOOR_WH, "dhw_drawoff_1wh"
    elif required < FLOOR_WH:
        limit, basis = FLOOR_WH, "floor_1wh_need_not_be_finer"
    else:
        limit, basis = required, "fraction_of_min_output"
    return ResolutionResult(e_min_wh=e_min, required_resolution_wh=required, effective_limit_wh=limit,
                            basis=basis, passed=meter_resolution_wh <= limit)
