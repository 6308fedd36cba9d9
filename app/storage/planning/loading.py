"""Loading the register as the planning rules see it: in-service meters with their clock start and their
sampling lots, read in a few narrow queries into numpy columns (no ORM objects, no per-meter query, no
per-meter Python object until someone asks for one)."""
from __future__ import annotations

import datetime as dt
import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from sqlalchemy import String, func, select, true, type_coerce

from app.core.lots import MeterInfo
from app.core.schedule import LotOutcome, MeterColumns
from app.core.schedule_columns import OUTCOME_NONE, outcome_code
from app.storage.errors import ValidationError
from app.storage.planning.columns import Num, fetch_pg, jan1, ordinals_of, pg_date_ordinal, positions, raw_rows
from app.storage.register import CAL, INST, LOT, LOTD, LOTM, LOTR, LOTV, M, S, Register

#: Lot purposes per sampling round (years after installation, MMS 1.3.3).
PURPOSES = {9: "sampling_9y", 13: "sampling_13y"}
ROUND_OF_PURPOSE = {v: k for k, v in PURPOSES.items()}
#: A closed installation whose removal reason contains this word was a removal for repair.
REPAIR_WORD = "repair"
#: Meters per query when a few are looked up by id.
CHUNK = 5000
_OUTCOMES = {outcome_code(r, p): LotOutcome(r, p) for r in PURPOSES for p in (True, False)}
_ROUND_BIT = {9: 1, 13: 2}


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


class _OrdinalIso(dict):
    """ordinal -> ISO text (0 -> None), each distinct day formatted once."""

    def __missing__(self, o):
        v = self[o] = None if not o else dt.date.fromordinal(o).isoformat()
        return v


class MeterLots(NamedTuple):
    """A meter's sampling lots in its current 10-year cycle."""

    outcome: LotOutcome | None = None     # latest verdict of a lot it belongs to
    outcome_lot: int | None = None
    outcome_on: dt.date | None = None
    open_rounds: frozenset[int] = frozenset()  # rounds of its lots that have no verdict yet
    latest_lot: int | None = None         # the newest lot it belongs to (any state)


@dataclass
class PlanningData:
    """The register as the planning rules see it (in-service meters; restricted ones flagged, MMS 2.2.5).

    Column arrays, one entry per meter in id order: ``cols`` (what the
    schedule needs, ``app.core.schedule.MeterColumns``, with each meter's lot
    outcome) and the meters' words and dates. ``meters``, ``labels`` and
    ``lots`` give the same as per-meter objects (built when first asked for).
    """

    cols: MeterColumns
    ids: np.ndarray                        # int64 meter ids, ascending
    manufacturer: list
    model: list
    serial: list
    mbus_manufacturer: list
    qp_m3h: np.ndarray                     # float64, NaN = unknown
    install: np.ndarray                    # int32 ordinal of the install date counted (after the history), 0 = none
    install_year_only: np.ndarray          # bool
    cycle: np.ndarray                      # int32 ordinal of the last passed recalibration restarting the clock
    battery_expiry: np.ndarray             # int32 ordinal, 0 = none
    outcome_lot: np.ndarray                # int32: lot of the latest verdict (0 = none)
    outcome_on: np.ndarray                 # int32 ordinal of that verdict
    open_rounds: np.ndarray                # int8: bit 1 round 9, bit 2 round 13 (lots awaiting their verdict)
    latest_lot: np.ndarray                 # int32: newest lot the meter belongs to in its cycle (0 = none)
    last_lot_id: int = 0                   # the newest sampling lot when this was read
    _cache: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, meter_id) -> int | None:
        p, found = positions(self.ids, np.array([int(meter_id)], np.int64))
        return int(p[0]) if found[0] else None

    def site(self, p: int) -> str | None:
        return self.cols.site_names[int(self.cols.site_code[p])]

    def meter_info(self, p: int) -> MeterInfo:
        """The meter at position ``p`` as ``MeterInfo``."""
        c = self.cols
        d = dt.date.fromordinal
        qp = float(self.qp_m3h[p])
        b = int(self.battery_expiry[p])
        cls = int(c.accuracy_class[p])
        return MeterInfo(str(int(self.ids[p])), self.manufacturer[p], self.model[p], None if qp != qp else qp,
                         d(int(self.install[p])) if self.install[p] else None, bool(self.install_year_only[p]),
                         not bool(c.sampling_ok[p]), self.site(p), self.serial[p], cls or None, b > 0, None, None,
                         d(int(self.cycle[p])) if self.cycle[p] else None, d(b) if b else None,
                         self.mbus_manufacturer[p], bool(c.restricted[p]),
                         d(int(c.failed_on[p])) if c.failed_on[p] else None,
                         d(int(c.defective_on[p])) if c.defective_on[p] else None, bool(c.at_lab[p]))

    def meter_infos(self, positions: np.ndarray | None = None) -> list[MeterInfo]:
        """The meters at ``positions`` (default all) as ``MeterInfo``, built column-wise."""
        c = self.cols
        if positions is None:
            positions = np.arange(len(self))
        idx = positions.tolist()
        days: dict[int, dt.date | None] = {0: None}

        def dates(arr: np.ndarray) -> list:
            out = []
            for o in arr[positions].tolist():
                d = days.get(o)
                if d is None and o:
                    d = days[o] = dt.date.fromordinal(o)
                out.append(d)
            return out

        qp = [None if v != v else v for v in self.qp_m3h[positions].tolist()]
        names = c.site_names
        sites = [names[k] for k in c.site_code[positions].tolist()]
        cls = [v or None for v in c.accuracy_class[positions].tolist()]
        mk, mo, se, fl = self.manufacturer, self.model, self.serial, self.mbus_manufacturer
        return [MeterInfo(str(i), mk[p], mo[p], q, inst, yo, not ok, site, se[p], k, b is not None, None, None, cyc, b,
                          fl[p], r, f, d, lab)
                for p, i, q, inst, yo, ok, site, k, cyc, b, r, f, d, lab in zip(
                    idx, self.ids[positions].tolist(), qp, dates(self.install),
                    self.install_year_only[positions].tolist(), c.sampling_ok[positions].tolist(), sites, cls,
                    dates(self.cycle), dates(self.battery_expiry), c.restricted[positions].tolist(),
                    dates(c.failed_on), dates(c.defective_on), c.at_lab[positions].tolist())]

    @property
    def meters(self) -> list[MeterInfo]:
        got = self._cache.get("meters")
        if got is None:
            got = self._cache["meters"] = self.meter_infos()
        return got

    @property
    def labels(self) -> dict[str, tuple[str, str, str | None]]:
        """meter id (text) -> (manufacturer, serial, model)."""
        got = self._cache.get("labels")
        if got is None:
            got = self._cache["labels"] = {str(i): (mk, se, mo) for i, mk, se, mo in
                                           zip(self.ids.tolist(), self.manufacturer, self.serial, self.model)}
        return got

    def lots_at(self, p: int) -> MeterLots | None:
        if not self.latest_lot[p]:
            return None
        oc = int(self.cols.outcome[p])
        bits = int(self.open_rounds[p])
        rounds = frozenset(r for r, b in _ROUND_BIT.items() if bits & b)
        if oc == OUTCOME_NONE:
            return MeterLots(None, None, None, rounds, int(self.latest_lot[p]))
        return MeterLots(_OUTCOMES[oc], int(self.outcome_lot[p]), dt.date.fromordinal(int(self.outcome_on[p])),
                         rounds, int(self.latest_lot[p]))

    @property
    def lots(self) -> dict[str, MeterLots]:
        """meter id (text) -> its lots (meters in no lot of their cycle are absent)."""
        got = self._cache.get("lots")
        if got is None:
            got = self._cache["lots"] = {str(int(self.ids[p])): self.lots_at(p)
                                         for p in np.flatnonzero(self.latest_lot).tolist()}
        return got

    def clock_starts(self) -> np.ndarray:
        """Ordinal of each meter's clock start (0 = unknown): the schedule's ``start``."""
        return self.cols.start


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


# ---- the meters' own columns ---------------------------------------------------------------

_NUMS = [Num("id", "int8", "id"), Num("site_id", "int4", "site_id"),
         Num(pg_date_ordinal("install_date"), "int4", "install"),
         Num(pg_date_ordinal("battery_expiry"), "int4", "battery"),
         Num("COALESCE(mid_class, 0) + 16 * install_year_only::int + 32 * restrict_processing::int", "int2", "bits"),
         Num("COALESCE(qp_m3h, 'NaN')", "float8", "qp")]
_TEXTS = ["manufacturer", "model", "serial", "mbus_manufacturer"]


def _meter_columns(conn, site_id: int | None) -> tuple[dict, dict]:
    """The in-service meters' columns (see ``_NUMS``, ``_TEXTS``), sorted by id."""
    got = None
    if conn.dialect.name == "postgresql":
        where = "status = 'in_service'" + ("" if site_id is None else f" AND site_id = {int(site_id)}")
        got = fetch_pg(conn, M.name, where, _NUMS, _TEXTS)
    if got is None:
        q = (select(M.c.id, M.c.site_id, type_coerce(M.c.install_date, String), type_coerce(M.c.battery_expiry, String),
                    M.c.mid_class, M.c.install_year_only, M.c.restrict_processing, M.c.qp_m3h, M.c.manufacturer,
                    M.c.model, M.c.serial, M.c.mbus_manufacturer).where(M.c.status == "in_service"))
        if site_id is not None:
            q = q.where(M.c.site_id == site_id)
        rows = raw_rows(conn, q)
        cols = list(zip(*rows)) if rows else [()] * 12
        dates: dict = {}
        nums = {"id": np.array(cols[0], np.int64), "site_id": np.array(cols[1], np.int32),
                "install": ordinals_of(cols[2], dates), "battery": ordinals_of(cols[3], dates),
                "bits": (np.array([c or 0 for c in cols[4]], np.int16) + 16 * np.array(cols[5], bool)
                         + 32 * np.array(cols[6], bool)).astype(np.int16),
                "qp": np.array([np.nan if v is None else v for v in cols[7]], np.float64)}
        got = nums, {name: list(c) for name, c in zip(_TEXTS, cols[8:])}
    nums, texts = got
    ids = nums["id"]
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        order = np.argsort(ids, kind="stable")
        nums = {k: v[order] for k, v in nums.items()}
        idx = order.tolist()
        texts = {k: [v[i] for i in idx] for k, v in texts.items()}
    return nums, texts


def _pairs(conn, query, pg_sql: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two integer columns (e.g. meter id, lot id) as arrays; packed by the server on PostgreSQL."""
    if pg_sql is not None and conn.dialect.name == "postgresql":
        got = fetch_pg(conn, *pg_sql, [])
        if got is not None:
            return got[0]["a"].astype(np.int64), got[0]["b"].astype(np.int64)
    rows = raw_rows(conn, query)
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b = zip(*rows)
    return np.array(a, np.int64), np.array(b, np.int64)


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
        sid = None
        if site is not None:
            sid = next((k for k, v in sites.items() if v == " ".join(site.split())), None)
            if sid is None:
                raise ValidationError(f"no site {site!r} in the register")
        nums, texts = _meter_columns(conn, sid)
        ids = nums["id"]
        # Installation history of meters installed more than once (few).
        multi = select(INST.c.meter_id).group_by(INST.c.meter_id).having(func.count() > 1)
        hist: dict[int, list[tuple]] = {}
        for mid, on, year_only, reason in raw_rows(conn, (
                select(INST.c.meter_id, type_coerce(INST.c.installed_on, String), INST.c.year_only,
                       INST.c.removal_reason).where(INST.c.meter_id.in_(multi)).order_by(INST.c.meter_id, INST.c.id))):
            hist.setdefault(mid, []).append((dates[on], bool(year_only), reason))
        recal_q = (select(CAL.c.meter_id, type_coerce(func.max(CAL.c.tested_on), String))
                   .where(CAL.c.lot_id.is_(None), CAL.c.subassembly == "complete_meter").group_by(CAL.c.meter_id))
        recal = raw_rows(conn, recal_q.where(CAL.c.initial_verdict == "pass"))
        failed = raw_rows(conn, recal_q.where(CAL.c.initial_verdict == "fail"))
        defective: list[tuple] = []
        at_lab: list[int] = []
        lot_rows: list[tuple] = []
        members = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        if with_lots:
            defective = raw_rows(conn, (
                select(LOTR.c.meter_id, type_coerce(func.max(LOTV.c.decided_on), String))
                .select_from(LOTR.join(LOTV, LOTV.c.lot_id == LOTR.c.lot_id))
                .where(LOTR.c.defective == true(), LOTV.c.verdict == "pass").group_by(LOTR.c.meter_id)))
            at_lab = [mid for (mid,) in raw_rows(conn, select(LOTD.c.meter_id).where(LOTD.c.status == "at_lab"))]
            # Few rows: each sampling lot with its latest verdict.
            lot_rows = raw_rows(conn, (
                select(LOT.c.id, LOT.c.purpose, type_coerce(LOT.c.formed_at, String), LOTV.c.id, LOTV.c.verdict,
                       type_coerce(LOTV.c.decided_on, String))
                .select_from(LOT.outerjoin(LOTV, LOTV.c.lot_id == LOT.c.id))
                .where(LOT.c.purpose.in_(list(PURPOSES.values()))).order_by(LOT.c.id, LOTV.c.id)))
            if lot_rows:
                members = _pairs(conn, select(LOTM.c.meter_id, LOTM.c.lot_id),
                                 (LOTM.name, "true", [Num("meter_id", "int4", "a"), Num("lot_id", "int4", "b")]))

    n = len(ids)
    install = nums["install"].copy()
    bits = nums["bits"]
    year_only = (bits & 16) > 0
    reinstalled = np.zeros(n, bool)
    for mid, h in hist.items():
        p, found = positions(ids, [mid])
        if not found[0]:
            continue
        p = int(p[0])
        repaired = [i for i, (_, _, reason) in enumerate(h[:-1]) if reason and REPAIR_WORD in reason.casefold()]
        if repaired:
            reinstalled[p] = True
            d, yo = h[repaired[-1] + 1][0], h[repaired[-1] + 1][1]
        else:
            known = [(d, y) for d, y, _ in h if d is not None]
            if not known:
                continue
            d, yo = known[0]
        install[p] = 0 if d is None else d.toordinal()
        year_only[p] = yo
    first = np.where(year_only, jan1(install), install).astype(np.int32)

    def by_meter(rows) -> np.ndarray:
        """(meter id, date) rows as an ordinal per position (0 = none)."""
        out = np.zeros(n, np.int32)
        if rows:
            mids, ds = zip(*rows)
            p, found = positions(ids, np.array(mids, np.int64))
            out[p[found]] = ordinals_of(ds, {})[found]
        return out

    cycle = by_meter(recal)
    cycle[(first > 0) & (cycle <= first)] = 0          # not after the installation counted: no restart
    start = np.where(cycle > 0, cycle, first).astype(np.int32)
    failed_on = by_meter(failed)
    # an earlier cycle's failure, or passed again since
    failed_on[((start > 0) & (failed_on < start)) | ((cycle > 0) & (failed_on <= cycle))] = 0
    defect_on = by_meter(defective)
    defect_on[(start > 0) & (defect_on < start)] = 0    # recalibrated since (or an earlier cycle)
    lab = np.zeros(n, bool)
    if at_lab:
        p, found = positions(ids, np.array(at_lab, np.int64))
        lab[p[found]] = True

    # Per meter: its latest decided lot and its undecided rounds, in its current cycle only
    # (lots of an earlier cycle, before a repair or a recalibration, no longer count).
    outcome = np.zeros(n, np.int8)
    outcome_lot = np.zeros(n, np.int32)
    outcome_on = np.zeros(n, np.int32)
    open_rounds = np.zeros(n, np.int8)
    latest_lot = np.zeros(n, np.int32)
    last_lot = 0
    if lot_rows:
        info: dict[int, tuple] = {}
        for lot_id, purpose, formed_at, vid, verdict, decided in lot_rows:
            formed_on = formed_at.date() if isinstance(formed_at, dt.datetime) else dates[formed_at[:10]]
            d = dates[decided]
            info[lot_id] = (ROUND_OF_PURPOSE[purpose], formed_on.toordinal(), vid is not None, verdict == "pass",
                            d.toordinal() if d is not None else 0)
        last_lot = max(info)
        size = last_lot + 1
        l_round = np.zeros(size, np.int8)
        l_since = np.zeros(size, np.int32)       # the verdict's date, else the formation's
        l_decided = np.zeros(size, bool)
        l_code = np.zeros(size, np.int8)
        l_on = np.zeros(size, np.int32)
        for lot_id, (rnd, formed, decided, passed, on) in info.items():
            l_round[lot_id] = rnd
            l_since[lot_id] = on or formed
            l_decided[lot_id] = decided
            l_code[lot_id] = outcome_code(rnd, passed) if decided else 0
            l_on[lot_id] = on
        mids, lids = members
        known_lot = (lids >= 0) & (lids < size)
        mids, lids = mids[known_lot], lids[known_lot]
        known_lot = l_round[lids] > 0
        mids, lids = mids[known_lot], lids[known_lot]
        p, found = positions(ids, mids)
        p, lids = p[found], lids[found]
        keep = (start[p] > 0) & (l_since[lids] >= start[p])
        p, lids = p[keep], lids[keep]
        np.maximum.at(latest_lot, p, lids.astype(np.int32))
        undecided = ~l_decided[lids]
        np.bitwise_or.at(open_rounds, p[undecided], np.where(l_round[lids[undecided]] == 9, 1, 2).astype(np.int8))
        dp, dl = p[~undecided], lids[~undecided]
        if len(dp):
            order = np.lexsort((dl, l_on[dl], dp))        # by meter, then verdict date, then lot id
            dp, dl = dp[order], dl[order]
            last = np.append(dp[1:] != dp[:-1], True)     # the latest of each meter
            dp, dl = dp[last], dl[last]
            outcome[dp] = l_code[dl]
            outcome_lot[dp] = dl
            outcome_on[dp] = l_on[dl]

    site_ids = sorted(sites)
    code = np.searchsorted(np.array(site_ids, np.int64), nums["site_id"]).astype(np.int32) if n else \
        np.zeros(0, np.int32)
    cols = MeterColumns(ids=ids, site_code=code, site_names=[sites[s] for s in site_ids] or [None], start=start,
                        sampling_ok=~reinstalled, battery_due=_battery_due(nums["battery"]),
                        accuracy_class=(bits & 15).astype(np.int16), restricted=(bits & 32) > 0, at_lab=lab,
                        failed_on=failed_on, defective_on=defect_on, outcome=outcome)
    return PlanningData(cols=cols, ids=ids, manufacturer=texts["manufacturer"], model=texts["model"],
                        serial=texts["serial"], mbus_manufacturer=texts["mbus_manufacturer"], qp_m3h=nums["qp"],
                        install=install, install_year_only=year_only, cycle=cycle, battery_expiry=nums["battery"],
                        outcome_lot=outcome_lot, outcome_on=outcome_on, open_rounds=open_rounds,
                        latest_lot=latest_lot, last_lot_id=last_lot)


def _battery_due(expiry: np.ndarray) -> np.ndarray:
    """The battery deadline of each meter (MMS 1.3.6: its expected end of life minus one year), 0 = none."""
    from app.core.schedule import anniversary

    out = np.zeros(len(expiry), np.int32)
    has = expiry > 0
    if has.any():
        uniq, inv = np.unique(expiry[has], return_inverse=True)
        due = np.array([anniversary(dt.date.fromordinal(o), -1).toordinal() for o in uniq.tolist()], np.int32)
        out[has] = due[inv.reshape(-1)]
    return out
