"""KPIs of the observation window, in the HNTAS style: data completeness (SS-KPI-02), VWAFT (SS-KPI-09A)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from app.core.commissioning.verdict import FAIL, PASS, WARN
from app.core.errors import InputError

# --------------------------------------------------------------------------- observation window KPIs


def expected_polls(duration_s: float, interval_s: float) -> int:
    """Polls due in a window of ``duration_s`` on a grid of ``interval_s`` starting
    with a poll at its start: ceil(duration / interval) (0 for an empty window)."""
    if interval_s <= 0:
        raise InputError("interval_s", "must be positive")
    if duration_s <= 0:
        return 0
    return math.ceil(duration_s / interval_s - 1e-9)


#: HNTAS SS-KPI-02 threshold: at least 95 % of the expected reads.
COMPLETENESS_THRESHOLD_PCT = 95.0


@dataclass(frozen=True)
class Completeness:
    received: int
    expected: int
    pct: float | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def data_completeness(received: int, expected: int,
                      threshold_pct: float = COMPLETENESS_THRESHOLD_PCT) -> Completeness:
    """HNTAS SS-KPI-02: reads received / reads expected × 100 (capped at 100 %);
    pass at or above ``threshold_pct`` (95 %), else fail."""
    if received < 0 or expected < 0:
        raise InputError("received", "counts cannot be negative")
    if expected == 0:
        return Completeness(received, 0, None, WARN)
    pct = min(100.0, 100.0 * received / expected)
    return Completeness(received, expected, pct, PASS if pct >= threshold_pct else FAIL)


def vwaft(temperatures_c: Sequence[float | None], volumes_m3: Sequence[float | None]) -> float | None:
    """HNTAS SS-KPI-09A volume-weighted average flow temperature Σ(θ·V) / ΣV.

    Pairs with a missing value are left out; None when no volume passed."""
    if len(temperatures_c) != len(volumes_m3):
        raise InputError("volumes_m3", "needs one volume per temperature")
    num = den = 0.0
    for t, v in zip(temperatures_c, volumes_m3):
        if t is None or v is None:
            continue
        num += t * v
        den += v
    return num / den if den > 0 else None


@dataclass(frozen=True)
class ObservationSample:
    """One poll of the observation window (None where the meter gave no value;
    a missed poll is not a sample)."""

    t_epoch_s: float
    flow_m3h: float | None = None
    t_flow_c: float | None = None
    t_return_c: float | None = None
    power_kw: float | None = None
    energy_kwh: float | None = None
    volume_m3: float | None = None
    dtheta_k: float | None = None          # the meter's own Δθ record, where it sends one


def observation_kpis(samples: Sequence[ObservationSample], *, start_epoch_s: float, end_epoch_s: float,
                     interval_s: float, threshold_pct: float = COMPLETENESS_THRESHOLD_PCT) -> dict[str, Any]:
    """The observation window's KPIs, in the HNTAS style.

    * completeness (SS-KPI-02): samples received in [start, end) / polls expected;
    * VWAFT (SS-KPI-09A): each sample stands for one poll interval, so its volume is
      V = q·interval (m³); Σθ·V / ΣV;
    * the plain average flow and return temperatures (SS-KPI-06/-07 style);
    * the volume by the samples (ΣV) and by the meter's register (last − first).
    """
    inside = [s for s in samples if start_epoch_s <= s.t_epoch_s < end_epoch_s]
    comp = data_completeness(len(inside), expected_polls(end_epoch_s - start_epoch_s, interval_s), threshold_pct)
    vols = [None if s.flow_m3h is None else abs(s.flow_m3h) * interval_s / 3600.0 for s in inside]
    tf = [s.t_flow_c for s in inside]
    tr = [s.t_return_c for s in inside]
    flow_avg = [t for t in tf if t is not None]
    ret_avg = [t for t in tr if t is not None]
    regs = [s.volume_m3 for s in inside if s.volume_m3 is not None]
    regs_e = [s.energy_kwh for s in inside if s.energy_kwh is not None]
    return {
        "duration_s": end_epoch_s - start_epoch_s,
        "interval_s": interval_s,
        "completeness": comp.to_dict(),
        "vwaft_c": vwaft(tf, vols),
        "vwart_c": vwaft(tr, vols),
        "mean_flow_c": sum(flow_avg) / len(flow_avg) if flow_avg else None,
        "mean_return_c": sum(ret_avg) / len(ret_avg) if ret_avg else None,
        "volume_by_samples_m3": sum(v for v in vols if v is not None),
        "volume_by_register_m3": (regs[-1] - regs[0]) if len(regs) > 1 else None,
        "energy_by_register_kwh": (regs_e[-1] - regs_e[0]) if len(regs_e) > 1 else None,
    }

