"""alert cards: why a card went to the default channel instead of its owner's (shown on the card)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 19:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rerouted', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.drop_column('rerouted')
