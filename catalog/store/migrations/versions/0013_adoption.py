"""adoption: usage events, pulse surveys, learned aliases

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-02 15:05:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0013'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('adoption_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('surface', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('intent', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('entity_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('thread', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('adoption_event', schema=None) as batch_op:
        batch_op.create_index('ix_adoption_event_day_who', ['day', 'who'], unique=False)
        batch_op.create_index('ix_adoption_event_who_day', ['who', 'day', 'kind', 'outcome', 'at'], unique=False)
        batch_op.create_index('ix_adoption_event_usage', ['day', 'kind', 'outcome', 'surface', 'intent'], unique=False)
        batch_op.create_index('ix_adoption_event_kind_day', ['kind', 'day', 'outcome', 'entity_ref'], unique=False)
        batch_op.create_index('ix_adoption_event_thread', ['thread', 'kind', 'outcome', 'day'], unique=False)
    op.create_table('adoption_pulse',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('quarter', 'who', name='uq_adoption_pulse_quarter_who')
    )
    op.create_table('adoption_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('alias_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('entity_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('confirmations', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alias_key', 'entity_ref', name='uq_adoption_alias_key_ref')
    )
    with op.batch_alter_table('adoption_alias', schema=None) as batch_op:
        batch_op.create_index('ix_adoption_alias_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('adoption_alias', schema=None) as batch_op:
        batch_op.drop_index('ix_adoption_alias_status')
    op.drop_table('adoption_alias')
    op.drop_table('adoption_pulse')
    with op.batch_alter_table('adoption_event', schema=None) as batch_op:
        batch_op.drop_index('ix_adoption_event_thread')
        batch_op.drop_index('ix_adoption_event_kind_day')
        batch_op.drop_index('ix_adoption_event_usage')
        batch_op.drop_index('ix_adoption_event_who_day')
        batch_op.drop_index('ix_adoption_event_day_who')
    op.drop_table('adoption_event')
