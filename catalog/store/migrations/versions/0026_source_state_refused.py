"""source state: whether the last error was a refused run (it read the source but would have retired too much), not a failure to read it

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 10:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_error_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('source_state', schema=None) as batch_op:
        batch_op.drop_column('last_error_status')
