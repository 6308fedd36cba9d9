"""Event batches: the values of an import's ``create`` events, stored once per batch of meters.

Revision ID: 0004
Revises: 0003

Downgrading writes each batched meter's values back into the ``after`` of its
``create`` event (the form revisions 0001-0003 read), then drops the table.
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
    sa.Column('first_meter_id', sa.Integer(), nullable=False),
    sa.Column('last_meter_id', sa.Integer(), nullable=False),
    sa.Column('meter_count', sa.Integer(), nullable=False),
    sa.Column('meter_ids', sa.Text(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_batches'))
    )
    op.create_index(op.f('ix_event_batches_first_meter_id_last_meter_id'), 'event_batches',
                    ['first_meter_id', 'last_meter_id'])


def _after_values(runs: str, blob: bytes):
    """(meter_id, after) for each meter of a batch: its non-empty values by column."""
    ids = [first + k for first, count in json.loads(runs) for k in range(count)]
    data = json.loads(zlib.decompress(blob))
    columns, values = data["columns"], data["values"]
    for p, mid in enumerate(ids):
        yield mid, {c: vals[p] for c, vals in zip(columns, values) if vals[p] is not None}


def downgrade() -> None:
    conn = op.get_bind()
    events = sa.table('events', sa.column('id', sa.Integer), sa.column('meter_id', sa.Integer),
                      sa.column('action', sa.String), sa.column('entity', sa.String), sa.column('after', sa.JSON))
    batches = sa.table('event_batches', sa.column('id', sa.Integer), sa.column('meter_ids', sa.Text),
                       sa.column('data', sa.LargeBinary))
    for runs, blob in conn.execute(sa.select(batches.c.meter_ids, batches.c.data).order_by(batches.c.id)):
        rows = [{"m": mid, "a": after} for mid, after in _after_values(runs, bytes(blob))]
        if rows:
            conn.execute(events.update().where(
                events.c.meter_id == sa.bindparam("m"), events.c.entity == "meters", events.c.action == "create",
                events.c.after.is_(None)).values(after=sa.bindparam("a")), rows)
    op.drop_index(op.f('ix_event_batches_first_meter_id_last_meter_id'), table_name='event_batches')
    op.drop_table('event_batches')
