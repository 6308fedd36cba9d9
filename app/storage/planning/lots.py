"""Sampling lots over the register (MMS 1.3.3-1.3.5): forming, the seeded draw, the verdict, viewing.

The rules come from ``app.core.lots`` and ``app.core.sampling``; what they
decide is stored through the register's lot methods (``Register.create_lots``,
``record_draw``, ``record_lot_verdict``), which re-check, in their own
transaction, what was read here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Iterable, Sequence

import numpy as np
from sqlalchemy import case, func, select, true

from app.core.errors import InputError
from app.core.lot_keys import AliasRow, ModelAliases, shipped_aliases
from app.core.lots import (DEFAULT_LOT_KEY, DEADLINE_WITHOUT_PASS, DRAW_ALGORITHM, Draw, MeterInfo,
                           MeterTestResult, draw_sample, lot_verdict)
from app.core.lots import form_lots as core_form_lots
from app.core.sampling import SamplingPlan, sampling_plan
from app.core.schedule import add_months, anniversary
from app.core.schedule_columns import OUTCOME_9_FAIL, OUTCOME_13_FAIL, OUTCOME_13_PASS, OUTCOME_NONE
from app.storage.errors import ValidationError
from app.storage.planning.loading import (CHUNK, PURPOSES, ROUND_OF_PURPOSE, MeterLots, PlanningData, _iso,
                                          _IsoDates, _OrdinalIso, bulk_objects, clock_start, load_planning_data)
from app.storage.records import jsonable
from app.storage.register import LOT, LOTD, LOTR, LOTV, M, S, NewLot, Register, default_user
from app.storage.register.lots import (UnknownLot, check_drawable, latest_verdict, lot_draws, lot_members,
                                       lot_row)

#: Months a lot needs from forming to its verdict (draw, fetch the meters, lab test, decide): a lot whose
#: members reach their deadline sooner gets a warning.
DEFAULT_LEAD_MONTHS = 4

__all__ = ["UnknownLot", "Formation", "alias_table", "DEFAULT_LEAD_MONTHS", "eligibility", "form_lots", "draw_lot", "decide_lot", "lot_summary",
           "list_lots", "show_lot"]


@dataclass
class Formation:
    """What ``form_lots`` found (and stored unless ``dry_run``)."""

    key_fields: tuple[str, ...]
    sampling_round: int
    as_of: dt.date
    window_months: int
    window_end: dt.date
    all_meters: bool
    site: str | None
    plan_options: dict[str, Any]
    lots: list[dict[str, Any]]
    apart: list[dict[str, Any]]
    not_eligible: dict[str, int]
    considered: int
    stored: bool
    rule: dict[str, Any]
    last_lot_id: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_fields": list(self.key_fields), "round": self.sampling_round, "purpose": PURPOSES[self.sampling_round],
            "as_of": self.as_of.isoformat(), "window_months": self.window_months,
            "window_end": self.window_end.isoformat(), "all_meters": self.all_meters, "site": self.site,
            "plan_options": self.plan_options, "stored": self.stored, "meters_considered": self.considered,
            "rule": self.rule, "lots": self.lots, "apart": self.apart, "not_eligible": self.not_eligible,
        }


def eligibility(m: MeterInfo, st: MeterLots | None, sampling_round: int, as_of: dt.date, window_end: dt.date,
                all_meters: bool = False) -> str | None:
    """Why a meter is not a candidate for a lot of ``sampling_round`` (None: it is).

    Round 9: no lot decided in this cycle, 9th anniversary of the clock start
    by ``window_end`` and the 10-year deadline not passed on ``as_of``.
    Round 13: its lot passed at 9 years, 13th anniversary by ``window_end``,
    14-year deadline not passed. Either round: not already in a lot of that
    round awaiting its verdict. ``all_meters`` drops the age conditions.
    Meters without a clock start are candidates (the formation lists them
    apart as ``install_date_unknown``). Never candidates: restricted meters
    (MMS 2.2.5), meters whose recalibration failed or that were found
    defective in a passed lot (they are on the replacement list).
    """
    if m.restricted:
        return "restricted"
    if m.failed_recalibration_on is not None:
        return "failed_recalibration"
    if m.defective_on is not None:
        return "defective_in_passed_lot"
    start = clock_start(m)
    if start is None:
        return None
    out = st.outcome if st is not None else None
    if out is not None and not out.passed:
        return "lot_failed_replacement_list"
    if sampling_round == 9 and out is not None:
        return "sampled_this_cycle"
    if sampling_round == 13:
        if out is None:
            return "no_passed_9y_lot"
        if out.sampling_round == 13:
            return "sampled_this_cycle"
    if st is not None and sampling_round in st.open_rounds:
        return "in_open_lot"
    if not all_meters:
        if _anniversary(start, sampling_round) > window_end:
            return "not_due_yet"
        if _anniversary(start, DEADLINE_WITHOUT_PASS[sampling_round]) <= as_of:
            return "past_deadline"
    return None


#: Anniversaries repeat (a few thousand install dates for 100,000 meters): computed once each.
_anniversary = lru_cache(maxsize=1 << 16)(anniversary)

#: Why a meter is not a candidate, in the order ``eligibility`` tests them (codes of ``eligibility_codes``).
NOT_ELIGIBLE = ("restricted", "failed_recalibration", "defective_in_passed_lot", "lot_failed_replacement_list",
                "sampled_this_cycle", "no_passed_9y_lot", "in_open_lot", "not_due_yet", "past_deadline")


def _anniversaries(ordinals: np.ndarray, years: int) -> np.ndarray:
    """The ``years``-th anniversary of each ordinal (0 stays 0), each distinct day worked out once."""
    out = np.zeros(len(ordinals), np.int32)
    has = ordinals > 0
    if has.any():
        uniq, inv = np.unique(ordinals[has], return_inverse=True)
        ann = np.array([_anniversary(dt.date.fromordinal(o), years).toordinal() for o in uniq.tolist()], np.int32)
        out[has] = ann[inv.reshape(-1)]
    return out


def eligibility_codes(data: PlanningData, sampling_round: int, as_of: dt.date, window_end: dt.date,
                      all_meters: bool = False) -> np.ndarray:
    """``eligibility`` for every meter of ``data`` at once: -1 for a candidate, else the index of the reason in
    ``NOT_ELIGIBLE`` (the first of its tests that fails, in ``eligibility``'s order)."""
    c = data.cols
    n = c.n
    code = np.full(n, -1, np.int8)
    open_ = np.ones(n, bool)            # no reason found yet

    def mark(mask: np.ndarray, reason: str) -> None:
        nonlocal open_
        hit = open_ & mask
        code[hit] = NOT_ELIGIBLE.index(reason)
        open_ = open_ & ~hit

    mark(c.restricted, "restricted")
    mark(c.failed_on > 0, "failed_recalibration")
    mark(c.defective_on > 0, "defective_in_passed_lot")
    open_ &= c.start > 0                # no clock start: a candidate (listed apart by the formation)
    oc = c.outcome
    mark((oc == OUTCOME_9_FAIL) | (oc == OUTCOME_13_FAIL), "lot_failed_replacement_list")
    if sampling_round == 9:
        mark(oc != OUTCOME_NONE, "sampled_this_cycle")
    else:
        mark(oc == OUTCOME_NONE, "no_passed_9y_lot")
        mark(oc == OUTCOME_13_PASS, "sampled_this_cycle")
    mark((data.open_rounds & (1 if sampling_round == 9 else 2)) > 0, "in_open_lot")
    if not all_meters:
        mark(_anniversaries(c.start, sampling_round) > window_end.toordinal(), "not_due_yet")
        mark(_anniversaries(c.start, DEADLINE_WITHOUT_PASS[sampling_round]) <= as_of.toordinal(), "past_deadline")
    return code


def _first_seen(codes: np.ndarray, value: int) -> int:
    """Position of the first meter with ``value`` (the order the reasons were met, meter by meter)."""
    hits = np.flatnonzero(codes == value)
    return int(hits[0]) if len(hits) else len(codes)


def _check_plan_options(level: str, aql: float, inspection: str) -> None:
    sampling_plan(2, level, aql, inspection)  # raises InputError naming level / aql / inspection


def alias_table(reg: Register) -> ModelAliases:
    """The alias table in force: the one shipped in ``resources/`` and the register's own rows (which win)."""
    rows = [AliasRow(a["manufacturer"], a["alias"], a["model"], "register") for a in reg.model_aliases()]
    return shipped_aliases().with_rows(rows)


def _formation(reg: Register, data: PlanningData | None, key: tuple[str, ...], *, as_of: dt.date,
               sampling_round: int, window_months: int, site: str | None, all_meters: bool, level: str, aql: float,
               inspection: str, lead_months: int = DEFAULT_LEAD_MONTHS
               ) -> tuple[Formation, list[tuple[list[dict], list[dict]]]]:
    """The lots of ``form_lots`` with their member rows, before anything is stored."""
    if data is None:
        data = load_planning_data(reg, site=site)
    if not len(data):
        where = f" at site {site!r}" if site else ""
        raise ValidationError(f"no meters in service{where}: a lot needs at least one meter")
    window_end = add_months(as_of, window_months)
    why = eligibility_codes(data, sampling_round, as_of, window_end, all_meters)
    counts = np.bincount(why + 1, minlength=len(NOT_ELIGIBLE) + 1)
    not_eligible = {r: int(counts[i + 1]) for i, r in enumerate(NOT_ELIGIBLE) if counts[i + 1]}
    not_eligible = dict(sorted(not_eligible.items(), key=lambda kv: _first_seen(why, NOT_ELIGIBLE.index(kv[0]))))
    cand = np.flatnonzero(why < 0)
    # The install-year key is the year the current clock started (a recalibration restarts it).
    candidates = [m._replace(install_date=m.cycle_start_date) if m.cycle_start_date else m
                  for m in data.meter_infos(cand)]
    deadline = DEADLINE_WITHOUT_PASS[sampling_round]
    start_of = dict(zip((m.id for m in candidates), data.cols.start[cand].tolist()))
    deadline_of = dict(zip((m.id for m in candidates),
                           _anniversaries(data.cols.start[cand], deadline).tolist()))
    aliases = alias_table(reg)
    formation = core_form_lots(candidates, key, aliases)
    info = {m.id: m for m in candidates}
    verdict_by = add_months(as_of, lead_months)
    lots_out: list[dict[str, Any]] = []
    rows_per_lot: list[tuple[dict, list[dict]]] = []
    iso = _IsoDates()
    starts = _OrdinalIso()
    for lot in formation.lots:
        plan = sampling_plan(lot.size, level, aql, inspection)
        members = []
        snapshots = []
        for mid in lot.members:
            m = info[mid]
            installed, start = iso[m.install_date], starts[start_of[mid]]
            snapshots.append({"manufacturer": m.manufacturer, "model": m.model, "serial": m.serial,
                              "qp_m3h": m.qp_m3h, "mid_class": m.accuracy_class, "site": m.site,
                              "install_date": installed, "install_year_only": m.install_year_only,
                              "clock_start": start})
            members.append({"meter_id": int(mid), "manufacturer": m.manufacturer, "serial": m.serial,
                            "site": m.site, "install_date": installed, "clock_start": start})
        key_dict = {f: v for f, v in lot.key}
        norm = {f: v for f, v in lot.norm_key}
        make_k = norm.get("manufacturer", "")
        used = aliases.used(make_k, [s for f, sp in lot.spellings if f == "model" for s in sp]) if make_k else []
        dls = [deadline_of[mid] for mid in lot.members]
        first_deadline = dt.date.fromordinal(min(dls))
        by = verdict_by.toordinal()
        late = sum(1 for o in dls if o < by)
        warnings = []
        if late:
            warnings.append({"kind": "verdict_too_late", "first_deadline": first_deadline.isoformat(),
                             "verdict_by": verdict_by.isoformat(), "meters": late,
                             "text": f"{late} of {lot.size} meters reach their {deadline}-year deadline (the first on "
                                     f"{first_deadline.isoformat()}) before {verdict_by.isoformat()}, when a verdict "
                                     f"can realistically be reached ({lead_months} months for drawing, testing "
                                     "and deciding): plan to replace them, or form the lot earlier"})
        lots_out.append({"id": None, "name": lot.lot_id, "key": key_dict, "normalised_key": norm, "size": lot.size,
                         "spellings": {f: list(v) for f, v in lot.spellings}, "merged": lot.merged,
                         "aliases_used": [{"manufacturer": a.manufacturer, "alias": a.alias, "model": a.model,
                                           "source": a.source} for a in used],
                         "first_deadline": first_deadline.isoformat(), "warnings": warnings,
                         "plan": plan.as_dict(), "members": members})
        rows_per_lot.append((snapshots, members))
    apart = []
    for mid, reason in formation.apart:
        m = info[mid]
        apart.append({"meter_id": int(mid), "manufacturer": m.manufacturer, "serial": m.serial, "site": m.site,
                      "install_date": _iso(m.install_date), "reason": reason})
    rule = {"key_fields": list(key), "round": sampling_round, "as_of": as_of.isoformat(),
            "key_comparison": "manufacturer by its M-Bus FLAG code; model normalised (case, spaces, punctuation) "
                              "and through the alias table", "lead_months": lead_months,
            "window_months": window_months, "window_end": window_end.isoformat(), "all_meters": all_meters,
            "site": site, "eligibility": ("all meters" if all_meters else
                                          f"{sampling_round}th anniversary of the clock start by the window end, "
                                          f"{DEADLINE_WITHOUT_PASS[sampling_round]}-year deadline not passed"),
            "draw_algorithm": DRAW_ALGORITHM, "frame": "member ids as text, sorted (lot_members.position)"}
    result = Formation(key_fields=key, sampling_round=sampling_round, as_of=as_of, window_months=window_months,
                       window_end=window_end, all_meters=all_meters, site=site,
                       plan_options={"level": level, "aql": aql, "inspection": inspection},
                       lots=lots_out, apart=apart, not_eligible=not_eligible, considered=len(data),
                       stored=False, rule=rule, last_lot_id=data.last_lot_id)
    return result, rows_per_lot


def form_lots(reg: Register, *, as_of: dt.date, sampling_round: int = 9, window_months: int = 12,
              key: Sequence[str] = DEFAULT_LOT_KEY, site: str | None = None, all_meters: bool = False,
              level: str = "II", aql: float = 4.0, inspection: str = "normal", dry_run: bool = False,
              user: str | None = None, data: PlanningData | None = None,
              lead_months: int = DEFAULT_LEAD_MONTHS) -> Formation:
    """Form sampling lots of the meters due for ``sampling_round`` (9 or 13 years), and store them.

    Each lot is stored with its key, its members (frame order: ids as text,
    sorted, the order the draw indexes), a snapshot of each member, the
    ISO 2859-1 plan (default level II, AQL 4.0, normal: MMS 1.3.4) and the
    rule in force. One transaction for all lots. Meters that cannot be pooled
    are returned apart with the reason, never stored in a lot.
    """
    if sampling_round not in PURPOSES:
        raise InputError("round", f"must be 9 or 13 (years after installation, MMS 1.3.3), not {sampling_round!r}")
    if window_months < 0:
        raise InputError("window_months", "must not be negative")
    if lead_months < 0:
        raise InputError("lead_months", "must not be negative")
    _check_plan_options(level, aql, inspection)
    key = tuple(key)
    with bulk_objects():
        result, rows_per_lot = _formation(reg, data, key, as_of=as_of, sampling_round=sampling_round,
                                          window_months=window_months, site=site, all_meters=all_meters,
                                          level=level, aql=aql, inspection=inspection, lead_months=lead_months)
    lots_out, rule = result.lots, result.rule
    if dry_run or not lots_out:
        return result
    lots = [NewLot(key=jsonable(lot["key"]), member_ids=[mm["meter_id"] for mm in members], plan=lot["plan"],
                   name=lot["name"], purpose=PURPOSES[sampling_round],
                   rule={**rule, "normalised_key": lot["normalised_key"], "spellings": lot["spellings"],
                         "aliases_used": lot["aliases_used"]}, snapshots=snapshots)
            for lot, (snapshots, members) in zip(lots_out, rows_per_lot)]
    ids = reg.create_lots(lots, user=user or default_user(), newest_lot_seen=result.last_lot_id,
                          purposes=list(PURPOSES.values()))
    for lot, lid in zip(lots_out, ids):
        lot["id"] = lid
    result.stored = True
    return result


# ============================================================================ one lot

def _plan_of(lot: dict) -> SamplingPlan:
    """The plan in force when the lot was formed (n, Ac, Re as stored)."""
    if lot["lot_size"] < 1:
        raise ValidationError(f"lot {lot['id']} has no meters")
    plan = sampling_plan(lot["lot_size"], lot["level"] or "II", lot["aql"] if lot["aql"] is not None else 4.0,
                         lot["inspection"] or "normal")
    return replace(plan, sample_size=lot["sample_size"] or plan.sample_size,
                   acceptance_number=lot["acceptance_number"] if lot["acceptance_number"] is not None else plan.acceptance_number,
                   rejection_number=lot["rejection_number"] if lot["rejection_number"] is not None else plan.rejection_number)


def _labels(conn, ids: Iterable[int]) -> dict[str, tuple[str, str, str | None, str | None, str]]:
    """meter id (text) -> (manufacturer, serial, model, site, status) for a few meters."""
    ids = list(ids)
    out = {}
    for i in range(0, len(ids), CHUNK):
        for mid, make, serial, model, site, status in conn.execute(
                select(M.c.id, M.c.manufacturer, M.c.serial, M.c.model, S.c.name, M.c.status)
                .select_from(M.join(S, S.c.id == M.c.site_id)).where(M.c.id.in_(ids[i:i + CHUNK]))):
            out[str(mid)] = (make, serial, model, site, status)
    return out


def _ref(mid: int | str, labels: dict) -> dict[str, Any]:
    make, serial, _, site, _ = labels.get(str(mid), (None, None, None, None, None))
    return {"meter_id": int(mid), "manufacturer": make, "serial": serial, "site": site}


def _seed_of(lot: dict) -> int | None:
    """The stored seed as the integer the draw used (None: drawn by other means, e.g. the bare register API)."""
    try:
        return int(lot["seed"])
    except (TypeError, ValueError):
        return None


def _draw_of(lot: dict, members: list[tuple[int, dict]], draws: list[dict]) -> Draw | None:
    if not draws:
        return None
    excluded = set((lot.get("rule") or {}).get("draw_excluded") or ())
    return Draw(seed=_seed_of(lot), members=tuple(sorted(str(m) for m, _ in members if m not in excluded)),
                sample=tuple(str(d["meter_id"]) for d in draws if not d["spare"]),
                spares=tuple(str(d["meter_id"]) for d in draws if d["spare"]))


def _sampling_round(lot: dict) -> int:
    rnd = ROUND_OF_PURPOSE.get(lot["purpose"] or "")
    if rnd is None:
        raise ValidationError(f"lot {lot['id']} is not a sampling lot (purpose {lot['purpose']!r}, "
                              f"expected {' or '.join(PURPOSES.values())})")
    return rnd


def draw_lot(reg: Register, lot_id: int, seed: int, *, spares: int | None = None, force: bool = False,
             user: str | None = None) -> dict[str, Any]:
    """The seeded draw of the lot's sample plus spares (``app.core.lots.draw_sample``), stored.

    Stored: the seed (``lots.seed``), the draw in order with the spare flag
    (``lot_draws``); the frame is the lot's members as formed, less those
    that meanwhile left service or whose processing is restricted (MMS 2.2.5:
    never drawn), kept in the lot's rule as ``draw_excluded``; the algorithm
    in the lot's rule. A lot already drawn is refused unless ``force``
    (then the earlier draw and its results are discarded, and logged); a lot
    with a verdict is never redrawn.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError("seed", f"must be an integer, not {seed!r}")
    if spares is not None and spares < 0:
        raise InputError("spares", "must not be negative")
    with reg.reading() as conn:
        lot = lot_row(conn, lot_id)
        members = lot_members(conn, lot_id)
        if not members:
            raise ValidationError(f"lot {lot_id} has no meters: nothing to draw")
        check_drawable(conn, lot, replace=force)
        labels = _labels(conn, [m for m, _ in members])
        restricted = {mid for (mid,) in conn.execute(select(M.c.id).where(
            M.c.id.in_([m for m, _ in members]), M.c.restrict_processing == true()))} if members else set()
    excluded = sorted(m for m, _ in members
                      if m in restricted or labels.get(str(m), (None,) * 5)[4] != "in_service")
    frame = [m for m, _ in members if m not in set(excluded)]
    if not frame:
        raise ValidationError(f"lot {lot_id}: none of its meters is in service and unrestricted: nothing to draw")
    plan = _plan_of(lot)
    d = draw_sample(frame, plan.sample_size, seed, spares)
    drawn = [(int(mid), i >= len(d.sample)) for i, mid in enumerate(d.sample + d.spares)]
    stored = reg.record_draw(lot_id, drawn, seed=seed, algorithm=d.algorithm, replace=force,
                             user=user or default_user(), excluded=excluded)
    with reg.reading() as conn:
        labels = _labels(conn, [mid for mid, _ in drawn])
    return {"lot_id": lot_id, "seed": seed, "algorithm": d.algorithm, "lot_size": len(members),
            "sample_size": len(d.sample), "acceptance_number": plan.acceptance_number,
            "rejection_number": plan.rejection_number, "redrawn": stored["redrawn"], "excluded": excluded,
            "sample": [_ref(x, labels) for x in d.sample], "spares": [_ref(x, labels) for x in d.spares]}


# ---------------------------------------------------------------------------- verdict

def _round(v: float | None, places: int = 4) -> float | None:
    """A figure as a person writes it: 6.640000000000001 is 6.64."""
    return None if v is None else round(v, places)


def _member_start(snap: dict) -> dt.date | None:
    s = snap.get("clock_start")
    return dt.date.fromisoformat(s) if s else None


def decide_lot(reg: Register, lot_id: int, *, decided_on: dt.date | None = None, store: bool = True,
               user: str | None = None) -> dict[str, Any]:
    """The lot's verdict per MMS 1.3.5 (``app.core.lots.lot_verdict``) and what follows for each member.

    ``pass`` at 9 (13) years: every member may stay in service to 14 (18)
    years after its clock start; ``fail``: every member goes on the
    replacement list, due at 10 (14) years. Stored with its date (``pass`` /
    ``fail`` only; an ``incomplete`` verdict is returned, not stored). The
    schedule takes stored verdicts into account.
    """
    on = decided_on or dt.date.today()
    with reg.reading() as conn:
        lot = lot_row(conn, lot_id)
        members = lot_members(conn, lot_id)
        draws = lot_draws(conn, lot_id)
        prior = latest_verdict(conn, lot_id)
        results = [dict(r) for r in conn.execute(select(LOTR).where(LOTR.c.lot_id == lot_id)).mappings()]
        labels = _labels(conn, [m for m, _ in members])
    if prior is not None and store:
        raise ValidationError(f"lot {lot_id} already has a verdict: {prior['verdict']} on {prior['decided_on']}")
    if not members:
        raise ValidationError(f"lot {lot_id} has no meters")
    draw = _draw_of(lot, members, draws)
    if draw is None:
        raise ValidationError(f"lot {lot_id} has not been drawn yet (heatmeter lots draw {lot_id} --seed N)")
    rnd = _sampling_round(lot)
    plan = _plan_of(lot)
    tests = [MeterTestResult(str(r["meter_id"]), None if r["inaccessible"] else r["defective"],
                             "inaccessible" if r["inaccessible"] else "recorded", r["error_pct"], r["limit_pct"])
             for r in results]
    v = lot_verdict(plan, draw, tests, rnd, on)
    # MMS 1.3.5 accepts the lot, not the meters found beyond the in-service limit: they are replaced.
    defective = {int(r["meter_id"]) for r in results if r["defective"] and not r["inaccessible"]}
    member_out = []
    retain_dates = []
    for mid, snap in members:
        start = _member_start(snap)
        ref = _ref(mid, labels)
        ref["status"] = labels.get(str(mid), (None,) * 5)[4]
        ref["clock_start"] = _iso(start)
        if v.verdict == "pass" and mid in defective:
            ref["action"] = "replace_defective"
            ref["replace_by"] = on.isoformat()
        elif v.verdict == "pass":
            due = anniversary(start, v.retain_until_years) if start else None
            ref["action"] = f"retain_until_{v.retain_until_years}_years"
            ref["retain_until"] = _iso(due)
            if rnd == 9:
                ref["next_sampling"] = _iso(anniversary(start, 13)) if start else None
            if due:
                retain_dates.append(due)
        elif v.verdict == "fail":
            due = anniversary(start, v.replace_by_years) if start else None
            ref["action"] = f"recalibrate_or_replace_by_{v.replace_by_years}_years"
            ref["replace_by"] = _iso(due)
        else:
            ref["action"] = "await_verdict"
        member_out.append(ref)
    out = {"lot_id": lot_id, "name": lot["name"], "verdict": v.verdict, "sampling_round": rnd, "decided_on": on.isoformat(),
           "lot_size": len(members), "sample_size": v.sample_size, "tested": v.tested, "defectives": v.defectives,
           "acceptance_number": v.acceptance_number, "rejection_number": v.rejection_number, "action": v.action,
           "counted": [_ref(m, labels) for m in v.counted],
           "replacement_list": ([_ref(m, labels) for m in v.replacement_list] if v.verdict == "fail" else
                                [_ref(m, labels) for m, _ in members if m in defective] if v.verdict == "pass"
                                else []),
           "members": member_out, "stored": False}
    if v.verdict == "incomplete":
        out["missing"] = v.sample_size - v.tested
        return out
    if store:
        retain_until = min(retain_dates) if retain_dates else None
        reg.record_lot_verdict(lot_id, decided_on=on, verdict=v.verdict, sample_tested=v.tested,
                               defectives=v.defectives, acceptance_number=v.acceptance_number,
                               rejection_number=v.rejection_number, retain_until=retain_until, notes=v.action,
                               user=user or default_user())
        out["stored"] = True
    return out


# ---------------------------------------------------------------------------- viewing

def lot_summary(lot: dict, n_draws: int = 0, n_results: int = 0, n_defective: int = 0,
                verdict: dict | None = None) -> dict[str, Any]:
    return {"id": lot["id"], "name": lot["name"], "purpose": lot["purpose"],
            "round": ROUND_OF_PURPOSE.get(lot["purpose"] or ""), "key": lot["key"], "lot_size": lot["lot_size"],
            "sample_size": lot["sample_size"], "acceptance_number": lot["acceptance_number"],
            "rejection_number": lot["rejection_number"], "status": lot["status"],
            "seed": _seed_of(lot),
            "formed_at": jsonable(lot["formed_at"]), "formed_by": lot["formed_by"], "drawn": n_draws,
            "results": n_results, "defectives": n_defective,
            "verdict": None if verdict is None else verdict["verdict"],
            "decided_on": None if verdict is None else _iso(verdict["decided_on"])}


def list_lots(reg: Register) -> list[dict[str, Any]]:
    """Every lot, oldest first, with counts of drawn meters, results, defectives and the verdict."""
    with reg.reading() as conn:
        lots = [dict(r) for r in conn.execute(select(LOT).order_by(LOT.c.id)).mappings()]
        nd = dict(conn.execute(select(LOTD.c.lot_id, func.count()).group_by(LOTD.c.lot_id)).all())
        nr = {lid: (n, int(d or 0)) for lid, n, d in conn.execute(
            select(LOTR.c.lot_id, func.count(), func.sum(case((LOTR.c.defective == true(), 1), else_=0)))
            .group_by(LOTR.c.lot_id))}
        verdicts = {}
        for r in conn.execute(select(LOTV).order_by(LOTV.c.id)).mappings():
            verdicts[r["lot_id"]] = dict(r)
    return [lot_summary(lot, nd.get(lot["id"], 0), *nr.get(lot["id"], (0, 0)), verdicts.get(lot["id"]))
            for lot in lots]


def show_lot(reg: Register, lot_id: int) -> dict[str, Any]:
    """One lot: key, rule, plan, members (with their snapshot), draw (re-checked from the stored
    seed and frame), results and verdict."""
    with reg.reading() as conn:
        lot = lot_row(conn, lot_id)
        members = lot_members(conn, lot_id)
        draws = lot_draws(conn, lot_id)
        results = [dict(r) for r in conn.execute(select(LOTR).where(LOTR.c.lot_id == lot_id).order_by(LOTR.c.id)).mappings()]
        verdict = latest_verdict(conn, lot_id)
        labels = _labels(conn, [m for m, _ in members])
    out = lot_summary(lot, len(draws), len(results), sum(1 for r in results if r["defective"]), verdict)
    out["rule"] = lot["rule"]
    out["plan"] = lot["plan"]
    out["members"] = [{**_ref(m, labels), "snapshot": snap} for m, snap in members]
    draw = None
    if draws:
        d = _draw_of(lot, members, draws)
        reproduced = None
        if d.seed is not None:
            again = draw_sample(d.members, len(d.sample), d.seed, len(d.spares))
            reproduced = again.sample == d.sample and again.spares == d.spares
        draw = {"seed": d.seed, "algorithm": (lot["rule"] or {}).get("draw_algorithm", DRAW_ALGORITHM),
                "reproduced": reproduced,
                "meters": [{**_ref(r["meter_id"], labels), "order": r["draw_order"], "spare": bool(r["spare"]),
                            "status": r["status"]} for r in draws]}
    out["draw"] = draw
    out["results_list"] = [{**_ref(r["meter_id"], labels), "error_pct": _round(r["error_pct"]),
                            "limit_pct": _round(r["limit_pct"]),
                            "defective": r["defective"], "inaccessible": bool(r["inaccessible"]),
                            "tested_on": _iso(r["tested_on"]), "calibration_result_id": r["calibration_result_id"]}
                           for r in results]
    out["verdict_record"] = None if verdict is None else {
        k: jsonable(verdict[k]) for k in ("verdict", "decided_on", "sample_tested", "defectives", "acceptance_number",
                                          "rejection_number", "retain_until", "decided_by", "notes")}
    return out
