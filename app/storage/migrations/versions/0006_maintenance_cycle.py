"""Maintenance cycle: the date a meter's battery was last replaced, and the user's model alias table.

Revision ID: 0006
Revises: 0005

``meters.battery_replaced_on``: set by ``Register.record_battery_change``
(with the new ``battery_expiry``), shown in the meter's record and evidence.
``model_aliases``: the register's own rows of the lot-key alias table
(``app.core.lot_keys``), added to the table shipped in ``resources/``: that
``alias`` is the model ``model`` of the make ``manufacturer`` (a FLAG code, or
"" for any make). ``alias_key`` is the normalised alias (one row per make and
alias).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('meters') as batch:
        batch.add_column(sa.Column('battery_replaced_on', sa.Date(), nullable=True))
    op.create_table('model_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manufacturer', sa.String(length=100), nullable=False),
    sa.Column('alias', sa.String(length=100), nullable=False),
    sa.Column('alias_key', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_aliases')),
    sa.UniqueConstraint('manufacturer', 'alias_key', name=op.f('uq_model_aliases_manufacturer_alias_key'))
    )


def downgrade() -> None:
    op.drop_table('model_aliases')
    with op.batch_alter_table('meters') as batch:
        batch.drop_column('battery_replaced_on')
