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


@lru_cache(maxsize=65536)
def _state(t_mk: int, p_kpa: int) -> tuple[float, float]:
    from iapws import IAPWS97

    w = IAPWS97(T=t_mk / 1000.0 + 273.15, P=p_kpa / 1000.0)
    if w.region != 1:
        raise InputError("temperature", f"{t_mk / 1000:g} °C is not liquid water at {p_kpa / 1000:g} MPa (IAPWS-IF97 region {w.region})")
    return float(w.rho), float(w.h)


def _key(t_c: float, p_mpa: float) -> tuple[int, int]:
    return round(t_c * 1000.0), round(p_mpa * 1000.0)


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
