"""Maintenance schedule of a register for a date D (MMS 1.3.3, 1.3.6; maintenance and maintenance-cycle specs).

Every meter gets every deadline still ahead of it or overdue on D, each once,
sorted by date (``deadlines``), the flags that matter to the planner
(``flags``), and one state with the due date of its earliest deadline:

* ``in_service``                  nothing due before D + horizon (the horizon is half-open)
* ``sampling_due``                9- or 13-year lot sampling within the horizon
* ``recalibrate_or_replace_due``  10 years, or 14/18 after a passed lot, or at once after a failed
                                  recalibration or a defective result in a passed lot, within the horizon
* ``battery_due``                 expected battery end of life − 1 year, within the horizon
* ``overdue``                     any of these before D

Deadline kinds: ``replace`` (recalibrate or replace), ``sampling_9y``,
``sampling_13y``, ``battery``. Flags: ``class_below_2`` (MID class 3, below
MMS 1.1.2), ``install_date_unknown``, ``failed_recalibration``,
``defective_in_passed_lot``, ``restricted`` (MMS 2.2.5: still scheduled),
``at_lab`` (drawn for a lot and sent to the test lab, not back yet).

Built for a million meters: the rules live in ``app.core.schedule_rules``
(one combination of clock start, rounds, battery and "at once" date at a
time); ``app.core.schedule_columns`` applies them to numpy columns of every
meter, each distinct combination worked out once.
"""
from __future__ import annotations

from datetime import date
from typing import Iterable, Mapping

import numpy as np

from app.core.lots import MeterInfo
from app.core.schedule_columns import (MeterColumns, ScheduleRows, compute_schedule_columns, outcome_code)
from app.core.schedule_rules import (BATTERY_REASON, DEADLINE_KINDS, DEFECTIVE_REASON, FAILED_REASON, FLAG_CLAUSES,
                                     FLAGS, STATES, UNKNOWN_REASON, LotOutcome, Planner, Schedule, ScheduleRow,
                                     add_months, anniversary, meter_flags)


def _ordinals(values) -> np.ndarray:
    """Dates (or None) as int32 ordinals, 0 for None; each distinct date converted once."""
    cache: dict = {None: 0}

    def conv(d):
        o = cache.get(d)
        if o is None:
            o = cache[d] = d.toordinal()
        return o

    return np.fromiter(map(conv, values), np.int32, count=len(values))


def meter_columns(meters: Iterable[MeterInfo], lot_outcomes: Mapping[str, LotOutcome] | None = None) -> MeterColumns:
    """``MeterInfo`` records as the columns the schedule works on (the fields transposed, dates as ordinals)."""
    ms = list(meters)
    n = len(ms)
    f = dict(zip(MeterInfo._fields, zip(*ms))) if ms else {k: () for k in MeterInfo._fields}
    outcomes = lot_outcomes or {}
    site_code: dict = {}
    sites = np.fromiter((site_code.setdefault(s, len(site_code)) for s in f["site"]), np.int32, count=n)
    install, cycle = _ordinals(f["install_date"]), _ordinals(f["cycle_start_date"])
    year_only = np.fromiter(f["install_year_only"], bool, count=n)
    first = install.copy()
    for p in np.flatnonzero(year_only & (install > 0)).tolist():
        first[p] = date(f["install_date"][p].year, 1, 1).toordinal()
    start = np.where(cycle > 0, cycle, first).astype(np.int32)
    battery = np.zeros(n, np.int32)
    for p in [p for p, (e, bp) in enumerate(zip(f["battery_expiry"], f["battery_powered"])) if e is not None or bp]:
        m = ms[p]
        if m.battery_expiry is not None:
            battery[p] = anniversary(m.battery_expiry, -1).toordinal()
        elif m.battery_powered and m.battery_life_years:
            bstart = m.battery_date or m.install_date
            if bstart is not None:
                battery[p] = bstart.toordinal() + round((m.battery_life_years - 1.0) * 365.25)
    outcome = np.zeros(n, np.int8)
    if outcomes:
        for p, mid in enumerate(f["id"]):
            o = outcomes.get(mid)
            if o is not None:
                outcome[p] = outcome_code(o.sampling_round, o.passed)
    return MeterColumns(ids=list(f["id"]), site_code=sites, site_names=list(site_code), start=start,
                        sampling_ok=~np.fromiter(f["reinstalled_after_repair"], bool, count=n),
                        battery_due=battery,
                        accuracy_class=np.fromiter((c or 0 for c in f["accuracy_class"]), np.int16, count=n),
                        restricted=np.fromiter(f["restricted"], bool, count=n),
                        at_lab=np.fromiter(f["at_lab"], bool, count=n),
                        failed_on=_ordinals(f["failed_recalibration_on"]), defective_on=_ordinals(f["defective_on"]),
                        outcome=outcome, id_text=False)


def compute_schedule(meters: Iterable[MeterInfo], as_of: date, horizon_months: int = 12,
                     lot_outcomes: Mapping[str, LotOutcome] | None = None, plan_sampling: bool = True,
                     site: str | None = None) -> Schedule:
    """Deadlines, flags, state and due date of every meter for the date ``as_of``.

    ``lot_outcomes`` maps a meter id to its lot's latest sampling outcome
    (a pass at 9 years extends to 14, at 13 to 18; a fail keeps the 10- or
    14-year deadline). ``plan_sampling`` False: the operator replaces at 10
    years, no sampling events (and no battery change, MMS 1.3.6 being about
    meters kept beyond 10 years, unless a passed lot already keeps it). Meters
    listed apart from lots (re-installed after repair) get no sampling
    events. Year-only install dates count from 1 January (the earliest
    possible date). A meter without install date is ``overdue`` with reason
    ``install_date_unknown`` and no deadline. A failed recalibration or a
    defective result in a passed lot makes the meter due at once (deadline
    ``replace`` on that date). The horizon is half-open: a due date on
    ``as_of`` + horizon is outside it.
    """
    return compute_schedule_columns(meter_columns(meters, lot_outcomes), as_of, horizon_months,
                                    plan_sampling=plan_sampling, site=site)


__all__ = ["STATES", "DEADLINE_KINDS", "FLAGS", "FLAG_CLAUSES", "BATTERY_REASON", "FAILED_REASON", "DEFECTIVE_REASON",
           "UNKNOWN_REASON", "LotOutcome", "ScheduleRow", "Schedule", "ScheduleRows", "MeterColumns", "Planner",
           "add_months", "anniversary", "meter_flags", "meter_columns", "compute_schedule", "compute_schedule_columns"]
