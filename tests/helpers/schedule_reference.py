"""The schedule worked out meter by meter: the plain loop the columnar engine of ``app.core.schedule`` replaced.

Kept here as an independent reference: the property tests compare the engine with it on generated registers.
"""
from __future__ import annotations

from datetime import date
from typing import Iterable, Mapping

from app.core.lots import MeterInfo
from app.core.schedule import (BATTERY_REASON, DEADLINE_KINDS, DEFECTIVE_REASON, FAILED_REASON, FLAGS, STATES,
                               UNKNOWN_REASON, LotOutcome, Schedule, ScheduleRow, add_months, anniversary, meter_flags)

_RECAL = {10: "recalibrate_or_replace_10y", 14: "recalibrate_or_replace_14y", 18: "recalibrate_or_replace_18y"}
_SAMPLE = {9: "sampling_9y", 13: "sampling_13y"}
_STATE_OF_KIND = {"replace": "recalibrate_or_replace_due", "sampling_9y": "sampling_due",
                  "sampling_13y": "sampling_due", "battery": "battery_due"}
_KIND_ORDER = {k: i for i, k in enumerate(DEADLINE_KINDS)}


def reference_schedule(meters: Iterable[MeterInfo], as_of: date, horizon_months: int = 12,
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
    outcomes = lot_outcomes or {}
    d0 = as_of.toordinal()
    horizon_end = add_months(as_of, horizon_months)
    d1 = horizon_end.toordinal()
    ann_cache: dict[tuple[date, int], int] = {}
    date_cache: dict[int, date] = {}
    month_cache: dict[int, str] = {}

    def ann(start: date, years: int) -> int:
        k = (start, years)
        v = ann_cache.get(k)
        if v is None:
            v = ann_cache[k] = anniversary(start, years).toordinal()
        return v

    def day(o: int) -> date:
        v = date_cache.get(o)
        if v is None:
            v = date_cache[o] = date.fromordinal(o)
        return v

    def month(o: int) -> str:
        v = month_cache.get(o)
        if v is None:
            d = day(o)
            v = month_cache[o] = f"{d.year:04d}-{d.month:02d}"
        return v

    rows: list[ScheduleRow] = []
    totals = dict.fromkeys(STATES, 0)
    by_month: dict[str, dict[str, int]] = {}
    by_site: dict[str, dict[str, int]] = {}
    dl_month: dict[str, dict[str, int]] = {}
    overdue_kind = dict.fromkeys(DEADLINE_KINDS, 0)
    flag_totals: dict[str, int] = {}
    flags_cache: dict[tuple, tuple[str, ...]] = {}
    # Everything but the meter's id, site and flags follows from (clock start, rounds, battery date, "at once"
    # date): computed once per distinct key (a few thousand for a million meters), counted per key.
    plan_cache: dict[tuple, tuple] = {}
    key_count: dict[tuple, int] = {}
    append = rows.append
    no_flags: tuple[str, ...] = ()
    unknown = ("overdue", None, UNKNOWN_REASON, ())

    def plan(start: date, samp: int | None, recal: int, b_ord: int | None, at_once) -> tuple:
        deadlines: list[tuple[int, str, str]] = []   # (ordinal, kind, reason)
        if at_once is not None:
            # Must be recalibrated or replaced now: no sampling or battery change will keep it.
            deadlines.append((at_once[0], "replace", at_once[1]))
        else:
            recal_ord = ann(start, recal)
            deadlines.append((recal_ord, "replace", _RECAL[recal]))
            # A sampling round can only save the meter while its deadline (10 or 14 years) is ahead.
            if samp is not None and recal_ord >= d0:
                deadlines.append((ann(start, samp), _SAMPLE[samp], _SAMPLE[samp]))
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
        dls = tuple((k, day(o)) for o, k, _r in deadlines)
        contrib = tuple((None if o < d0 else month(o), k) for o, k, _r in deadlines if o < d1)
        return state, day(due_ord), reason, dls, contrib

    for m in meters:
        if site is not None and m.site != site:
            continue
        mid = m.id
        cls = m.accuracy_class
        fkey = (cls is not None and cls > 2, m.install_date is None and m.cycle_start_date is None,
                m.failed_recalibration_on is not None, m.defective_on is not None, m.restricted, m.at_lab)
        if True in fkey:
            flags = flags_cache.get(fkey)
            if flags is None:
                flags = flags_cache[fkey] = meter_flags(m)
            for f in flags:
                flag_totals[f] = flag_totals.get(f, 0) + 1
        else:
            flags = no_flags
        start = m.cycle_start_date or m.install_date
        if start is None:
            state, due, reason, dls = unknown
        else:
            if m.install_year_only and m.cycle_start_date is None:
                start = date(start.year, 1, 1)
            at_once = None
            if m.failed_recalibration_on is not None:
                at_once = (m.failed_recalibration_on.toordinal(), FAILED_REASON)
            if m.defective_on is not None:
                d = (m.defective_on.toordinal(), DEFECTIVE_REASON)
                at_once = d if at_once is None or d < at_once else at_once
            samp = None
            recal = 10
            b_ord = None
            if at_once is None:
                out = outcomes.get(mid)
                eligible = plan_sampling and not m.reinstalled_after_repair
                if out is None:
                    samp = 9 if eligible else None
                elif out.sampling_round == 9:
                    samp, recal = ((13 if eligible else None), 14) if out.passed else (None, 10)
                else:
                    samp, recal = (None, 18) if out.passed else (None, 14)
                if m.battery_expiry is not None:
                    b_ord = ann(m.battery_expiry, -1)
                elif m.battery_powered and m.battery_life_years:
                    bstart = m.battery_date or m.install_date
                    if bstart is not None:   # (the loop failed here: no date to count the battery life from)
                        b_ord = bstart.toordinal() + round((m.battery_life_years - 1.0) * 365.25)
            k = (start, samp, recal, b_ord, at_once)
            p = plan_cache.get(k)
            if p is None:
                p = plan_cache[k] = plan(start, samp, recal, b_ord, at_once)
            key_count[k] = key_count.get(k, 0) + 1
            state, due, reason, dls = p[0], p[1], p[2], p[3]
        append(ScheduleRow(mid, m.site, state, due, reason, dls, flags))
        totals[state] += 1
        sk = m.site or ""
        s = by_site.get(sk)
        if s is None:
            s = by_site[sk] = dict.fromkeys(STATES, 0)
        s[state] += 1
    for k, n in key_count.items():
        state, due, _reason, _dls, contrib = plan_cache[k]
        if state != "in_service" and state != "overdue":
            bm = by_month.setdefault(month(due.toordinal()), {})
            bm[state] = bm.get(state, 0) + n
        for mk, kind in contrib:
            if mk is None:
                overdue_kind[kind] += n
            else:
                bm = dl_month.setdefault(mk, {})
                bm[kind] = bm.get(kind, 0) + n
    return Schedule(as_of=as_of, horizon_end=horizon_end, rows=rows, totals=totals,
                    by_month=dict(sorted(by_month.items())), by_site=dict(sorted(by_site.items())),
                    deadlines_by_month=dict(sorted(dl_month.items())), overdue_by_kind=overdue_kind,
                    flag_totals={f: flag_totals[f] for f in FLAGS if f in flag_totals})
