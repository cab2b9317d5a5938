"""actions: requests, decisions, the audit log and the entities action runs registered

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 15:10:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('action_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('surface', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_action_audit_at', 'action_audit', ['at'], unique=False)
    op.create_index(op.f('ix_action_audit_request_id'), 'action_audit', ['request_id'], unique=False)
    op.create_table('action_entity',
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('doc', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('retired_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('ref')
    )
    op.create_table('action_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('requester_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('requester_slack_id', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('requester_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('surface', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('target_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('owner_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('escalated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reminded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('ts', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('run_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('dispatched_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('entity_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('ttl_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('ttl_notice', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('extends_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_action_request_requester', 'action_request', ['requester_ref'], unique=False)
    op.create_index('ix_action_request_state', 'action_request', ['state', 'expires_at'], unique=False)
    op.create_table('action_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('approver_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('approver_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('surface', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['action_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'stage', 'approver_ref', name='uq_action_decision')
    )
    op.create_index(op.f('ix_action_decision_request_id'), 'action_decision', ['request_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_action_decision_request_id'), table_name='action_decision')
    op.drop_table('action_decision')
    op.drop_index('ix_action_request_state', table_name='action_request')
    op.drop_index('ix_action_request_requester', table_name='action_request')
    op.drop_table('action_request')
    op.drop_table('action_entity')
    op.drop_index(op.f('ix_action_audit_request_id'), table_name='action_audit')
    op.drop_index('ix_action_audit_at', table_name='action_audit')
    op.drop_table('action_audit')
