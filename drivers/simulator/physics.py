"""Physics of the simulated heat meters: water properties and register integration.

The heat coefficient k of EN 1434 is ``k = rho(theta_v) * (h(theta_f) - h(theta_r)) / dtheta``
where theta_v is the temperature where the volume is measured. Here it is
computed from a small table of saturated-liquid water properties (density and
isobaric heat capacity, 0-150 degC in 10 K steps, the values printed in common
steam tables derived from IAPWS-IF97, rounded to four figures): the enthalpy
difference is the integral of cp between the two temperatures (trapezoid on the
linearly interpolated table). This is within about 0.1 % of the full IAPWS-IF97
k over the heat-meter range, plenty for a simulator. ``drivers`` may not import
``app``, so the metrology package's IAPWS-based k is deliberately not used here.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

# degC: (density kg/m3, cp kJ/(kg K)) of liquid water near saturation pressure.
_WATER = [
    (0.0, 999.8, 4.217), (10.0, 999.7, 4.192), (20.0, 998.2, 4.182), (30.0, 995.7, 4.178),
    (40.0, 992.2, 4.179), (50.0, 988.0, 4.181), (60.0, 983.2, 4.185), (70.0, 977.8, 4.190),
    (80.0, 971.8, 4.197), (90.0, 965.3, 4.205), (100.0, 958.4, 4.216), (110.0, 950.9, 4.229),
    (120.0, 943.1, 4.245), (130.0, 934.8, 4.263), (140.0, 926.1, 4.285), (150.0, 917.0, 4.310),
]


def _interp(theta_c: float, col: int) -> float:
    t = min(max(theta_c, _WATER[0][0]), _WATER[-1][0])
    i = min(int(t // 10), len(_WATER) - 2)
    t0, t1 = _WATER[i][0], _WATER[i + 1][0]
    f = (t - t0) / (t1 - t0)
    return _WATER[i][col] * (1 - f) + _WATER[i + 1][col] * f


def density_kg_m3(theta_c: float) -> float:
    return _interp(theta_c, 1)


def cp_kj_kgk(theta_c: float) -> float:
    return _interp(theta_c, 2)


def enthalpy_diff_kj_kg(theta_hi_c: float, theta_lo_c: float, steps: int = 8) -> float:
    """Integral of cp from theta_lo to theta_hi (sign follows the order)."""
    if theta_hi_c == theta_lo_c:
        return 0.0
    h = (theta_hi_c - theta_lo_c) / steps
    s = 0.5 * (cp_kj_kgk(theta_lo_c) + cp_kj_kgk(theta_hi_c))
    s += sum(cp_kj_kgk(theta_lo_c + i * h) for i in range(1, steps))
    return s * h


def k_kwh_m3k(theta_flow_c: float, theta_return_c: float, volume_at_flow: bool = False) -> float:
    """Heat coefficient k in kWh/(m3 K) (EN 1434), for volume measured in the return (default) or flow pipe."""
    theta_v = theta_flow_c if volume_at_flow else theta_return_c
    dtheta = theta_flow_c - theta_return_c
    if abs(dtheta) < 1e-9:
        cp = cp_kj_kgk(theta_flow_c)
    else:
        cp = enthalpy_diff_kj_kg(theta_flow_c, theta_return_c) / dtheta
    return density_kg_m3(theta_v) * cp / 3600.0


def power_w(flow_m3h: float, theta_flow_c: float, theta_return_c: float, volume_at_flow: bool = False) -> float:
    """Thermal power P = k * qv * dtheta in W (positive for heating, negative for cooling)."""
    dtheta = theta_flow_c - theta_return_c
    return k_kwh_m3k(theta_flow_c, theta_return_c, volume_at_flow) * flow_m3h * dtheta * 1000.0


@dataclass
class Drift:
    """An Ornstein-Uhlenbeck process: drifts around ``mean`` with noise, seeded."""

    mean: float
    sigma: float            # stationary standard deviation
    tau_s: float = 900.0    # correlation time
    value: float | None = None

    def step(self, dt_s: float, rng: random.Random) -> float:
        if self.value is None:
            self.value = self.mean
        if dt_s <= 0 or self.sigma == 0:
            return self.value
        a = math.exp(-dt_s / self.tau_s)
        self.value = self.mean + (self.value - self.mean) * a + self.sigma * math.sqrt(1 - a * a) * rng.gauss(0, 1)
        return self.value


@dataclass
class HydraulicState:
    """Flow, temperatures and the integrating registers of one meter.

    ``kind``: "heat" (energy counts when flow > return), "cooling" (counts when
    return > flow), "heat_cooling" (two energy registers), "water" (volume only).
    """

    kind: str = "heat"
    flow: Drift = field(default_factory=lambda: Drift(0.8, 0.15))
    theta_flow: Drift = field(default_factory=lambda: Drift(70.0, 2.0))
    dtheta: Drift = field(default_factory=lambda: Drift(20.0, 2.5))
    volume_at_flow: bool = False
    energy_wh: float = 0.0
    cooling_energy_wh: float = 0.0
    volume_m3: float = 0.0
    flow_temp_volume_m3c: float = 0.0     # sum of flow temperature x volume (Kamstrup E8)
    return_temp_volume_m3c: float = 0.0   # sum of return temperature x volume (Kamstrup E9)
    on_time_s: float = 0.0
    max_step_s: float = 60.0

    # last computed instantaneous values
    flow_m3h: float = 0.0
    theta_flow_c: float = 0.0
    theta_return_c: float = 0.0
    power_w: float = 0.0

    def __post_init__(self) -> None:
        self._sample(0.0, random.Random(0))

    def _sample(self, dt: float, rng: random.Random) -> None:
        self.flow_m3h = max(0.0, self.flow.step(dt, rng))
        self.theta_flow_c = self.theta_flow.step(dt, rng)
        d = self.dtheta.step(dt, rng)
        if self.kind == "heat":
            d = max(0.0, d)
        self.theta_return_c = self.theta_flow_c - d
        if self.kind == "water":
            self.power_w = 0.0
        else:
            self.power_w = power_w(self.flow_m3h, self.theta_flow_c, self.theta_return_c, self.volume_at_flow)

    def advance(self, dt_s: float, rng: random.Random) -> None:
        """Integrate over ``dt_s`` seconds (trapezoid per sub-step, sub-steps of at most max_step_s)."""
        while dt_s > 1e-9:
            h = min(dt_s, self.max_step_s)
            q0, p0 = self.flow_m3h, self.power_w
            tf0, tr0 = self.theta_flow_c, self.theta_return_c
            self._sample(h, rng)
            q1, p1 = self.flow_m3h, self.power_w
            self.volume_m3 += 0.5 * (q0 + q1) * h / 3600.0
            self.flow_temp_volume_m3c += 0.5 * (q0 * tf0 + q1 * self.theta_flow_c) * h / 3600.0
            self.return_temp_volume_m3c += 0.5 * (q0 * tr0 + q1 * self.theta_return_c) * h / 3600.0
            pm = 0.5 * (p0 + p1)
            if pm > 0:
                self.energy_wh += pm * h / 3600.0
            elif pm < 0:
                self.cooling_energy_wh += -pm * h / 3600.0
            self.on_time_s += h
            dt_s -= h
