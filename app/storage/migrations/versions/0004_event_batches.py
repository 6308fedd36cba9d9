"""Event batches: an import's ``create`` events, one row per batch of meters with their values.

Revision ID: 0004
Revises: 0003

Downgrading gives each batched meter its own ``create`` event again (who, when
and source of its batch, its values in ``after``: the form revisions 0001-0003
read), numbered below every other event so that a meter's creation still comes
first in its history; then the batch events and the table go.
"""
from __future__ import annotations

import json
import zlib

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('first_meter_id', sa.Integer(), nullable=False),
    sa.Column('last_meter_id', sa.Integer(), nullable=False),
    sa.Column('meter_count', sa.Integer(), nullable=False),
    sa.Column('meter_ids', sa.Text(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_batches_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_batches'))
    )
    op.create_index(op.f('ix_event_batches_first_meter_id_last_meter_id'), 'event_batches',
                    ['first_meter_id', 'last_meter_id'])


def _after_values(runs: str, blob: bytes):
    """(meter_id, after) for each meter of a batch, in order: its non-empty values by column."""
    ids = [first + k for first, count in json.loads(runs) for k in range(count)]
    data = json.loads(zlib.decompress(blob))
    # a column is a JSON list, or one string of the values joined by U+241F ("" for null)
    columns = data["columns"]
    values = [[x or None for x in v.split("\u241f")] if isinstance(v, str) else v for v in data["values"]]
    for p, mid in enumerate(ids):
        yield mid, {c: vals[p] for c, vals in zip(columns, values) if vals[p] is not None}


def downgrade() -> None:
    conn = op.get_bind()
    events = sa.table('events', sa.column('id', sa.BigInteger), sa.column('at', sa.DateTime),
                      sa.column('user', sa.String), sa.column('entity', sa.String),
                      sa.column('entity_id', sa.Integer), sa.column('meter_id', sa.Integer),
                      sa.column('action', sa.String), sa.column('after', sa.JSON), sa.column('source', sa.String))
    batches = sa.table('event_batches', sa.column('id', sa.Integer), sa.column('event_id', sa.BigInteger),
                       sa.column('meter_ids', sa.Text), sa.column('data', sa.LargeBinary))
    q = (sa.select(batches.c.event_id, batches.c.meter_ids, batches.c.data, events.c.at, events.c.user,
                   events.c.source)
         .select_from(batches.join(events, events.c.id == batches.c.event_id)).order_by(batches.c.id))
    rows = []
    for r in conn.execute(q):
        for mid, after in _after_values(r.meter_ids, bytes(r.data)):
            rows.append({"at": r.at, "user": r.user, "entity": "meters", "entity_id": mid, "meter_id": mid,
                         "action": "create", "after": after, "source": r.source})
    batch_events = [e for (e,) in conn.execute(sa.select(batches.c.event_id).distinct())]
    op.drop_index(op.f('ix_event_batches_first_meter_id_last_meter_id'), table_name='event_batches')
    op.drop_table('event_batches')
    if batch_events:
        conn.execute(events.delete().where(events.c.id.in_(batch_events)))
    if rows:  # ids below every other event, in creation order: each creation stays first in its history
        low = min(conn.execute(sa.select(sa.func.min(events.c.id))).scalar() or 1, 1)
        for k, row in enumerate(rows):
            row["id"] = low - len(rows) + k
        conn.execute(events.insert(), rows)
