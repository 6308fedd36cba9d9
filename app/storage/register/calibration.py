"""Calibration results: the points measured on a test bench with their MPEs and verdicts, against a meter.

One write path (``_insert_calibration``) for a recalibration entered on its
own (``add_calibration_result``) and for the test of a meter drawn in a
sampling lot (``Lots.record_lot_results``, with the lot's id).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from app.storage import models
from app.storage.errors import NotFound, ValidationError
from app.storage.records import jsonable
from app.storage.register.tables import CAL, CALP, M
from app.storage.register.unit import UnitOfWork

SUBASSEMBLIES = ("flow_sensor", "temperature_pair", "calculator", "complete_meter")
#: Per-point values of the calculator's output kept with each point.
_POINT_RESULT_KEYS = ("mpe_initial_pct", "mpe_in_service_pct", "acceptance_initial_pct", "acceptance_in_service_pct",
                      "pass_initial", "pass_in_service", "in_interval")


@dataclass(frozen=True)
class NewCalibration:
    """A calibration to store.

    ``points``: as in the ``heatmeter calc calibration`` JSON input ({error_pct, q_m3h?,
    dtheta_k?, interval?}); ``result``: the calculator's output (its
    ``points`` one for one with ``points``: MPEs and verdicts;
    ``initial_verdict``, ``in_service_verdict``, ``coverage``,
    ``missing_intervals``); ``inputs``: what the calculation used (a
    ``basis`` there is logged).
    """

    tested_on: dt.date
    subassembly: str
    points: Sequence[dict[str, Any]]
    result: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    lab: str | None = None
    certificate: str | None = None
    notes: str | None = None

    def check(self) -> None:
        if self.subassembly not in SUBASSEMBLIES:
            raise ValidationError(f"subassembly {self.subassembly!r} must be flow_sensor, temperature_pair, "
                                  "calculator or complete_meter")
        out_points = (self.result or {}).get("points") or []
        if out_points and len(out_points) != len(self.points):
            raise ValidationError(f"result has {len(out_points)} points for {len(self.points)} measured points")


class Calibration(UnitOfWork):
    """Storing and reading calibration results."""

    def add_calibration_result(self, meter_id: int, *, tested_on: dt.date, subassembly: str,
                               points: Sequence[dict[str, Any]], result: dict[str, Any] | None = None,
                               inputs: dict[str, Any] | None = None, lab: str | None = None,
                               certificate: str | None = None, lot_id: int | None = None, notes: str | None = None,
                               user: str | None = None) -> int:
        """Store a calibration: ``points`` as in the ``heatmeter calc calibration`` JSON input
        ({error_pct, q_m3h?, dtheta_k?, interval?}); ``result`` the calculator's output
        (per-point MPEs and verdicts, initial/in-service verdict, coverage)."""
        cal = NewCalibration(tested_on=tested_on, subassembly=subassembly, points=points, result=result,
                             inputs=inputs, lab=lab, certificate=certificate, notes=notes)
        cal.check()
        with self._write() as conn:
            if conn.execute(select(M.c.id).where(M.c.id == meter_id)).first() is None:
                raise NotFound(f"no meter with id {meter_id}")
            return self._insert_calibration(conn, meter_id, cal, lot_id=lot_id, user=self.user_name(user),
                                            now=models.utcnow())

    def _insert_calibration(self, conn: Connection, meter_id: int, cal: NewCalibration, *, lot_id: int | None,
                            user: str, now) -> int:
        """The calibration row, its points and its event-log entry; returns its id."""
        cal.check()
        res = cal.result or {}
        out_points = res.get("points") or []
        rid = conn.execute(insert(CAL).values(
            meter_id=meter_id, lot_id=lot_id, tested_on=cal.tested_on, lab=cal.lab, certificate=cal.certificate,
            subassembly=cal.subassembly, initial_verdict=res.get("initial_verdict"),
            in_service_verdict=res.get("in_service_verdict"), coverage=res.get("coverage"),
            missing_intervals=res.get("missing_intervals"), inputs=jsonable(cal.inputs) if cal.inputs else None,
            notes=cal.notes, recorded_by=user, recorded_at=now,
        ).returning(CAL.c.id)).scalar_one()
        rows = []
        for i, pnt in enumerate(cal.points):
            if "error_pct" not in pnt:
                raise ValidationError(f"calibration point {i + 1}: no error_pct")
            o = out_points[i] if out_points else {}
            rows.append({"result_id": rid, "seq": i, "error_pct": float(pnt["error_pct"]),
                         "q_m3h": pnt.get("q_m3h"), "dtheta_k": pnt.get("dtheta_k"), "interval": pnt.get("interval"),
                         **{k: o.get(k) for k in _POINT_RESULT_KEYS}})
        if rows:
            conn.execute(insert(CALP), rows)
        after: dict[str, Any] = {"tested_on": cal.tested_on, "subassembly": cal.subassembly, "lab": cal.lab,
                                 "points": len(rows)}
        if lot_id is not None:
            after["lot_id"] = lot_id
        if cal.inputs and cal.inputs.get("basis") is not None:
            after["basis"] = cal.inputs["basis"]
        after.update(initial_verdict=res.get("initial_verdict"), in_service_verdict=res.get("in_service_verdict"))
        h = self._seal_item(conn, "calibration_results", rid)
        after["content_hash"] = h
        self._log(conn, user, "calibration_results", rid, "create", meter_id=meter_id, after=after,
                  anchors=[("calibration_results", rid, h)])
        return rid

    def calibration_results(self, meter_id: int) -> list[dict[str, Any]]:
        with self._read() as conn:
            out = [dict(r) for r in conn.execute(select(CAL).where(CAL.c.meter_id == meter_id)
                                                 .order_by(CAL.c.tested_on, CAL.c.id)).mappings()]
            for d in out:
                d["points"] = [dict(p) for p in conn.execute(select(CALP).where(CALP.c.result_id == d["id"])
                                                             .order_by(CALP.c.seq)).mappings()]
                for p in d["points"]:
                    p.pop("result_id")
                    p.pop("seq")
        return out
