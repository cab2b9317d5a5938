"""queued push: a GitHub push that found its source busy waits for a resync instead of being refused

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 10:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queued_push',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('repository', sa.JSON(), nullable=False),
    sa.Column('authors', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('queued_push', schema=None) as batch_op:
        batch_op.create_index('ix_queued_push_source', ['source', 'full_name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('queued_push', schema=None) as batch_op:
        batch_op.drop_index('ix_queued_push_source')
    op.drop_table('queued_push')
