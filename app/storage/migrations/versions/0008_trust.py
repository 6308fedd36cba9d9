"""Tamper evidence and personal data kept apart: the event chain, evidence hashes, personal values, marked columns.

Revision ID: 0008
Revises: 0007

Upgrading an existing register (see docs/security.md):

1. personal values leave the event log: every personal field (and every
   spreadsheet column value) in an event's ``before``/``after`` or in an
   import's event batch moves to ``personal_values`` as a salted entry, and
   reads ``[personal]`` where it was;
2. every evidence item gets its content hash (``content_hash``, a lot's
   ``draw_hash``), writes to meters and commissioning photos (revision 0007)
   included;
3. one event ``chain_built`` is appended, anchoring those hashes;
4. the chain is built over every event in id order and its end stored in
   ``event_chain``.

The chain therefore vouches for the register as it was when this migration
ran; what was changed before cannot be told. On PostgreSQL a trigger makes
every new event carry the role that connected (``session_user``).

Downgrading puts the personal values that were not erased back into the
events and batches (erased ones read ``[erased]``) and drops the rest.
"""
from __future__ import annotations

import json
import zlib

import sqlalchemy as sa
from alembic import op

from app.storage import integrity
from app.storage.evidence import HASH_COLUMN, KINDS, item_hashes

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_SEP = "\u241f"
_PAGE = 5000


def upgrade() -> None:
    op.create_table('event_chain',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', _ID, nullable=False),
    sa.Column('last_hash', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_chain'))
    )
    op.create_table('personal_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', _ID, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('personal', sa.Boolean(), nullable=False),
    sa.Column('first_meter_id', sa.Integer(), nullable=False),
    sa.Column('last_meter_id', sa.Integer(), nullable=False),
    sa.Column('meter_ids', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.Column('digests', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_personal_values_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_values'))
    )
    op.create_index(op.f('ix_personal_values_first_meter_id_last_meter_id'), 'personal_values',
                    ['first_meter_id', 'last_meter_id'])
    op.create_index(op.f('ix_personal_values_event_id'), 'personal_values', ['event_id'])
    op.create_table('evidence_anchors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', _ID, nullable=False),
    sa.Column('item_table', sa.String(length=40), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_evidence_anchors_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_anchors'))
    )
    op.create_index(op.f('ix_evidence_anchors_item_table_item_id'), 'evidence_anchors', ['item_table', 'item_id'])
    op.create_index(op.f('ix_evidence_anchors_event_id'), 'evidence_anchors', ['event_id'])
    op.create_table('personal_columns',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('marked_by', sa.String(length=100), nullable=True),
    sa.Column('marked_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_personal_columns'))
    )
    with op.batch_alter_table('events') as b:
        b.add_column(sa.Column('detail_digest', sa.String(length=64), nullable=True))
        b.add_column(sa.Column('hash', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('meters') as b:
        b.add_column(sa.Column('personal_extra', sa.JSON(), nullable=True))
    for table in ('readouts', 'commissioning_records', 'calibration_results', 'lot_results', 'lot_verdicts',
                  'meter_writes', 'commissioning_photos'):
        with op.batch_alter_table(table) as b:
            b.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
    with op.batch_alter_table('lots') as b:
        b.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        b.add_column(sa.Column('draw_hash', sa.String(length=64), nullable=True))

    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    _events_apart(conn, pg)
    _batches_apart(conn)
    anchors = _evidence_hashes(conn)
    _build_chain(conn, pg, anchors)
    if pg:
        op.execute("CREATE FUNCTION heatmeter_event_user() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN NEW.\"user\" := session_user; RETURN NEW; END $$")
        op.execute("CREATE TRIGGER events_user BEFORE INSERT ON events FOR EACH ROW "
                   "EXECUTE FUNCTION heatmeter_event_user()")


# ---- personal values out of the event log ------------------------------------------------------

def _pv_rows(event_id: int, apart: dict[str, list], meter_ids: list[int]) -> list[dict]:
    """personal_values rows for one event: per key, the meters (in order) having a value."""
    rows = []
    for key, values in apart.items():
        idx = [p for p, v in enumerate(values) if v is not None]
        if not idx:
            continue
        entries, digests = integrity.new_entries([values[p] for p in idx])
        ids = [meter_ids[p] for p in idx]
        rows.append({"event_id": event_id, "key": key, "personal": key in integrity.PERSONAL_FIELDS,
                     "first_meter_id": min(ids), "last_meter_id": max(ids),
                     "meter_ids": json.dumps(integrity.id_runs(ids)), "payload": integrity.encode_entries(entries),
                     "digests": "".join(digests)})
    return rows


def _events_apart(conn, pg: bool) -> None:
    get = ("SELECT id, meter_id, before::text, after::text FROM events WHERE id > :last AND meter_id IS NOT NULL "
           "ORDER BY id LIMIT :n") if pg else \
          ("SELECT id, meter_id, before, after FROM events WHERE id > :last AND meter_id IS NOT NULL "
           "ORDER BY id LIMIT :n")
    put = ("UPDATE events SET before = CAST(:b AS json), after = CAST(:a AS json) WHERE id = :id" if pg else
           "UPDATE events SET before = :b, after = :a WHERE id = :id")
    pv = sa.table('personal_values', *[sa.column(c) for c in (
        'event_id', 'key', 'personal', 'first_meter_id', 'last_meter_id', 'meter_ids', 'payload', 'digests')])
    last = 0
    while True:
        rows = conn.execute(sa.text(get), {"last": last, "n": _PAGE}).all()
        if not rows:
            return
        last = rows[-1][0]
        updates, new_rows = [], []
        for eid, mid, b, a in rows:
            before = json.loads(b) if b else None
            after = json.loads(a) if a else None
            b2, a2, apart = integrity.split_personal(before, after)
            if apart:
                updates.append({"id": eid, "b": b if before is None else integrity.json_text(b2),
                                "a": a if after is None else integrity.json_text(a2)})
                new_rows += _pv_rows(eid, {k: [v] for k, v in apart.items()}, [mid])
        if updates:
            conn.execute(sa.text(put), updates)
        if new_rows:
            conn.execute(pv.insert(), new_rows)


def _batches_apart(conn) -> None:
    pv = sa.table('personal_values', *[sa.column(c) for c in (
        'event_id', 'key', 'personal', 'first_meter_id', 'last_meter_id', 'meter_ids', 'payload', 'digests')])
    batches = conn.execute(sa.text("SELECT id, event_id, meter_ids, data FROM event_batches ORDER BY id")).all()
    for bid, eid, runs, blob in batches:
        data = json.loads(zlib.decompress(bytes(blob)))
        columns = data["columns"]
        values = [[x or None for x in v.split(_SEP)] if isinstance(v, str) else v for v in data["values"]]
        ids = [first + k for first, count in json.loads(runs) for k in range(count)]
        apart: dict[str, list] = {}
        changed = False
        for j, c in enumerate(columns):
            if c in integrity.PERSONAL_FIELDS:
                vals = values[j]
                apart[c] = [None if v is None else (None, v) for v in vals]
                values[j] = [None if v is None else integrity.PERSONAL for v in vals]
                changed = changed or any(v is not None for v in vals)
            elif c in ("extra", "personal_extra"):
                masked = []
                for p, ex in enumerate(values[j]):
                    if isinstance(ex, dict) and ex:
                        for name, v in ex.items():
                            if v is not None and v != "":
                                apart.setdefault(f"extra.{name}", [None] * len(ids))[p] = (None, v)
                        masked.append({name: (integrity.PERSONAL if v not in (None, "") else v)
                                       for name, v in ex.items()})
                        changed = True
                    else:
                        masked.append(ex)
                values[j] = masked
        if not changed:
            continue
        kept = json.dumps({"columns": columns, "values": values}, ensure_ascii=False)
        conn.execute(sa.text("UPDATE event_batches SET data = :d WHERE id = :id"),
                     {"d": zlib.compress(kept.encode("utf-8"), 1), "id": bid})
        rows = _pv_rows(eid, apart, ids)
        if rows:
            conn.execute(pv.insert(), rows)


# ---- evidence hashes and the chain ---------------------------------------------------------------

def _evidence_hashes(conn) -> list[tuple[str, int, str]]:
    """Hash every evidence item into its row; returns (kind, item id, hash) of each."""
    md = sa.MetaData()
    names = {n for spec in KINDS.values() for n in spec[:2] if n}
    tables = {n: sa.Table(n, md, autoload_with=conn) for n in names}
    out = []
    for kind, (table, *_rest) in KINDS.items():
        t = tables[table]
        found = list(item_hashes(conn, tables, kind))
        col = HASH_COLUMN[kind]
        for j in range(0, len(found), _PAGE):
            page = found[j:j + _PAGE]
            conn.execute(sa.text(f"UPDATE {t.name} SET {col} = :h WHERE id = :id"),
                         [{"h": h, "id": i} for i, h, _stored in page])
        out += [(kind, i, h) for i, h, _stored in found]
    # the connectivity surveys of revision 0005 carry their own digest over their telegrams: anchored as is
    out += [("radio_surveys", i, d) for i, d in conn.execute(sa.text("SELECT id, digest FROM radio_surveys ORDER BY id"))]
    return out


def _build_chain(conn, pg: bool, anchors: list[tuple[str, int, str]]) -> None:
    last_id = conn.execute(sa.text("SELECT max(id) FROM events")).scalar()
    if last_id is not None or anchors:  # one event anchoring the evidence hashed above
        import datetime as dt

        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        n_events = conn.execute(sa.text("SELECT count(*) FROM events")).scalar()
        last_id = (last_id or 0) + 1
        after = json.dumps({"events": n_events, "evidence": len(anchors)})
        conn.execute(sa.text('INSERT INTO events (id, at, "user", entity, action, after) VALUES '
                             f"(:id, :at, :u, 'events', 'chain_built', {'CAST(:a AS json)' if pg else ':a'})"),
                     {"id": last_id, "at": now if pg else integrity.at_text(now), "u": "heatmeter (migration 0008)",
                      "a": after})
        ea = sa.table('evidence_anchors', sa.column('event_id'), sa.column('item_table'), sa.column('item_id'),
                      sa.column('content_hash'))
        for j in range(0, len(anchors), _PAGE):
            conn.execute(ea.insert(), [{"event_id": last_id, "item_table": k, "item_id": i, "content_hash": h}
                                       for k, i, h in anchors[j:j + _PAGE]])
    details: dict[int, list] = {}
    for eid, runs, blob in conn.execute(sa.text("SELECT event_id, meter_ids, data FROM event_batches ORDER BY id")):
        details.setdefault(eid, [None, [], []])[0] = (runs, bytes(blob))
    for eid, key, runs, digests in conn.execute(sa.text(
            "SELECT event_id, key, meter_ids, digests FROM personal_values ORDER BY id")):
        details.setdefault(eid, [None, [], []])[1].append((key, runs, digests))
    for eid, table, item, h in conn.execute(sa.text(
            "SELECT event_id, item_table, item_id, content_hash FROM evidence_anchors ORDER BY id")):
        details.setdefault(eid, [None, [], []])[2].append((table, item, h))
    get = (f"SELECT id, to_char(at, '{integrity.PG_AT_FORMAT}'), \"user\", entity, entity_id, meter_id, action, "
           "before::text, after::text, source FROM events WHERE id > :last ORDER BY id LIMIT :n") if pg else \
          ('SELECT id, at, "user", entity, entity_id, meter_id, action, before, after, source FROM events '
           "WHERE id > :last ORDER BY id LIMIT :n")
    prev, last = integrity.GENESIS, None
    cursor = -(2 ** 62)  # 0004's downgrade may leave ids below 1
    while True:
        rows = conn.execute(sa.text(get), {"last": cursor, "n": _PAGE}).all()
        if not rows:
            break
        cursor = rows[-1][0]
        updates = []
        for r in rows:
            d = details.get(r[0])
            dd = integrity.detail_digest(*d) if d else None
            prev = integrity.event_hash(prev, *r, dd)
            updates.append({"id": r[0], "d": dd, "h": prev})
            last = r[0]
        conn.execute(sa.text("UPDATE events SET detail_digest = :d, hash = :h WHERE id = :id"), updates)
    conn.execute(sa.text("INSERT INTO event_chain (id, last_event_id, last_hash) VALUES (1, :i, :h)"),
                 {"i": last if last is not None else 0, "h": prev})


# ---- downgrade ----------------------------------------------------------------------------------

def _values_back(conn, pg: bool) -> None:
    """Put the personal values that were not erased back where they were."""
    events_by_id: dict[int, list] = {}
    batch_of: dict[int, list] = {}
    batch_events = {e for (e,) in conn.execute(sa.text("SELECT event_id FROM event_batches"))}
    for eid, key, runs, payload in conn.execute(sa.text(
            "SELECT event_id, key, meter_ids, payload FROM personal_values ORDER BY id")).all():
        ids = [first + k for first, count in json.loads(runs) for k in range(count)]
        entries = integrity.decode_entries(payload)
        target = batch_of if eid in batch_events else events_by_id
        target.setdefault(eid, []).append((key, ids, entries))
    get = "SELECT before::text, after::text FROM events WHERE id = :id" if pg else \
        "SELECT before, after FROM events WHERE id = :id"
    put = ("UPDATE events SET before = CAST(:b AS json), after = CAST(:a AS json) WHERE id = :id" if pg else
           "UPDATE events SET before = :b, after = :a WHERE id = :id")
    for eid, parts in events_by_id.items():
        b, a = conn.execute(sa.text(get), {"id": eid}).one()
        sides = [json.loads(b) if b else None, json.loads(a) if a else None]
        for key, _ids, entries in parts:
            vals = integrity.entry_values(entries[0]) if entries and entries[0] else (integrity.ERASED,) * 2
            for side, d in enumerate(sides):
                _put_back(d, key, vals[side])
        conn.execute(sa.text(put), {"id": eid, "b": integrity.json_text(sides[0]) if b else b,
                                    "a": integrity.json_text(sides[1]) if a else a})
    for eid, parts in batch_of.items():
        bid, runs, blob = conn.execute(sa.text("SELECT id, meter_ids, data FROM event_batches WHERE event_id = :e"),
                                       {"e": eid}).one()
        data = json.loads(zlib.decompress(bytes(blob)))
        values = [[x or None for x in v.split(_SEP)] if isinstance(v, str) else v for v in data["values"]]
        pos = {mid: p for p, mid in enumerate(first + k for first, count in json.loads(runs) for k in range(count))}
        for key, ids, entries in parts:
            col = "extra" if key.startswith("extra.") else key
            if col not in data["columns"]:
                continue
            j = data["columns"].index(col)
            for mid, e in zip(ids, entries):
                v = integrity.entry_values(e)[1] if e else integrity.ERASED
                if col == "extra":
                    if isinstance(values[j][pos[mid]], dict):
                        values[j][pos[mid]][key[6:]] = v
                else:
                    values[j][pos[mid]] = v
        kept = json.dumps({"columns": data["columns"], "values": values}, ensure_ascii=False)
        conn.execute(sa.text("UPDATE event_batches SET data = :d WHERE id = :id"),
                     {"d": zlib.compress(kept.encode("utf-8"), 1), "id": bid})


def _put_back(d, key: str, value) -> None:
    if not isinstance(d, dict):
        return
    if key.startswith("extra."):
        for col in ("extra", "personal_extra"):
            if isinstance(d.get(col), dict) and key[6:] in d[col]:
                d[col][key[6:]] = value
    elif d.get(key) == integrity.PERSONAL:
        d[key] = value


def downgrade() -> None:
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    if pg:
        op.execute("DROP TRIGGER IF EXISTS events_user ON events")
        op.execute("DROP FUNCTION IF EXISTS heatmeter_event_user()")
    _values_back(conn, pg)
    conn.execute(sa.text("DELETE FROM evidence_anchors"))
    conn.execute(sa.text("DELETE FROM events WHERE action = 'chain_built'"))
    # spreadsheet columns marked personal go back with the others
    for mid, pe, ex in conn.execute(sa.text(
            "SELECT id, personal_extra, extra FROM meters WHERE personal_extra IS NOT NULL")).all():
        pe = json.loads(pe) if isinstance(pe, str) else pe
        ex = (json.loads(ex) if isinstance(ex, str) else ex) or {}
        ex.update(pe or {})
        conn.execute(sa.text(f"UPDATE meters SET extra = {'CAST(:e AS json)' if pg else ':e'} WHERE id = :id"),
                     {"e": json.dumps(ex, ensure_ascii=False), "id": mid})
    with op.batch_alter_table('lots') as b:
        b.drop_column('draw_hash')
        b.drop_column('content_hash')
    for table in ('commissioning_photos', 'meter_writes', 'lot_verdicts', 'lot_results', 'calibration_results',
                  'commissioning_records', 'readouts'):
        with op.batch_alter_table(table) as b:
            b.drop_column('content_hash')
    with op.batch_alter_table('meters') as b:
        b.drop_column('personal_extra')
    op.drop_index(op.f('ix_evidence_anchors_event_id'), table_name='evidence_anchors')
    op.drop_index(op.f('ix_evidence_anchors_item_table_item_id'), table_name='evidence_anchors')
    op.drop_table('evidence_anchors')
    op.drop_index(op.f('ix_personal_values_event_id'), table_name='personal_values')
    op.drop_index(op.f('ix_personal_values_first_meter_id_last_meter_id'), table_name='personal_values')
    op.drop_table('personal_values')
    op.drop_table('personal_columns')
    op.drop_table('event_chain')
    with op.batch_alter_table('events') as b:
        b.drop_column('hash')
        b.drop_column('detail_digest')
