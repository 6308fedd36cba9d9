"""The register: sites, buildings, monitoring points, meters, installations, event log.

Revision ID: 0001
Revises: (first revision)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user', sa.String(length=100), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('meter_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('source', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index(op.f('ix_events_meter_id_id'), 'events', ['meter_id', 'id'])

    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('name', name=op.f('uq_sites_name'))
    )

    op.create_table('buildings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_buildings_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buildings')),
    sa.UniqueConstraint('site_id', 'name', name=op.f('uq_buildings_site_id_name'))
    )

    op.create_table('monitoring_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('mms_id', sa.String(length=10), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('read_interval_min', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_monitoring_points_building_id_buildings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_monitoring_points_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_points')),
    sa.UniqueConstraint('site_id', 'label', name=op.f('uq_monitoring_points_site_id_label'))
    )

    op.create_table('meters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manufacturer', sa.String(length=100), nullable=False),
    sa.Column('manufacturer_key', sa.String(length=100), nullable=False),
    sa.Column('mbus_manufacturer', sa.String(length=3), nullable=True),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('serial', sa.String(length=100), nullable=False),
    sa.Column('mid_class', sa.SmallInteger(), nullable=True),
    sa.Column('qp_m3h', sa.Float(), nullable=True),
    sa.Column('qi_m3h', sa.Float(), nullable=True),
    sa.Column('qp_qi_ratio', sa.Float(), nullable=True),
    sa.Column('qs_m3h', sa.Float(), nullable=True),
    sa.Column('dn', sa.Integer(), nullable=True),
    sa.Column('dtheta_min_k', sa.Float(), nullable=True),
    sa.Column('dtheta_max_k', sa.Float(), nullable=True),
    sa.Column('temp_min_c', sa.Float(), nullable=True),
    sa.Column('temp_max_c', sa.Float(), nullable=True),
    sa.Column('flow_sensor_position', sa.String(length=10), nullable=True),
    sa.Column('primary_address', sa.SmallInteger(), nullable=True),
    sa.Column('secondary_address', sa.String(length=8), nullable=True),
    sa.Column('baud', sa.Integer(), nullable=True),
    sa.Column('battery_expiry', sa.Date(), nullable=True),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('install_year_only', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('monitoring_point_id', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=300), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_meters_building_id_buildings')),
    sa.ForeignKeyConstraint(['monitoring_point_id'], ['monitoring_points.id'], name=op.f('fk_meters_monitoring_point_id_monitoring_points')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_meters_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meters')),
    sa.UniqueConstraint('manufacturer_key', 'serial', name=op.f('uq_meters_manufacturer_key_serial'))
    )
    op.create_index(op.f('ix_meters_mbus_manufacturer_secondary_address'), 'meters', ['mbus_manufacturer', 'secondary_address'])
    op.create_index(op.f('ix_meters_site_id'), 'meters', ['site_id'])

    op.create_table('installations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('monitoring_point_id', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=300), nullable=True),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('year_only', sa.Boolean(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('removal_reason', sa.String(length=200), nullable=True),
    sa.Column('replaced_by_meter_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_installations_building_id_buildings')),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_installations_meter_id_meters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['monitoring_point_id'], ['monitoring_points.id'], name=op.f('fk_installations_monitoring_point_id_monitoring_points')),
    sa.ForeignKeyConstraint(['replaced_by_meter_id'], ['meters.id'], name=op.f('fk_installations_replaced_by_meter_id_meters')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_installations_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_installations'))
    )
    op.create_index(op.f('ix_installations_meter_id'), 'installations', ['meter_id'])


def downgrade() -> None:
    op.drop_table('installations')
    op.drop_table('meters')
    op.drop_table('monitoring_points')
    op.drop_table('buildings')
    op.drop_table('sites')
    op.drop_table('events')
