"""The year's maintenance work as stored: recalibrations, replacements, battery changes, visits without access,
meters sent to the test lab, and the register's rows of the lot-key alias table.

One write path for the CLI (``heatmeter meters recalibrate/replace/battery``),
the meter page, the register page's bulk actions and a lab's or contractor's
results file: :meth:`Maintenance.record_work` takes a list of
:class:`WorkItem` and applies all of them in one transaction, or none (the
first refused item names its line or meter, and nothing is stored). Each
meter is locked while it is changed (``SELECT ... FOR UPDATE`` on PostgreSQL,
the write transaction's lock on SQLite); a caller that loaded the meter
passes the ``expected_version`` it saw, and a meter changed meanwhile is
refused (``ConflictError``) instead of being overwritten. Every change is a
meter event (who, when, before, after).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from app.core.lot_keys import check_alias, normalise
from app.storage import manufacturers, models
from app.storage.errors import ConflictError, NotFound, ValidationError
from app.storage.records import jsonable
from app.storage.register.calibration import NewCalibration
from app.storage.register.lots import Lots, UnknownLot, latest_verdict
from app.storage.register.meters import Meters
from app.storage.register.tables import ALIAS, CAL, INST, LOTD, M, manufacturer_key

WORK_KINDS = ("recalibrate", "replace", "battery", "no_access")
VERDICTS = ("pass", "fail")
#: What a replacement meter takes over from the meter it replaces unless given (its rating and bus position).
RATING_FIELDS = ("mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "qs_m3h", "dn", "dtheta_min_k", "dtheta_max_k",
                 "temp_min_c", "temp_max_c", "flow_sensor_position", "primary_address", "baud")
_SECONDARY = re.compile(r"^\d{8}$")
_OCCUPANT_FIELDS = ("occupant_name", "flat", "customer_reference")


@dataclass
class WorkItem:
    """One piece of work on one meter.

    ``kind``: ``recalibrate`` (``verdict`` pass/fail, optional ``error_pct``
    or calibration ``points`` with the calculator's ``result``, ``lab``,
    ``certificate``), ``replace`` (``new_serial``, optional
    ``new_manufacturer``, ``new_model``, ``new_fields`` for the new meter,
    ``reason``), ``battery`` (``expiry``: the new expected end of life) or
    ``no_access`` (the technician could not get to the meter; ``notes``).
    ``where``: how errors name this item ("jobs.csv: line 7"), else the meter.
    """

    kind: str
    meter_id: int
    on: dt.date
    expected_version: int | None = None
    verdict: str | None = None
    error_pct: float | None = None
    points: Sequence[dict[str, Any]] | None = None
    result: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    lab: str | None = None
    certificate: str | None = None
    new_serial: str | None = None
    new_manufacturer: str | None = None
    new_model: str | None = None
    new_fields: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    expiry: dt.date | None = None
    notes: str | None = None
    where: str | None = None


class Maintenance(Meters, Lots):
    """Recording the maintenance work; meters sent to the lab; the alias table."""

    # ---- the work ------------------------------------------------------------------------

    def record_work(self, items: Sequence[WorkItem], *, user: str | None = None, source: str | None = None,
                    today: dt.date | None = None) -> list[dict[str, Any]]:
        """Apply every item in one transaction, or none. Returns per item what was done
        (``kind``, ``meter_id``, and ``calibration_result_id`` / ``new_meter_id`` / ``battery_expiry``)."""
        if not items:
            raise ValidationError("no work to record")
        today = today or dt.date.today()
        out: list[dict[str, Any]] = []
        with self._write() as conn:
            who = self.user_name(user)
            versions: dict[int, int] = {}
            for it in items:
                where = f"{it.where}: " if it.where else ""
                if it.kind not in WORK_KINDS:
                    raise ValidationError(f"{where}unknown work {it.kind!r} (one of {', '.join(WORK_KINDS)})")
                cur = self._lock_work_meter(conn, it.meter_id, where)
                label = f"meter {cur['manufacturer']} {cur['serial']}"
                if it.expected_version is not None and it.meter_id not in versions \
                        and cur["version"] != it.expected_version:
                    cur.update(self._placement_names(conn, cur))
                    c = self._conflict(conn, cur, it.expected_version, {})
                    raise ConflictError(f"{where}{c}", c.changes, c.current_version)
                versions[it.meter_id] = cur["version"]
                if cur["status"] != "in_service":
                    raise ValidationError(f"{where}{label} is {cur['status'].replace('_', ' ')}, not in service: "
                                          "nothing recorded")
                if it.on > today:
                    raise ValidationError(f"{where}{label}: the date {it.on.isoformat()} is in the future")
                if cur["install_date"] is not None and it.on < cur["install_date"] and it.kind != "no_access":
                    raise ValidationError(f"{where}{label}: the date {it.on.isoformat()} is before its "
                                          f"installation ({cur['install_date'].isoformat()})")
                done = getattr(self, f"_work_{it.kind}")(conn, it, cur, label, where, who, source)
                out.append({"kind": it.kind, "meter_id": it.meter_id, "manufacturer": cur["manufacturer"],
                            "serial": cur["serial"], "on": it.on.isoformat(), **done})
        return out

    def _lock_work_meter(self, conn: Connection, meter_id: int, where: str) -> dict[str, Any]:
        """The meter locked until the transaction ends (its ``before`` is the committed state)."""
        row = self._lock_meters(conn, [meter_id]).get(int(meter_id))
        if row is None:
            raise NotFound(f"{where}no meter with id {meter_id}")
        return row

    def _bump(self, conn: Connection, cur: dict[str, Any], values: dict[str, Any]) -> int:
        v = cur["version"] + 1
        res = conn.execute(update(M).where(M.c.id == cur["id"], M.c.version == cur["version"])
                           .values(**values, version=v, updated_at=models.utcnow()))
        if res.rowcount != 1:  # cannot happen under the row lock; never overwrite silently if it does
            raise ConflictError(f"meter {cur['manufacturer']} {cur['serial']} was changed meanwhile; nothing saved")
        cur["version"] = v
        cur.update(values)
        return v

    def _work_recalibrate(self, conn, it: WorkItem, cur, label, where, who, source) -> dict[str, Any]:
        if it.verdict not in VERDICTS:
            raise ValidationError(f"{where}{label}: the verdict must be pass or fail, not {it.verdict!r}")
        same = conn.execute(select(CAL.c.id, CAL.c.recorded_by).where(
            CAL.c.meter_id == cur["id"], CAL.c.lot_id.is_(None), CAL.c.tested_on == it.on)).first()
        if same is not None:
            raise ValidationError(f"{where}{label} already has a recalibration on {it.on.isoformat()} (recorded by "
                                  f"{same.recorded_by}); nothing stored")
        points = list(it.points or ([{"error_pct": it.error_pct}] if it.error_pct is not None else []))
        result = dict(it.result or {})
        result["initial_verdict"] = it.verdict
        result.setdefault("in_service_verdict", it.verdict)
        inputs = {"basis": "recalibration", **(it.inputs or {})}
        cal = NewCalibration(tested_on=it.on, subassembly="complete_meter", points=points, result=result,
                             inputs=inputs, lab=it.lab, certificate=it.certificate, notes=it.notes)
        try:
            cal.check()
        except ValidationError as exc:
            raise ValidationError(f"{where}{label}: {exc}") from None
        cid = self._insert_calibration(conn, cur["id"], cal, lot_id=None, user=who, now=models.utcnow())
        before = {"version": cur["version"]}
        v = self._bump(conn, cur, {})
        self._log(conn, who, "meters", cur["id"], "recalibrate", meter_id=cur["id"], before=before,
                  after={"on": it.on, "verdict": it.verdict, "error_pct": it.error_pct, "lab": it.lab,
                         "certificate": it.certificate, "calibration_result_id": cid, "version": v},
                  source=source)
        return {"verdict": it.verdict, "calibration_result_id": cid}

    def _work_battery(self, conn, it: WorkItem, cur, label, where, who, source) -> dict[str, Any]:
        if it.expiry is None:
            raise ValidationError(f"{where}{label}: the new battery's expected end of life is needed (--expiry)")
        if it.expiry <= it.on:
            raise ValidationError(f"{where}{label}: the battery's end of life {it.expiry.isoformat()} must come "
                                  f"after its replacement on {it.on.isoformat()}")
        before = {"battery_expiry": cur["battery_expiry"], "battery_replaced_on": cur["battery_replaced_on"],
                  "version": cur["version"]}
        v = self._bump(conn, cur, {"battery_expiry": it.expiry, "battery_replaced_on": it.on})
        self._log(conn, who, "meters", cur["id"], "battery", meter_id=cur["id"], before=before,
                  after={"battery_expiry": it.expiry, "battery_replaced_on": it.on, "notes": it.notes, "version": v},
                  source=source)
        return {"battery_expiry": it.expiry.isoformat()}

    def _work_no_access(self, conn, it: WorkItem, cur, label, where, who, source) -> dict[str, Any]:
        self._log(conn, who, "meters", cur["id"], "no_access", meter_id=cur["id"],
                  after={"on": it.on, "notes": it.notes}, source=source)
        return {}

    def _work_replace(self, conn, it: WorkItem, cur, label, where, who, source) -> dict[str, Any]:
        serial = (it.new_serial or "").strip()
        if not serial:
            raise ValidationError(f"{where}{label}: the new meter's serial is needed (--new-serial)")
        cur.update(self._placement_names(conn, cur))
        make = (it.new_manufacturer or "").strip() or cur["manufacturer"]
        fields: dict[str, Any] = {"manufacturer": make, "model": (it.new_model or "").strip() or cur["model"],
                                  "serial": serial, "install_date": it.on.isoformat()}
        for k in ("site", "building", "monitoring_point", "location"):
            fields[k] = cur[k]
        for k in RATING_FIELDS:
            if cur.get(k) is not None:
                fields[k] = cur[k]
        for k in _OCCUPANT_FIELDS:  # the same flat and occupant (a role that may not read them copies none)
            if cur.get(k) is not None:
                fields[k] = cur[k]
        if make == cur["manufacturer"] and cur["mbus_manufacturer"]:
            fields["mbus_manufacturer"] = cur["mbus_manufacturer"]
        if _SECONDARY.match(serial):
            fields["secondary_address"] = serial
        fields.update({k: v for k, v in (it.new_fields or {}).items() if v is not None and v != ""})
        try:
            values = self._check_fields(fields, creating=True)
        except ValidationError as exc:
            raise ValidationError(f"{where}new meter {make} {serial}: {exc}") from None
        if conn.execute(select(M.c.id).where(M.c.manufacturer_key == manufacturer_key(values["manufacturer"]),
                                             M.c.serial == values["serial"])).first():
            raise ValidationError(f"{where}meter {values['manufacturer']} {values['serial']} is already in the "
                                  "register: a replacement needs a new meter")
        # The new meter's history starts with its create event, which names the meter it replaced; the
        # data-protection flags carry over (the same flat and occupant).
        flags = {k: True for k in ("legal_hold", "restrict_processing") if cur.get(k)}
        new_id = self._insert_meter(conn, values, user=who,
                                    source=source or f"replaces meter {cur['manufacturer']} {cur['serial']}",
                                    extra_after={"replaces_meter_id": cur["id"],
                                                 "replaces": f"{cur['manufacturer']} {cur['serial']}", **flags})
        if flags:
            conn.execute(update(M).where(M.c.id == new_id).values(**flags))
        self._close_open_installation(conn, cur["id"], it.on, it.reason or "replaced", new_id, who)
        before = {"status": cur["status"], "version": cur["version"]}
        v = self._bump(conn, cur, {"status": "removed"})
        self._log(conn, who, "meters", cur["id"], "replaced", meter_id=cur["id"], before=before,
                  after={"status": "removed", "replaced_by_meter_id": new_id, "replaced_by": f"{make} {serial}",
                         "removed_on": it.on, "reason": it.reason, "version": v}, source=source)
        # A meter drawn in a lot that has no verdict yet: its draw is "replaced" (a spare stands in).
        # The lot is locked first: a verdict recorded at the same time comes before or after, never between.
        for lot_id in sorted({r for (r,) in conn.execute(select(LOTD.c.lot_id).where(LOTD.c.meter_id == cur["id"]))}):
            self._lock_lot(conn, lot_id)
            status = conn.execute(select(LOTD.c.status).where(LOTD.c.lot_id == lot_id,
                                                              LOTD.c.meter_id == cur["id"])).scalar()
            if latest_verdict(conn, lot_id) is None and status in ("drawn", "at_lab"):
                self._set_draw_status(conn, who, lot_id, cur["id"], status, "replaced")
        return {"new_meter_id": new_id, "new_manufacturer": make, "new_serial": serial}

    # ---- convenience: one piece of work -------------------------------------------------------

    def record_recalibration(self, meter_id: int, *, on: dt.date, verdict: str, error_pct: float | None = None,
                             points: Sequence[dict[str, Any]] | None = None, result: dict[str, Any] | None = None,
                             inputs: dict[str, Any] | None = None, lab: str | None = None,
                             certificate: str | None = None, notes: str | None = None,
                             expected_version: int | None = None, user: str | None = None) -> dict[str, Any]:
        """A recalibration of the complete meter: ``pass`` restarts its 10-year clock (MMS 1.3.3),
        ``fail`` puts it on the replacement list (never evidence of a recalibration)."""
        return self.record_work([WorkItem("recalibrate", meter_id, on, expected_version, verdict=verdict,
                                          error_pct=error_pct, points=points, result=result, inputs=inputs, lab=lab,
                                          certificate=certificate, notes=notes)], user=user)[0]

    def record_replacement(self, meter_id: int, *, on: dt.date, new_serial: str, new_manufacturer: str | None = None,
                           new_model: str | None = None, new_fields: dict[str, Any] | None = None,
                           reason: str | None = None, expected_version: int | None = None,
                           user: str | None = None) -> dict[str, Any]:
        """The meter leaves service on ``on``; a new meter takes its place (see ``_work_replace``)."""
        return self.record_work([WorkItem("replace", meter_id, on, expected_version, new_serial=new_serial,
                                          new_manufacturer=new_manufacturer, new_model=new_model,
                                          new_fields=dict(new_fields or {}), reason=reason)], user=user)[0]

    def record_battery_change(self, meter_id: int, *, on: dt.date, expiry: dt.date, notes: str | None = None,
                              expected_version: int | None = None, user: str | None = None) -> dict[str, Any]:
        return self.record_work([WorkItem("battery", meter_id, on, expected_version, expiry=expiry, notes=notes)],
                                user=user)[0]

    def replacement_links(self, meter_id: int) -> dict[str, Any]:
        """Which meter replaced this one (``replaced_by``), and which meters it replaced (``replaces``)."""
        with self._read() as conn:
            by = conn.execute(select(INST.c.replaced_by_meter_id, INST.c.removed_on, INST.c.removal_reason)
                              .where(INST.c.meter_id == meter_id, INST.c.replaced_by_meter_id.is_not(None))
                              .order_by(INST.c.id.desc())).first()
            olds = conn.execute(select(INST.c.meter_id, INST.c.removed_on, M.c.manufacturer, M.c.serial)
                                .select_from(INST.join(M, M.c.id == INST.c.meter_id))
                                .where(INST.c.replaced_by_meter_id == meter_id).order_by(INST.c.id)).all()
            new = None
            if by is not None:
                r = conn.execute(select(M.c.manufacturer, M.c.serial).where(M.c.id == by.replaced_by_meter_id)).first()
                new = {"meter_id": by.replaced_by_meter_id, "manufacturer": r.manufacturer if r else None,
                       "serial": r.serial if r else None, "on": jsonable(by.removed_on), "reason": by.removal_reason}
        return {"replaced_by": new,
                "replaces": [{"meter_id": o.meter_id, "manufacturer": o.manufacturer, "serial": o.serial,
                              "on": jsonable(o.removed_on)} for o in olds]}

    # ---- meters at the test lab ----------------------------------------------------------------

    def send_to_lab(self, lot_id: int, meter_ids: Sequence[int], *, on: dt.date, user: str | None = None) -> int:
        """Drawn meters of a lot leave for the test lab: their draw is ``at_lab`` until their result comes
        back (``record_lot_results``) or they are replaced. Returns how many changed."""
        n = 0
        with self._write() as conn:
            who = self.user_name(user)
            try:
                self._lock_lot(conn, lot_id)  # the draws' statuses change on top of the committed ones
            except UnknownLot:
                raise NotFound(f"no lot {lot_id}") from None
            if latest_verdict(conn, lot_id) is not None:
                raise ValidationError(f"lot {lot_id} has a verdict: its meters are no longer sent to the lab")
            drawn = {r.meter_id: r.status for r in conn.execute(
                select(LOTD.c.meter_id, LOTD.c.status).where(LOTD.c.lot_id == lot_id))}
            for mid in meter_ids:
                st = drawn.get(mid)
                if st is None:
                    raise ValidationError(f"meter {mid} was not drawn for lot {lot_id}")
                if st == "drawn":
                    self._set_draw_status(conn, who, lot_id, mid, st, "at_lab")
                    self._log(conn, who, "meters", mid, "sent_to_lab", meter_id=mid,
                              after={"lot_id": lot_id, "on": on})
                    n += 1
        return n

    # ---- the alias table ------------------------------------------------------------------------

    def model_aliases(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [jsonable(dict(r)) for r in conn.execute(select(ALIAS).order_by(ALIAS.c.id)).mappings()]

    def add_model_alias(self, manufacturer: str, alias: str, model: str, *, notes: str | None = None,
                        user: str | None = None) -> int:
        """Say that ``alias`` is the model ``model`` of ``manufacturer`` (a make or FLAG code; "" for any make).
        A make is stored as its FLAG code when the manufacturer table knows it."""
        make = (manufacturer or "").strip()
        flag = manufacturers.flag_for_make(make) if make else ""
        if make and not flag:
            flag = make
        alias, model = alias.strip(), model.strip()
        try:
            check_alias(flag, alias, model)
        except Exception as exc:  # InputError: one line naming the field
            raise ValidationError(str(exc)) from None
        with self._write() as conn:
            who = self.user_name(user)
            old = conn.execute(select(ALIAS).where(ALIAS.c.manufacturer == flag,
                                                   ALIAS.c.alias_key == normalise(alias))).mappings().first()
            if old is not None:
                raise ValidationError(f"{alias!r} is already an alias of {old['model']!r} for "
                                      f"{flag or 'every make'} (remove it first)")
            aid = conn.execute(insert(ALIAS).values(
                manufacturer=flag, alias=alias, alias_key=normalise(alias), model=model, created_by=who,
                created_at=models.utcnow(), notes=notes).returning(ALIAS.c.id)).scalar_one()
            self._log(conn, who, "model_aliases", aid, "create",
                      after={"manufacturer": flag, "alias": alias, "model": model, "notes": notes})
        return aid

    def remove_model_alias(self, alias_id: int, *, user: str | None = None) -> None:
        with self._write() as conn:
            who = self.user_name(user)
            found = self._lock_rows(conn, ALIAS, ALIAS.c.id == alias_id)
            if not found:
                raise NotFound(f"no alias with id {alias_id}")
            old = found[0]
            conn.execute(delete(ALIAS).where(ALIAS.c.id == alias_id))
            self._log(conn, who, "model_aliases", alias_id, "delete",
                      before={k: old[k] for k in ("manufacturer", "alias", "model", "notes")})
