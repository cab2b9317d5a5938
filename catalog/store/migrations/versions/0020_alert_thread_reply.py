"""alert cards: which delivery's thread line is being posted (found again after a crash)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 18:40:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replying', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.drop_column('replying')
