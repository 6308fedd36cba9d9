"""Test results of the meters drawn for a lot: judged against twice the initial MPE (MMS 1.3.5), then stored.

Each result is stored as the lot's result for the meter and, unless the meter
was inaccessible, as a calibration result against it (with the lot's id), all
through ``Register.record_lot_results`` in one transaction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import select

from app.core.errors import InputError
from app.core.lots import MeterTestResult, inaccessible, result_from_single_error
from app.storage.errors import NotFound, ValidationError
from app.storage.register import LOTR, SUBASSEMBLIES, LotResult, NewCalibration, Register, default_user
from app.storage.register.lots import check_open_for_results

DEFAULT_SUBASSEMBLY = "complete_meter"


@dataclass
class ResultEntry:
    """One tested (or inaccessible) meter of a lot's draw.

    Either ``points`` (``heatmeter calc calibration`` points: ``{error_pct, q_m3h?,
    dtheta_k?, interval?}``), or ``error_pct`` (a single error figure, judged
    at ``q_m3h``/``dtheta_k`` when given, else at qp and the meter's Δθmax; or
    against ``mpe_initial_pct`` when given), or ``inaccessible``. The meter's
    class, qp, qp/qi, Δθmin/Δθmax and qs come from the register.
    ``lines``: the source line of each point (for error messages).
    """

    manufacturer: str
    serial: str
    error_pct: float | None = None
    points: list[dict[str, Any]] | None = None
    inaccessible: bool = False
    subassembly: str | None = None
    q_m3h: float | None = None
    dtheta_k: float | None = None
    mpe_initial_pct: float | None = None
    apply_guard_band: bool = False
    test_uncertainty_pct: float | None = None
    tested_on: dt.date | None = None
    lab: str | None = None
    certificate: str | None = None
    notes: str | None = None
    lines: list[int] | None = None
    source: str | None = None

    def where(self) -> str:
        if self.lines:
            return f"{self.source + ': ' if self.source else ''}line {self.lines[0]}: "
        return ""


#: Register field the calculator key comes from (for messages naming what the register lacks).
_REGISTER_FIELD = {"class": "mid_class", "qp_m3h": "qp_m3h", "ratio": "qp_qi_ratio (or qi_m3h)",
                   "dtheta_min_k": "dtheta_min_k", "dtheta_max_k": "dtheta_max_k", "qs_m3h": "qs_m3h"}


def spec_input(rec) -> dict[str, Any]:
    d: dict[str, Any] = {"class": rec.mid_class, "qp_m3h": rec.qp_m3h, "dtheta_min_k": rec.dtheta_min_k,
                         "dtheta_max_k": rec.dtheta_max_k, "qs_m3h": rec.qs_m3h}
    if rec.qp_qi_ratio is not None:
        d["ratio"] = rec.qp_qi_ratio
    elif rec.qi_m3h is not None:
        d["qi_m3h"] = rec.qi_m3h
    return {k: v for k, v in d.items() if v is not None}


def _fail(entry: ResultEntry, key: str, message: str, point: int | None = None):
    """Raise the error of one entry: with its file line when it came from a file, else naming the key."""
    label = f"meter {entry.manufacturer} {entry.serial}"
    if entry.lines:
        line = entry.lines[min(point or 0, len(entry.lines) - 1)]
        src = f"{entry.source}: " if entry.source else ""
        k = key.split(".", 1)[1] if key.startswith("points[") and "." in key else key
        raise ValidationError(f"{src}line {line}: {k}: {message} ({label})")
    raise InputError(key, f"{message} ({label})")


def evaluate_entry(entry: ResultEntry, rec) -> tuple[MeterTestResult, dict[str, Any] | None, dict[str, Any],
                                                     list[dict[str, Any]]]:
    """Judge one entry for meter record ``rec`` (MMS 1.3.5: 2 × the initial MPE).

    Returns the core test result, the calibration calculator's output (None
    for an inaccessible meter or a given MPE), the inputs used (basis, the
    meter's data from the register) and the points judged.
    """
    from app.core.calcjson import run as calc_run

    mid = str(rec.id)
    if entry.inaccessible:
        return inaccessible(mid), None, {"basis": "inaccessible"}, []
    sub = entry.subassembly or DEFAULT_SUBASSEMBLY
    if sub not in SUBASSEMBLIES:
        _fail(entry, "subassembly", f"must be one of {', '.join(SUBASSEMBLIES)}, not {sub!r}")
    if entry.points:
        points = [dict(p) for p in entry.points]
        basis = "calibration_points"
    elif entry.error_pct is not None:
        if entry.mpe_initial_pct is not None:
            if not entry.mpe_initial_pct > 0:
                _fail(entry, "mpe_initial_pct", "must be positive")
            r = result_from_single_error(mid, entry.error_pct, entry.mpe_initial_pct)
            return (r, None, {"basis": "single_error", "mpe_initial_pct": entry.mpe_initial_pct,
                              "limit_pct": r.limit_pct}, [{"error_pct": entry.error_pct}])
        q, dth = entry.q_m3h, entry.dtheta_k
        if sub in ("flow_sensor", "complete_meter") and q is None:
            q = rec.qp_m3h  # a figure without its flow: judged at qp (interval I3)
        if sub != "flow_sensor" and dth is None:
            dth = rec.dtheta_max_k  # without its temperature difference: at Δθmax
            if dth is None:
                _fail(entry, "dtheta_k", "missing: give the temperature difference of the error figure "
                                         "(the register has no dtheta_max_k for this meter)")
        points = [{"error_pct": entry.error_pct, **({"q_m3h": q} if q is not None else {}),
                   **({"dtheta_k": dth} if dth is not None else {})}]
        basis = "single_error"
    else:
        _fail(entry, "error_pct", "missing: give an error figure, calibration points or inaccessible")
    d = {**spec_input(rec), "subassembly": sub, "points": points, "apply_guard_band": entry.apply_guard_band}
    if entry.test_uncertainty_pct is not None:
        d["test_uncertainty_pct"] = entry.test_uncertainty_pct
    try:
        out = calc_run("calibration", d)
    except InputError as exc:
        k = exc.key
        if k.startswith("points["):
            _fail(entry, k, exc.message, int(k[7:k.index("]")]))
        if k in _REGISTER_FIELD or k == "qi_m3h":
            _fail(entry, k, f"{exc.message}: the register's {_REGISTER_FIELD.get(k, k)} of this meter is needed "
                            "for its MPE")
        _fail(entry, k, exc.message)
    # The point furthest beyond (or least inside) its in-service limit stands for the meter.
    worst = max(range(len(points)), key=lambda i: abs(points[i]["error_pct"]) / out["points"][i]["mpe_in_service_pct"])
    res = MeterTestResult(mid, out["in_service_verdict"] == "fail", basis, points[worst]["error_pct"],
                          out["points"][worst]["mpe_in_service_pct"])
    return res, out, {"basis": basis, **{k: v for k, v in d.items() if k != "points"}}, points


def check_results(reg: Register, lot_id: int, entries: Sequence[ResultEntry], *,
                  replace_existing: bool = False) -> list[tuple]:
    """Find and judge every entry as ``record_results`` would, storing nothing: the first entry that would be
    refused raises its error (naming the line). Returns the judged entries."""
    if not entries:
        raise ValidationError("no results given")
    with reg.reading() as conn:
        _lot, draws = check_open_for_results(conn, lot_id)
        have = {mid for (mid,) in conn.execute(select(LOTR.c.meter_id).where(LOTR.c.lot_id == lot_id))}
    drawn = {d["meter_id"]: d for d in draws}
    judged = []
    seen: dict[int, ResultEntry] = {}
    for e in entries:
        where = e.where()
        try:
            rec = reg.find_meter(e.manufacturer, e.serial)
        except NotFound:
            raise ValidationError(f"{where}no meter {e.manufacturer} {e.serial} in the register") from None
        if rec.id not in drawn:
            raise ValidationError(f"{where}meter {rec.manufacturer} {rec.serial} was not drawn for lot {lot_id} "
                                  "(neither in the sample nor a spare)")
        if rec.id in seen:
            raise ValidationError(f"{where}meter {rec.manufacturer} {rec.serial} is given twice")
        seen[rec.id] = e
        if rec.id in have and not replace_existing:
            raise ValidationError(f"{where}lot {lot_id} already has a result for meter {rec.manufacturer} "
                                  f"{rec.serial}; give --replace to correct it (logged)")
        judged.append((e, rec, *evaluate_entry(e, rec)))
    return judged


def record_results(reg: Register, lot_id: int, entries: Sequence[ResultEntry], *, tested_on: dt.date | None = None,
                   replace_existing: bool = False, user: str | None = None) -> dict[str, Any]:
    """Enter test results of drawn meters, all or nothing (one transaction).

    Each result is judged (``evaluate_entry``), stored as the lot's result for
    the meter and, unless the meter was inaccessible, as a calibration result
    against the meter (with the lot's id). A meter not drawn for the lot
    (sample and spares), a meter given twice, or a meter that already has a
    result (unless ``replace_existing``) is refused, naming the line.
    """
    today = tested_on or dt.date.today()
    judged = check_results(reg, lot_id, entries, replace_existing=replace_existing)
    results = []
    for e, rec, res, out, inputs, points in judged:
        on = e.tested_on or today
        inacc = res.basis == "inaccessible"
        cal = None if inacc else _calibration(e, res, out, inputs, points, on)
        results.append(LotResult(meter_id=rec.id, error_pct=res.worst_error_pct, limit_pct=res.limit_pct,
                                 defective=res.defective, inaccessible=inacc, tested_on=None if inacc else on,
                                 notes=e.notes, calibration=cal, draw_status="inaccessible" if inacc else "tested"))
    saved = reg.record_lot_results(lot_id, results, replace=replace_existing, user=user or default_user())
    stored = []
    for (_e, rec, res, out, _inputs, _points), done in zip(judged, saved):
        stored.append({"meter_id": rec.id, "manufacturer": rec.manufacturer, "serial": rec.serial,
                       "spare": done["spare"], "basis": res.basis, "defective": res.defective,
                       "error_pct": None if res.worst_error_pct is None else round(res.worst_error_pct, 4),
                       "limit_pct": None if res.limit_pct is None else round(res.limit_pct, 4),
                       "calibration_result_id": done["calibration_result_id"], "replaced": done["replaced"],
                       "in_service_verdict": None if out is None else out["in_service_verdict"],
                       "coverage": None if out is None else out["coverage"]})
    return {"lot_id": lot_id, "recorded": stored,
            "defectives": sum(1 for s in stored if s["defective"]),
            "inaccessible": sum(1 for s in stored if s["basis"] == "inaccessible")}


def _calibration(e: ResultEntry, res: MeterTestResult, out: dict | None, inputs: dict, points: list[dict],
                 on: dt.date) -> NewCalibration:
    """The test as a calibration result against the meter (``heatmeter calc calibration`` points and verdicts); the
    in-service verdict is the lot's judgement of the meter."""
    sub = inputs.get("subassembly") or e.subassembly or DEFAULT_SUBASSEMBLY
    if out is not None:
        point_results = out["points"]
    else:  # judged against a given MPE: no calculator output
        point_results = [{"mpe_initial_pct": inputs.get("mpe_initial_pct"), "mpe_in_service_pct": res.limit_pct,
                          "acceptance_in_service_pct": res.limit_pct, "pass_in_service": not res.defective}
                         for _ in points]
    result = {"initial_verdict": None if out is None else out["initial_verdict"],
              "in_service_verdict": "fail" if res.defective else "pass",
              "coverage": None if out is None else out["coverage"],
              "missing_intervals": None if out is None else out["missing_intervals"], "points": point_results}
    return NewCalibration(tested_on=on, subassembly=sub, points=points, result=result, inputs=inputs, lab=e.lab,
                          certificate=e.certificate, notes=e.notes)
