"""adoption: daily rollups of the usage events, and the engineers counted in Slack

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 18:40:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('adoption_person_day',
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('first_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('first_answer_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('day', 'who')
    )
    with op.batch_alter_table('adoption_person_day', schema=None) as batch_op:
        batch_op.create_index('ix_adoption_person_day_who_day', ['who', 'day'], unique=False)
    op.create_table('adoption_usage_day',
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('surface', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('owner_intent', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'kind', 'outcome', 'surface')
    )
    op.create_table('adoption_population',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('engineers', sa.Integer(), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('counted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )


def downgrade() -> None:
    op.drop_table('adoption_population')
    op.drop_table('adoption_usage_day')
    with op.batch_alter_table('adoption_person_day', schema=None) as batch_op:
        batch_op.drop_index('ix_adoption_person_day_who_day')
    op.drop_table('adoption_person_day')
