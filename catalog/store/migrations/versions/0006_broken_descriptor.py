"""broken descriptor: entities kept, marked stale, while the file that described them cannot be read

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('entity') as batch_op:
        batch_op.add_column(sa.Column('broken_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('broken_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('entity') as batch_op:
        batch_op.drop_column('broken_reason')
        batch_op.drop_column('broken_since')
