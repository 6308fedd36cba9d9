"""Connectivity surveys of radio meters (MMS 2.1.9): surveys, their locations, the telegrams heard.

Revision ID: 0005
Revises: 0004

Downgrading drops the three tables (and the surveys in them).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('radio_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('technician', sa.String(length=100), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('dongle', sa.String(length=20), nullable=True),
    sa.Column('mode', sa.String(length=4), nullable=True),
    sa.Column('sensitivity_dbm', sa.Float(), nullable=True),
    sa.Column('margin_db', sa.Float(), nullable=False),
    sa.Column('min_ratio', sa.Float(), nullable=False),
    sa.Column('min_expected', sa.Float(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_radio_surveys_site_id_sites'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radio_surveys'))
    )
    op.create_index(op.f('ix_radio_surveys_site_id'), 'radio_surveys', ['site_id'])
    op.create_table('radio_survey_locations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('floor', sa.String(length=50), nullable=True),
    sa.Column('flat', sa.String(length=50), nullable=True),
    sa.Column('riser', sa.String(length=50), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['survey_id'], ['radio_surveys.id'],
                            name=op.f('fk_radio_survey_locations_survey_id_radio_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radio_survey_locations')),
    sa.UniqueConstraint('survey_id', 'seq', name=op.f('uq_radio_survey_locations_survey_id_seq'))
    )
    op.create_table('radio_survey_telegrams',
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('manufacturer', sa.String(length=3), nullable=True),
    sa.Column('identification', sa.String(length=8), nullable=True),
    sa.Column('meter_id', sa.Integer(), nullable=True),
    sa.Column('rssi_dbm', sa.Float(), nullable=True),
    sa.Column('rssi_raw', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=4), nullable=True),
    sa.Column('crc', sa.String(length=4), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('medium', sa.String(length=40), nullable=True),
    sa.Column('security', sa.String(length=12), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['radio_survey_locations.id'],
                            name=op.f('fk_radio_survey_telegrams_location_id_radio_survey_locations'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_radio_survey_telegrams_meter_id_meters'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('location_id', 'seq', name=op.f('pk_radio_survey_telegrams'))
    )
    op.create_index(op.f('ix_radio_survey_telegrams_manufacturer_identification'), 'radio_survey_telegrams',
                    ['manufacturer', 'identification'])
    op.create_index(op.f('ix_radio_survey_telegrams_meter_id'), 'radio_survey_telegrams', ['meter_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_radio_survey_telegrams_meter_id'), table_name='radio_survey_telegrams')
    op.drop_index(op.f('ix_radio_survey_telegrams_manufacturer_identification'), table_name='radio_survey_telegrams')
    op.drop_table('radio_survey_telegrams')
    op.drop_table('radio_survey_locations')
    op.drop_index(op.f('ix_radio_surveys_site_id'), table_name='radio_surveys')
    op.drop_table('radio_surveys')
