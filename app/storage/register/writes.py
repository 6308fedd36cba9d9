"""Writes to meters: primary address, baud rate and clock, each kept with what was read before and after
and every frame sent and received, byte for byte, in the meter's history."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select

from app.storage import models
from app.storage.errors import NotFound, ValidationError
from app.storage.records import jsonable
from app.storage.register.readouts import Readouts
from app.storage.register.tables import COM, MW, MWF, M

WRITE_KINDS = ("address", "baud", "clock")
#: the register field a confirmed write changes, and the key of ``after`` that holds its new value
_FIELD_OF = {"address": ("primary_address", "address"), "baud": ("baud", "baud")}


class MeterWrites(Readouts):
    """Recording a write to a meter (the evidence and its event) and reading them back."""

    def record_meter_write(self, kind: str, *, ok: bool, outcome: str, before: Mapping[str, Any] | None,
                           after: Mapping[str, Any] | None, frames: Sequence[tuple[str, bytes]] = (),
                           detail: str | None = None, meter_id: int | None = None, manufacturer: str | None = None,
                           identification: str | None = None, user: str | None = None,
                           written_at: dt.datetime | None = None, transport: str | None = None,
                           port: str | None = None, commissioning_id: int | None = None) -> dict[str, Any]:
        """Keep a write to a meter: ``kind`` (address, baud, clock), whether the read-back confirmed it
        (``ok``, ``outcome``), what the meter said before and after, and ``frames`` (("tx" | "rx",
        bytes) in order). The meter is ``meter_id``, else the one with this FLAG code and
        identification (as ``save_readout`` matches); ``{"status": "no_match"}`` when there is none
        (nothing is stored). The keyword arguments of ``WriteResult.evidence()`` /
        ``ClockWriteResult.evidence()`` (drivers) fit.

        Logged as ``write_<kind>`` with ``before`` and ``after``, the write (with its frames) hashed
        and anchored in the event chain (``db verify`` checks it). The meter is locked for the
        transaction; a confirmed address or baud write also updates the meter's ``primary_address`` /
        ``baud`` on top of its committed state (logged as an ``update``)."""
        if kind not in WRITE_KINDS:
            raise ValidationError(f"a write is one of {', '.join(WRITE_KINDS)}, not {kind!r}")
        rows = []
        for i, (direction, raw) in enumerate(frames):
            if direction not in ("tx", "rx"):
                raise ValidationError(f"frame {i + 1}: direction is tx or rx, not {direction!r}")
            rows.append({"seq": i, "direction": direction, "raw": bytes(raw)})
        if meter_id is not None:
            meter = self.get_meter(meter_id)
        else:
            meter, _how, _cands = self.match_meter(manufacturer, identification)
            if meter is None:
                return {"status": "no_match", "manufacturer": manufacturer, "identification": identification}
        with self._write() as conn:
            # the meter locked first: a confirmed write changes its address or baud on top of the committed
            # state, and the write's evidence is hashed and anchored in the chain
            cur = self._lock_meter(conn, meter.id)
            who = self.user_name(user)
            if commissioning_id is not None:
                com = conn.execute(select(COM.c.meter_id).where(COM.c.id == commissioning_id)).first()
                if com is None or com.meter_id != meter.id:
                    raise ValidationError(f"commissioning record {commissioning_id} is not for meter {meter.label}")
            wid = conn.execute(insert(MW).values(
                meter_id=meter.id, commissioning_id=commissioning_id, kind=kind, ok=bool(ok), outcome=outcome,
                detail=detail or None, before=jsonable(dict(before or {})), after=jsonable(dict(after or {})),
                written_at=written_at or models.utcnow(), written_by=who, transport=transport, port=port,
            ).returning(MW.c.id)).scalar_one()
            if rows:
                conn.execute(insert(MWF), [dict(r, write_id=wid) for r in rows])
            h = self._seal_item(conn, "meter_writes", wid)
            self._log(conn, user, "meter_writes", wid, f"write_{kind}", meter_id=meter.id,
                      before=dict(before or {}),
                      after={**dict(after or {}), "ok": bool(ok), "outcome": outcome, "frames": len(rows),
                             "commissioning_id": commissioning_id, "content_hash": h},
                      anchors=[("meter_writes", wid, h)])
            field = _FIELD_OF.get(kind)
            if ok and field is not None and (after or {}).get(field[1]) is not None:
                cur.update(self._placement_names(conn, cur))
                self._apply_update(conn, cur, {field[0]: int(after[field[1]])}, user=user,
                                   source=f"write {kind} {wid}")
        return {"status": "saved", "write_id": wid, "meter_id": meter.id, "meter": self.get_meter(meter.id)}

    def meter_writes(self, meter_id: int, *, kind: str | None = None,
                     commissioning_id: int | None = None) -> list[dict[str, Any]]:
        """The meter's writes, oldest first, each with ``frames`` (("tx" | "rx", bytes) in order)."""
        q = select(MW).where(MW.c.meter_id == meter_id).order_by(MW.c.written_at, MW.c.id)
        if kind:
            q = q.where(MW.c.kind == kind)
        if commissioning_id is not None:
            q = q.where(MW.c.commissioning_id == commissioning_id)
        with self._read() as conn:
            if conn.execute(select(M.c.id).where(M.c.id == meter_id)).first() is None:
                raise NotFound(f"no meter with id {meter_id}")
            out = [dict(r) for r in conn.execute(q).mappings()]
            for d in out:
                fr = conn.execute(select(MWF.c.direction, MWF.c.raw).where(MWF.c.write_id == d["id"])
                                  .order_by(MWF.c.seq)).all()
                d["frames"] = [(f.direction, bytes(f.raw)) for f in fr]
        return out
