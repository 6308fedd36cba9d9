"""Commissioning records, readout evidence, calibration results, sampling lots.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('key', sa.JSON(), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=True),
    sa.Column('purpose', sa.String(length=40), nullable=True),
    sa.Column('formed_at', sa.DateTime(), nullable=False),
    sa.Column('formed_by', sa.String(length=100), nullable=True),
    sa.Column('lot_size', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=True),
    sa.Column('aql', sa.Float(), nullable=True),
    sa.Column('inspection', sa.String(length=12), nullable=True),
    sa.Column('code_letter', sa.String(length=2), nullable=True),
    sa.Column('plan_letter', sa.String(length=2), nullable=True),
    sa.Column('sample_size', sa.Integer(), nullable=True),
    sa.Column('acceptance_number', sa.Integer(), nullable=True),
    sa.Column('rejection_number', sa.Integer(), nullable=True),
    sa.Column('seed', sa.String(length=100), nullable=True),
    sa.Column('plan', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots'))
    )

    op.create_table('lot_verdicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('verdict', sa.String(length=10), nullable=False),
    sa.Column('sample_tested', sa.Integer(), nullable=True),
    sa.Column('defectives', sa.Integer(), nullable=True),
    sa.Column('acceptance_number', sa.Integer(), nullable=True),
    sa.Column('rejection_number', sa.Integer(), nullable=True),
    sa.Column('retain_until', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_verdicts_lot_id_lots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_verdicts'))
    )
    op.create_index(op.f('ix_lot_verdicts_lot_id'), 'lot_verdicts', ['lot_id'])

    op.create_table('calibration_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('tested_on', sa.Date(), nullable=False),
    sa.Column('lab', sa.String(length=200), nullable=True),
    sa.Column('certificate', sa.String(length=200), nullable=True),
    sa.Column('subassembly', sa.String(length=20), nullable=False),
    sa.Column('initial_verdict', sa.String(length=10), nullable=True),
    sa.Column('in_service_verdict', sa.String(length=10), nullable=True),
    sa.Column('coverage', sa.String(length=12), nullable=True),
    sa.Column('missing_intervals', sa.JSON(), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_calibration_results_lot_id_lots'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_calibration_results_meter_id_meters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_results'))
    )
    op.create_index(op.f('ix_calibration_results_meter_id_tested_on'), 'calibration_results', ['meter_id', 'tested_on'])

    op.create_table('lot_draws',
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('draw_order', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('spare', sa.Boolean(), nullable=False),
    sa.Column('drawn_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_draws_lot_id_lots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_lot_draws_meter_id_meters')),
    sa.PrimaryKeyConstraint('lot_id', 'draw_order', name=op.f('pk_lot_draws')),
    sa.UniqueConstraint('lot_id', 'meter_id', name=op.f('uq_lot_draws_lot_id_meter_id'))
    )

    op.create_table('lot_members',
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_members_lot_id_lots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_lot_members_meter_id_meters')),
    sa.PrimaryKeyConstraint('lot_id', 'meter_id', name=op.f('pk_lot_members'))
    )
    op.create_index(op.f('ix_lot_members_meter_id'), 'lot_members', ['meter_id'])

    op.create_table('calibration_points',
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('error_pct', sa.Float(), nullable=False),
    sa.Column('q_m3h', sa.Float(), nullable=True),
    sa.Column('dtheta_k', sa.Float(), nullable=True),
    sa.Column('interval', sa.String(length=4), nullable=True),
    sa.Column('mpe_initial_pct', sa.Float(), nullable=True),
    sa.Column('mpe_in_service_pct', sa.Float(), nullable=True),
    sa.Column('acceptance_initial_pct', sa.Float(), nullable=True),
    sa.Column('acceptance_in_service_pct', sa.Float(), nullable=True),
    sa.Column('pass_initial', sa.Boolean(), nullable=True),
    sa.Column('pass_in_service', sa.Boolean(), nullable=True),
    sa.Column('in_interval', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['result_id'], ['calibration_results.id'], name=op.f('fk_calibration_points_result_id_calibration_results'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('result_id', 'seq', name=op.f('pk_calibration_points'))
    )

    op.create_table('commissioning_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('installation_id', sa.Integer(), nullable=True),
    sa.Column('commissioned_on', sa.Date(), nullable=True),
    sa.Column('technician', sa.String(length=100), nullable=True),
    sa.Column('checklist', sa.JSON(), nullable=True),
    sa.Column('plausibility', sa.JSON(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('current_step', sa.Integer(), nullable=False),
    sa.Column('signed_by', sa.String(length=100), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['installation_id'], ['installations.id'], name=op.f('fk_commissioning_records_installation_id_installations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_commissioning_records_meter_id_meters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commissioning_records'))
    )
    op.create_index(op.f('ix_commissioning_records_meter_id'), 'commissioning_records', ['meter_id'])
    op.create_index(op.f('ix_commissioning_records_status'), 'commissioning_records', ['status'])

    op.create_table('lot_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('calibration_result_id', sa.Integer(), nullable=True),
    sa.Column('error_pct', sa.Float(), nullable=True),
    sa.Column('limit_pct', sa.Float(), nullable=True),
    sa.Column('defective', sa.Boolean(), nullable=True),
    sa.Column('inaccessible', sa.Boolean(), nullable=False),
    sa.Column('tested_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['calibration_result_id'], ['calibration_results.id'], name=op.f('fk_lot_results_calibration_result_id_calibration_results'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_results_lot_id_lots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_lot_results_meter_id_meters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_results')),
    sa.UniqueConstraint('lot_id', 'meter_id', name=op.f('uq_lot_results_lot_id_meter_id'))
    )

    op.create_table('readouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('commissioning_id', sa.Integer(), nullable=True),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.Column('read_by', sa.String(length=100), nullable=True),
    sa.Column('mbus_manufacturer', sa.String(length=3), nullable=True),
    sa.Column('identification', sa.String(length=8), nullable=True),
    sa.Column('transport', sa.String(length=20), nullable=True),
    sa.Column('port', sa.String(length=300), nullable=True),
    sa.Column('baud', sa.Integer(), nullable=True),
    sa.Column('primary_address', sa.SmallInteger(), nullable=True),
    sa.Column('decoded', sa.JSON(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['commissioning_id'], ['commissioning_records.id'], name=op.f('fk_readouts_commissioning_id_commissioning_records'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_readouts_meter_id_meters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readouts'))
    )
    op.create_index(op.f('ix_readouts_commissioning_id'), 'readouts', ['commissioning_id'])
    op.create_index(op.f('ix_readouts_meter_id_read_at'), 'readouts', ['meter_id', 'read_at'])

    op.create_table('readout_frames',
    sa.Column('readout_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['readout_id'], ['readouts.id'], name=op.f('fk_readout_frames_readout_id_readouts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('readout_id', 'seq', name=op.f('pk_readout_frames'))
    )


def downgrade() -> None:
    op.drop_table('readout_frames')
    op.drop_table('readouts')
    op.drop_table('lot_results')
    op.drop_table('commissioning_records')
    op.drop_table('calibration_points')
    op.drop_table('lot_members')
    op.drop_table('lot_draws')
    op.drop_table('calibration_results')
    op.drop_table('lot_verdicts')
    op.drop_table('lots')
