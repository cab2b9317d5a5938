"""change authors and evaluation inputs: who changed an entity, the author behind a result, when and from what scorecards were evaluated

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 18:40:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('entity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    with op.batch_alter_table('scorecard_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.create_table('scorecard_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('scorecard_input',
    sa.Column('entity_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.PrimaryKeyConstraint('entity_ref')
    )


def downgrade() -> None:
    op.drop_table('scorecard_input')
    op.drop_table('scorecard_state')
    with op.batch_alter_table('scorecard_result', schema=None) as batch_op:
        batch_op.drop_column('changed_by')
    with op.batch_alter_table('entity', schema=None) as batch_op:
        batch_op.drop_column('changed_by')
