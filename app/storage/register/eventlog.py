"""The event log as read back: a meter's history, the latest events, and the batches of an import's create events.

Every change is logged by ``UnitOfWork._log`` in the transaction that makes it.
An import logs its new meters' create events in batches (one ``events`` row
and one ``event_batches`` row per ``BATCH`` meters, the values compressed):
``history`` gives each meter its own entry again.
"""
from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from app.storage.records import PERSONAL_FIELDS, jsonable
from app.storage.register.tables import ERASED, EV, EVB
from app.storage.register.unit import UnitOfWork

# event_batches: the values of a text column joined into one string (an empty value is "")
BATCH_SEP = "\u241f"


class EventLog(UnitOfWork):
    """Reading the event log; erasing personal values from the batches."""

    def history(self, meter_id: int) -> list[dict[str, Any]]:
        """The meter's event log, oldest first: at, user, action, entity, entity_id, before, after, source.

        A meter an import created has its ``create`` entry here like any other:
        who, when, the file, and its values at creation (kept in the import's
        event batch, see ``models.EventBatch``)."""
        q = select(EV).where(EV.c.meter_id == meter_id).order_by(EV.c.id)
        with self._read() as conn:
            entries = [(r.id, r.at, r.user, r.action, r.entity, r.entity_id, r.before, r.after, r.source)
                       for r in conn.execute(q)]
            for ev, after in self._batched_creates(conn, {meter_id}):
                entries.append((ev.id, ev.at, ev.user, ev.action, ev.entity, meter_id, None, after, ev.source))
        entries.sort(key=lambda e: e[0])
        return [{"at": at.isoformat(timespec="seconds") + "Z", "user": user, "action": action, "entity": entity,
                 "entity_id": entity_id, "before": before, "after": after, "source": source}
                for _id, at, user, action, entity, entity_id, before, after, source in entries]

    def events(self, *, entity: str | None = None, since: dt.datetime | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
        """The latest events, newest first, as stored. An import's create events are one row per
        batch of meters (``meter_id`` empty, ``after`` {"meters": how many}); ``history`` gives
        each meter its own."""
        q = select(EV).order_by(EV.c.id.desc()).limit(limit)
        if entity:
            q = q.where(EV.c.entity == entity)
        if since:
            q = q.where(EV.c.at >= since)
        with self._read() as conn:
            return [jsonable(dict(r._mapping)) for r in conn.execute(q)]

    def _batches_of(self, conn: Connection, meter_ids: set[int]):
        """The ``event_batches`` rows (with their event) whose range of meter ids overlaps ``meter_ids``."""
        lo, hi = min(meter_ids), max(meter_ids)
        return conn.execute(
            select(EVB.c.id.label("batch_id"), EVB.c.meter_ids, EVB.c.data, EV.c.id, EV.c.at, EV.c.user,
                   EV.c.action, EV.c.entity, EV.c.source)
            .select_from(EVB.join(EV, EV.c.id == EVB.c.event_id))
            .where(EVB.c.first_meter_id <= hi, EVB.c.last_meter_id >= lo).order_by(EVB.c.id))

    def _batched_creates(self, conn: Connection, meter_ids: set[int]):
        """(event row, values at creation) of each of these meters whose create event is in a batch."""
        out = []
        if meter_ids:
            for r in self._batches_of(conn, meter_ids):
                for mid, after in batch_after_values(decode_batch(r.meter_ids, r.data), meter_ids).items():
                    out.append((r, after))
        return out

    def _scrub_batches(self, conn: Connection, meter_ids: Iterable[int]) -> int:
        """Replace these meters' personal values in event batches by ERASED; returns how many meters had some."""
        ids = set(meter_ids)
        scrubbed = 0
        if not ids:
            return 0
        for r in self._batches_of(conn, ids):
            bid, data = r.batch_id, decode_batch(r.meter_ids, r.data)
            personal = [j for j, c in enumerate(data["columns"]) if c in PERSONAL_FIELDS]
            if not personal:
                continue
            changed = 0
            for p, mid in enumerate(data["meter_ids"]):
                if mid in ids:
                    hit = False
                    for j in personal:
                        if data["values"][j][p] is not None:
                            data["values"][j][p] = ERASED
                            hit = True
                    changed += hit
            if changed:
                kept = json.dumps({"columns": data["columns"], "values": data["values"]})
                conn.execute(update(EVB).where(EVB.c.id == bid).values(data=encode_batch_values(kept)))
                scrubbed += changed
        return scrubbed


def id_runs(ids: Sequence[int]) -> list[list[int]]:
    """``[[first, count], ...]``: the runs of consecutive ids in ``ids``, in order."""
    if ids and list(ids) == list(range(ids[0], ids[0] + len(ids))):  # the usual case: one run
        return [[ids[0], len(ids)]]
    runs: list[list[int]] = []
    for i in ids:
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1][1] += 1
        else:
            runs.append([i, 1])
    return runs


def decode_batch(meter_ids: str, data: bytes) -> dict[str, Any]:
    """An ``event_batches`` row as ``{"meter_ids": [...], "columns": [...], "values": [[...], ...]}``.

    A column's values are stored as a JSON list, or (text, dates) as one string
    joined by BATCH_SEP in which an empty value stands for null.
    """
    out = json.loads(zlib.decompress(data))
    out["values"] = [[x or None for x in v.split(BATCH_SEP)] if isinstance(v, str) else v for v in out["values"]]
    out["meter_ids"] = [first + k for first, count in json.loads(meter_ids) for k in range(count)]
    return out


def encode_batch_values(columns_and_values_json: str) -> bytes:
    return zlib.compress(columns_and_values_json.encode("utf-8"), 1)


def batch_after_values(data: dict[str, Any], meter_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    """meter id -> its values at creation (a create event's ``after``) from a decoded batch."""
    columns, values = data["columns"], data["values"]
    want = None if meter_ids is None else set(meter_ids)
    out = {}
    for p, mid in enumerate(data["meter_ids"]):
        if want is None or mid in want:
            out[mid] = {c: vals[p] for c, vals in zip(columns, values) if vals[p] is not None}
    return out

