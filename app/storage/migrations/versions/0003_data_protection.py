"""Personal data on meters and the MMS 2.2 data-protection flags (legal hold, restrict processing).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('meters') as batch_op:
        batch_op.add_column(sa.Column('occupant_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('flat', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('customer_reference', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('restrict_processing', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('personal_erased_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    # Dropping these columns discards personal data and the protection flags.
    with op.batch_alter_table('meters') as batch_op:
        batch_op.drop_column('personal_erased_at')
        batch_op.drop_column('restrict_processing')
        batch_op.drop_column('legal_hold')
        batch_op.drop_column('customer_reference')
        batch_op.drop_column('flat')
        batch_op.drop_column('occupant_name')
