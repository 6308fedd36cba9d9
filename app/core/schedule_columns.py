"""The maintenance schedule of a million meters at once: the rules of ``app.core.schedule_rules`` over columns.

A meter's deadlines, state and due date follow from five values: its clock
start, the sampling round still ahead of it, the year of its replace
deadline (10, 14 or 18), its battery deadline, and an "at once" date (a
failed recalibration, a defective result in a passed lot). A national
register has a few thousand distinct combinations. So the meters are held as
numpy columns (:class:`MeterColumns`), the combinations are found with
``numpy.unique``, each is worked out once (``Planner.plan``), and the counts
per state, site, month and kind are ``bincount``\\ s. The per-meter rows are
built only when someone reads them (:class:`ScheduleRows`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

import numpy as np

from app.core.errors import InputError
from app.core.schedule_rules import (DEADLINE_KINDS, DEFECTIVE_REASON, FAILED_REASON, FLAGS, STATES, UNKNOWN_REASON,
                                     Planner, Schedule, ScheduleRow, add_months)

#: Bit of each flag in ``MeterColumns.flag_bits()`` (``FLAGS`` order).
FLAG_BIT = {f: 1 << i for i, f in enumerate(FLAGS)}
#: Lot outcome codes of ``MeterColumns.outcome``: none, round 9 failed/passed, round 13 failed/passed.
OUTCOME_NONE, OUTCOME_9_FAIL, OUTCOME_9_PASS, OUTCOME_13_FAIL, OUTCOME_13_PASS = range(5)
_STATE_CODE = {s: i for i, s in enumerate(STATES)}
FLAG_TUPLES = tuple(tuple(f for f in FLAGS if bits & FLAG_BIT[f]) for bits in range(1 << len(FLAGS)))
# key packing of the regular meters: start (22 bits) | battery deadline (22 bits) | sampling (2) | deadline year (2)
_SAMP = (None, 9, 13)
_RECAL = (10, 14, 18)


def outcome_code(sampling_round: int, passed: bool) -> int:
    return (OUTCOME_9_FAIL if sampling_round == 9 else OUTCOME_13_FAIL) + (1 if passed else 0)


@dataclass
class MeterColumns:
    """What the schedule needs of each meter, one array entry per meter (all arrays of length ``n``).

    Dates are proleptic Gregorian ordinals (``date.toordinal()``), 0 for none.
    ``ids`` are the meter ids as given (any hashable, shown as the rows'
    ``meter_id``); ``site_code`` indexes ``site_names``.
    """

    ids: Sequence                       # meter id of each position (str in rows; see ``meter_id``)
    site_code: np.ndarray               # int32
    site_names: list                    # str | None per code
    start: np.ndarray                   # int32: clock start (0 = no install date and no recalibration)
    sampling_ok: np.ndarray             # bool: may be sampled (False: re-installed after a repair)
    battery_due: np.ndarray             # int32: expected battery end of life minus 1 year (0 = none)
    accuracy_class: np.ndarray          # int16: MID class (0 = unknown)
    restricted: np.ndarray              # bool: processing restricted (MMS 2.2.5)
    at_lab: np.ndarray                  # bool: drawn and sent to the test lab
    failed_on: np.ndarray               # int32: latest recalibration failed on (0 = none)
    defective_on: np.ndarray            # int32: found defective in a passed lot, verdict date (0 = none)
    outcome: np.ndarray                 # int8: OUTCOME_* of the meter's latest lot in its cycle
    id_text: bool = True                # ids are shown as text (``str(id)``)
    _site_index: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.start)

    def meter_id(self, p: int):
        v = self.ids[p]
        return str(v) if self.id_text and not isinstance(v, str) else v

    def flag_bits(self) -> np.ndarray:
        """Each meter's flags as bits (``FLAG_BIT``)."""
        b = np.zeros(self.n, np.uint8)
        b |= np.where(self.accuracy_class > 2, FLAG_BIT["class_below_2"], 0).astype(np.uint8)
        b |= np.where(self.start == 0, FLAG_BIT["install_date_unknown"], 0).astype(np.uint8)
        b |= np.where(self.failed_on > 0, FLAG_BIT["failed_recalibration"], 0).astype(np.uint8)
        b |= np.where(self.defective_on > 0, FLAG_BIT["defective_in_passed_lot"], 0).astype(np.uint8)
        b |= np.where(self.restricted, FLAG_BIT["restricted"], 0).astype(np.uint8)
        b |= np.where(self.at_lab, FLAG_BIT["at_lab"], 0).astype(np.uint8)
        return b

    def take(self, positions: np.ndarray) -> MeterColumns:
        """The meters at ``positions`` (in that order)."""
        ids = self.ids[positions] if isinstance(self.ids, np.ndarray) else [self.ids[p] for p in positions.tolist()]
        return MeterColumns(ids=ids, site_code=self.site_code[positions], site_names=self.site_names,
                            start=self.start[positions], sampling_ok=self.sampling_ok[positions],
                            battery_due=self.battery_due[positions], accuracy_class=self.accuracy_class[positions],
                            restricted=self.restricted[positions], at_lab=self.at_lab[positions],
                            failed_on=self.failed_on[positions], defective_on=self.defective_on[positions],
                            outcome=self.outcome[positions], id_text=self.id_text)


class ScheduleRows(Sequence):
    """The schedule's rows (``ScheduleRow``), made when read: the columns hold the answer for every meter."""

    def __init__(self, cols: MeterColumns, plan_idx: np.ndarray, plans: list[tuple], bits: np.ndarray) -> None:
        self.cols, self.plan_idx, self.plans, self.bits = cols, plan_idx, plans, bits

    def __len__(self) -> int:
        return len(self.plan_idx)

    def row(self, p: int) -> ScheduleRow:
        c = self.cols
        st = self.plans[int(self.plan_idx[p])]
        return ScheduleRow(c.meter_id(p), c.site_names[int(c.site_code[p])], st[0], st[1], st[2], st[3],
                           FLAG_TUPLES[int(self.bits[p])])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.row(p) for p in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("schedule row index out of range")
        return self.row(i)

    def __iter__(self) -> Iterator[ScheduleRow]:
        c, plans = self.cols, self.plans
        names, flags = c.site_names, FLAG_TUPLES
        ids = c.ids.tolist() if isinstance(c.ids, np.ndarray) else c.ids
        text = c.id_text
        for mid, code, pi, b in zip(ids, c.site_code.tolist(), self.plan_idx.tolist(), self.bits.tolist()):
            st = plans[pi]
            yield ScheduleRow(str(mid) if text and not isinstance(mid, str) else mid, names[code], st[0], st[1],
                              st[2], st[3], flags[b])

    # column access for callers that do not need row objects
    def states(self) -> list[str]:
        """The state of every row, in order."""
        st = [p[0] for p in self.plans]
        return [st[i] for i in self.plan_idx.tolist()]

    def plan_of(self, p: int) -> tuple:
        """``(state, due_date, reason, deadlines, contributions)`` of row ``p``."""
        return self.plans[int(self.plan_idx[p])]

    def flags_of(self, p: int) -> tuple[str, ...]:
        return FLAG_TUPLES[int(self.bits[p])]


def compute_schedule_columns(c: MeterColumns, as_of: date, horizon_months: int = 12, plan_sampling: bool = True,
                             site: str | None = None) -> Schedule:
    """Deadlines, flags, state and due date of every meter of ``c`` on ``as_of`` (``app.core.schedule``'s
    ``compute_schedule``, whose docstring states the rules), rows in the order of ``c``."""
    if horizon_months < 0:
        raise InputError("horizon_months", "must not be negative")
    if site is not None:
        codes = [i for i, s in enumerate(c.site_names) if s == site]
        c = c.take(np.flatnonzero(np.isin(c.site_code, codes)))
    n = c.n
    d0 = as_of.toordinal()
    horizon_end = add_months(as_of, horizon_months)
    planner = Planner(d0, horizon_end.toordinal())
    oc = c.outcome
    eligible = c.sampling_ok if plan_sampling else np.zeros(n, bool)
    # sampling round still ahead (0 none, 1 = 9 years, 2 = 13 years) and deadline year (0 = 10, 1 = 14, 2 = 18)
    samp = np.where(oc == OUTCOME_NONE, np.where(eligible, 1, 0),
                    np.where(oc == OUTCOME_9_PASS, np.where(eligible, 2, 0), 0)).astype(np.int64)
    recal = np.choose(oc.astype(np.int64), [0, 0, 1, 1, 2]).astype(np.int64)
    known = c.start > 0
    at_once = (c.failed_on > 0) | (c.defective_on > 0)
    regular = known & ~at_once
    # Only the battery deadline of a meter that may be kept beyond 10 years matters; the plan tests that.
    key = ((c.start.astype(np.int64) << 26) | (c.battery_due.astype(np.int64) << 4) | (samp << 2) | recal)
    plan_idx = np.empty(n, np.int32)
    plans: list[tuple] = []
    uniq, inv = np.unique(key[regular], return_inverse=True)
    for k in uniq.tolist():
        b = (k >> 4) & ((1 << 22) - 1)
        plans.append(planner.plan(k >> 26, _SAMP[(k >> 2) & 3], _RECAL[k & 3], b or None, None))
    plan_idx[regular] = inv.reshape(-1)
    # Due at once (a few meters): the earlier of the failed recalibration and the defective verdict.
    once_plans: dict[tuple, int] = {}
    for p in np.flatnonzero(known & at_once).tolist():
        now = None
        if c.failed_on[p]:
            now = (int(c.failed_on[p]), FAILED_REASON)
        if c.defective_on[p]:
            d = (int(c.defective_on[p]), DEFECTIVE_REASON)
            now = d if now is None or d < now else now
        k = (int(c.start[p]), now)
        i = once_plans.get(k)
        if i is None:
            i = once_plans[k] = len(plans)
            plans.append(planner.plan(k[0], None, 10, None, now))
        plan_idx[p] = i
    unknown = len(plans)
    plans.append(("overdue", None, UNKNOWN_REASON, (), ()))
    plan_idx[~known] = unknown

    state_of_plan = np.array([_STATE_CODE[p[0]] for p in plans], np.int64)
    state = state_of_plan[plan_idx]
    counts = np.bincount(state, minlength=len(STATES))
    totals = {s: int(counts[i]) for i, s in enumerate(STATES)}
    n_codes = len(c.site_names)
    per_site = np.bincount(c.site_code.astype(np.int64) * len(STATES) + state,
                           minlength=n_codes * len(STATES)).reshape(n_codes, len(STATES))
    by_site: dict[str, dict[str, int]] = {}
    for code in np.flatnonzero(per_site.sum(axis=1)).tolist():
        d = by_site.setdefault(c.site_names[code] or "", dict.fromkeys(STATES, 0))
        for i, s in enumerate(STATES):
            d[s] += int(per_site[code, i])
    by_month: dict[str, dict[str, int]] = {}
    dl_month: dict[str, dict[str, int]] = {}
    overdue_kind = dict.fromkeys(DEADLINE_KINDS, 0)
    per_plan = np.bincount(plan_idx, minlength=len(plans)).tolist()
    for i, cnt in enumerate(per_plan):
        if not cnt or i == unknown:
            continue
        st, due, _reason, _dls, contrib = plans[i]
        if st != "in_service" and st != "overdue":
            bm = by_month.setdefault(planner.month(due.toordinal()), {})
            bm[st] = bm.get(st, 0) + cnt
        for mk, kind in contrib:
            if mk is None:
                overdue_kind[kind] += cnt
            else:
                bm = dl_month.setdefault(mk, {})
                bm[kind] = bm.get(kind, 0) + cnt
    bits = c.flag_bits()
    flag_totals = {}
    for f in FLAGS:
        k = int(np.count_nonzero(bits & FLAG_BIT[f]))
        if k:
            flag_totals[f] = k
    return Schedule(as_of=as_of, horizon_end=horizon_end, rows=ScheduleRows(c, plan_idx, plans, bits),
                    totals=totals, by_month=dict(sorted(by_month.items())), by_site=dict(sorted(by_site.items())),
                    deadlines_by_month=dict(sorted(dl_month.items())), overdue_by_kind=overdue_kind,
                    flag_totals=flag_totals)
