"""Evidence: readouts (the frames received and sent, byte for byte, with their decodes) matched to their meter."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, or_, select

from app.storage import models
from app.storage.errors import ValidationError
from app.storage.records import MeterRecord, ReadoutResult, jsonable
from app.storage.register.meters import Meters
from app.storage.register.tables import COM, M, RF, RO


class Readouts(Meters):
    """Finding a telegram's meter, storing and reading readouts."""

    def match_meter(self, manufacturer: str | None, identification: str | None) -> tuple[MeterRecord | None, str | None, list[MeterRecord]]:
        """Find the meter a telegram belongs to: (meter, how, candidates)."""
        ident = (identification or "").strip()
        flag = (manufacturer or "").strip().upper() or None
        if not ident:
            return None, None, []
        with self._read() as conn:
            base = self._meter_select()
            if flag:
                rows = conn.execute(base.where(M.c.mbus_manufacturer == flag, M.c.secondary_address == ident)).all()
                if len(rows) == 1:
                    return self._record(rows[0]), "manufacturer+secondary_address", []
                if not rows:
                    rows = conn.execute(base.where(M.c.mbus_manufacturer == flag, M.c.serial == ident)).all()
                    if len(rows) == 1:
                        return self._record(rows[0]), "manufacturer+serial", []
            same = conn.execute(base.where(or_(M.c.secondary_address == ident, M.c.serial == ident))).all()
        recs = [self._record(r) for r in same]
        unflagged = [r for r in recs if r.mbus_manufacturer is None and r.secondary_address == ident]
        if len(unflagged) == 1:
            return unflagged[0], "secondary_address (meter has no FLAG code)", []
        return None, None, recs

    def save_readout(self, raw_frames: Sequence[bytes], decoded: Sequence[dict[str, Any]], *,
                     meter_id: int | None = None, manufacturer: str | None = None, identification: str | None = None,
                     user: str | None = None, read_at: dt.datetime | None = None, transport: str | None = None,
                     port: str | None = None, baud: int | None = None, primary_address: int | None = None,
                     commissioning_id: int | None = None, notes: str | None = None,
                     tx_frames: Sequence[bytes] = ()) -> ReadoutResult:
        """Store a readout as evidence against its meter.

        ``raw_frames``: the frames received, byte for byte, in order.
        ``decoded``: their decoded telegram objects (as ``heatmeter decode --json`` prints them). The meter is
        ``meter_id``, else the one whose FLAG code and secondary address (or
        serial) match ``manufacturer``/``identification`` (default: from the
        first decoded telegram). Without a match nothing is stored and the result
        (status "no_match") carries a ``proposal`` for creating the meter; create
        it with ``create_meter`` and call again with its id.
        """
        frames = [bytes(f) for f in raw_frames]
        if not frames:
            raise ValidationError("a readout needs at least one raw frame")
        first = decoded[0] if decoded else {}
        flag = (manufacturer or first.get("manufacturer") or "").upper() or None
        ident = identification or first.get("identification")
        if meter_id is not None:
            meter = self.get_meter(meter_id)
            how = "meter_id"
        else:
            meter, how, candidates = self.match_meter(flag, ident)
            if meter is None:
                proposal = {"mbus_manufacturer": flag, "secondary_address": ident, "serial": ident,
                            "primary_address": primary_address if primary_address is not None else first.get("address"),
                            "baud": baud, "medium": first.get("medium")}
                return ReadoutResult(status="no_match", manufacturer=flag, identification=ident,
                                     proposal=proposal, candidates=candidates)
        with self._write() as conn:
            if commissioning_id is not None:
                com = conn.execute(select(COM.c.meter_id).where(COM.c.id == commissioning_id)).first()
                if com is None or com.meter_id != meter.id:
                    raise ValidationError(f"commissioning record {commissioning_id} is not for meter {meter.label}")
            rid = conn.execute(insert(RO).values(
                meter_id=meter.id, commissioning_id=commissioning_id, read_at=read_at or models.utcnow(),
                read_by=self.user_name(user), mbus_manufacturer=flag, identification=ident, transport=transport,
                port=port, baud=baud, primary_address=primary_address, decoded=jsonable(list(decoded)), notes=notes,
            ).returning(RO.c.id)).scalar_one()
            rows = [{"readout_id": rid, "seq": i, "direction": "rx", "raw": f} for i, f in enumerate(frames)]
            rows += [{"readout_id": rid, "seq": len(frames) + i, "direction": "tx", "raw": bytes(f)}
                     for i, f in enumerate(tx_frames)]
            conn.execute(insert(RF), rows)
            h = self._seal_item(conn, "readouts", rid)
            self._log(conn, user, "readouts", rid, "create", meter_id=meter.id,
                      after={"frames": len(frames), "telegrams": len(decoded), "port": port,
                             "commissioning_id": commissioning_id, "matched_by": how, "content_hash": h},
                      anchors=[("readouts", rid, h)])
        return ReadoutResult(status="saved", meter=meter, readout_id=rid, manufacturer=flag, identification=ident,
                             matched_by=how, content_hash=h)

    def readouts(self, meter_id: int, *, since: dt.datetime | None = None,
                 until: dt.datetime | None = None) -> list[dict[str, Any]]:
        """The meter's readouts, oldest first, each with ``frames`` (bytes, in order) and ``decoded``."""
        q = select(RO).where(RO.c.meter_id == meter_id).order_by(RO.c.read_at, RO.c.id)
        if since:
            q = q.where(RO.c.read_at >= since)
        if until:
            q = q.where(RO.c.read_at <= until)
        with self._read() as conn:
            out = [dict(r._mapping) for r in conn.execute(q)]
            for d in out:
                fr = conn.execute(select(RF.c.raw, RF.c.direction).where(RF.c.readout_id == d["id"]).order_by(RF.c.seq)).all()
                d["frames"] = [bytes(f.raw) for f in fr if f.direction == "rx"]
                d["tx_frames"] = [bytes(f.raw) for f in fr if f.direction == "tx"]
        return out
