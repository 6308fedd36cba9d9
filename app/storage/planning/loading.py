"""Loading the register as the planning rules see it: in-service, unrestricted meters with their clock
start and their sampling lots, read in a few narrow queries (no ORM objects, no per-meter query)."""
from __future__ import annotations

import datetime as dt
import gc
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import String, func, select, true, type_coerce

from app.core.lots import MeterInfo
from app.core.schedule import LotOutcome
from app.storage.errors import ValidationError
from app.storage.register import CAL, INST, LOT, LOTD, LOTM, LOTR, LOTV, M, S, Register

#: Lot purposes per sampling round (years after installation, MMS 1.3.3).
PURPOSES = {9: "sampling_9y", 13: "sampling_13y"}
ROUND_OF_PURPOSE = {v: k for k, v in PURPOSES.items()}
#: A closed installation whose removal reason contains this word was a removal for repair.
REPAIR_WORD = "repair"
#: Meters per query when a few are looked up by id.
CHUNK = 5000


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


class MeterLots(NamedTuple):
    """A meter's sampling lots in its current 10-year cycle."""

    outcome: LotOutcome | None = None     # latest verdict of a lot it belongs to
    outcome_lot: int | None = None
    outcome_on: dt.date | None = None
    open_rounds: frozenset[int] = frozenset()  # rounds of its lots that have no verdict yet
    latest_lot: int | None = None         # the newest lot it belongs to (any state)


@dataclass
class PlanningData:
    """The register as the planning rules see it (in-service meters; restricted ones flagged, MMS 2.2.5)."""

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
    """Read what planning needs, in a few narrow queries (no ORM objects, no per-meter queries).

    Meters: status ``in_service``, optionally one site; restricted ones (MMS
    2.2.5) too, flagged: they stay scheduled but are never pooled or drawn.
    Installation history (only meters with more than one installation): a
    meter moved without repair keeps the date of its first installation; a
    meter re-installed after a removal for repair is flagged
    ``reinstalled_after_repair`` and its clock starts at that re-installation.
    Recalibrations (complete-meter calibrations outside any lot): the latest
    passed one restarts the clock (``cycle_start_date``); a failed one after
    it marks the meter ``failed_recalibration_on``. A sampled meter found
    defective in a lot that passed, in its current cycle, is marked
    ``defective_on`` (the verdict's date). Drawn meters at the lab are marked
    ``at_lab``. Lot memberships and verdicts give each meter's latest lot
    outcome in its current cycle.
    """
    dates = _Dates()
    with reg.reading() as conn:
        sites = dict(conn.execute(select(S.c.id, S.c.name)).all())
        q = (select(M.c.id, M.c.manufacturer, M.c.model, M.c.serial, M.c.site_id, M.c.qp_m3h, M.c.mid_class,
                    type_coerce(M.c.install_date, String), M.c.install_year_only,
                    type_coerce(M.c.battery_expiry, String), M.c.mbus_manufacturer, M.c.restrict_processing)
             .where(M.c.status == "in_service"))
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
        recal_q = (select(CAL.c.meter_id, type_coerce(func.max(CAL.c.tested_on), String))
                   .where(CAL.c.lot_id.is_(None), CAL.c.subassembly == "complete_meter").group_by(CAL.c.meter_id))
        recal = {mid: dates[d] for mid, d in _raw_rows(conn, recal_q.where(CAL.c.initial_verdict == "pass"))
                 if mid in ids}
        failed = {mid: dates[d] for mid, d in _raw_rows(conn, recal_q.where(CAL.c.initial_verdict == "fail"))
                  if mid in ids}
        defective: dict[int, dt.date] = {}
        at_lab: set[int] = set()
        lot_info: dict[int, tuple] = {}
        members: list[tuple[int, int]] = []
        if with_lots:
            for mid, on in _raw_rows(conn, (
                    select(LOTR.c.meter_id, type_coerce(func.max(LOTV.c.decided_on), String))
                    .select_from(LOTR.join(LOTV, LOTV.c.lot_id == LOTR.c.lot_id))
                    .where(LOTR.c.defective == true(), LOTV.c.verdict == "pass").group_by(LOTR.c.meter_id))):
                if mid in ids:
                    defective[mid] = dates[on]
            at_lab = {mid for (mid,) in _raw_rows(conn, select(LOTD.c.meter_id).where(LOTD.c.status == "at_lab"))}
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
    starts: dict[int, dt.date | None] = {}
    append = meters.append
    for mid, make, model, serial, site_id, qp, cls, inst, year_only, battery, flag, restricted in rows:
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
        first = (dt.date(install.year, 1, 1) if year_only else install) if install is not None else None
        cycle = None
        if mid in recal:
            cycle = recal[mid]
            if first is not None and cycle <= first:
                cycle = None
        start = cycle or first
        failed_on = failed.get(mid)
        if failed_on is not None and ((start is not None and failed_on < start) or
                                      (cycle is not None and failed_on <= cycle)):
            failed_on = None  # an earlier cycle's failure, or passed again since
        defect_on = defective.get(mid)
        if defect_on is not None and start is not None and defect_on < start:
            defect_on = None  # recalibrated since (or an earlier cycle)
        sid = str(mid)
        m = MeterInfo(sid, make, model, qp, install, year_only, reinstalled, sites[site_id], serial, cls,
                      battery is not None, None, None, cycle, dates[battery], flag, bool(restricted), failed_on,
                      defect_on, mid in at_lab)
        append(m)
        labels[sid] = (make, serial, model)
        if lot_info:
            starts[mid] = start

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

