"""The event log as read back: a meter's history (with its personal values put back where the role may see
them), the latest events, the batches of many meters, and the access log (who read personal data).

Every change is logged by ``UnitOfWork._log`` in the transaction that makes
it and sealed into the chain when it commits. An event about many meters at
once (an import's creations, an export's access) is one ``events`` row and
one ``event_batches`` row per batch: ``history`` gives each meter its own
entry again. Personal values are kept apart (``personal_values``): the
stored event reads ``[personal]`` where one was; ``history`` puts the value
back, ``[erased]`` once erased.
"""
from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from app.storage.integrity import ERASED, PERSONAL, decode_entries, entry_values, id_runs, run_ids
from app.storage.records import jsonable
from app.storage.register.tables import CHAIN, EV, EVB, M, PV
from app.storage.register.unit import UnitOfWork

# event_batches: the values of a text column joined into one string (an empty value is "")
BATCH_SEP = "\u241f"
#: at most this many meters get an event each when they are read at once; more get a batch
ACCESS_SINGLE = 50

__all__ = ["EventLog", "BATCH_SEP", "id_runs", "decode_batch", "encode_batch_values", "batch_after_values"]


class EventLog(UnitOfWork):
    """Reading the event log; the access log."""

    def history(self, meter_id: int) -> list[dict[str, Any]]:
        """The meter's event log, oldest first: at, user, action, entity, entity_id, before, after, source.

        A meter an import created has its ``create`` entry here like any other:
        who, when, the file, and its values at creation (kept in the import's
        event batch, see ``models.EventBatch``). Reading and exporting its
        personal data are entries too (action ``access``), and so are refused
        actions (``refused``). Personal values are shown to roles that may read
        them (else ``[personal]``), ``[erased]`` once erased."""
        q = select(EV.c.id, EV.c.at, EV.c.user, EV.c.action, EV.c.entity, EV.c.entity_id, EV.c.before, EV.c.after,
                   EV.c.source).where(EV.c.meter_id == meter_id).order_by(EV.c.id)
        with self._read() as conn:
            entries = [list(r) for r in conn.execute(q)]
            for ev, after in self._batched(conn, {meter_id}):
                entries.append([ev.id, ev.at, ev.user, ev.action, ev.entity, meter_id, None, after, ev.source])
            kept = self._kept_values(conn, meter_id)
            erased_at = conn.execute(select(M.c.personal_erased_at).where(M.c.id == meter_id)).scalar()
        entries.sort(key=lambda e: e[0])
        out = []
        for eid, at, user, action, entity, entity_id, before, after, source in entries:
            values = kept.get(eid, {})
            hidden = ERASED if erased_at is not None and at <= erased_at else PERSONAL
            out.append({"at": at.isoformat(timespec="seconds") + "Z", "user": user, "action": action,
                        "entity": entity, "entity_id": entity_id, "before": _put_back(before, values, 0, hidden),
                        "after": _put_back(after, values, 1, hidden), "source": source})
        return out

    def access_history(self, meter_id: int) -> list[dict[str, Any]]:
        """Who read or exported this meter's personal data, and what was refused (newest first)."""
        return [e for e in reversed(self.history(meter_id)) if e["action"] in ("access", "refused")]

    def events(self, *, entity: str | None = None, since: dt.datetime | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
        """The latest events, newest first, as stored. An import's create events are one row per
        batch of meters (``meter_id`` empty, ``after`` {"meters": how many}); ``history`` gives
        each meter its own."""
        q = select(*[c for c in EV.c if c.name != "hash"]).order_by(EV.c.id.desc()).limit(limit)
        if entity:
            q = q.where(EV.c.entity == entity)
        if since:
            q = q.where(EV.c.at >= since)
        with self._read() as conn:
            return [jsonable(dict(r._mapping)) for r in conn.execute(q)]

    def chain_end(self) -> tuple[int, str]:
        """(id, SHA-256 hex) of the last event of the chain as it stands: printed on evidence so that the
        register can later be shown to hold what it held then (``db verify`` checks the chain up to it)."""
        with self._read() as conn:
            r = conn.execute(select(CHAIN.c.last_event_id, CHAIN.c.last_hash).where(CHAIN.c.id == 1)).first()
        return (0, bytes(32).hex()) if r is None else (int(r[0]), bytes(r[1]).hex())

    # ---- the access log ------------------------------------------------------------------

    def log_access(self, meter_ids: Sequence[int], what: str, *, fields: Sequence[str] = (),
                   user: str | None = None) -> None:
        """Record that personal data of these meters was read or exported (``what``: the command or
        page; ``fields``: which data) by the user (MMS 2.2.7.2)."""
        self._log_many(meter_ids, "access", {"what": what, "fields": list(fields)}, user=user)

    def log_refused(self, meter_ids: Sequence[int], what: str, reason: str, *, user: str | None = None) -> None:
        """Record a refused action on these meters (an erase under legal hold, a restricted meter
        asked for, a permission the role lacks)."""
        self._log_many(meter_ids, "refused", {"what": what, "reason": reason}, user=user)

    def _log_many(self, meter_ids: Sequence[int], action: str, after: dict[str, Any], *, user: str | None) -> None:
        ids = sorted({int(i) for i in meter_ids})
        with self._write() as conn:
            self._log_about(conn, ids, action, after, user=user)

    def _log_about(self, conn: Connection, ids: Sequence[int], action: str, after: dict[str, Any], *,
                   user: str | None) -> None:
        if not ids:
            self._log(conn, user, "meters", None, action, after=after)
        elif len(ids) <= ACCESS_SINGLE:
            for mid in ids:
                self._log(conn, user, "meters", mid, action, meter_id=mid, after=after)
        else:
            ids = sorted(ids)
            for j in range(0, len(ids), 1000):
                part = ids[j:j + 1000]
                self._log_batch(conn, user=user, entity="meters", action=action,
                                after={**after, "meters": len(part)}, meter_ids=part, data=None)

    # ---- batches and kept-apart values ------------------------------------------------------

    def _batches_of(self, conn: Connection, meter_ids: set[int]):
        """The ``event_batches`` rows (with their event) whose range of meter ids overlaps ``meter_ids``."""
        lo, hi = min(meter_ids), max(meter_ids)
        return conn.execute(
            select(EVB.c.id.label("batch_id"), EVB.c.meter_ids, EVB.c.data, EV.c.id, EV.c.at, EV.c.user,
                   EV.c.action, EV.c.entity, EV.c.source, EV.c.after)
            .select_from(EVB.join(EV, EV.c.id == EVB.c.event_id))
            .where(EVB.c.first_meter_id <= hi, EVB.c.last_meter_id >= lo).order_by(EVB.c.id))

    def _batched(self, conn: Connection, meter_ids: set[int]):
        """(event row, ``after``) for each of these meters in a batch event: the values at creation
        of an import's create events; the event's own ``after`` for the others (an access)."""
        out = []
        if meter_ids:
            for r in self._batches_of(conn, meter_ids):
                if r.action == "create":
                    for _mid, after in batch_after_values(decode_batch(r.meter_ids, r.data), meter_ids).items():
                        out.append((r, after))
                else:
                    for mid in set(run_ids(r.meter_ids)) & meter_ids:
                        out.append((r, r.after))
        return out

    def _kept_values(self, conn: Connection, meter_id: int) -> dict[int, dict[str, tuple[Any, Any]]]:
        """event id -> key -> (before, after) of the values kept apart for this meter that the role
        may read; an erased one reads ERASED on both sides."""
        out: dict[int, dict[str, tuple[Any, Any]]] = {}
        q = select(PV.c.event_id, PV.c.key, PV.c.meter_ids, PV.c.payload).where(
            PV.c.first_meter_id <= meter_id, PV.c.last_meter_id >= meter_id)
        for r in conn.execute(q):
            ids = run_ids(r.meter_ids)
            if meter_id not in ids:
                continue
            entries = decode_entries(r.payload)
            p = ids.index(meter_id)
            e = entries[p] if p < len(entries) else None
            out.setdefault(r.event_id, {})[r.key] = entry_values(e) if e else (ERASED, ERASED)
        return out


def _put_back(d: Any, values: dict[str, tuple[Any, Any]], side: int, hidden: str) -> Any:
    """``d`` with its ``[personal]`` places filled from ``values`` (key -> (before, after)); places
    without a readable value read ``hidden``."""
    if not isinstance(d, dict):
        return d
    def fill(key: str) -> Any:
        got = values.get(key)
        return hidden if got is None or got[side] is None else got[side]

    out = dict(d)
    for k, v in d.items():
        if v == PERSONAL:
            out[k] = fill(k)
        elif k in ("extra", "personal_extra") and isinstance(v, dict):
            out[k] = {name: fill(f"extra.{name}") if x == PERSONAL else x for name, x in v.items()}
    return out


def decode_batch(meter_ids: str, data: bytes) -> dict[str, Any]:
    """An ``event_batches`` row as ``{"meter_ids": [...], "columns": [...], "values": [[...], ...]}``.

    A column's values are stored as a JSON list, or (text, dates) as one string
    joined by BATCH_SEP in which an empty value stands for null.
    """
    out = json.loads(zlib.decompress(data))
    out["values"] = [[x or None for x in v.split(BATCH_SEP)] if isinstance(v, str) else v for v in out["values"]]
    out["meter_ids"] = run_ids(meter_ids)
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

