"""Writes to meters (address, baud rate, clock) with their frames; photos of commissioning steps.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meter_writes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('commissioning_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('written_at', sa.DateTime(), nullable=False),
    sa.Column('written_by', sa.String(length=100), nullable=True),
    sa.Column('transport', sa.String(length=20), nullable=True),
    sa.Column('port', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['commissioning_id'], ['commissioning_records.id'],
                            name=op.f('fk_meter_writes_commissioning_id_commissioning_records'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_meter_writes_meter_id_meters'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_writes'))
    )
    op.create_index(op.f('ix_meter_writes_commissioning_id'), 'meter_writes', ['commissioning_id'])
    op.create_index(op.f('ix_meter_writes_meter_id_written_at'), 'meter_writes', ['meter_id', 'written_at'])
    op.create_table('meter_write_frames',
    sa.Column('write_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['write_id'], ['meter_writes.id'], name=op.f('fk_meter_write_frames_write_id_meter_writes'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('write_id', 'seq', name=op.f('pk_meter_write_frames'))
    )
    op.create_table('commissioning_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commissioning_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=60), nullable=False),
    sa.Column('caption', sa.Text(), nullable=True),
    sa.Column('filename', sa.String(length=300), nullable=True),
    sa.Column('media_type', sa.String(length=50), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('added_by', sa.String(length=100), nullable=True),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['commissioning_id'], ['commissioning_records.id'],
                            name=op.f('fk_commissioning_photos_commissioning_id_commissioning_records'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commissioning_photos'))
    )
    op.create_index(op.f('ix_commissioning_photos_commissioning_id'), 'commissioning_photos', ['commissioning_id'])


def downgrade() -> None:
    # Dropping these tables discards the writes' evidence and the photos.
    op.drop_index(op.f('ix_commissioning_photos_commissioning_id'), table_name='commissioning_photos')
    op.drop_table('commissioning_photos')
    op.drop_table('meter_write_frames')
    op.drop_index(op.f('ix_meter_writes_meter_id_written_at'), table_name='meter_writes')
    op.drop_index(op.f('ix_meter_writes_commissioning_id'), table_name='meter_writes')
    op.drop_table('meter_writes')
