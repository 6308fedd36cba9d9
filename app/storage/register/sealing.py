"""Sealing a write transaction's events into the chain, just before it commits (``UnitOfWork._write``).

The end of the chain (``event_chain``, one row) is locked (PostgreSQL ``FOR
UPDATE``; SQLite holds the database already), so transactions seal one after
the other and the ids of the events follow the chain: event ``n`` is the
``n``-th link. Each pending event gets its id, its personal values written
apart as salted entries (``personal_values``), its batch (``event_batches``),
its evidence anchors, its detail digest and its hash; then the chain's end
moves on. The lock is held from here to the commit only.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.storage.integrity import (
    GENESIS, at_text, detail_digest, encode_entries, event_hash, id_runs, is_personal_key, new_entries,
)

def _empty_data() -> bytes:
    import zlib

    return zlib.compress(b'{"columns": [], "values": []}', 1)


def seal(reg, conn: Connection, tx) -> None:
    """Number, hash and write the pending events of ``tx`` in ``conn``'s open transaction."""
    if not tx.events:
        return
    pg = not reg.is_sqlite
    head = conn.execute(text("SELECT last_event_id, last_hash FROM event_chain WHERE id = 1"
                             + (" FOR UPDATE" if pg else ""))).first()
    if head is None:  # a register whose chain was never started
        start = conn.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar_one()
        conn.execute(text("INSERT INTO event_chain (id, last_event_id, last_hash) VALUES (1, :i, :h)"),
                     {"i": start, "h": GENESIS})
        last_id, prev = int(start), GENESIS
    else:
        last_id, prev = int(head[0]), bytes(head[1])
    marked: set[str] | None = None

    def personal(key: str) -> bool:
        nonlocal marked
        if key.startswith("extra.") and marked is None:
            marked = {n for (n,) in conn.execute(text("SELECT name FROM personal_columns"))}
        return is_personal_key(key, marked or ())

    events: list[tuple] = []
    batches: list[tuple] = []
    values: list[tuple] = []
    anchors: list[tuple] = []
    for k, e in enumerate(tx.events):
        eid = last_id + 1 + k
        kept: list[tuple[str, str, str]] = []
        if e.apart:
            runs = json.dumps([[e.meter_id, 1]])
            entries, dgs = new_entries(list(e.apart.values()))
            for key, entry, dg in zip(e.apart, entries, dgs):
                kept.append((key, runs, dg))
                values.append((eid, key, personal(key), e.meter_id, e.meter_id, runs, encode_entries([entry]), dg))
        batch = None
        if e.batch is not None:
            ids, data, apart = e.batch
            runs = json.dumps(id_runs(ids))
            data = data if data is not None else _empty_data()
            batch = (runs, data)
            batches.append((eid, min(ids), max(ids), len(ids), runs, data))
            for key, (positions, dgs, payload) in apart.items():  # made ready by the import (keep_apart)
                if not positions:
                    continue
                mids = [ids[p] for p in positions]
                pruns = json.dumps(id_runs(mids))
                kept.append((key, pruns, dgs))
                values.append((eid, key, personal(key), min(mids), max(mids), pruns, payload, dgs))
        dd = detail_digest(batch, kept, e.anchors)
        at = at_text(e.at)
        h = event_hash(prev, eid, at, e.user, e.entity, e.entity_id, e.meter_id, e.action, e.before, e.after,
                       e.source, dd)
        events.append((eid, e.at if pg else at, e.user, e.entity, e.entity_id, e.meter_id, e.action, e.before,
                       e.after, e.source, dd, h))
        anchors += [(eid, t, i, c) for t, i, c in e.anchors]
        prev = h
    _insert(conn, pg, 'events (id, at, "user", entity, entity_id, meter_id, action, before, after, source, '
                      'detail_digest, hash)', events)
    _insert(conn, pg, "event_batches (event_id, first_meter_id, last_meter_id, meter_count, meter_ids, data)",
            batches)
    _insert(conn, pg, "personal_values (event_id, key, personal, first_meter_id, last_meter_id, meter_ids, payload, "
                      "digests)", values)
    _insert(conn, pg, "evidence_anchors (event_id, item_table, item_id, content_hash)", anchors)
    conn.execute(text("UPDATE event_chain SET last_event_id = :i, last_hash = :h WHERE id = 1"),
                 {"i": last_id + len(tx.events), "h": prev})
    tx.events.clear()


def _insert(conn: Connection, pg: bool, into: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    mark = "%s" if pg else "?"
    n = len(rows[0])
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.executemany(f"INSERT INTO {into} VALUES ({', '.join([mark] * n)})", rows)
    finally:
        cur.close()
