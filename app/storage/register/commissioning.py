"""Commissioning records: the wizard's draft saved step by step, then signed (read-only from then on)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update

from app.storage import models
from app.storage.errors import ConflictError, NotFound, SignedRecordError, ValidationError
from app.storage.records import jsonable
from app.storage.register.tables import COM, INST, MP, MW, PH, B, M, RO, S
from app.storage.register.unit import UnitOfWork

CHECKLIST_ANSWERS = ("yes", "no", "na")


class Commissioning(UnitOfWork):
    """Create, save, sign and read commissioning records."""

    def create_commissioning(self, meter_id: int, *, user: str | None = None, technician: str | None = None,
                             commissioned_on: dt.date | None = None) -> dict[str, Any]:
        """Start a commissioning record (a draft at step 0) for the meter's open installation."""
        with self._write() as conn:
            if conn.execute(select(M.c.id).where(M.c.id == meter_id)).first() is None:
                raise NotFound(f"no meter with id {meter_id}")
            iid = conn.execute(select(INST.c.id).where(INST.c.meter_id == meter_id, INST.c.removed_on.is_(None))
                               .order_by(INST.c.id.desc())).scalar()
            now = models.utcnow()
            cid = conn.execute(insert(COM).values(
                meter_id=meter_id, installation_id=iid, technician=technician or user, commissioned_on=commissioned_on,
                checklist={}, status="draft", current_step=0, created_by=self.user_name(user), created_at=now,
                updated_at=now, version=1).returning(COM.c.id)).scalar_one()
            self._log(conn, user, "commissioning_records", cid, "create", meter_id=meter_id,
                      after={"technician": technician or user, "commissioned_on": commissioned_on})
        return self.get_commissioning(cid)

    def get_commissioning(self, record_id: int) -> dict[str, Any]:
        with self._read() as conn:
            r = conn.execute(select(COM).where(COM.c.id == record_id)).mappings().first()
            if r is None:
                raise NotFound(f"no commissioning record {record_id}")
            d = dict(r)
            d["readout_ids"] = [x for (x,) in conn.execute(select(RO.c.id).where(RO.c.commissioning_id == record_id)
                                                          .order_by(RO.c.id))]
            d["meter_write_ids"] = [x for (x,) in conn.execute(
                select(MW.c.id).where(MW.c.commissioning_id == record_id).order_by(MW.c.id))]
            d["photo_ids"] = [x for (x,) in conn.execute(
                select(PH.c.id).where(PH.c.commissioning_id == record_id).order_by(PH.c.id))]
        return d

    def list_commissioning(self, *, meter_id: int | None = None, status: str | None = None,
                           created_by: str | None = None) -> list[dict[str, Any]]:
        """Records, newest first; ``status="draft"`` finds wizards to resume after a crash."""
        q = select(COM).order_by(COM.c.updated_at.desc(), COM.c.id.desc())
        if meter_id is not None:
            q = q.where(COM.c.meter_id == meter_id)
        if status:
            q = q.where(COM.c.status == status)
        if created_by:
            q = q.where(COM.c.created_by == created_by)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def commissioning_at_point(self, site: str, monitoring_point: str, *, building: str | None = None,
                               status: str | None = "signed", exclude_id: int | None = None) -> dict | None:
        """The newest commissioning record (``status`` signed by default; None: any) of a meter placed now
        at ``monitoring_point`` (its Annex A id or its label) of ``site`` (and ``building`` when given),
        e.g. the SS1 of the substation whose SS2 is being commissioned (approach temperature, HNTAS
        SS-KPI-12). None when there is none."""
        point = " ".join((monitoring_point or "").split())
        q = (select(COM).select_from(COM.join(M, M.c.id == COM.c.meter_id).join(S, S.c.id == M.c.site_id)
                                     .join(MP, MP.c.id == M.c.monitoring_point_id).outerjoin(B, B.c.id == M.c.building_id))
             .where(S.c.name == " ".join(site.split()), (MP.c.mms_id == point.upper()) | (MP.c.label == point))
             .order_by(COM.c.updated_at.desc(), COM.c.id.desc()))
        if building:
            q = q.where(B.c.name == " ".join(building.split()))
        if status:
            q = q.where(COM.c.status == status)
        if exclude_id is not None:
            q = q.where(COM.c.id != exclude_id)
        with self._read() as conn:
            r = conn.execute(q.limit(1)).mappings().first()
        return dict(r) if r is not None else None

    def save_commissioning_step(self, record_id: int, *, step: int, answers: dict[str, Any] | None = None,
                                notes: str | None = None, plausibility: dict[str, Any] | None = None,
                                technician: str | None = None, commissioned_on: dt.date | None = None,
                                expected_version: int | None = None, user: str | None = None) -> dict[str, Any]:
        """Save the wizard's draft at ``step``. ``answers``: item -> "yes"|"no"|"na" or
        {"answer": ..., "note": ...}; merged into the checklist. Signed records refuse."""
        norm: dict[str, Any] = {}
        for item, a in (answers or {}).items():
            ans, note = (a.get("answer"), a.get("note")) if isinstance(a, dict) else (a, None)
            if ans is not None and str(ans).lower() not in CHECKLIST_ANSWERS:
                raise ValidationError(f"checklist item {item!r}: answer {ans!r} must be yes, no or na")
            norm[str(item)] = {"answer": None if ans is None else str(ans).lower(), "note": note}
        with self._write() as conn:
            r = self._lock_record(conn, record_id)
            if r["status"] == "signed":
                raise SignedRecordError(f"commissioning record {record_id} is signed and cannot be changed")
            if expected_version is not None and r["version"] != expected_version:
                raise ConflictError(f"commissioning record {record_id} was saved elsewhere after you loaded it "
                                    f"(your version {expected_version}, now {r['version']}); nothing saved",
                                    [], r["version"])
            checklist = dict(r["checklist"] or {})
            checklist.update(norm)
            values: dict[str, Any] = {"current_step": step, "checklist": checklist, "updated_at": models.utcnow(),
                                      "version": r["version"] + 1}
            if notes is not None:
                values["notes"] = notes
            if plausibility is not None:
                values["plausibility"] = jsonable(plausibility)
            if technician is not None:
                values["technician"] = technician
            if commissioned_on is not None:
                values["commissioned_on"] = commissioned_on
            conn.execute(update(COM).where(COM.c.id == record_id).values(**values))
            changed = {k: values[k] for k in values if k not in ("updated_at", "checklist")}
            if norm:
                changed["answers"] = norm
            self._log(conn, user, "commissioning_records", record_id, "save_step", meter_id=r["meter_id"],
                      before={"current_step": r["current_step"]}, after=changed)
        return self.get_commissioning(record_id)

    def sign_commissioning(self, record_id: int, *, user: str | None = None, signed_by: str | None = None
                           ) -> dict[str, Any]:
        """Sign a draft: it becomes read-only, and its content hash (``content_hash``, printed on the
        certificate) is anchored in the event log. Needs a technician and a date."""
        with self._write() as conn:
            r = self._lock_record(conn, record_id)
            if r["status"] == "signed":
                raise SignedRecordError(f"commissioning record {record_id} is already signed")
            missing = [k for k in ("technician", "commissioned_on") if not r[k]]
            if missing:
                raise ValidationError(f"cannot sign commissioning record {record_id}: no {' or '.join(missing)}")
            unanswered = [k for k, a in (r["checklist"] or {}).items() if not (a or {}).get("answer")]
            if unanswered:
                raise ValidationError(f"cannot sign: checklist items without an answer: {', '.join(unanswered)}")
            who = signed_by or self.user_name(user)
            now = models.utcnow()
            conn.execute(update(COM).where(COM.c.id == record_id).values(
                status="signed", signed_by=who, signed_at=now, updated_at=now, version=r["version"] + 1))
            # the evidence signed with it: the photos by their hash, the writes to the meter by id
            photos = [{"id": p.id, "step": p.step, "sha256": p.sha256} for p in conn.execute(
                select(PH.c.id, PH.c.step, PH.c.sha256).where(PH.c.commissioning_id == record_id).order_by(PH.c.id))]
            writes = [w for (w,) in conn.execute(select(MW.c.id).where(MW.c.commissioning_id == record_id)
                                                 .order_by(MW.c.id))]
            h = self._seal_item(conn, "commissioning_records", record_id)
            self._log(conn, user, "commissioning_records", record_id, "sign", meter_id=r["meter_id"],
                      before={"status": "draft"}, after={"status": "signed", "signed_by": who, "content_hash": h,
                                                         "photos": photos, "meter_writes": writes},
                      anchors=[("commissioning_records", record_id, h)])
        return self.get_commissioning(record_id)

    def _lock_record(self, conn, record_id: int) -> dict[str, Any]:
        rows = self._lock_rows(conn, COM, COM.c.id == record_id)
        if not rows:
            raise NotFound(f"no commissioning record {record_id}")
        return rows[0]
