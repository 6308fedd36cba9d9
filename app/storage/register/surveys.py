"""Connectivity surveys of radio meters (MMS 2.1.9), kept with their site as evidence.

A survey is stored whole, once (:meth:`Surveys.save_survey`): its settings (receiver, mode, sensitivity,
thresholds), its locations, every telegram heard there byte for byte with its RSSI, the verdicts as
reported, and a SHA-256 digest over the telegrams and locations; :meth:`Surveys.survey` reads it back and
says whether the digest still matches (``digest_ok``). Telegrams are matched to register meters by FLAG
code and secondary address where the register knows them. The event log gets one entry per survey
(counts and the digest, never telegram contents).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from app.storage import models
from app.storage.errors import NotFound, ValidationError
from app.storage.register.places import Places
from app.storage.register.tables import M, RS, RSL, RST, S

__all__ = ["Surveys", "survey_digest"]

_LOC_FIELDS = ("name", "floor", "flat", "riser", "note")
_TG_FIELDS = ("manufacturer", "identification", "rssi_dbm", "rssi_raw", "mode", "crc", "version", "medium",
              "security", "status")


def _utc(v: Any) -> dt.datetime | None:
    """A timestamp as naive UTC (the register's form); ISO text accepted."""
    if v is None or v == "":
        return None
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v)
    if v.tzinfo is not None:
        v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return v.replace(microsecond=(v.microsecond // 1000) * 1000)    # milliseconds: what every backend keeps


def _iso(v: dt.datetime | None) -> str | None:
    return None if v is None else v.isoformat(timespec="milliseconds")


def survey_digest(locations: list[dict]) -> str:
    """SHA-256 over the locations and their telegrams in a canonical form (times as naive UTC ISO text
    in milliseconds, RSSI to 0.1 dB, raw bytes in hex)."""
    h = hashlib.sha256()
    for loc in locations:
        head = [loc.get(k) or "" for k in _LOC_FIELDS] + [_iso(_utc(loc.get("started_at"))),
                                                         _iso(_utc(loc.get("ended_at")))]
        h.update(json.dumps(head, ensure_ascii=True).encode())
        for t in loc.get("telegrams") or ():
            rssi = t.get("rssi_dbm")
            row = [_iso(_utc(t["received_at"])), t.get("manufacturer"), t.get("identification"),
                   None if rssi is None else round(float(rssi), 1), t.get("mode"), bytes(t["raw"]).hex()]
            h.update(json.dumps(row, ensure_ascii=True).encode())
    return h.hexdigest()


class Surveys(Places):
    """Saving and reading connectivity surveys."""

    def save_survey(self, doc: dict[str, Any], *, user: str | None = None,
                    results: dict[str, Any] | None = None) -> int:
        """Store a survey (``app.core.radio.survey.Survey.to_document()``: site, name, technician, notes,
        settings, locations with their telegrams) with the site; ``results``: the verdicts as reported.
        One transaction; returns the survey's id."""
        site = " ".join(str(doc.get("site") or "").split())
        if not site:
            raise ValidationError("a survey needs the site it was made at")
        locs = list(doc.get("locations") or ())
        if not locs:
            raise ValidationError("a survey needs at least one location listened at")
        for i, loc in enumerate(locs, 1):
            if not str(loc.get("name") or "").strip():
                raise ValidationError(f"location {i} of the survey has no name")
            for t in loc.get("telegrams") or ():
                if not t.get("raw") or t.get("received_at") is None:
                    raise ValidationError(f"a telegram at location {i} has no bytes or no time")
        st = doc.get("settings") or {}
        digest = survey_digest(locs)
        starts = [_utc(x.get("started_at")) for x in locs if x.get("started_at")]
        ends = [_utc(x.get("ended_at")) for x in locs if x.get("ended_at")]
        n_tg = sum(len(x.get("telegrams") or ()) for x in locs)
        with self._write() as conn:
            sid_site = self._site_id(conn, site)
            sid = conn.execute(insert(RS).values(
                site_id=sid_site, name=doc.get("name") or None, technician=doc.get("technician") or None,
                notes=doc.get("notes") or None, dongle=st.get("dongle"), mode=st.get("mode"),
                sensitivity_dbm=st.get("sensitivity_dbm"), margin_db=float(st.get("margin_db", 10.0)),
                min_ratio=float(st.get("min_ratio", 0.8)), min_expected=float(st.get("min_expected", 5.0)),
                started_at=min(starts) if starts else None, ended_at=max(ends) if ends else None,
                results=results, digest=digest, created_by=self.user_name(user), created_at=models.utcnow(),
            ).returning(RS.c.id)).scalar_one()
            meters = self._survey_meter_ids(conn, locs)
            for seq, loc in enumerate(locs):
                lid = conn.execute(insert(RSL).values(
                    survey_id=sid, seq=seq, **{k: (loc.get(k) or None) for k in _LOC_FIELDS},
                    started_at=_utc(loc.get("started_at")), ended_at=_utc(loc.get("ended_at")),
                ).returning(RSL.c.id)).scalar_one()
                rows = [{"location_id": lid, "seq": i, "received_at": _utc(t["received_at"]), "raw": bytes(t["raw"]),
                         "meter_id": meters.get((t.get("manufacturer"), t.get("identification"))),
                         **{k: t.get(k) for k in _TG_FIELDS}} for i, t in enumerate(loc.get("telegrams") or ())]
                for r in rows:
                    if r["security"] is not None:
                        r["security"] = str(r["security"])
                if rows:
                    conn.execute(insert(RST), rows)
            heard = {(t.get("manufacturer"), t.get("identification")) for x in locs for t in x.get("telegrams") or ()}
            self._log(conn, user, "radio_surveys", sid, "create",
                      after={"site": site, "name": doc.get("name"), "locations": len(locs), "telegrams": n_tg,
                             "meters": len(heard), "matched_meters": len(meters), "digest": digest},
                      anchors=[("radio_surveys", sid, digest)])  # db verify checks the telegrams against it
        return sid

    def _survey_meter_ids(self, conn: Connection, locs: list[dict]) -> dict[tuple, int]:
        """(FLAG, identification) -> register meter id, for the meters heard that the register knows once."""
        wanted = {(t.get("manufacturer"), t.get("identification")) for x in locs for t in x.get("telegrams") or ()
                  if t.get("manufacturer") and t.get("identification")}
        if not wanted:
            return {}
        idents = sorted({i for _m, i in wanted})
        out: dict[tuple, int] = {}
        seen: dict[tuple, int] = {}
        for chunk in range(0, len(idents), 500):
            q = select(M.c.id, M.c.mbus_manufacturer, M.c.secondary_address).where(
                M.c.secondary_address.in_(idents[chunk:chunk + 500]))
            for mid, man, ident in conn.execute(q):
                key = ((man or "").upper(), ident)
                if key in wanted:
                    seen[key] = seen.get(key, 0) + 1
                    out[key] = mid
        return {k: v for k, v in out.items() if seen[k] == 1}

    def list_surveys(self, site: str | None = None) -> list[dict[str, Any]]:
        """The surveys (newest first): id, site, name, when, receiver, counts of locations and telegrams."""
        n_loc = select(func.count()).where(RSL.c.survey_id == RS.c.id).scalar_subquery()
        n_tg = (select(func.count()).select_from(RST.join(RSL, RSL.c.id == RST.c.location_id))
                .where(RSL.c.survey_id == RS.c.id).scalar_subquery())
        q = (select(RS.c.id, S.c.name.label("site"), RS.c.name, RS.c.started_at, RS.c.ended_at, RS.c.dongle,
                    RS.c.mode, RS.c.created_by, RS.c.created_at, n_loc.label("locations"), n_tg.label("telegrams"))
             .select_from(RS.join(S, S.c.id == RS.c.site_id)).order_by(RS.c.created_at.desc(), RS.c.id.desc()))
        if site:
            q = q.where(S.c.name == " ".join(site.split()))
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def survey(self, survey_id: int) -> dict[str, Any]:
        """One survey as saved: the document form of ``save_survey`` (times naive UTC), plus ``id``,
        ``results``, ``digest`` and ``digest_ok`` (the telegrams still match the digest)."""
        with self._read() as conn:
            row = conn.execute(select(RS, S.c.name.label("site")).select_from(RS.join(S, S.c.id == RS.c.site_id))
                               .where(RS.c.id == survey_id)).first()
            if row is None:
                raise NotFound(f"no survey {survey_id}")
            r = row._mapping
            locs = []
            for lr in conn.execute(select(RSL).where(RSL.c.survey_id == survey_id).order_by(RSL.c.seq)):
                lm = lr._mapping
                tgs = [dict(t._mapping) for t in conn.execute(
                    select(RST).where(RST.c.location_id == lm["id"]).order_by(RST.c.seq))]
                for t in tgs:
                    t["raw"] = bytes(t["raw"])
                    for k in ("location_id", "seq"):
                        t.pop(k, None)
                locs.append({**{k: lm[k] for k in _LOC_FIELDS}, "started_at": lm["started_at"],
                             "ended_at": lm["ended_at"], "telegrams": tgs})
        digest = survey_digest(locs)
        return {"id": r["id"], "site": r["site"], "name": r["name"], "technician": r["technician"],
                "notes": r["notes"], "created_by": r["created_by"], "created_at": r["created_at"],
                "started_at": r["started_at"], "ended_at": r["ended_at"],
                "settings": {k: r[k] for k in ("dongle", "mode", "sensitivity_dbm", "margin_db", "min_ratio",
                                               "min_expected")},
                "results": r["results"], "digest": r["digest"], "digest_ok": digest == r["digest"],
                "locations": locs}
