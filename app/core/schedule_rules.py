"""The rules of the maintenance schedule (MMS 1.3.3-1.3.6): states, deadline kinds, flags, and the deadlines of
one combination of clock start, sampling round, deadline year, battery and "at once" date.

``app.core.schedule`` is the public face (``compute_schedule``); ``app.core.schedule_columns`` applies these
rules to a million meters at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date
from typing import NamedTuple, Sequence

from app.core.errors import InputError
from app.core.lots import MeterInfo

STATES = ("in_service", "sampling_due", "recalibrate_or_replace_due", "battery_due", "overdue")
#: Deadline kinds, in the order a tie on the same day is listed.
DEADLINE_KINDS = ("replace", "sampling_9y", "sampling_13y", "battery")
#: Flags, in the order they are listed.
FLAGS = ("class_below_2", "install_date_unknown", "failed_recalibration", "defective_in_passed_lot", "restricted",
         "at_lab")
#: Each flag in words, for people (lists, job lists, PDFs); the names above stay in CSV and JSON.
FLAG_WORDS = {"class_below_2": "class 3 (below MID class 2)", "install_date_unknown": "install date unknown",
              "failed_recalibration": "recalibration failed", "defective_in_passed_lot": "defective in its lot",
              "restricted": "processing restricted", "at_lab": "at the test lab"}
#: The MMS clause behind each flag (docs/planning.md).
FLAG_CLAUSES = {"class_below_2": "MMS 1.1.2", "install_date_unknown": "MMS 1.2.8, 1.3.3",
                "failed_recalibration": "MMS 1.2.6, 1.3.3", "defective_in_passed_lot": "MMS 1.3.5",
                "restricted": "MMS 2.2.5", "at_lab": "MMS 1.3.4"}


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
    deadlines: tuple[tuple[str, date], ...] = ()
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Schedule:
    as_of: date
    horizon_end: date
    rows: Sequence[ScheduleRow]           # in the order of the meters given (built on access: a million rows)
    totals: dict[str, int]
    by_month: dict[str, dict[str, int]]   # "YYYY-MM" of the due date (within the horizon) -> state -> count
    by_site: dict[str, dict[str, int]]    # site ("" when unknown) -> state -> count
    deadlines_by_month: dict[str, dict[str, int]] | None = None  # "YYYY-MM" -> deadline kind -> count (each deadline)
    overdue_by_kind: dict[str, int] | None = None                # deadline kind -> deadlines before as_of
    flag_totals: dict[str, int] | None = None                    # flag -> meters

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(), "horizon_end": self.horizon_end.isoformat(),
            "totals": self.totals, "by_month": self.by_month, "by_site": self.by_site,
            "deadlines_by_month": self.deadlines_by_month or {}, "overdue_by_kind": self.overdue_by_kind or {},
            "flag_totals": self.flag_totals or {},
            "meters": [
                {"meter_id": r.meter_id, "site": r.site, "state": r.state,
                 "due_date": None if r.due_date is None else r.due_date.isoformat(), "reason": r.reason,
                 "deadlines": [{"kind": k, "date": d.isoformat()} for k, d in r.deadlines], "flags": list(r.flags)}
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
FAILED_REASON = "failed_recalibration"
DEFECTIVE_REASON = "defective_in_passed_lot"
UNKNOWN_REASON = "install_date_unknown"
_STATE_OF_KIND = {"replace": "recalibrate_or_replace_due", "sampling_9y": "sampling_due",
                  "sampling_13y": "sampling_due", "battery": "battery_due"}
_KIND_ORDER = {k: i for i, k in enumerate(DEADLINE_KINDS)}


def meter_flags(m: MeterInfo) -> tuple[str, ...]:
    """The flags of one meter (see the module's docstring), in ``FLAGS`` order."""
    out = []
    if m.accuracy_class is not None and m.accuracy_class > 2:
        out.append("class_below_2")
    if m.install_date is None and m.cycle_start_date is None:
        out.append("install_date_unknown")
    if m.failed_recalibration_on is not None:
        out.append("failed_recalibration")
    if m.defective_on is not None:
        out.append("defective_in_passed_lot")
    if m.restricted:
        out.append("restricted")
    if m.at_lab:
        out.append("at_lab")
    return tuple(out)



class Planner:
    """The deadlines, state and due date of one combination of (clock start, sampling round, deadline year,
    battery deadline, "at once" date) for the day ``d0`` (ordinal) and the horizon end ``d1`` (ordinal,
    half-open). Anniversaries and dates are cached per value: a million meters share a few thousand."""

    def __init__(self, d0: int, d1: int) -> None:
        self.d0, self.d1 = d0, d1
        self._ann: dict[tuple[int, int], int] = {}
        self._day: dict[int, date] = {}
        self._month: dict[int, str] = {}

    def ann(self, start_ord: int, years: int) -> int:
        k = (start_ord, years)
        v = self._ann.get(k)
        if v is None:
            v = self._ann[k] = anniversary(date.fromordinal(start_ord), years).toordinal()
        return v

    def day(self, o: int) -> date:
        v = self._day.get(o)
        if v is None:
            v = self._day[o] = date.fromordinal(o)
        return v

    def month(self, o: int) -> str:
        v = self._month.get(o)
        if v is None:
            d = self.day(o)
            v = self._month[o] = f"{d.year:04d}-{d.month:02d}"
        return v

    def plan(self, start_ord: int, samp: int | None, recal: int, b_ord: int | None,
             at_once: tuple[int, str] | None) -> tuple:
        """``(state, due_date, reason, deadlines, contributions)``: ``deadlines`` as ``(kind, date)`` sorted by
        date (ties in ``DEADLINE_KINDS`` order); ``contributions`` the ``(month or None if overdue, kind)`` of
        each deadline before the horizon end."""
        d0, d1 = self.d0, self.d1
        deadlines: list[tuple[int, str, str]] = []   # (ordinal, kind, reason)
        if at_once is not None:
            # Must be recalibrated or replaced now: no sampling or battery change will keep it.
            deadlines.append((at_once[0], "replace", at_once[1]))
        else:
            recal_ord = self.ann(start_ord, recal)
            deadlines.append((recal_ord, "replace", _RECAL[recal]))
            # A sampling round can only save the meter while its deadline (10 or 14 years) is ahead.
            if samp is not None and recal_ord >= d0:
                deadlines.append((self.ann(start_ord, samp), _SAMPLE[samp], _SAMPLE[samp]))
            # MMS 1.3.6: a battery change only for meters kept beyond 10 years, before they go.
            if b_ord is not None and (recal > 10 or samp is not None) and b_ord < recal_ord:
                deadlines.append((b_ord, "battery", BATTERY_REASON))
            if len(deadlines) > 1:
                deadlines.sort(key=lambda e: (e[0], _KIND_ORDER[e[1]]))
        first_ord, first_kind, reason = deadlines[0]
        # The state: overdue when a deadline has passed (the replace deadline explains it best when it has),
        # else the earliest deadline's kind within the horizon, else in service.
        past = [e for e in deadlines if e[0] < d0]
        if past:
            rep = [e for e in past if e[1] == "replace"]
            due_ord, _kind, reason = rep[0] if rep else past[0]
            state = "overdue"
        elif at_once is not None or first_ord < d1:
            due_ord, state = first_ord, _STATE_OF_KIND[first_kind]
        else:
            due_ord, state = first_ord, "in_service"
        dls = tuple((k, self.day(o)) for o, k, _r in deadlines)
        contrib = tuple((None if o < d0 else self.month(o), k) for o, k, _r in deadlines if o < d1)
        return state, self.day(due_ord), reason, dls, contrib
