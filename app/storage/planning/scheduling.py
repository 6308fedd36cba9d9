"""The maintenance schedule over the register: every in-service meter's deadlines, flags, state and due date
(MMS 1.3.3-1.3.6)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from app.core.errors import InputError
from app.core.schedule import Schedule, ScheduleRows, compute_schedule_columns
from app.core.schedule_columns import FLAG_TUPLES, FLAG_BIT, OUTCOME_NONE, outcome_code
from app.storage.exports import write_csv
from app.storage.planning.loading import PlanningData, _IsoDates, _OrdinalIso, bulk_objects, load_planning_data
from app.storage.register import Register

_VERDICT = {outcome_code(r, p): f"{'pass' if p else 'fail'}_{r}y" for r in (9, 13) for p in (True, False)}
_VERDICT[OUTCOME_NONE] = None
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
        data, rows = self.data, self.schedule.rows
        iso = _IsoDates()
        starts = _OrdinalIso()
        dls_cache: dict[int, list] = {}
        if isinstance(rows, ScheduleRows) and rows.cols is data.cols:
            # straight from the columns: no row objects
            plans, plan_idx, bits = rows.plans, rows.plan_idx.tolist(), rows.bits.tolist()
            flag_lists = [list(f) for f in FLAG_TUPLES]
            names, codes = data.cols.site_names, data.cols.site_code.tolist()
            it = zip(range(len(plan_idx)), data.ids.tolist(), plan_idx, bits, codes, data.cols.start.tolist(),
                     data.latest_lot.tolist(), data.outcome_lot.tolist(), data.cols.outcome.tolist())
            make, serial, model = data.manufacturer, data.serial, data.model
            restricted_bit = FLAG_BIT["restricted"]
            for p, mid, pi, b, code, start, latest, oc_lot, oc in it:
                state, due, reason, deadlines, _c = plans[pi]
                dls = dls_cache.get(pi)
                if dls is None:
                    dls = dls_cache[pi] = [{"kind": k, "date": iso[d]} for k, d in deadlines]
                hidden = b & restricted_bit
                yield {"meter_id": mid, "manufacturer": None if hidden else make[p],
                       "serial": None if hidden else serial[p], "model": None if hidden else model[p],
                       "site": names[code], "state": state, "due_date": iso[due], "reason": reason,
                       "clock_start": starts[start], "lot_id": (oc_lot or latest) if latest else None,
                       "lot_verdict": _VERDICT.get(oc), "deadlines": [dict(x) for x in dls],
                       "flags": list(flag_lists[b])}
            return
        for r in rows:   # a schedule computed from other rows than this data's (kept for callers that do)
            p = data.position(r.meter_id)
            st = data.lots_at(p)
            hidden = "restricted" in r.flags
            verdict = None
            if st is not None and st.outcome is not None:
                verdict = f"{'pass' if st.outcome.passed else 'fail'}_{st.outcome.sampling_round}y"
            yield {"meter_id": int(r.meter_id), "manufacturer": None if hidden else data.manufacturer[p],
                   "serial": None if hidden else data.serial[p], "model": None if hidden else data.model[p],
                   "site": r.site, "state": r.state, "due_date": iso[r.due_date], "reason": r.reason,
                   "clock_start": starts[int(data.cols.start[p])],
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
            with bulk_objects():   # a million small acyclic dicts: no collection passes over them meanwhile
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
        with bulk_objects():
            return write_csv(out, SCHEDULE_CSV_COLUMNS, self.csv_rows(rows))


def schedule(reg: Register, as_of: dt.date, *, horizon_months: int = 12, site: str | None = None,
             plan_sampling: bool = True, data: PlanningData | None = None) -> PlanningSchedule:
    """Every in-service, unrestricted meter's state and due date on ``as_of`` (stored lot verdicts included)."""
    if horizon_months < 0:
        raise InputError("horizon_months", "must not be negative")
    with bulk_objects():
        data = data or load_planning_data(reg, site=site)
        s = compute_schedule_columns(data.cols, as_of, horizon_months, plan_sampling=plan_sampling)
    return PlanningSchedule(schedule=s, horizon_months=horizon_months, site=site, plan_sampling=plan_sampling,
                            data=data)

