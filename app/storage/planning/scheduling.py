"""The maintenance schedule over the register: every in-service meter's state and due date (MMS 1.3.6)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from app.core.errors import InputError
from app.core.schedule import Schedule, compute_schedule
from app.storage import safe_export
from app.storage.planning.loading import PlanningData, _IsoDates, bulk_objects, clock_start, load_planning_data
from app.storage.register import Register

#: Columns of the schedule CSV, in order.
SCHEDULE_CSV_COLUMNS = ("meter_id", "manufacturer", "serial", "model", "site", "state", "due_date", "reason",
                        "clock_start", "lot_id", "lot_verdict")


@dataclass
class PlanningSchedule:
    """``compute_schedule``'s result with the register's names for each meter."""

    schedule: Schedule
    horizon_months: int
    site: str | None
    plan_sampling: bool
    data: PlanningData

    @property
    def rows(self):
        return self.schedule.rows

    def meter_rows(self) -> Iterable[dict[str, Any]]:
        labels, lots = self.data.labels, self.data.lots
        iso = _IsoDates()
        starts = {m.id: iso[clock_start(m)] for m in self.data.meters}
        for r in self.schedule.rows:
            make, serial, model = labels[r.meter_id]
            st = lots.get(r.meter_id)
            verdict = None
            if st is not None and st.outcome is not None:
                verdict = f"{'pass' if st.outcome.passed else 'fail'}_{st.outcome.sampling_round}y"
            yield {"meter_id": int(r.meter_id), "manufacturer": make, "serial": serial, "model": model,
                   "site": r.site, "state": r.state, "due_date": iso[r.due_date], "reason": r.reason,
                   "clock_start": starts[r.meter_id],
                   "lot_id": None if st is None else (st.outcome_lot or st.latest_lot), "lot_verdict": verdict}

    def as_dict(self, *, meters: bool = True) -> dict[str, Any]:
        s = self.schedule
        out: dict[str, Any] = {
            "as_of": s.as_of.isoformat(), "horizon_months": self.horizon_months,
            "horizon_end": s.horizon_end.isoformat(), "site": self.site, "plan_sampling": self.plan_sampling,
            "total": len(s.rows), "totals": s.totals, "by_month": s.by_month, "by_site": s.by_site,
        }
        if meters:
            out["meters"] = list(self.meter_rows())
        return out

    def write_csv(self, out) -> int:
        """The list with the reason for each row (columns ``SCHEDULE_CSV_COLUMNS``); returns the row count."""
        return safe_export.write_csv(out, SCHEDULE_CSV_COLUMNS,
                                     ([d[c] for c in SCHEDULE_CSV_COLUMNS] for d in self.meter_rows()),
                                     numeric=("meter_id", "lot_id"), lineterminator="\n")


def schedule(reg: Register, as_of: dt.date, *, horizon_months: int = 12, site: str | None = None,
             plan_sampling: bool = True, data: PlanningData | None = None) -> PlanningSchedule:
    """Every in-service, unrestricted meter's state and due date on ``as_of`` (stored lot verdicts included)."""
    if horizon_months < 0:
        raise InputError("horizon_months", "must not be negative")
    with bulk_objects():
        data = data or load_planning_data(reg, site=site)
        outcomes = {k: v.outcome for k, v in data.lots.items() if v.outcome is not None}
        s = compute_schedule(data.meters, as_of, horizon_months, lot_outcomes=outcomes, plan_sampling=plan_sampling)
    return PlanningSchedule(schedule=s, horizon_months=horizon_months, site=site, plan_sampling=plan_sampling,
                            data=data)

