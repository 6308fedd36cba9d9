"""Maintenance schedule of a register for a date D (MMS 1.3.3, 1.3.6; maintenance spec).

Every meter falls in one state with its due date:

* ``in_service``                  nothing due before D + horizon
* ``sampling_due``                9- or 13-year lot sampling within the horizon
* ``recalibrate_or_replace_due``  10 years, or 14/18 after a passed lot, within the horizon
* ``battery_due``                 expected battery end of life − 1 year, within the horizon
* ``overdue``                     any of these before D

Built for 100,000 meters in well under a second: one pass, ordinal-day
integers, anniversaries cached per (start date, years).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date
from typing import Iterable, Mapping, NamedTuple

from app.core.errors import InputError
from app.core.lots import MeterInfo

STATES = ("in_service", "sampling_due", "recalibrate_or_replace_due", "battery_due", "overdue")


class LotOutcome(NamedTuple):
    """Latest sampling round a meter's lot went through and whether it passed."""

    sampling_round: int  # 9 or 13
    passed: bool


class ScheduleRow(NamedTuple):
    meter_id: str
    site: str | None
    state: str
    due_date: date | None
    reason: str


@dataclass(frozen=True, slots=True)
class Schedule:
    as_of: date
    horizon_end: date
    rows: list[ScheduleRow]
    totals: dict[str, int]
    by_month: dict[str, dict[str, int]]   # "YYYY-MM" of the due date (within the horizon) -> state -> count
    by_site: dict[str, dict[str, int]]    # site ("" when unknown) -> state -> count

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(), "horizon_end": self.horizon_end.isoformat(),
            "totals": self.totals, "by_month": self.by_month, "by_site": self.by_site,
            "meters": [
                {"meter_id": r.meter_id, "site": r.site, "state": r.state,
                 "due_date": None if r.due_date is None else r.due_date.isoformat(), "reason": r.reason}
                for r in self.rows
            ],
        }


def _beyond(d: date, what: str) -> InputError:
    return InputError("date", f"{d.isoformat()} {what} is beyond the calendar (years 1..9999)")


def add_months(d: date, months: int) -> date:
    """``d`` plus whole months (the 31st becomes the month's last day); ``InputError`` past year 9999."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    if not MINYEAR <= year <= MAXYEAR:
        raise _beyond(d, f"{months:+} months")
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise _beyond(d, f"{months:+} months")  # never: every month has a 28th


def anniversary(d: date, years: int) -> date:
    """``d`` plus whole years; 29 February becomes 28 February in common years."""
    if not MINYEAR <= d.year + years <= MAXYEAR:
        raise _beyond(d, f"{years:+} years")
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


# Reason names, one per event kind.
_RECAL = {10: "recalibrate_or_replace_10y", 14: "recalibrate_or_replace_14y", 18: "recalibrate_or_replace_18y"}
_SAMPLE = {9: "sampling_9y", 13: "sampling_13y"}
BATTERY_REASON = "battery_end_of_life_minus_1y"


def compute_schedule(meters: Iterable[MeterInfo], as_of: date, horizon_months: int = 12,
                     lot_outcomes: Mapping[str, LotOutcome] | None = None, plan_sampling: bool = True,
                     site: str | None = None) -> Schedule:
    """State and due date of every meter for the date ``as_of``.

    ``lot_outcomes`` maps a meter id to its lot's latest sampling outcome
    (a pass at 9 years extends to 14, at 13 to 18; a fail keeps the 10- or
    14-year deadline). ``plan_sampling`` False: the operator replaces at 10
    years, no sampling events. Meters listed apart from lots (re-installed
    after repair) get no sampling events. Year-only install dates count from
    1 January (the earliest possible date). A meter without install date is
    ``overdue`` with reason ``install_date_unknown``.
    """
    if horizon_months < 0:
        raise InputError("horizon_months", "must not be negative")
    outcomes = lot_outcomes or {}
    d0 = as_of.toordinal()
    horizon_end = add_months(as_of, horizon_months)
    d1 = horizon_end.toordinal()
    ann_cache: dict[tuple[date, int], int] = {}
    fromord = date.fromordinal

    def ann(start: date, years: int) -> int:
        k = (start, years)
        v = ann_cache.get(k)
        if v is None:
            v = ann_cache[k] = anniversary(start, years).toordinal()
        return v

    rows: list[ScheduleRow] = []
    totals = dict.fromkeys(STATES, 0)
    by_month: dict[str, dict[str, int]] = {}
    by_site: dict[str, dict[str, int]] = {}
    append = rows.append
    for m in meters:
        if site is not None and m.site != site:
            continue
        mid = m.id
        start = m.cycle_start_date or m.install_date
        if start is None:
            state, due, reason = "overdue", None, "install_date_unknown"
        else:
            if m.install_year_only and m.cycle_start_date is None:
                start = date(start.year, 1, 1)
            out = outcomes.get(mid)
            eligible = plan_sampling and not m.reinstalled_after_repair
            if out is None:
                samp, recal = (9 if eligible else None), 10
            elif out.sampling_round == 9:
                samp, recal = ((13 if eligible else None), 14) if out.passed else (None, 10)
            else:
                samp, recal = (None, 18) if out.passed else (None, 14)
            recal_ord = ann(start, recal)
            reason = _RECAL[recal]
            due_ord = recal_ord
            state = "recalibrate_or_replace_due"
            # Overdue: the recalibration deadline dominates any other missed event.
            if recal_ord < d0:
                state = "overdue"
            else:
                events = []
                if samp is not None:
                    events.append((ann(start, samp), "sampling_due", _SAMPLE[samp]))
                b_ord = None
                if m.battery_expiry is not None:
                    b_ord = ann(m.battery_expiry, -1)
                elif m.battery_powered and m.battery_life_years:
                    bstart = m.battery_date or m.install_date
                    b_ord = bstart.toordinal() + round((m.battery_life_years - 1.0) * 365.25)
                if b_ord is not None and b_ord < recal_ord:
                    events.append((b_ord, "battery_due", BATTERY_REASON))
                past = [e for e in events if e[0] < d0]
                if past:
                    due_ord, _, reason = min(past)
                    state = "overdue"
                else:
                    if events:
                        e = min(events)
                        if e[0] < due_ord:
                            due_ord, state, reason = e
                    if due_ord > d1:
                        state = "in_service"
            due = fromord(due_ord)
        append(ScheduleRow(mid, m.site, state, due, reason))
        totals[state] += 1
        s = by_site.get(m.site or "")
        if s is None:
            s = by_site[m.site or ""] = dict.fromkeys(STATES, 0)
        s[state] += 1
        if due is not None and state != "in_service" and state != "overdue":
            key = f"{due.year:04d}-{due.month:02d}"
            bm = by_month.get(key)
            if bm is None:
                bm = by_month[key] = {}
            bm[state] = bm.get(state, 0) + 1
    return Schedule(as_of=as_of, horizon_end=horizon_end, rows=rows, totals=totals,
                    by_month=dict(sorted(by_month.items())), by_site=dict(sorted(by_site.items())))
