"""The maintenance schedule over the register: every in-service meter's deadlines, flags, state and due date
(MMS 1.3.3-1.3.6)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from app.core.errors import InputError
from app.core.schedule import Schedule, compute_schedule
from app.storage.exports import write_csv
from app.storage.planning.loading import PlanningData, _IsoDates, bulk_objects, clock_start, load_planning_data
from app.storage.register import Register

#: Columns of the schedule CSV, in order (``deadlines``: ``kind date`` pairs joined by "; ", ``flags`` by "; ").
SCHEDULE_CSV_COLUMNS = ("meter_id", "manufacturer", "serial", "model", "site", "state", "due_date", "reason",
                        "clock_start", "lot_id", "lot_verdict", "deadlines", "flags")


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
        """One dict per meter: the JSON row. A restricted meter (MMS 2.2.5) is shown by id (and site) only."""
        labels, lots = self.data.labels, self.data.lots
        iso = _IsoDates()
        starts = {m.id: iso[clock_start(m)] for m in self.data.meters}
        for r in self.schedule.rows:
            make, serial, model = labels[r.meter_id]
            if "restricted" in r.flags:
                make = serial = model = None
            st = lots.get(r.meter_id)
            verdict = None
            if st is not None and st.outcome is not None:
                verdict = f"{'pass' if st.outcome.passed else 'fail'}_{st.outcome.sampling_round}y"
            yield {"meter_id": int(r.meter_id), "manufacturer": make, "serial": serial, "model": model,
                   "site": r.site, "state": r.state, "due_date": iso[r.due_date], "reason": r.reason,
                   "clock_start": starts[r.meter_id],
                   "lot_id": None if st is None else (st.outcome_lot or st.latest_lot), "lot_verdict": verdict,
                   "deadlines": [{"kind": k, "date": iso[d]} for k, d in r.deadlines], "flags": list(r.flags)}

    def as_dict(self, *, meters: bool = True) -> dict[str, Any]:
        s = self.schedule
        out: dict[str, Any] = {
            "as_of": s.as_of.isoformat(), "horizon_months": self.horizon_months,
            "horizon_end": s.horizon_end.isoformat(), "site": self.site, "plan_sampling": self.plan_sampling,
            "total": len(s.rows), "totals": s.totals, "by_month": s.by_month, "by_site": s.by_site,
            "deadlines_by_month": s.deadlines_by_month or {}, "overdue_by_kind": s.overdue_by_kind or {},
            "flag_totals": s.flag_totals or {},
        }
        if meters:
            out["meters"] = list(self.meter_rows())
        return out

    def csv_rows(self, rows: Iterable[dict[str, Any]] | None = None) -> Iterable[list[Any]]:
        """The rows of the CSV (``SCHEDULE_CSV_COLUMNS``), of ``rows`` (default every meter)."""
        for d in (self.meter_rows() if rows is None else rows):
            d = dict(d)
            d["deadlines"] = "; ".join(f"{x['kind']} {x['date']}" for x in d["deadlines"])
            d["flags"] = "; ".join(d["flags"])
            yield [d[c] for c in SCHEDULE_CSV_COLUMNS]

    def write_csv(self, out, rows: Iterable[dict[str, Any]] | None = None) -> int:
        """The list with the reason, deadlines and flags of each row (columns ``SCHEDULE_CSV_COLUMNS``) to a path
        (written atomically) or an open text stream; returns the row count."""
        return write_csv(out, SCHEDULE_CSV_COLUMNS, self.csv_rows(rows))


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

