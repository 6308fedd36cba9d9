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


def meter_columns(meters: Iterable[MeterInfo], lot_outcomes: Mapping[str, LotOutcome] | None = None) -> MeterColumns:
    """``MeterInfo`` records as the columns the schedule works on (one Python pass)."""
    outcomes = lot_outcomes or {}
    ids, sites, start, ok, battery, cls, restricted, at_lab, failed, defective, outcome = ([] for _ in range(11))
    site_code: dict = {}
    for m in meters:
        ids.append(m.id)
        sites.append(site_code.setdefault(m.site, len(site_code)))
        s = m.cycle_start_date or m.install_date
        if s is not None and m.install_year_only and m.cycle_start_date is None:
            s = date(s.year, 1, 1)
        start.append(0 if s is None else s.toordinal())
        ok.append(not m.reinstalled_after_repair)
        b = 0
        if m.battery_expiry is not None:
            b = anniversary(m.battery_expiry, -1).toordinal()
        elif m.battery_powered and m.battery_life_years:
            bstart = m.battery_date or m.install_date
            if bstart is not None:
                b = bstart.toordinal() + round((m.battery_life_years - 1.0) * 365.25)
        battery.append(b)
        cls.append(m.accuracy_class or 0)
        restricted.append(m.restricted)
        at_lab.append(m.at_lab)
        failed.append(0 if m.failed_recalibration_on is None else m.failed_recalibration_on.toordinal())
        defective.append(0 if m.defective_on is None else m.defective_on.toordinal())
        o = outcomes.get(m.id)
        outcome.append(0 if o is None else outcome_code(o.sampling_round, o.passed))
    return MeterColumns(ids=ids, site_code=np.array(sites, np.int32), site_names=list(site_code),
                        start=np.array(start, np.int32), sampling_ok=np.array(ok, bool),
                        battery_due=np.array(battery, np.int32), accuracy_class=np.array(cls, np.int16),
                        restricted=np.array(restricted, bool), at_lab=np.array(at_lab, bool),
                        failed_on=np.array(failed, np.int32), defective_on=np.array(defective, np.int32),
                        outcome=np.array(outcome, np.int8), id_text=False)


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
