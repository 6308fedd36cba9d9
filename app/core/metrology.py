"""Maximum permissible errors (EN 1434-1 / MID MI-004) and calibration verdicts.

All errors and MPEs are in % of the true value. Formulas:

* flow sensor   Ef = a + b·qp/q, capped (class 1: 1 + 0.01·qp/q ≤ 3.5;
  class 2: 2 + 0.02·qp/q ≤ 5; class 3: 3 + 0.05·qp/q ≤ 5)
* temperature pair  Et = 0.5 + 3·Δθmin/Δθ
* calculator        Ec = 0.5 + Δθmin/Δθ
* complete meter    E = Ef + Et + Ec

In service the limit is twice the initial-verification MPE (MMS 1.3.5),
applied to each sub-assembly MPE after its cap and to the complete-meter total.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.core.errors import InputError

#: (a, b, cap) of the flow-sensor MPE per accuracy class.
FLOW_CLASSES: dict[int, tuple[float, float, float]] = {
    1: (1.0, 0.01, 3.5),
    2: (2.0, 0.02, 5.0),
    3: (3.0, 0.05, 5.0),
}
#: Δθmin values named by MID MI-004 (3, 5 or 10 K).
MID_DTHETA_MIN_K = (3.0, 5.0, 10.0)
#: In-service factor of MMS 1.3.5.
IN_SERVICE_FACTOR = 2.0

SUBASSEMBLIES = ("flow_sensor", "temperature_pair", "calculator", "complete_meter")
#: Test intervals required per sub-assembly (EN 1434-5). The temperature pair
#: is checked over the calculator's Δθ intervals (our choice, see docs/metrology.md).
REQUIRED_INTERVALS: dict[str, tuple[str, ...]] = {
    "flow_sensor": ("I1", "I2", "I3"),
    "temperature_pair": ("D1", "D2", "D3"),
    "calculator": ("D1", "D2", "D3"),
    "complete_meter": ("C1", "C2", "C3"),
}


def _check_class(accuracy_class: int) -> tuple[float, float, float]:
    try:
        return FLOW_CLASSES[int(accuracy_class)]
    except (KeyError, TypeError, ValueError):
        raise InputError("class", f"must be 1, 2 or 3, not {accuracy_class!r}") from None


def flow_sensor_mpe(accuracy_class: int, qp_m3h: float, q_m3h: float) -> tuple[float, float, bool]:
    """(Ef after cap, Ef uncapped, capped?) in %, for flow ``q_m3h`` on a sensor of ``qp_m3h``."""
    a, b, cap = _check_class(accuracy_class)
    if q_m3h <= 0:
        raise InputError("q_m3h", "flow must be positive")
    raw = a + b * qp_m3h / q_m3h
    return (min(raw, cap), raw, raw > cap)


def temperature_pair_mpe(dtheta_min_k: float, dtheta_k: float) -> float:
    """Et = 0.5 + 3·Δθmin/Δθ in %."""
    if dtheta_k <= 0:
        raise InputError("dtheta_k", "temperature difference must be positive")
    return 0.5 + 3.0 * dtheta_min_k / dtheta_k


def calculator_mpe(dtheta_min_k: float, dtheta_k: float) -> float:
    """Ec = 0.5 + Δθmin/Δθ in %."""
    if dtheta_k <= 0:
        raise InputError("dtheta_k", "temperature difference must be positive")
    return 0.5 + dtheta_min_k / dtheta_k


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """What the MPE of a heat meter depends on."""

    accuracy_class: int
    qp_m3h: float
    ratio: float  # qp/qi
    dtheta_min_k: float
    dtheta_max_k: float | None = None
    qs_m3h: float | None = None

    @property
    def qi_m3h(self) -> float:
        return self.qp_m3h / self.ratio

    def validate(self) -> "MeterSpec":
        _check_class(self.accuracy_class)
        if not self.qp_m3h > 0:
            raise InputError("qp_m3h", "must be positive")
        if not self.ratio >= 10:
            raise InputError("ratio", f"qp/qi must be at least 10 (EN 1434-1), got {self.ratio:g}")
        if not self.dtheta_min_k > 0:
            raise InputError("dtheta_min_k", "must be positive")
        if self.dtheta_max_k is not None and not self.dtheta_max_k > self.dtheta_min_k:
            raise InputError("dtheta_max_k", "must be greater than dtheta_min_k")
        if self.qs_m3h is not None and not self.qs_m3h > self.qp_m3h:
            raise InputError("qs_m3h", "must be greater than qp_m3h")
        return self


@dataclass(frozen=True, slots=True)
class MpeResult:
    ef: float
    ef_uncapped: float
    ef_capped: bool
    et: float
    ec: float
    e_total: float
    in_service_total: float
    in_rated_range: bool
    violations: tuple[str, ...]
    note_dtheta_min_not_mid: bool

    def as_dict(self) -> dict:
        out = {
            "ef": self.ef, "ef_uncapped": self.ef_uncapped, "ef_capped": self.ef_capped,
            "et": self.et, "ec": self.ec, "e_total": self.e_total,
            "in_service_total": self.in_service_total,
            "in_rated_range": self.in_rated_range, "violations": list(self.violations),
        }
        if self.note_dtheta_min_not_mid:
            out["note_dtheta_min_not_mid"] = True
        return out


def range_violations(spec: MeterSpec, q_m3h: float | None, dtheta_k: float | None) -> tuple[str, ...]:
    v: list[str] = []
    if q_m3h is not None:
        if q_m3h < spec.qi_m3h:
            v.append("q_below_qi")
        if spec.qs_m3h is not None and q_m3h > spec.qs_m3h:
            v.append("q_above_qs")
    if dtheta_k is not None:
        if dtheta_k < spec.dtheta_min_k:
            v.append("dtheta_below_dtheta_min")
        if spec.dtheta_max_k is not None and dtheta_k > spec.dtheta_max_k:
            v.append("dtheta_above_dtheta_max")
    return tuple(v)


def mpe(spec: MeterSpec, q_m3h: float, dtheta_k: float) -> MpeResult:
    """MPE of a complete meter at one operating point (values even out of range; the point is flagged)."""
    spec.validate()
    if not q_m3h > 0:
        raise InputError("q_m3h", "flow must be positive")
    if not dtheta_k > 0:
        raise InputError("dtheta_k", "temperature difference must be positive")
    ef, ef_raw, capped = flow_sensor_mpe(spec.accuracy_class, spec.qp_m3h, q_m3h)
    et = temperature_pair_mpe(spec.dtheta_min_k, dtheta_k)
    ec = calculator_mpe(spec.dtheta_min_k, dtheta_k)
    total = ef + et + ec
    violations = range_violations(spec, q_m3h, dtheta_k)
    return MpeResult(
        ef=ef, ef_uncapped=ef_raw, ef_capped=capped, et=et, ec=ec, e_total=total,
        in_service_total=IN_SERVICE_FACTOR * total, in_rated_range=not violations,
        violations=violations,
        note_dtheta_min_not_mid=float(spec.dtheta_min_k) not in MID_DTHETA_MIN_K,
    )


# --------------------------------------------------------------------------- calibration

@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    error_pct: float
    q_m3h: float | None = None
    dtheta_k: float | None = None
    interval: str | None = None


@dataclass(frozen=True, slots=True)
class PointVerdict:
    mpe_initial_pct: float
    mpe_in_service_pct: float
    acceptance_initial_pct: float
    acceptance_in_service_pct: float
    pass_initial: bool
    pass_in_service: bool
    in_interval: bool | None = None

    def as_dict(self) -> dict:
        out = {
            "mpe_initial_pct": self.mpe_initial_pct,
            "mpe_in_service_pct": self.mpe_in_service_pct,
            "acceptance_initial_pct": self.acceptance_initial_pct,
            "acceptance_in_service_pct": self.acceptance_in_service_pct,
            "pass_initial": self.pass_initial,
            "pass_in_service": self.pass_in_service,
        }
        if self.in_interval is not None:
            out["in_interval"] = self.in_interval
        return out


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    points: tuple[PointVerdict, ...]
    initial_verdict: str
    in_service_verdict: str
    coverage: str
    missing_intervals: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "points": [p.as_dict() for p in self.points],
            "initial_verdict": self.initial_verdict,
            "in_service_verdict": self.in_service_verdict,
            "coverage": self.coverage,
            "missing_intervals": list(self.missing_intervals),
        }


# Closeness allowed at interval bounds (a bench reading of exactly 1.1·qi is inside I1).
_REL_EPS = 1e-9


def _within_limit(err: float, limit: float) -> bool:
    """|error| ≤ limit, equality passing although the limit is a sum of rounded binary fractions.

    E.g. class 2 at qp, Δθmin 3 K, Δθ 100 K: 2 × (2.02 + 0.59 + 0.53) is
    6.279999999999999 in floating point, and a reported error of 6.28 % is on
    the limit, not beyond it. The tolerance (1e-9 relative) is far below any
    reported digit.
    """
    return err <= limit + _REL_EPS * max(abs(limit), 1.0)


def _within(x: float | None, lo: float, hi: float) -> bool:
    if x is None:
        return False
    tol = _REL_EPS * max(abs(lo), abs(hi), 1.0)
    return lo - tol <= x <= hi + tol


def _flow_bounds(name: str, spec: MeterSpec) -> tuple[float, float]:
    qi, qp = spec.qi_m3h, spec.qp_m3h
    return {"I1": (qi, 1.1 * qi), "I2": (0.1 * qp, 0.11 * qp), "I3": (0.9 * qp, qp)}[name]


def _dtheta_bounds(name: str, spec: MeterSpec) -> tuple[float, float] | None:
    if name == "D1":
        return (spec.dtheta_min_k, 1.2 * spec.dtheta_min_k)
    if name == "D2":
        return (10.0, 20.0)
    if spec.dtheta_max_k is None:
        return None
    return (spec.dtheta_max_k - 5.0, spec.dtheta_max_k)


_COMPLETE = {"C1": ("D1", "I3"), "C2": ("D2", "I2"), "C3": ("D3", "I1")}


def point_in_interval(subassembly: str, spec: MeterSpec, point: CalibrationPoint, name: str) -> bool:
    """True when the point's actual q and/or Δθ lie inside test interval ``name``."""
    if name.startswith("I"):
        return _within(point.q_m3h, *_flow_bounds(name, spec))
    if name.startswith("D"):
        b = _dtheta_bounds(name, spec)
        return b is not None and _within(point.dtheta_k, *b)
    d, i = _COMPLETE[name]
    b = _dtheta_bounds(d, spec)
    return b is not None and _within(point.dtheta_k, *b) and _within(point.q_m3h, *_flow_bounds(i, spec))


def required_intervals(subassembly: str, spec: MeterSpec) -> tuple[str, ...]:
    names = REQUIRED_INTERVALS[subassembly]
    if subassembly == "temperature_pair" and spec.dtheta_max_k is None:
        return tuple(n for n in names if n != "D3")
    return names


def point_mpe(subassembly: str, spec: MeterSpec, point: CalibrationPoint, key: str = "points[0]") -> float:
    """Initial-verification MPE (%) of one calibration point of a sub-assembly."""
    needs_q = subassembly in ("flow_sensor", "complete_meter")
    needs_dt = subassembly != "flow_sensor"
    if needs_q:
        if point.q_m3h is None:
            raise InputError(f"{key}.q_m3h", f"missing: a {subassembly.replace('_', ' ')} point needs its actual flow")
        if not point.q_m3h > 0:
            raise InputError(f"{key}.q_m3h", "flow must be positive")
    if needs_dt:
        if point.dtheta_k is None:
            raise InputError(f"{key}.dtheta_k", f"missing: a {subassembly.replace('_', ' ')} point needs its actual temperature difference")
        if not point.dtheta_k > 0:
            raise InputError(f"{key}.dtheta_k", "temperature difference must be positive")
    if subassembly == "flow_sensor":
        return flow_sensor_mpe(spec.accuracy_class, spec.qp_m3h, point.q_m3h)[0]
    if subassembly == "temperature_pair":
        return temperature_pair_mpe(spec.dtheta_min_k, point.dtheta_k)
    if subassembly == "calculator":
        return calculator_mpe(spec.dtheta_min_k, point.dtheta_k)
    ef = flow_sensor_mpe(spec.accuracy_class, spec.qp_m3h, point.q_m3h)[0]
    return ef + temperature_pair_mpe(spec.dtheta_min_k, point.dtheta_k) + calculator_mpe(spec.dtheta_min_k, point.dtheta_k)


def evaluate_calibration(subassembly: str, spec: MeterSpec, points: list[CalibrationPoint] | tuple[CalibrationPoint, ...],
                         apply_guard_band: bool = False, test_uncertainty_pct: float | None = None) -> CalibrationResult:
    """Judge calibration points of one sub-assembly against the initial and in-service limits.

    Guard band: when applied and the test uncertainty U exceeds 1/5 of the initial
    limit, the initial acceptance limit is limit − U; the in-service acceptance
    limit stays 2 × MPE. Coverage never changes a verdict.
    """
    if subassembly not in SUBASSEMBLIES:
        raise InputError("subassembly", f"must be one of {', '.join(SUBASSEMBLIES)}, not {subassembly!r}")
    if subassembly in ("calculator", "complete_meter") and spec.dtheta_max_k is None:
        raise InputError("dtheta_max_k", f"missing: needed for a {subassembly.replace('_', ' ')}")
    if not points:
        raise InputError("points", "no calibration points")
    if apply_guard_band:
        if test_uncertainty_pct is None:
            raise InputError("test_uncertainty_pct", "missing: needed when apply_guard_band is true")
        if test_uncertainty_pct < 0:
            raise InputError("test_uncertainty_pct", "must not be negative")
    valid = set(REQUIRED_INTERVALS[subassembly])
    required = required_intervals(subassembly, spec)
    verdicts: list[PointVerdict] = []
    covered: set[str] = set()
    for idx, p in enumerate(points):
        key = f"points[{idx}]"
        limit = point_mpe(subassembly, spec, p, key)
        in_service = IN_SERVICE_FACTOR * limit
        acc_initial = limit
        if apply_guard_band and test_uncertainty_pct is not None and test_uncertainty_pct > limit / 5.0:
            acc_initial = limit - test_uncertainty_pct
        err = abs(p.error_pct)
        in_iv = None
        if p.interval is not None:
            if p.interval not in valid:
                raise InputError(f"{key}.interval", f"{p.interval!r} is not a test interval of a {subassembly.replace('_', ' ')} ({', '.join(sorted(valid))})")
            in_iv = point_in_interval(subassembly, spec, p, p.interval)
        verdicts.append(PointVerdict(
            mpe_initial_pct=limit, mpe_in_service_pct=in_service,
            acceptance_initial_pct=acc_initial, acceptance_in_service_pct=in_service,
            pass_initial=_within_limit(err, acc_initial), pass_in_service=_within_limit(err, in_service),
            in_interval=in_iv,
        ))
        # Coverage counts a point inside an interval whether or not it names it.
        for name in required:
            if point_in_interval(subassembly, spec, p, name):
                covered.add(name)
    missing = tuple(n for n in required if n not in covered)
    return CalibrationResult(
        points=tuple(verdicts),
        initial_verdict="pass" if all(v.pass_initial for v in verdicts) else "fail",
        in_service_verdict="pass" if all(v.pass_in_service for v in verdicts) else "fail",
        coverage="complete" if not missing else "incomplete",
        missing_intervals=missing,
    )
