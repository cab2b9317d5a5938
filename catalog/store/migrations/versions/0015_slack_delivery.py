"""slack_delivery: Slack deliveries kept with a lease until handled, so a dead replica's work is taken over

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-02 15:30:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('slack_delivery',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('slack_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_slack_delivery_pending', ['done_at', 'claimed_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('slack_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_slack_delivery_pending')
    op.drop_table('slack_delivery')
