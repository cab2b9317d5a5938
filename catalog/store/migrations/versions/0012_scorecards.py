"""scorecards: results per entity and day of change, degradation alerts, the digest queue, exemptions

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02 15:06:15.422064
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision = '0012'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scorecard_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scorecard', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('entity_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('team_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('from_level', sa.Integer(), nullable=False),
    sa.Column('to_level', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scorecard', 'entity_ref', 'rule', 'day', name='uq_scorecard_alert_once')
    )
    with op.batch_alter_table('scorecard_alert', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_alert_pending', ['sent_at', 'team_ref'], unique=False)

    op.create_table('scorecard_digest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_ref', 'period', name='uq_scorecard_digest_once')
    )
    with op.batch_alter_table('scorecard_digest', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_digest_status', ['status', 'period'], unique=False)

    op.create_table('scorecard_exemption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scorecard', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('entity_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scorecard_exemption', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_exemption_entity', ['scorecard', 'entity_ref', 'status'], unique=False)

    op.create_table('scorecard_result',
    sa.Column('scorecard', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('entity_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('owner_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('failing', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('evaluated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('scorecard', 'day', 'entity_ref')
    )
    with op.batch_alter_table('scorecard_result', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_result_entity', ['entity_ref', 'scorecard', 'day'], unique=False)
        batch_op.create_index('ix_scorecard_result_owner', ['scorecard', 'owner_ref'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scorecard_result', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_result_owner')
        batch_op.drop_index('ix_scorecard_result_entity')

    op.drop_table('scorecard_result')
    with op.batch_alter_table('scorecard_exemption', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_exemption_entity')

    op.drop_table('scorecard_exemption')
    with op.batch_alter_table('scorecard_digest', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_digest_status')

    op.drop_table('scorecard_digest')
    with op.batch_alter_table('scorecard_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_alert_pending')

    op.drop_table('scorecard_alert')
