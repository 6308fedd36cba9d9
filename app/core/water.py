"""Properties of water from IAPWS-IF97 (EN 1434-1 convention: 1.6 MPa).

The ``iapws`` package is exact but slow (about half a millisecond per state),
so states are cached on (temperature rounded to 1 mK, pressure). Sizing or
heat-coefficient runs over many points therefore cost one IAPWS call per
distinct temperature.
"""
from __future__ import annotations

from functools import lru_cache

from app.core.errors import InputError

#: EN 1434-1 computes the heat coefficient at 16 bar.
DEFAULT_PRESSURE_MPA = 1.6


#: Where IAPWS-IF97 region 1 (liquid water) is defined: 0..350 °C, up to 100 MPa.
T_MIN_C, T_MAX_C = 0.0, 350.0
P_MAX_MPA = 100.0


@lru_cache(maxsize=65536)
def _state(t_mk: int, p_kpa: int) -> tuple[float, float]:
    from iapws import IAPWS97

    try:
        w = IAPWS97(T=t_mk / 1000.0 + 273.15, P=p_kpa / 1000.0)
    except (NotImplementedError, ValueError, ArithmeticError) as exc:  # iapws: "Incoming out of bound"
        raise InputError("temperature", f"{t_mk / 1000:g} °C at {p_kpa / 1000:g} MPa is outside IAPWS-IF97 "
                                        f"({' '.join(str(exc).split())[:60] or type(exc).__name__})") from None
    if w.region != 1:
        raise InputError("temperature", f"{t_mk / 1000:g} °C is not liquid water at {p_kpa / 1000:g} MPa (IAPWS-IF97 region {w.region})")
    return float(w.rho), float(w.h)


def _key(t_c: float, p_mpa: float) -> tuple[int, int]:
    """The cache key; refuses what IAPWS-IF97 liquid water is not (one-line ``InputError``)."""
    try:
        t, p = float(t_c), float(p_mpa)
    except (TypeError, ValueError):
        raise InputError("temperature", f"{t_c!r} is not a number") from None
    if not T_MIN_C <= t <= T_MAX_C:  # also NaN and infinities
        raise InputError("temperature", f"{t:g} °C is outside {T_MIN_C:g}..{T_MAX_C:g} °C, where IAPWS-IF97 "
                                        "describes liquid water")
    if not 0 < p <= P_MAX_MPA:
        raise InputError("pressure_mpa", f"{p:g} MPa is outside 0..{P_MAX_MPA:g} MPa (IAPWS-IF97)")
    return round(t * 1000.0), round(p * 1000.0)


def density_kg_m3(t_c: float, p_mpa: float = DEFAULT_PRESSURE_MPA) -> float:
    """Density of liquid water at ``t_c`` °C and ``p_mpa`` MPa (IAPWS-IF97)."""
    return _state(*_key(t_c, p_mpa))[0]


def enthalpy_kj_kg(t_c: float, p_mpa: float = DEFAULT_PRESSURE_MPA) -> float:
    """Specific enthalpy of liquid water at ``t_c`` °C and ``p_mpa`` MPa (IAPWS-IF97)."""
    return _state(*_key(t_c, p_mpa))[1]


def heat_coefficient_kj_m3k(hot_c: float, cold_c: float, position: str = "return",
                            p_mpa: float = DEFAULT_PRESSURE_MPA) -> float:
    """EN 1434-1 heat coefficient k = ρ(θ at the volume sensor)·(h_hot − h_cold)/(θ_hot − θ_cold).

    ``position`` is ``flow`` when the volume is measured at the hot temperature,
    ``return`` when measured at the cold one. Result in kJ/(m³·K).
    """
    if hot_c == cold_c:
        raise InputError("cold_c", "hot and cold temperatures are equal (no temperature difference)")
    if position not in ("flow", "return"):
        raise InputError("position", f"must be 'flow' or 'return', not {position!r}")
    rho = density_kg_m3(hot_c if position == "flow" else cold_c, p_mpa)
    dh = enthalpy_kj_kg(hot_c, p_mpa) - enthalpy_kj_kg(cold_c, p_mpa)
    return rho * dh / (hot_c - cold_c)
