"""Maintenance planning over the register: sampling lots and the schedule (MMS 1.3.3-1.3.6).

The thin layer between the register (``app.storage.register``) and the pure
planning rules of ``app.core`` (``lots``, ``sampling``, ``schedule``,
``metrology``): it reads what the rules need from the database in a few
narrow queries, calls the rules, and stores what they decide, each write in
one transaction with its event-log entries. The CLI (``heatmeter lots``,
``heatmeter schedule``) and the GUI planner call these functions; they
return plain dicts / dataclasses (JSON-ready) and raise ``RegisterError``
subclasses (one-line messages, ``status`` = CLI exit status) or
``app.core.errors.InputError`` (naming the offending key).

    from app.storage.register import open_register
    from app.storage import planning
    with open_register(url) as reg:
        f = planning.form_lots(reg, as_of=date(2025, 6, 1), sampling_round=9, user="ann")
        planning.draw_lot(reg, f.lots[0]["id"], seed=20250601)
        planning.record_results(reg, lot_id, [planning.ResultEntry("Kamstrup", "123", error_pct=1.2)])
        planning.decide_lot(reg, lot_id, decided_on=date(2025, 9, 1))
        s = planning.schedule(reg, as_of=date(2025, 6, 1), horizon_months=12)

See docs/planning.md for the rules this module applies where MMS and the
maintenance spec are silent (eligibility for a sampling round, the start of a
meter's 10-year clock, re-installation after repair, defaults of a single
error figure).
"""
from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

from sqlalchemy import String, case, delete, false, func, insert, select, true, type_coerce, update

from app.core.errors import InputError
from app.core.lots import (DEFAULT_LOT_KEY, DRAW_ALGORITHM, DEADLINE_WITHOUT_PASS, RETAIN_AFTER_PASS, Draw,
                           MeterInfo, MeterTestResult, draw_sample, inaccessible, lot_verdict,
                           result_from_single_error)
from app.core.lots import form_lots as core_form_lots
from app.core.sampling import SamplingPlan, sampling_plan
from app.core.schedule import LotOutcome, Schedule, add_months, anniversary, compute_schedule
from app.storage import models
from app.storage.errors import ConflictError, NotFound, RegisterError, ValidationError
from app.storage.records import jsonable
from app.storage.register import CAL, CALP, INST, LOT, LOTD, LOTM, LOTR, LOTV, M, S, Register, default_user

#: Lot purposes per sampling round (years after installation, MMS 1.3.3).
PURPOSES = {9: "sampling_9y", 13: "sampling_13y"}
ROUND_OF_PURPOSE = {v: k for k, v in PURPOSES.items()}
#: A closed installation whose removal reason contains this word was a removal for repair.
REPAIR_WORD = "repair"
SUBASSEMBLIES = ("flow_sensor", "temperature_pair", "calculator", "complete_meter")
DEFAULT_SUBASSEMBLY = "complete_meter"
CHUNK = 5000


class UnknownLot(RegisterError):
    """No lot with that id (bad input: exit 2)."""

    status = 2


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


@contextmanager
def bulk_objects():
    """Pause the cyclic garbage collector while building many acyclic objects (tuples of a 100k-meter load).

    Collections triggered by the allocations would otherwise scan the growing
    heap again and again (about a third of the load time); nothing built here
    forms a cycle, so nothing is lost by collecting afterwards.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Dates(dict):
    """DATE column values -> ``date``: PostgreSQL gives dates, SQLite ISO text (parsed once per distinct value).

    ``dates[value]`` is a plain dict look-up for every value seen before.
    """

    def __missing__(self, v):
        d = None if v is None else v if isinstance(v, dt.date) else dt.date.fromisoformat(v[:10])
        self[v] = d
        return d


class _IsoDates(dict):
    """date -> ISO text, each distinct date formatted once."""

    def __missing__(self, d):
        v = self[d] = None if d is None else d.isoformat()
        return v


def _raw_rows(conn, query) -> list[tuple]:
    """Rows of a Core query as plain tuples straight from the driver (no Row objects: 2-3x faster for 100k rows).

    Values are bound as literals by the dialect (ints and fixed words only).
    """
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


# ============================================================================ loading

class MeterLots(NamedTuple):
    """A meter's sampling lots in its current 10-year cycle."""

    outcome: LotOutcome | None = None     # latest verdict of a lot it belongs to
    outcome_lot: int | None = None
    outcome_on: dt.date | None = None
    open_rounds: frozenset[int] = frozenset()  # rounds of its lots that have no verdict yet
    latest_lot: int | None = None         # the newest lot it belongs to (any state)


@dataclass
class PlanningData:
    """The register as the planning rules see it (in-service, not restricted meters)."""

    meters: list[MeterInfo]
    labels: dict[str, tuple[str, str, str | None]]   # meter id -> (manufacturer, serial, model)
    lots: dict[str, MeterLots]
    last_lot_id: int = 0                             # the newest sampling lot when this was read


def clock_start(m: MeterInfo) -> dt.date | None:
    """Start of the meter's current 10-year clock, as the schedule counts it.

    The last recalibration (``cycle_start_date``), else the installation date;
    a year-only installation counts from 1 January (the earliest possible day).
    """
    if m.cycle_start_date is not None:
        return m.cycle_start_date
    if m.install_date is None:
        return None
    return dt.date(m.install_date.year, 1, 1) if m.install_year_only else m.install_date


def load_planning_data(reg: Register, *, site: str | None = None, with_lots: bool = True) -> PlanningData:
    """Read what planning needs, in four narrow queries (no ORM objects, no per-meter queries).

    Meters: status ``in_service`` and not restricted (MMS 2.2.5), optionally one
    site. Installation history (only meters with more than one installation):
    a meter moved without repair keeps the date of its first installation; a
    meter re-installed after a removal for repair is flagged
    ``reinstalled_after_repair`` and its clock starts at that re-installation.
    A passed complete-meter calibration outside any lot restarts the clock
    (``cycle_start_date``). Lot memberships and verdicts give each meter's
    latest lot outcome in its current cycle.
    """
    dates = _Dates()
    with reg._read() as conn:
        sites = dict(conn.execute(select(S.c.id, S.c.name)).all())
        q = (select(M.c.id, M.c.manufacturer, M.c.model, M.c.serial, M.c.site_id, M.c.qp_m3h, M.c.mid_class,
                    type_coerce(M.c.install_date, String), M.c.install_year_only,
                    type_coerce(M.c.battery_expiry, String))
             .where(M.c.restrict_processing == false(), M.c.status == "in_service"))
        if site is not None:
            sid = next((k for k, v in sites.items() if v == " ".join(site.split())), None)
            if sid is None:
                raise ValidationError(f"no site {site!r} in the register")
            q = q.where(M.c.site_id == sid)
        rows = _raw_rows(conn, q)
        ids = {r[0] for r in rows}
        # Installation history of meters installed more than once.
        multi = select(INST.c.meter_id).group_by(INST.c.meter_id).having(func.count() > 1)
        hist: dict[int, list[tuple]] = {}
        for mid, on, year_only, reason in _raw_rows(conn, (
                select(INST.c.meter_id, type_coerce(INST.c.installed_on, String), INST.c.year_only,
                       INST.c.removal_reason).where(INST.c.meter_id.in_(multi)).order_by(INST.c.meter_id, INST.c.id))):
            if mid in ids:
                hist.setdefault(mid, []).append((dates[on], bool(year_only), reason))
        recal = {mid: dates[d] for mid, d in conn.execute(
            select(CAL.c.meter_id, type_coerce(func.max(CAL.c.tested_on), String))
            .where(CAL.c.lot_id.is_(None), CAL.c.subassembly == "complete_meter", CAL.c.initial_verdict == "pass")
            .group_by(CAL.c.meter_id)) if mid in ids}
        lot_info: dict[int, tuple] = {}
        members: list[tuple[int, int]] = []
        if with_lots:
            # Few rows: each sampling lot with its latest verdict.
            for lot_id, purpose, formed_at, vid, verdict, decided in _raw_rows(conn, (
                    select(LOT.c.id, LOT.c.purpose, type_coerce(LOT.c.formed_at, String), LOTV.c.id, LOTV.c.verdict,
                           type_coerce(LOTV.c.decided_on, String))
                    .select_from(LOT.outerjoin(LOTV, LOTV.c.lot_id == LOT.c.id))
                    .where(LOT.c.purpose.in_(list(PURPOSES.values()))).order_by(LOT.c.id, LOTV.c.id))):
                formed_on = formed_at.date() if isinstance(formed_at, dt.datetime) else dates[formed_at[:10]]
                lot_info[lot_id] = (ROUND_OF_PURPOSE[purpose], formed_on, vid is not None, verdict == "pass",
                                    dates[decided])
            if lot_info:
                members = _raw_rows(conn, select(LOTM.c.meter_id, LOTM.c.lot_id))

    meters: list[MeterInfo] = []
    labels: dict[str, tuple[str, str, str | None]] = {}
    by_id: dict[int, MeterInfo] = {}
    starts: dict[int, dt.date | None] = {}
    append = meters.append
    for mid, make, model, serial, site_id, qp, cls, inst, year_only, battery in rows:
        install = dates[inst]
        year_only = bool(year_only)
        reinstalled = False
        if mid in hist:
            h = hist[mid]
            repaired = [i for i, (_, _, reason) in enumerate(h[:-1]) if reason and REPAIR_WORD in reason.casefold()]
            if repaired:
                reinstalled = True
                install, year_only = h[repaired[-1] + 1][0], h[repaired[-1] + 1][1]
            else:
                known = [(d, y) for d, y, _ in h if d is not None]
                if known:
                    install, year_only = known[0]
        cycle = None
        if mid in recal:
            cycle = recal[mid]
            if install is not None and cycle <= (dt.date(install.year, 1, 1) if year_only else install):
                cycle = None
        sid = str(mid)
        m = MeterInfo(sid, make, model, qp, install, year_only, reinstalled, sites[site_id], serial, cls,
                      battery is not None, None, None, cycle, dates[battery])
        append(m)
        by_id[mid] = m
        labels[sid] = (make, serial, model)
        if lot_info:
            starts[mid] = cycle or ((dt.date(install.year, 1, 1) if year_only else install) if install else None)

    # Per meter: its latest decided lot and its undecided rounds, in its current cycle only
    # (lots of an earlier cycle, before a repair or a recalibration, no longer count).
    latest: dict[int, tuple] = {}
    open_: dict[int, set[int]] = {}
    newest: dict[int, int] = {}
    for mid, lot_id in members:
        start = starts.get(mid)
        if start is None:
            continue
        rnd, formed_on, decided, passed, decided_on = lot_info[lot_id]
        if (decided_on or formed_on) < start:
            continue
        if newest.get(mid, 0) < lot_id:
            newest[mid] = lot_id
        if not decided:
            open_.setdefault(mid, set()).add(rnd)
        else:
            cur = latest.get(mid)
            if cur is None or (decided_on, lot_id) > (cur[0], cur[1]):
                latest[mid] = (decided_on, lot_id, rnd, passed)
    lots: dict[str, MeterLots] = {}
    outcomes = {(r, p): LotOutcome(r, p) for r in PURPOSES for p in (True, False)}
    no_rounds: frozenset[int] = frozenset()
    for mid, lot_id in newest.items():
        rounds = open_.get(mid)
        rounds = frozenset(rounds) if rounds else no_rounds
        if mid in latest:
            on, lid, rnd, passed = latest[mid]
            lots[str(mid)] = MeterLots(outcomes[rnd, passed], lid, on, rounds, lot_id)
        else:
            lots[str(mid)] = MeterLots(None, None, None, rounds, lot_id)
    return PlanningData(meters=meters, labels=labels, lots=lots, last_lot_id=max(lot_info, default=0))


# ============================================================================ schedule

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
        w = csv.writer(out, lineterminator="\n")
        w.writerow(SCHEDULE_CSV_COLUMNS)
        n = 0
        for d in self.meter_rows():
            w.writerow(["" if d[c] is None else d[c] for c in SCHEDULE_CSV_COLUMNS])
            n += 1
        return n


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


# ============================================================================ forming lots

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


def _meter_ref(mid: str | int, labels: dict, site: str | None = None) -> dict[str, Any]:
    make, serial, _ = labels.get(str(mid), (None, None, None))
    return {"meter_id": int(mid), "manufacturer": make, "serial": serial, "site": site}


def eligibility(m: MeterInfo, st: MeterLots | None, sampling_round: int, as_of: dt.date, window_end: dt.date,
                all_meters: bool = False) -> str | None:
    """Why a meter is not a candidate for a lot of ``sampling_round`` (None: it is).

    Round 9: no lot decided in this cycle, 9th anniversary of the clock start
    by ``window_end`` and the 10-year deadline not passed on ``as_of``.
    Round 13: its lot passed at 9 years, 13th anniversary by ``window_end``,
    14-year deadline not passed. Either round: not already in a lot of that
    round awaiting its verdict. ``all_meters`` drops the age conditions.
    Meters without a clock start are candidates (the formation lists them
    apart as ``install_date_unknown``).
    """
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


def _check_plan_options(level: str, aql: float, inspection: str) -> None:
    sampling_plan(2, level, aql, inspection)  # raises InputError naming level / aql / inspection


def _formation(reg: Register, data: PlanningData | None, key: tuple[str, ...], *, as_of: dt.date,
               sampling_round: int, window_months: int, site: str | None, all_meters: bool, level: str, aql: float,
               inspection: str) -> tuple[Formation, list[tuple[list[dict], list[dict]]]]:
    """The lots of ``form_lots`` with their member rows, before anything is stored."""
    if data is None:
        data = load_planning_data(reg, site=site)
    if not data.meters:
        where = f" at site {site!r}" if site else ""
        raise ValidationError(f"no meters in service{where}: a lot needs at least one meter")
    window_end = add_months(as_of, window_months)
    candidates: list[MeterInfo] = []
    not_eligible: dict[str, int] = {}
    for m in data.meters:
        why = eligibility(m, data.lots.get(m.id), sampling_round, as_of, window_end, all_meters)
        if why is None:
            # The install-year key is the year the current clock started (a recalibration restarts it).
            candidates.append(m._replace(install_date=m.cycle_start_date) if m.cycle_start_date else m)
        else:
            not_eligible[why] = not_eligible.get(why, 0) + 1
    formation = core_form_lots(candidates, key)
    info = {m.id: m for m in candidates}
    lots_out: list[dict[str, Any]] = []
    rows_per_lot: list[tuple[dict, list[dict]]] = []
    iso = _IsoDates()
    for lot in formation.lots:
        plan = sampling_plan(lot.size, level, aql, inspection)
        members = []
        snapshots = []
        for mid in lot.members:
            m = info[mid]
            installed, start = iso[m.install_date], iso[clock_start(m)]
            snapshots.append({"manufacturer": m.manufacturer, "model": m.model, "serial": m.serial,
                              "qp_m3h": m.qp_m3h, "mid_class": m.accuracy_class, "site": m.site,
                              "install_date": installed, "install_year_only": m.install_year_only,
                              "clock_start": start})
            members.append({"meter_id": int(mid), "manufacturer": m.manufacturer, "serial": m.serial,
                            "site": m.site, "install_date": installed, "clock_start": start})
        key_dict = {f: v for f, v in lot.key}
        lots_out.append({"id": None, "name": lot.lot_id, "key": key_dict, "size": lot.size,
                         "plan": plan.as_dict(), "members": members})
        rows_per_lot.append((snapshots, members))
    apart = []
    for mid, reason in formation.apart:
        m = info[mid]
        apart.append({**_meter_ref(mid, data.labels, m.site), "install_date": _iso(m.install_date),
                      "reason": reason})
    rule = {"key_fields": list(key), "round": sampling_round, "as_of": as_of.isoformat(),
            "window_months": window_months, "window_end": window_end.isoformat(), "all_meters": all_meters,
            "site": site, "eligibility": ("all meters" if all_meters else
                                          f"{sampling_round}th anniversary of the clock start by the window end, "
                                          f"{DEADLINE_WITHOUT_PASS[sampling_round]}-year deadline not passed"),
            "draw_algorithm": DRAW_ALGORITHM, "frame": "member ids as text, sorted (lot_members.position)"}
    result = Formation(key_fields=key, sampling_round=sampling_round, as_of=as_of, window_months=window_months,
                       window_end=window_end, all_meters=all_meters, site=site,
                       plan_options={"level": level, "aql": aql, "inspection": inspection},
                       lots=lots_out, apart=apart, not_eligible=not_eligible, considered=len(data.meters),
                       stored=False, rule=rule, last_lot_id=data.last_lot_id)
    return result, rows_per_lot


def form_lots(reg: Register, *, as_of: dt.date, sampling_round: int = 9, window_months: int = 12,
              key: Sequence[str] = DEFAULT_LOT_KEY, site: str | None = None, all_meters: bool = False,
              level: str = "II", aql: float = 4.0, inspection: str = "normal", dry_run: bool = False,
              user: str | None = None, data: PlanningData | None = None) -> Formation:
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
    _check_plan_options(level, aql, inspection)
    key = tuple(key)
    with bulk_objects():
        result, rows_per_lot = _formation(reg, data, key, as_of=as_of, sampling_round=sampling_round,
                                          window_months=window_months, site=site, all_meters=all_meters,
                                          level=level, aql=aql, inspection=inspection)
    lots_out, rule = result.lots, result.rule
    if dry_run or not lots_out:
        return result
    who = user or default_user()
    with reg._write() as conn:
        newer = conn.execute(select(func.max(LOT.c.id)).where(LOT.c.purpose.in_(list(PURPOSES.values())))).scalar()
        if (newer or 0) > result.last_lot_id:
            raise ConflictError(f"lot {newer} was formed by someone else meanwhile; nothing stored: form the lots "
                                "again")
        now = models.utcnow()
        member_rows: list[dict] = []
        for lot, (snapshots, members) in zip(lots_out, rows_per_lot):
            plan = lot["plan"]
            lid = conn.execute(insert(LOT).values(
                name=lot["name"], key=jsonable(lot["key"]), rule=rule, purpose=PURPOSES[sampling_round],
                formed_at=now, formed_by=who, lot_size=lot["size"], level=plan["level"], aql=plan["aql"],
                inspection=plan["inspection"], code_letter=plan["code_letter"], plan_letter=plan["plan_letter"],
                sample_size=plan["sample_size"], acceptance_number=plan["acceptance_number"],
                rejection_number=plan["rejection_number"], seed=None, plan=plan, status="formed",
            ).returning(LOT.c.id)).scalar_one()
            lot["id"] = lid
            member_rows += [{"lot_id": lid, "meter_id": mm["meter_id"], "position": i, "snapshot": snap}
                            for i, (mm, snap) in enumerate(zip(members, snapshots))]
            reg._log(conn, who, "lots", lid, "create",
                     after={"name": lot["name"], "key": lot["key"], "purpose": PURPOSES[sampling_round],
                            "lot_size": lot["size"], "plan": plan, "rule": rule})
        for i in range(0, len(member_rows), CHUNK):
            conn.execute(insert(LOTM), member_rows[i:i + CHUNK])
    result.stored = True
    return result


# ============================================================================ one lot

def _lot_row(conn, lot_id: int) -> dict[str, Any]:
    r = conn.execute(select(LOT).where(LOT.c.id == lot_id)).mappings().first()
    if r is None:
        raise UnknownLot(f"no lot {lot_id} in the register (see heatmeter lots list)")
    return dict(r)


def _members(conn, lot_id: int) -> list[tuple[int, dict]]:
    return [(mid, snap or {}) for mid, snap in conn.execute(
        select(LOTM.c.meter_id, LOTM.c.snapshot).where(LOTM.c.lot_id == lot_id).order_by(LOTM.c.position))]


def _draws(conn, lot_id: int) -> list[dict]:
    return [dict(r) for r in conn.execute(select(LOTD).where(LOTD.c.lot_id == lot_id)
                                          .order_by(LOTD.c.draw_order)).mappings()]


def _verdict_row(conn, lot_id: int) -> dict | None:
    r = conn.execute(select(LOTV).where(LOTV.c.lot_id == lot_id).order_by(LOTV.c.id.desc())).mappings().first()
    return None if r is None else dict(r)


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
    return Draw(seed=_seed_of(lot), members=tuple(sorted(str(m) for m, _ in members)),
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
    (``lot_draws``); the frame is the lot's members as formed, the algorithm
    in the lot's rule. A lot already drawn is refused unless ``force``
    (then the earlier draw and its results are discarded, and logged); a lot
    with a verdict is never redrawn.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError("seed", f"must be an integer, not {seed!r}")
    if spares is not None and spares < 0:
        raise InputError("spares", "must not be negative")
    who = user or default_user()
    with reg._write() as conn:
        lot = _lot_row(conn, lot_id)
        members = _members(conn, lot_id)
        if not members:
            raise ValidationError(f"lot {lot_id} has no meters: nothing to draw")
        old = _draws(conn, lot_id)
        v = _verdict_row(conn, lot_id)
        if v is not None:
            raise ValidationError(f"lot {lot_id} has a verdict ({v['verdict']} on {v['decided_on']}); "
                                  "it cannot be drawn again")
        if old and not force:
            n_sp = sum(1 for d in old if d["spare"])
            raise ValidationError(f"lot {lot_id} was already drawn with seed {lot['seed']} "
                                  f"({len(old) - n_sp} meters + {n_sp} spares); give --force to draw again (logged)")
        plan = _plan_of(lot)
        d = draw_sample([m for m, _ in members], plan.sample_size, seed, spares)
        n_results = 0
        if old:
            n_results = conn.execute(select(func.count()).select_from(LOTR).where(LOTR.c.lot_id == lot_id)).scalar_one()
            conn.execute(delete(LOTR).where(LOTR.c.lot_id == lot_id))
            conn.execute(delete(LOTD).where(LOTD.c.lot_id == lot_id))
        now = models.utcnow()
        rows = [{"lot_id": lot_id, "draw_order": i, "meter_id": int(mid), "spare": i >= len(d.sample),
                 "drawn_at": now, "status": "drawn"} for i, mid in enumerate(d.sample + d.spares)]
        conn.execute(insert(LOTD), rows)
        conn.execute(update(LOT).where(LOT.c.id == lot_id).values(seed=str(seed), status="drawn"))
        after = {"seed": seed, "algorithm": d.algorithm, "sample_size": len(d.sample),
                 "sample": [int(x) for x in d.sample], "spares": [int(x) for x in d.spares]}
        if old:
            before = {"seed": lot["seed"], "sample": [r["meter_id"] for r in old if not r["spare"]],
                      "spares": [r["meter_id"] for r in old if r["spare"]], "results_discarded": n_results}
            reg._log(conn, who, "lots", lot_id, "redraw", before=before, after=after)
        else:
            reg._log(conn, who, "lots", lot_id, "draw", after=after)
        labels = _labels(conn, [int(x) for x in d.sample + d.spares])
    return {"lot_id": lot_id, "seed": seed, "algorithm": d.algorithm, "lot_size": len(members),
            "sample_size": len(d.sample), "acceptance_number": plan.acceptance_number,
            "rejection_number": plan.rejection_number, "redrawn": bool(old),
            "sample": [_ref(x, labels) for x in d.sample], "spares": [_ref(x, labels) for x in d.spares]}


# ---------------------------------------------------------------------------- results

@dataclass
class ResultEntry:
    """One tested (or inaccessible) meter of a lot's draw.

    Either ``points`` (calc-json calibration points: ``{error_pct, q_m3h?,
    dtheta_k?, interval?}``), or ``error_pct`` (a single error figure, judged
    at ``q_m3h``/``dtheta_k`` when given, else at qp and the meter's Δθmax; or
    against ``mpe_initial_pct`` when given), or ``inaccessible``. The meter's
    class, qp, qp/qi, Δθmin/Δθmax and qs come from the register.
    ``lines``: the source line of each point (for error messages).
    """

    manufacturer: str
    serial: str
    error_pct: float | None = None
    points: list[dict[str, Any]] | None = None
    inaccessible: bool = False
    subassembly: str | None = None
    q_m3h: float | None = None
    dtheta_k: float | None = None
    mpe_initial_pct: float | None = None
    apply_guard_band: bool = False
    test_uncertainty_pct: float | None = None
    tested_on: dt.date | None = None
    lab: str | None = None
    certificate: str | None = None
    notes: str | None = None
    lines: list[int] | None = None
    source: str | None = None

    def where(self) -> str:
        if self.lines:
            return f"{self.source + ': ' if self.source else ''}line {self.lines[0]}: "
        return ""


#: Register field the calculator key comes from (for messages naming what the register lacks).
_REGISTER_FIELD = {"class": "mid_class", "qp_m3h": "qp_m3h", "ratio": "qp_qi_ratio (or qi_m3h)",
                   "dtheta_min_k": "dtheta_min_k", "dtheta_max_k": "dtheta_max_k", "qs_m3h": "qs_m3h"}


def _spec_input(rec) -> dict[str, Any]:
    d: dict[str, Any] = {"class": rec.mid_class, "qp_m3h": rec.qp_m3h, "dtheta_min_k": rec.dtheta_min_k,
                         "dtheta_max_k": rec.dtheta_max_k, "qs_m3h": rec.qs_m3h}
    if rec.qp_qi_ratio is not None:
        d["ratio"] = rec.qp_qi_ratio
    elif rec.qi_m3h is not None:
        d["qi_m3h"] = rec.qi_m3h
    return {k: v for k, v in d.items() if v is not None}


def _fail(entry: ResultEntry, key: str, message: str, point: int | None = None):
    """Raise the error of one entry: with its file line when it came from a file, else naming the key."""
    label = f"meter {entry.manufacturer} {entry.serial}"
    if entry.lines:
        line = entry.lines[min(point or 0, len(entry.lines) - 1)]
        src = f"{entry.source}: " if entry.source else ""
        k = key.split(".", 1)[1] if key.startswith("points[") and "." in key else key
        raise ValidationError(f"{src}line {line}: {k}: {message} ({label})")
    raise InputError(key, f"{message} ({label})")


def evaluate_entry(entry: ResultEntry, rec) -> tuple[MeterTestResult, dict[str, Any] | None, dict[str, Any],
                                                     list[dict[str, Any]]]:
    """Judge one entry for meter record ``rec`` (MMS 1.3.5: 2 × the initial MPE).

    Returns the core test result, the calibration calculator's output (None
    for an inaccessible meter or a given MPE), the inputs used (basis, the
    meter's data from the register) and the points judged.
    """
    from app.core.calcjson import run as calc_run

    mid = str(rec.id)
    if entry.inaccessible:
        return inaccessible(mid), None, {"basis": "inaccessible"}, []
    sub = entry.subassembly or DEFAULT_SUBASSEMBLY
    if sub not in SUBASSEMBLIES:
        _fail(entry, "subassembly", f"must be one of {', '.join(SUBASSEMBLIES)}, not {sub!r}")
    if entry.points:
        points = [dict(p) for p in entry.points]
        basis = "calibration_points"
    elif entry.error_pct is not None:
        if entry.mpe_initial_pct is not None:
            if not entry.mpe_initial_pct > 0:
                _fail(entry, "mpe_initial_pct", "must be positive")
            r = result_from_single_error(mid, entry.error_pct, entry.mpe_initial_pct)
            return (r, None, {"basis": "single_error", "mpe_initial_pct": entry.mpe_initial_pct,
                              "limit_pct": r.limit_pct}, [{"error_pct": entry.error_pct}])
        q, dth = entry.q_m3h, entry.dtheta_k
        if sub in ("flow_sensor", "complete_meter") and q is None:
            q = rec.qp_m3h  # a figure without its flow: judged at qp (interval I3)
        if sub != "flow_sensor" and dth is None:
            dth = rec.dtheta_max_k  # without its temperature difference: at Δθmax
            if dth is None:
                _fail(entry, "dtheta_k", "missing: give the temperature difference of the error figure "
                                         "(the register has no dtheta_max_k for this meter)")
        points = [{"error_pct": entry.error_pct, **({"q_m3h": q} if q is not None else {}),
                   **({"dtheta_k": dth} if dth is not None else {})}]
        basis = "single_error"
    else:
        _fail(entry, "error_pct", "missing: give an error figure, calibration points or inaccessible")
    d = {**_spec_input(rec), "subassembly": sub, "points": points, "apply_guard_band": entry.apply_guard_band}
    if entry.test_uncertainty_pct is not None:
        d["test_uncertainty_pct"] = entry.test_uncertainty_pct
    try:
        out = calc_run("calibration", d)
    except InputError as exc:
        k = exc.key
        if k.startswith("points["):
            _fail(entry, k, exc.message, int(k[7:k.index("]")]))
        if k in _REGISTER_FIELD or k == "qi_m3h":
            _fail(entry, k, f"{exc.message}: the register's {_REGISTER_FIELD.get(k, k)} of this meter is needed "
                            "for its MPE")
        _fail(entry, k, exc.message)
    # The point furthest beyond (or least inside) its in-service limit stands for the meter.
    worst = max(range(len(points)), key=lambda i: abs(points[i]["error_pct"]) / out["points"][i]["mpe_in_service_pct"])
    res = MeterTestResult(mid, out["in_service_verdict"] == "fail", basis, points[worst]["error_pct"],
                          out["points"][worst]["mpe_in_service_pct"])
    return res, out, {"basis": basis, **{k: v for k, v in d.items() if k != "points"}}, points


def record_results(reg: Register, lot_id: int, entries: Sequence[ResultEntry], *, tested_on: dt.date | None = None,
                   replace_existing: bool = False, user: str | None = None) -> dict[str, Any]:
    """Enter test results of drawn meters, all or nothing (one transaction).

    Each result is judged (``evaluate_entry``), stored as the lot's result for
    the meter and, unless the meter was inaccessible, as a calibration result
    against the meter (with the lot's id). A meter not drawn for the lot
    (sample and spares), a meter given twice, or a meter that already has a
    result (unless ``replace_existing``) is refused, naming the line.
    """
    if not entries:
        raise ValidationError("no results given")
    who = user or default_user()
    today = tested_on or dt.date.today()
    with reg._read() as conn:
        lot = _lot_row(conn, lot_id)
        draws = _draws(conn, lot_id)
        v = _verdict_row(conn, lot_id)
        have = {mid for (mid,) in conn.execute(select(LOTR.c.meter_id).where(LOTR.c.lot_id == lot_id))}
    if v is not None:
        raise ValidationError(f"lot {lot_id} has a verdict ({v['verdict']} on {v['decided_on']}); "
                              "its results cannot change")
    if not draws:
        raise ValidationError(f"lot {lot_id} has not been drawn yet (heatmeter lots draw {lot_id} --seed N)")
    drawn = {d["meter_id"]: d for d in draws}
    judged = []
    seen: dict[int, ResultEntry] = {}
    for e in entries:
        where = e.where()
        try:
            rec = reg.find_meter(e.manufacturer, e.serial)
        except NotFound:
            raise ValidationError(f"{where}no meter {e.manufacturer} {e.serial} in the register") from None
        if rec.id not in drawn:
            raise ValidationError(f"{where}meter {rec.manufacturer} {rec.serial} was not drawn for lot {lot_id} "
                                  "(neither in the sample nor a spare)")
        if rec.id in seen:
            raise ValidationError(f"{where}meter {rec.manufacturer} {rec.serial} is given twice")
        seen[rec.id] = e
        if rec.id in have and not replace_existing:
            raise ValidationError(f"{where}lot {lot_id} already has a result for meter {rec.manufacturer} "
                                  f"{rec.serial}; give --replace to correct it (logged)")
        judged.append((e, rec, *evaluate_entry(e, rec)))
    stored = []
    with reg._write() as conn:
        now = models.utcnow()
        for e, rec, res, out, inputs, points in judged:
            on = e.tested_on or today
            cal_id = None
            if res.basis != "inaccessible":
                cal_id = _insert_calibration(conn, reg, rec, lot_id, on, e, res, out, inputs, points, who, now)
            old = conn.execute(select(LOTR).where(LOTR.c.lot_id == lot_id, LOTR.c.meter_id == rec.id)).mappings().first()
            values = {"calibration_result_id": cal_id, "error_pct": res.worst_error_pct, "limit_pct": res.limit_pct,
                      "defective": res.defective, "inaccessible": res.basis == "inaccessible",
                      "tested_on": None if res.basis == "inaccessible" else on, "notes": e.notes}
            if old is not None:
                conn.execute(update(LOTR).where(LOTR.c.id == old["id"]).values(**values))
                rid = old["id"]
                reg._log(conn, who, "lot_results", rid, "replace", meter_id=rec.id,
                         before={k: old[k] for k in values}, after={"lot_id": lot_id, **values})
            else:
                rid = conn.execute(insert(LOTR).values(lot_id=lot_id, meter_id=rec.id, **values)
                                   .returning(LOTR.c.id)).scalar_one()
                reg._log(conn, who, "lot_results", rid, "create", meter_id=rec.id, after={"lot_id": lot_id, **values})
            status = "inaccessible" if res.basis == "inaccessible" else "tested"
            prev = drawn[rec.id]["status"]
            if prev != status:
                conn.execute(update(LOTD).where(LOTD.c.lot_id == lot_id, LOTD.c.meter_id == rec.id).values(status=status))
                reg._log(conn, who, "lot_draws", lot_id, "status", meter_id=rec.id, before={"status": prev},
                         after={"status": status})
            stored.append({"meter_id": rec.id, "manufacturer": rec.manufacturer, "serial": rec.serial,
                           "spare": bool(drawn[rec.id]["spare"]), "basis": res.basis, "defective": res.defective,
                           "error_pct": res.worst_error_pct, "limit_pct": res.limit_pct,
                           "calibration_result_id": cal_id, "replaced": old is not None,
                           "in_service_verdict": None if out is None else out["in_service_verdict"],
                           "coverage": None if out is None else out["coverage"]})
        if lot["status"] in ("formed", "drawn"):
            conn.execute(update(LOT).where(LOT.c.id == lot_id).values(status="testing"))
    return {"lot_id": lot_id, "recorded": stored,
            "defectives": sum(1 for s in stored if s["defective"]),
            "inaccessible": sum(1 for s in stored if s["basis"] == "inaccessible")}


def _insert_calibration(conn, reg: Register, rec, lot_id: int, on: dt.date, e: ResultEntry, res: MeterTestResult,
                        out: dict | None, inputs: dict, points: list[dict], who: str, now) -> int:
    """Store the test as a calibration result against the meter (calc-json points and verdicts)."""
    sub = inputs.get("subassembly") or e.subassembly or DEFAULT_SUBASSEMBLY
    verdict = "fail" if res.defective else "pass"
    cid = conn.execute(insert(CAL).values(
        meter_id=rec.id, lot_id=lot_id, tested_on=on, lab=e.lab, certificate=e.certificate, subassembly=sub,
        initial_verdict=None if out is None else out["initial_verdict"], in_service_verdict=verdict,
        coverage=None if out is None else out["coverage"],
        missing_intervals=None if out is None else out["missing_intervals"], inputs=jsonable(inputs),
        notes=e.notes, recorded_by=who, recorded_at=now).returning(CAL.c.id)).scalar_one()
    rows = []
    for i, p in enumerate(points):
        o = out["points"][i] if out is not None else {
            "mpe_initial_pct": inputs.get("mpe_initial_pct"), "mpe_in_service_pct": res.limit_pct,
            "acceptance_in_service_pct": res.limit_pct, "pass_in_service": not res.defective}
        rows.append({"result_id": cid, "seq": i, "error_pct": float(p["error_pct"]), "q_m3h": p.get("q_m3h"),
                     "dtheta_k": p.get("dtheta_k"), "interval": p.get("interval"),
                     **{k: o.get(k) for k in ("mpe_initial_pct", "mpe_in_service_pct", "acceptance_initial_pct",
                                              "acceptance_in_service_pct", "pass_initial", "pass_in_service",
                                              "in_interval")}})
    conn.execute(insert(CALP), rows)
    reg._log(conn, who, "calibration_results", cid, "create", meter_id=rec.id,
             after={"tested_on": on, "subassembly": sub, "lab": e.lab, "points": len(rows), "lot_id": lot_id,
                    "basis": inputs.get("basis"), "in_service_verdict": verdict})
    return cid


# ---------------------------------------------------------------------------- results files

#: Columns of a results file (docs/planning.md). One row per meter (single error figure or
#: inaccessible) or one row per calibration point (several rows of the same meter).
RESULT_COLUMNS = ("manufacturer", "serial", "error_pct", "q_m3h", "dtheta_k", "interval", "subassembly",
                  "inaccessible", "mpe_initial_pct", "tested_on", "lab", "certificate", "notes")
_TRUE = ("1", "yes", "y", "true", "x")
_FALSE = ("", "0", "no", "n", "false")


def read_results_csv(path: str | Path) -> list[ResultEntry]:
    """Read a test lab's results CSV (``,`` ``;`` or tab; UTF-8 or Windows-1252) into entries.

    Rows of the same manufacturer + serial are one meter: a single row with
    only ``error_pct`` is a single error figure; several rows, or a row with
    ``q_m3h``, ``dtheta_k`` or ``interval``, are calibration points. Bad
    cells raise ``ValidationError`` naming the line and the column.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"{p}: no such file") from None
    except OSError as exc:
        raise ValidationError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delim = max((",", ";", "\t"), key=first.count)
    if not first.strip() or first.count(delim) == 0:
        raise ValidationError(f"{p.name}: not a results CSV: the first line must be a header with "
                              f"manufacturer{delim}serial{delim}error_pct ...")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = [" ".join(h.split()).lower() for h in next(reader)]
    except csv.Error as exc:
        raise ValidationError(f"{p.name}: line 1: bad CSV: {exc}") from None
    for need in ("manufacturer", "serial"):
        if need not in header:
            raise ValidationError(f"{p.name}: missing column {need} (header: {', '.join(header)})")
    unknown = [h for h in header if h and h not in RESULT_COLUMNS]
    if unknown:
        raise ValidationError(f"{p.name}: unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                              f"(known: {', '.join(RESULT_COLUMNS)})")
    idx = {h: i for i, h in enumerate(header)}
    groups: dict[tuple[str, str], list[tuple[int, dict[str, str]]]] = {}
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not "".join(row).strip():
                continue
            cells = {h: (row[i].strip() if i < len(row) else "") for h, i in idx.items()}
            make, serial = cells["manufacturer"], cells["serial"]
            if not make or not serial:
                raise ValidationError(f"{p.name}: line {line}: empty {'manufacturer' if not make else 'serial'}")
            groups.setdefault((" ".join(make.split()).casefold(), serial), []).append((line, cells))
    except csv.Error as exc:
        raise ValidationError(f"{p.name}: line {reader.line_num}: bad CSV: {exc}") from None
    if not groups:
        raise ValidationError(f"{p.name}: no result rows")
    entries = []
    for rows in groups.values():
        entries.append(_entry_of(p.name, rows))
    return entries


def _num(name: str, line: int, cells: dict, col: str, *, required: bool = False) -> float | None:
    t = cells.get(col, "")
    if not t:
        if required:
            raise ValidationError(f"{name}: line {line}: {col}: missing")
        return None
    try:
        v = float(t.replace(",", ".") if t.count(",") == 1 and "." not in t else t)
    except ValueError:
        raise ValidationError(f"{name}: line {line}: {col}: not a number: {t!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ValidationError(f"{name}: line {line}: {col}: not a finite number: {t!r}")
    return v


def _entry_of(name: str, rows: list[tuple[int, dict[str, str]]]) -> ResultEntry:
    line0, c0 = rows[0]
    lines = [ln for ln, _ in rows]

    def same(col: str) -> str:
        vals = {c.get(col, "") for _, c in rows} - {""}
        if len(vals) > 1:
            raise ValidationError(f"{name}: line {line0}: {col}: differs between the rows of meter "
                                  f"{c0['manufacturer']} {c0['serial']} ({', '.join(sorted(vals))})")
        return vals.pop() if vals else ""

    flags = {c.get("inaccessible", "").lower() for _, c in rows}
    bad = flags - set(_TRUE) - set(_FALSE)
    if bad:
        raise ValidationError(f"{name}: line {line0}: inaccessible: {bad.pop()!r} is not yes/no")
    is_inacc = bool(flags & set(_TRUE))
    tested = same("tested_on")
    try:
        tested_on = dt.date.fromisoformat(tested) if tested else None
    except ValueError:
        raise ValidationError(f"{name}: line {line0}: tested_on: bad date {tested!r} (expected YYYY-MM-DD)") from None
    sub = same("subassembly") or None
    if sub is not None and sub not in SUBASSEMBLIES:
        raise ValidationError(f"{name}: line {line0}: subassembly: must be one of {', '.join(SUBASSEMBLIES)}, "
                              f"not {sub!r}")
    common = {"manufacturer": c0["manufacturer"], "serial": c0["serial"], "subassembly": sub, "tested_on": tested_on,
              "lab": same("lab") or None, "certificate": same("certificate") or None, "notes": same("notes") or None,
              "lines": lines, "source": name}
    if is_inacc:
        if len(rows) > 1 or c0.get("error_pct"):
            raise ValidationError(f"{name}: line {line0}: meter {c0['manufacturer']} {c0['serial']} is marked "
                                  "inaccessible and has results")
        return ResultEntry(inaccessible=True, **common)
    single = (len(rows) == 1 and not any(c0.get(k) for k in ("q_m3h", "dtheta_k", "interval")))
    if single:
        return ResultEntry(error_pct=_num(name, line0, c0, "error_pct", required=True),
                           mpe_initial_pct=_num(name, line0, c0, "mpe_initial_pct"), **common)
    if any(c.get("mpe_initial_pct") for _, c in rows):
        raise ValidationError(f"{name}: line {line0}: mpe_initial_pct: only for a single error figure "
                              "(calibration points are judged by their own MPE)")
    points = []
    for ln, c in rows:
        pt: dict[str, Any] = {"error_pct": _num(name, ln, c, "error_pct", required=True)}
        for col in ("q_m3h", "dtheta_k"):
            v = _num(name, ln, c, col)
            if v is not None:
                pt[col] = v
        if c.get("interval"):
            pt["interval"] = c["interval"].upper()
        points.append(pt)
    return ResultEntry(points=points, **common)


def read_points_json(path: str | Path) -> dict[str, Any]:
    """A calibration points file: a list of points, or ``{"points": [...], "subassembly"?, "apply_guard_band"?,
    "test_uncertainty_pct"?}`` (the calc-json ``calibration`` input; meter data come from the register)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ValidationError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{p}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{p.name}: not JSON: line {exc.lineno}: {exc.msg}") from None
    if isinstance(data, list):
        data = {"points": data}
    if not isinstance(data, dict):
        raise InputError("points", f"{p.name}: expected a list of points or an object with points")
    pts = data.get("points")
    if not isinstance(pts, list) or not pts:
        raise InputError("points", f"{p.name}: missing or empty (a list of {{error_pct, q_m3h?, dtheta_k?, interval?}})")
    for i, pt in enumerate(pts):
        if not isinstance(pt, dict):
            raise InputError(f"points[{i}]", f"{p.name}: must be an object")
        if "error_pct" not in pt:
            raise InputError(f"points[{i}].error_pct", f"{p.name}: missing")
    return data


# ---------------------------------------------------------------------------- verdict

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
    with reg._read() as conn:
        lot = _lot_row(conn, lot_id)
        members = _members(conn, lot_id)
        draws = _draws(conn, lot_id)
        prior = _verdict_row(conn, lot_id)
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
    member_out = []
    retain_dates = []
    for mid, snap in members:
        start = _member_start(snap)
        ref = _ref(mid, labels)
        ref["status"] = labels.get(str(mid), (None,) * 5)[4]
        ref["clock_start"] = _iso(start)
        if v.verdict == "pass":
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
           "replacement_list": [_ref(m, labels) for m in v.replacement_list] if v.verdict == "fail" else [],
           "members": member_out, "stored": False}
    if v.verdict == "incomplete":
        out["missing"] = v.sample_size - v.tested
        return out
    if store:
        who = user or default_user()
        with reg._write() as conn:
            if _verdict_row(conn, lot_id) is not None:  # decided meanwhile by someone else
                raise ValidationError(f"lot {lot_id} already has a verdict")
            retain_until = min(retain_dates) if retain_dates else None
            vid = conn.execute(insert(LOTV).values(
                lot_id=lot_id, decided_on=on, verdict=v.verdict, sample_tested=v.tested, defectives=v.defectives,
                acceptance_number=v.acceptance_number, rejection_number=v.rejection_number,
                retain_until=retain_until, decided_by=who, notes=v.action).returning(LOTV.c.id)).scalar_one()
            conn.execute(update(LOT).where(LOT.c.id == lot_id).values(status=f"verdict_{v.verdict}"))
            reg._log(conn, who, "lots", lot_id, "verdict",
                     after={"verdict": v.verdict, "decided_on": on, "defectives": v.defectives, "tested": v.tested,
                            "acceptance_number": v.acceptance_number, "action": v.action,
                            "retain_until": retain_until, "verdict_id": vid})
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
    with reg._read() as conn:
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
    with reg._read() as conn:
        lot = _lot_row(conn, lot_id)
        members = _members(conn, lot_id)
        draws = _draws(conn, lot_id)
        results = [dict(r) for r in conn.execute(select(LOTR).where(LOTR.c.lot_id == lot_id).order_by(LOTR.c.id)).mappings()]
        verdict = _verdict_row(conn, lot_id)
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
    out["results_list"] = [{**_ref(r["meter_id"], labels), "error_pct": r["error_pct"], "limit_pct": r["limit_pct"],
                            "defective": r["defective"], "inaccessible": bool(r["inaccessible"]),
                            "tested_on": _iso(r["tested_on"]), "calibration_result_id": r["calibration_result_id"]}
                           for r in results]
    out["verdict_record"] = None if verdict is None else {
        k: jsonable(verdict[k]) for k in ("verdict", "decided_on", "sample_tested", "defectives", "acceptance_number",
                                          "rejection_number", "retain_until", "decided_by", "notes")}
    return out
