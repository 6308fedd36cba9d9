"""The JSON contract of ``heatmeter calc KIND`` (docs/calc.md, docs/calc-battery.md,
docs/calc-costbenefit.md).

``run(kind, data)`` validates one input object and returns the output object.
Missing or impossible input raises :class:`InputError` naming the key.
Unknown keys are ignored.
"""
from __future__ import annotations

from typing import Any, Callable

from app.core.errors import InputError
from app.core.jsonin import _bool, _num, _str

KINDS = ("mpe", "calibration", "sizing", "resolution", "heat-coefficient", "battery", "cost-benefit")


def _class(d: dict) -> int:
    if "class" not in d:
        raise InputError("class", "missing (1, 2 or 3)")
    v = d["class"]
    if isinstance(v, bool) or v not in (1, 2, 3):
        raise InputError("class", f"must be 1, 2 or 3, not {v!r}")
    return int(v)


def _ratio(d: dict, qp: float) -> float:
    if d.get("ratio") is not None:
        r = _num(d, "ratio", positive=True)
        if r < 10:
            raise InputError("ratio", f"qp/qi must be at least 10, got {r:g}")
        return r
    if d.get("qi_m3h") is not None:
        qi = _num(d, "qi_m3h", positive=True)
        r = qp / qi
        if r < 10:
            raise InputError("qi_m3h", f"qp/qi = {r:g} is below 10")
        return r
    raise InputError("ratio", "missing (give ratio = qp/qi, or qi_m3h)")


def _spec(d: dict, *, need_flow: bool = True, need_dtheta_min: bool = True):
    from app.core.metrology import MeterSpec

    cls = _class(d) if (need_flow or "class" in d) else 2
    qp = _num(d, "qp_m3h", positive=True, required=need_flow, default=1.0)
    ratio = _ratio(d, qp) if need_flow else (_ratio(d, qp) if (d.get("ratio") is not None or d.get("qi_m3h") is not None) else 100.0)
    dmin = _num(d, "dtheta_min_k", positive=True, required=need_dtheta_min, default=3.0)
    dmax = _num(d, "dtheta_max_k", required=False, positive=True)
    qs = _num(d, "qs_m3h", required=False, positive=True)
    return MeterSpec(accuracy_class=cls, qp_m3h=qp, ratio=ratio, dtheta_min_k=dmin, dtheta_max_k=dmax, qs_m3h=qs).validate()


# ----------------------------------------------------------------------------- kinds

def run_mpe(d: dict) -> dict:
    from app.core.metrology import mpe

    spec = _spec(d)
    q = _num(d, "q_m3h", positive=True)
    dt = _num(d, "dtheta_k", positive=True)
    return mpe(spec, q, dt).as_dict()


def run_calibration(d: dict) -> dict:
    from app.core.metrology import SUBASSEMBLIES, CalibrationPoint, evaluate_calibration

    sub = _str(d, "subassembly", SUBASSEMBLIES)
    need_flow = sub in ("flow_sensor", "complete_meter")
    spec = _spec(d, need_flow=need_flow, need_dtheta_min=sub != "flow_sensor")
    pts = d.get("points")
    if not isinstance(pts, list) or not pts:
        raise InputError("points", "missing or empty (a list of {error_pct, q_m3h?, dtheta_k?, interval?})")
    points = []
    for i, p in enumerate(pts):
        path = f"points[{i}]."
        if not isinstance(p, dict):
            raise InputError(f"points[{i}]", "must be an object")
        err = _num(p, "error_pct", path=path)
        q = _num(p, "q_m3h", path=path, required=False)
        dt = _num(p, "dtheta_k", path=path, required=False)
        iv = p.get("interval")
        if iv is not None and not isinstance(iv, str):
            raise InputError(f"{path}interval", f"must be a string, not {iv!r}")
        points.append(CalibrationPoint(error_pct=err, q_m3h=q, dtheta_k=dt, interval=iv))
    gb = _bool(d, "apply_guard_band")
    u = _num(d, "test_uncertainty_pct", required=gb, nonneg=True)
    return evaluate_calibration(sub, spec, points, apply_guard_band=gb, test_uncertainty_pct=u).as_dict()


def _catalogue(d: dict):
    from app.core.sizing import CatalogueEntry

    if "catalogue" not in d or d["catalogue"] is None:
        return None
    cat = d["catalogue"]
    if not isinstance(cat, list):
        raise InputError("catalogue", "must be a list of {qp_m3h, ratio, dn, dp_at_qp_bar?}")
    if not cat:
        raise InputError("catalogue", "has no entries")
    out = []
    for i, e in enumerate(cat):
        path = f"catalogue[{i}]."
        if not isinstance(e, dict):
            raise InputError(f"catalogue[{i}]", "must be an object")
        qp = _num(e, "qp_m3h", path=path, positive=True)
        ratio = _num(e, "ratio", path=path, positive=True)
        if ratio < 10:
            raise InputError(f"{path}ratio", f"qp/qi must be at least 10, got {ratio:g}")
        dn = _num(e, "dn", path=path, positive=True)
        dp = _num(e, "dp_at_qp_bar", path=path, required=False, nonneg=True)
        out.append(CatalogueEntry(qp_m3h=qp, ratio=ratio, dn=int(dn), dp_at_qp_bar=dp))
    return out


def run_sizing(d: dict) -> dict:
    from app.core.sizing import builtin_catalogue, size_meter

    app_ = _str(d, "application", ("heating", "cooling"))
    pos = _str(d, "meter_position", ("flow", "return"))
    pipe_dn = _num(d, "pipe_dn", required=False, positive=True)
    max_dp = _num(d, "max_dp_bar", required=False, positive=True)
    cat = _catalogue(d)
    if cat is None:
        cat = builtin_catalogue(include_moving_parts=_bool(d, "include_moving_parts"))
    _water_temperatures(d, ("flow_temp_c", "return_temp_c", "min_load_flow_temp_c", "min_load_return_temp_c"))
    res = size_meter(
        application=app_,
        design_power_kw=_num(d, "design_power_kw", positive=True),
        flow_temp_c=_num(d, "flow_temp_c"),
        return_temp_c=_num(d, "return_temp_c"),
        min_power_kw=_num(d, "min_power_kw", positive=True),
        meter_position=pos,
        catalogue=cat,
        min_load_flow_temp_c=_num(d, "min_load_flow_temp_c", required=False),
        min_load_return_temp_c=_num(d, "min_load_return_temp_c", required=False),
        pipe_dn=None if pipe_dn is None else int(pipe_dn),
        max_dp_bar=max_dp,
    )
    out = res.as_dict(max_dp_given=max_dp is not None, pipe_dn_given=pipe_dn is not None)
    if "catalogue" not in d or d["catalogue"] is None:
        out["catalogue_source"] = "builtin"
    return out


def _water_temperatures(d: dict, keys: tuple[str, ...]) -> None:
    """Each temperature given is one IAPWS-IF97 describes as liquid water (the error names the key)."""
    from app.core.water import density_kg_m3

    for key in keys:
        t = _num(d, key, required=False)
        if t is None:
            continue
        try:
            density_kg_m3(t)
        except InputError as exc:
            raise InputError(key, exc.message) from None


def run_resolution(d: dict) -> dict:
    from app.core.resolution import resolution_check

    kind = _str(d, "kind", ("heat", "electricity"))
    if d.get("min_power_kw") is not None:
        p = _num(d, "min_power_kw", positive=True)
    elif d.get("min_heat_kw") is not None:
        heat = _num(d, "min_heat_kw", positive=True)
        if kind == "electricity":
            spf = _num(d, "spf", positive=True)
            p = heat / spf
        else:
            p = heat
    else:
        raise InputError("min_power_kw", "missing (or give min_heat_kw with spf)")
    return resolution_check(
        min_power_kw=p,
        meter_resolution_wh=_num(d, "meter_resolution_wh", positive=True),
        interval_min=_num(d, "interval_min", required=False, default=2.0, positive=True),
        fraction=_num(d, "fraction", required=False, default=0.03, positive=True),
        dhw_drawoff=_bool(d, "dhw_drawoff"),
    ).as_dict()


def run_heat_coefficient(d: dict) -> dict:
    from app.core.water import heat_coefficient_kj_m3k

    hot = _num(d, "hot_c")
    cold = _num(d, "cold_c")
    if not hot > cold:
        raise InputError("hot_c", f"must be above cold_c ({hot:g} °C vs {cold:g} °C)")
    pos = _str(d, "position", ("flow", "return"))
    p = _num(d, "pressure_mpa", required=False, default=1.6, positive=True)
    from app.core.water import density_kg_m3

    for key, t in (("hot_c", hot), ("cold_c", cold)):
        try:
            density_kg_m3(t, p)
        except InputError as exc:
            raise InputError(key, exc.message) from None
    k = heat_coefficient_kj_m3k(hot, cold, pos, p)
    return {"k_kj_m3k": k, "k_kwh_m3k": k / 3600.0, "energy_wh_per_0_1m3": 0.1 * k * (hot - cold) / 3.6}


def run_battery(d: dict) -> dict:
    from app.core.battery import battery_from_json

    return battery_from_json(d)


def run_cost_benefit(d: dict) -> dict:
    from app.core.costbenefit import cost_benefit_from_json

    return cost_benefit_from_json(d)


RUNNERS: dict[str, Callable[[dict], dict]] = {
    "mpe": run_mpe,
    "calibration": run_calibration,
    "sizing": run_sizing,
    "resolution": run_resolution,
    "heat-coefficient": run_heat_coefficient,
    "battery": run_battery,
    "cost-benefit": run_cost_benefit,
}


def run(kind: str, data: Any) -> dict:
    if kind not in RUNNERS:
        raise InputError("kind", f"must be one of {', '.join(KINDS)}")
    if not isinstance(data, dict):
        raise InputError("input", "must be one JSON object")
    try:
        result = RUNNERS[kind](data)
    except (OverflowError, ZeroDivisionError):
        raise InputError("input", "the numbers given are too large or too small to compute with") from None
    bad = _not_finite(result)
    if bad is not None:  # JSON has no infinity: an input drove a formula out of range
        raise InputError(bad, "the inputs give a value too large to compute (a flow, power or temperature "
                              "far out of range?)")
    from app.core.numbers import tidy_floats

    return tidy_floats(result)


def _not_finite(obj: Any, path: str = "") -> str | None:
    """The key of the first number in ``obj`` that is not finite (NaN, infinity), else None."""
    import math

    if isinstance(obj, float):
        return None if math.isfinite(obj) else (path or "result")
    if isinstance(obj, dict):
        for k, v in obj.items():
            found = _not_finite(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found = _not_finite(v, f"{path}[{i}]")
            if found:
                return found
    return None
