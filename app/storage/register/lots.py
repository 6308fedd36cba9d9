"""Sampling lots (ISO 2859-1, MMS 1.3.3-1.3.5) as stored: the lot, its members, the draw, the results, the verdict.

The one write path of the lot tables. The rules (which meters form a lot,
the seeded draw, the verdict) live in ``app.core.lots`` and are applied by
``app.storage.planning``, which stores what they decide through these
methods; each method is one transaction, re-checks what it relies on (a
lot with a verdict never changes, a drawn lot is redrawn only when asked)
and logs every change.

The functions taking a connection (``lot_row``, ``lot_members``,
``lot_draws``, ``latest_verdict``, ``check_drawable``,
``check_open_for_results``) are the queries these methods make, for the
planner to make the same checks in its own read transaction
(``Register.reading``) before it computes anything.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from app.storage import models
from app.storage.errors import ConflictError, NotFound, RegisterError, ValidationError
from app.storage.records import jsonable
from app.storage.register.calibration import Calibration, NewCalibration
from app.storage.register.tables import CHUNK, LOT, LOTD, LOTM, LOTR, LOTV

#: advisory lock of lot formation on PostgreSQL ("no lot formed since I looked" holds until commit)
FORM_LOCK = 0x6865_6174_0002


class UnknownLot(RegisterError):
    """No lot with that id (bad input: exit 2)."""

    status = 2


@dataclass(frozen=True)
class NewLot:
    """A lot to store: ``key`` (field -> value), ``member_ids`` in frame order, ``plan`` (the
    ISO 2859-1 plan as ``SamplingPlan.as_dict``: level, aql, inspection, code_letter, plan_letter,
    sample_size, acceptance_number, rejection_number), the ``rule`` in force, and a snapshot of
    each member (one for one with ``member_ids``) when given."""

    key: dict[str, Any]
    member_ids: Sequence[int]
    plan: dict[str, Any] | None = None
    name: str | None = None
    purpose: str | None = None
    rule: dict[str, Any] | None = None
    seed: str | int | None = None
    snapshots: Sequence[dict[str, Any]] | None = None


@dataclass(frozen=True)
class LotResult:
    """The result of one drawn meter. ``calibration``: stored against the meter with the lot's
    id, its id kept as the result's ``calibration_result_id``. ``draw_status``: the meter's
    draw becomes this ("tested", "inaccessible"); None leaves it as it is."""

    meter_id: int
    error_pct: float | None = None
    limit_pct: float | None = None
    defective: bool | None = None
    inaccessible: bool = False
    tested_on: dt.date | None = None
    notes: str | None = None
    calibration: NewCalibration | None = None
    calibration_result_id: int | None = None
    draw_status: str | None = None


# ---- the queries (also for the planner's own read transaction) ---------------------------

def lot_row(conn: Connection, lot_id: int) -> dict[str, Any]:
    r = conn.execute(select(LOT).where(LOT.c.id == lot_id)).mappings().first()
    if r is None:
        raise UnknownLot(f"no lot {lot_id} in the register (see heatmeter lots list)")
    return dict(r)


def lot_members(conn: Connection, lot_id: int) -> list[tuple[int, dict]]:
    """(meter id, snapshot) of each member in frame order."""
    return [(mid, snap or {}) for mid, snap in conn.execute(
        select(LOTM.c.meter_id, LOTM.c.snapshot).where(LOTM.c.lot_id == lot_id).order_by(LOTM.c.position))]


def lot_draws(conn: Connection, lot_id: int) -> list[dict]:
    return [dict(r) for r in conn.execute(select(LOTD).where(LOTD.c.lot_id == lot_id)
                                          .order_by(LOTD.c.draw_order)).mappings()]


def latest_verdict(conn: Connection, lot_id: int) -> dict | None:
    r = conn.execute(select(LOTV).where(LOTV.c.lot_id == lot_id).order_by(LOTV.c.id.desc())).mappings().first()
    return None if r is None else dict(r)


def check_drawable(conn: Connection, lot: dict[str, Any], *, seeded: bool = True,
                   replace: bool = False) -> list[dict]:
    """The lot's earlier draw; raises when the lot has a verdict, or when it was drawn already
    and a seeded draw would not ``replace`` it. Seeded draws are whole draws; draws without a
    seed are appended."""
    lot_id = lot["id"]
    v = latest_verdict(conn, lot_id)
    if v is not None:
        raise ValidationError(f"lot {lot_id} has a verdict ({v['verdict']} on {v['decided_on']}); "
                              "it cannot be drawn again")
    old = lot_draws(conn, lot_id)
    if old and seeded and not replace:
        n_sp = sum(1 for d in old if d["spare"])
        raise ValidationError(f"lot {lot_id} was already drawn with seed {lot['seed']} "
                              f"({len(old) - n_sp} meters + {n_sp} spares); give --force to draw again (logged)")
    return old


def check_open_for_results(conn: Connection, lot_id: int) -> tuple[dict[str, Any], list[dict]]:
    """(lot, its draw); raises when the lot is unknown, has a verdict or has not been drawn."""
    lot = lot_row(conn, lot_id)
    v = latest_verdict(conn, lot_id)
    if v is not None:
        raise ValidationError(f"lot {lot_id} has a verdict ({v['verdict']} on {v['decided_on']}); "
                              "its results cannot change")
    draws = lot_draws(conn, lot_id)
    if not draws:
        raise ValidationError(f"lot {lot_id} has not been drawn yet (heatmeter lots draw {lot_id} --seed N)")
    return lot, draws


class Lots(Calibration):
    """Forming, drawing, testing and deciding lots; reading them back."""

    def _lock_lot(self, conn: Connection, lot_id: int) -> dict[str, Any]:
        """The lot, locked until the transaction ends (every change to it or its draw, results and
        verdict takes this lock first)."""
        rows = self._lock_rows(conn, LOT, LOT.c.id == lot_id)
        if not rows:
            raise UnknownLot(f"no lot {lot_id} in the register (see heatmeter lots list)")
        return rows[0]

    # ---- forming ---------------------------------------------------------------------------

    def create_lots(self, lots: Sequence[NewLot], *, user: str | None = None, newest_lot_seen: int | None = None,
                    purposes: Sequence[str] | None = None) -> list[int]:
        """Store lots as formed, all in one transaction; returns their ids in order.

        ``newest_lot_seen``: the id of the newest lot (of ``purposes``, else of
        any) when the caller read the register to form these; a newer one means
        someone formed lots meanwhile: ConflictError, nothing stored.
        """
        for lot in lots:
            if lot.snapshots is not None and len(lot.snapshots) != len(lot.member_ids):
                raise ValidationError("snapshots must match member_ids one for one")
        who = self.user_name(user)
        ids: list[int] = []
        with self._write() as conn:
            self._lock_key(conn, FORM_LOCK)
            if newest_lot_seen is not None:
                q = select(func.max(LOT.c.id))
                if purposes:
                    q = q.where(LOT.c.purpose.in_(list(purposes)))
                newer = conn.execute(q).scalar()
                if (newer or 0) > newest_lot_seen:
                    raise ConflictError(f"lot {newer} was formed by someone else meanwhile; nothing stored: form the "
                                        "lots again")
            now = models.utcnow()
            member_rows: list[dict] = []
            logged: list[tuple[int, dict]] = []
            for lot in lots:
                plan = lot.plan or {}
                size = len(lot.member_ids)
                lid = conn.execute(insert(LOT).values(
                    name=lot.name, key=lot.key, rule=lot.rule or None, purpose=lot.purpose, formed_at=now,
                    formed_by=who, lot_size=size, level=plan.get("level"), aql=plan.get("aql"),
                    inspection=plan.get("inspection"), code_letter=plan.get("code_letter"),
                    plan_letter=plan.get("plan_letter"), sample_size=plan.get("sample_size"),
                    acceptance_number=plan.get("acceptance_number"), rejection_number=plan.get("rejection_number"),
                    seed=None if lot.seed is None else str(lot.seed), plan=plan or None, status="formed",
                ).returning(LOT.c.id)).scalar_one()
                ids.append(lid)
                snaps = lot.snapshots
                member_rows += [{"lot_id": lid, "meter_id": m, "position": i,
                                 "snapshot": snaps[i] if snaps is not None else None}
                                for i, m in enumerate(lot.member_ids)]
                after = {"name": lot.name, "key": lot.key, "purpose": lot.purpose, "lot_size": size, "plan": plan,
                         "rule": lot.rule}
                if lot.seed is not None:
                    after["seed"] = lot.seed
                logged.append((lid, after))
            for i in range(0, len(member_rows), CHUNK):
                conn.execute(insert(LOTM), member_rows[i:i + CHUNK])
            for lid, after in logged:  # each lot as formed, with its members, hashed and anchored
                h = self._seal_item(conn, "lots", lid)
                self._log(conn, who, "lots", lid, "create", after={**after, "content_hash": h},
                          anchors=[("lots", lid, h)])
        return ids

    def create_lot(self, *, key: dict[str, Any], member_ids: Sequence[int], plan: dict[str, Any] | None = None,
                   seed: str | int | None = None, rule: dict[str, Any] | None = None, purpose: str | None = None,
                   name: str | None = None, snapshots: Sequence[dict[str, Any]] | None = None,
                   user: str | None = None) -> int:
        """Record one lot as formed: its key, members (in frame order), plan (the
        sample-plan JSON object) and seed (see ``create_lots``)."""
        lot = NewLot(key=jsonable(key), member_ids=list(member_ids), plan=jsonable(plan or {}), name=name,
                     purpose=purpose, rule=jsonable(rule) if rule else None, seed=seed,
                     snapshots=None if snapshots is None else [jsonable(s) for s in snapshots])
        return self.create_lots([lot], user=user)[0]

    # ---- drawing ---------------------------------------------------------------------------

    def record_draw(self, lot_id: int, draws: Sequence[tuple[int, bool]], *, seed: int | None = None,
                    algorithm: str | None = None, replace: bool = False, user: str | None = None,
                    excluded: Sequence[int] | None = None) -> dict[str, Any]:
        """Store drawn meters in draw order: ``draws`` = (meter_id, spare).

        With ``seed`` this is the lot's whole draw by ``algorithm``, stored with
        its seed; a lot drawn before is refused unless ``replace`` (the earlier
        draw and its results are then discarded, logged as "redraw"). Without a
        seed the meters are appended to the lot's draw (drawn by other means).
        Every meter must be a member; a lot with a verdict is never drawn again.
        ``excluded``: members left out of the frame of a seeded draw (not in
        service, or restricted), kept in the lot's rule as ``draw_excluded``
        so that the draw can be reproduced. Returns ``{"lot_id", "redrawn",
        "results_discarded"}``.
        """
        who = self.user_name(user)
        seeded = seed is not None
        with self._write() as conn:
            lot = self._lock_lot(conn, lot_id)
            old = check_drawable(conn, lot, seeded=seeded, replace=replace)
            members = {m for (m,) in conn.execute(select(LOTM.c.meter_id).where(LOTM.c.lot_id == lot_id))}
            replacing = bool(old) and replace
            start = 0 if replacing or not old else max(d["draw_order"] for d in old) + 1
            now = models.utcnow()
            rows = []
            for i, (mid, spare) in enumerate(draws):
                if mid not in members:
                    raise ValidationError(f"meter {mid} is not a member of lot {lot_id}")
                rows.append({"lot_id": lot_id, "draw_order": start + i, "meter_id": int(mid), "spare": bool(spare),
                             "drawn_at": now, "status": "drawn"})
            n_results = 0
            discarded: list[int] = []
            if replacing:
                discarded = [r for (r,) in conn.execute(select(LOTR.c.id).where(LOTR.c.lot_id == lot_id))]
                n_results = len(discarded)
                conn.execute(delete(LOTR).where(LOTR.c.lot_id == lot_id))
                conn.execute(delete(LOTD).where(LOTD.c.lot_id == lot_id))
            if rows:
                conn.execute(insert(LOTD), rows)
            extra: dict[str, Any] = {}
            if seeded:
                extra["seed"] = str(seed)
                extra["rule"] = {**(lot["rule"] or {}), "draw_excluded": sorted(int(m) for m in (excluded or ()))}
            conn.execute(update(LOT).where(LOT.c.id == lot_id).values(**extra, status="drawn"))
            sample = [r["meter_id"] for r in rows if not r["spare"]]
            spares = [r["meter_id"] for r in rows if r["spare"]]
            h = self._seal_item(conn, "lot_draws", lot_id)
            anchors = [("lot_draws", lot_id, h)] + [("lot_results", r, None) for r in discarded]
            if seeded:  # the lot's rule now names the members left out of the frame: the lot hashed again
                anchors.append(("lots", lot_id, self._seal_item(conn, "lots", lot_id)))
            if seeded:
                after = {"seed": seed, "algorithm": algorithm, "sample_size": len(sample), "sample": sample,
                         "spares": spares, "draw_hash": h}
                if excluded:
                    after["excluded"] = sorted(int(m) for m in excluded)
            else:
                after = {"drawn": sample, "spares": spares, "draw_hash": h}
            if replacing:
                before = {"seed": lot["seed"], "sample": [r["meter_id"] for r in old if not r["spare"]],
                          "spares": [r["meter_id"] for r in old if r["spare"]], "results_discarded": n_results}
                self._log(conn, who, "lots", lot_id, "redraw", before=before, after=after, anchors=anchors)
            else:
                self._log(conn, who, "lots", lot_id, "draw", after=after, anchors=anchors)
        return {"lot_id": lot_id, "redrawn": replacing, "results_discarded": n_results}

    def set_draw_status(self, lot_id: int, meter_id: int, status: str, *, user: str | None = None) -> None:
        with self._write() as conn:
            self._lock_lot(conn, lot_id)
            old = conn.execute(select(LOTD.c.status).where(LOTD.c.lot_id == lot_id, LOTD.c.meter_id == meter_id)).scalar()
            if old is None:
                raise NotFound(f"meter {meter_id} was not drawn in lot {lot_id}")
            self._set_draw_status(conn, user, lot_id, meter_id, old, status)

    def _set_draw_status(self, conn: Connection, user: str | None, lot_id: int, meter_id: int, old: str,
                         status: str) -> None:
        conn.execute(update(LOTD).where(LOTD.c.lot_id == lot_id, LOTD.c.meter_id == meter_id).values(status=status))
        self._log(conn, user, "lot_draws", lot_id, "status", meter_id=meter_id, before={"status": old},
                  after={"status": status})

    # ---- testing ---------------------------------------------------------------------------

    def record_lot_results(self, lot_id: int, results: Sequence[LotResult], *, replace: bool = False,
                           user: str | None = None) -> list[dict[str, Any]]:
        """Store the results of drawn meters, all or nothing (one transaction).

        Each meter must have been drawn for the lot (sample or spare), once;
        a meter that has a result already is refused unless ``replace`` (the
        result is then updated, logged as "replace"). A lot with a verdict
        takes no result. A formed or drawn lot goes to "testing". Returns per
        result ``{"result_id", "meter_id", "calibration_result_id", "replaced",
        "spare"}``.
        """
        who = self.user_name(user)
        out: list[dict[str, Any]] = []
        with self._write() as conn:
            self._lock_lot(conn, lot_id)
            lot, draws = check_open_for_results(conn, lot_id)
            drawn = {d["meter_id"]: d for d in draws}
            now = models.utcnow()
            seen: set[int] = set()
            for r in results:
                d = drawn.get(r.meter_id)
                if d is None:
                    raise ValidationError(f"meter {r.meter_id} was not drawn for lot {lot_id} "
                                          "(neither in the sample nor a spare)")
                if r.meter_id in seen:
                    raise ValidationError(f"meter {r.meter_id} is given twice")
                seen.add(r.meter_id)
                cal_id = r.calibration_result_id
                if r.calibration is not None:
                    cal_id = self._insert_calibration(conn, r.meter_id, r.calibration, lot_id=lot_id, user=who,
                                                      now=now)
                old = conn.execute(select(LOTR).where(LOTR.c.lot_id == lot_id, LOTR.c.meter_id == r.meter_id)
                                   ).mappings().first()
                values = {"calibration_result_id": cal_id, "error_pct": r.error_pct, "limit_pct": r.limit_pct,
                          "defective": r.defective, "inaccessible": r.inaccessible, "tested_on": r.tested_on,
                          "notes": r.notes}
                if old is not None:
                    if not replace:
                        raise ValidationError(f"lot {lot_id} already has a result for meter {r.meter_id}; give "
                                              "--replace to correct it (logged)")
                    conn.execute(update(LOTR).where(LOTR.c.id == old["id"]).values(**values))
                    rid = old["id"]
                    h = self._seal_item(conn, "lot_results", rid)
                    self._log(conn, who, "lot_results", rid, "replace", meter_id=r.meter_id,
                              before={k: old[k] for k in values}, after={"lot_id": lot_id, **values, "content_hash": h},
                              anchors=[("lot_results", rid, h)])
                else:
                    rid = conn.execute(insert(LOTR).values(lot_id=lot_id, meter_id=r.meter_id, **values)
                                       .returning(LOTR.c.id)).scalar_one()
                    h = self._seal_item(conn, "lot_results", rid)
                    self._log(conn, who, "lot_results", rid, "create", meter_id=r.meter_id,
                              after={"lot_id": lot_id, **values, "content_hash": h},
                              anchors=[("lot_results", rid, h)])
                if r.draw_status is not None and r.draw_status != d["status"]:
                    self._set_draw_status(conn, who, lot_id, r.meter_id, d["status"], r.draw_status)
                out.append({"result_id": rid, "meter_id": r.meter_id, "calibration_result_id": cal_id,
                            "replaced": old is not None, "spare": bool(d["spare"])})
            if lot["status"] in ("formed", "drawn"):
                conn.execute(update(LOT).where(LOT.c.id == lot_id).values(status="testing"))
        return out

    def record_lot_result(self, lot_id: int, meter_id: int, *, error_pct: float | None = None,
                          limit_pct: float | None = None, defective: bool | None = None, inaccessible: bool = False,
                          calibration_result_id: int | None = None, tested_on: dt.date | None = None,
                          notes: str | None = None, user: str | None = None) -> int:
        """The result of one drawn meter (see ``record_lot_results``); returns its id."""
        [stored] = self.record_lot_results(lot_id, [LotResult(
            meter_id=meter_id, error_pct=error_pct, limit_pct=limit_pct, defective=defective,
            inaccessible=inaccessible, tested_on=tested_on, notes=notes,
            calibration_result_id=calibration_result_id)], user=user)
        return stored["result_id"]

    # ---- deciding --------------------------------------------------------------------------

    def record_lot_verdict(self, lot_id: int, *, decided_on: dt.date, verdict: str, sample_tested: int | None = None,
                           defectives: int | None = None, acceptance_number: int | None = None,
                           rejection_number: int | None = None, retain_until: dt.date | None = None,
                           notes: str | None = None, user: str | None = None) -> int:
        """Store the lot's verdict ("pass" or "fail"; ``notes``: the action that follows). A lot is
        decided once: a second verdict is refused. Returns the verdict's id."""
        if verdict not in ("pass", "fail"):
            raise ValidationError(f"verdict {verdict!r} must be pass or fail")
        who = self.user_name(user)
        with self._write() as conn:
            self._lock_lot(conn, lot_id)
            if latest_verdict(conn, lot_id) is not None:  # decided meanwhile by someone else
                raise ValidationError(f"lot {lot_id} already has a verdict")
            vid = conn.execute(insert(LOTV).values(
                lot_id=lot_id, decided_on=decided_on, verdict=verdict, sample_tested=sample_tested,
                defectives=defectives, acceptance_number=acceptance_number, rejection_number=rejection_number,
                retain_until=retain_until, decided_by=who, notes=notes).returning(LOTV.c.id)).scalar_one()
            conn.execute(update(LOT).where(LOT.c.id == lot_id).values(status=f"verdict_{verdict}"))
            h = self._seal_item(conn, "lot_verdicts", vid)
            self._log(conn, who, "lots", lot_id, "verdict",
                      after={"verdict": verdict, "decided_on": decided_on, "defectives": defectives,
                             "tested": sample_tested, "acceptance_number": acceptance_number, "action": notes,
                             "retain_until": retain_until, "verdict_id": vid, "content_hash": h},
                      anchors=[("lot_verdicts", vid, h)])
        return vid

    # ---- reading ---------------------------------------------------------------------------

    def get_lot(self, lot_id: int) -> dict[str, Any]:
        with self._read() as conn:
            lot = conn.execute(select(LOT).where(LOT.c.id == lot_id)).mappings().first()
            if lot is None:
                raise NotFound(f"no lot {lot_id}")
            d = dict(lot)
            d["members"] = [dict(r) for r in conn.execute(select(LOTM).where(LOTM.c.lot_id == lot_id)
                                                          .order_by(LOTM.c.position)).mappings()]
            d["draws"] = [dict(r) for r in conn.execute(select(LOTD).where(LOTD.c.lot_id == lot_id)
                                                        .order_by(LOTD.c.draw_order)).mappings()]
            d["results"] = [dict(r) for r in conn.execute(select(LOTR).where(LOTR.c.lot_id == lot_id)
                                                          .order_by(LOTR.c.id)).mappings()]
            d["verdicts"] = [dict(r) for r in conn.execute(select(LOTV).where(LOTV.c.lot_id == lot_id)
                                                           .order_by(LOTV.c.id)).mappings()]
        return d

    def list_lots(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(LOT).order_by(LOT.c.id)).mappings()]

    def lots_of_meter(self, meter_id: int) -> list[dict[str, Any]]:
        with self._read() as conn:
            q = (select(LOT).select_from(LOT.join(LOTM, LOTM.c.lot_id == LOT.c.id))
                 .where(LOTM.c.meter_id == meter_id).order_by(LOT.c.id))
            return [dict(r) for r in conn.execute(q).mappings()]
