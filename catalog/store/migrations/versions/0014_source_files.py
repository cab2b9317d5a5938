"""sync source files: per-file digests, so a resync in a fresh process parses only what changed; files parsed/skipped per run

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-02 15:10:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0014'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_source_file',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('refs', sa.JSON(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('reparse', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'path')
    )
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files_parsed', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('files_skipped', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.drop_column('files_skipped')
        batch_op.drop_column('files_parsed')
    op.drop_table('sync_source_file')
