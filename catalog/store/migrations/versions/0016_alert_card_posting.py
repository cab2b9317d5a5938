"""alert cards: when a worker set out to post an incident's card (found again after a crash)

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-02 15:20:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0016'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posting_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.drop_column('posting_since')
