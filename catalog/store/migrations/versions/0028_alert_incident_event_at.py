"""alert incidents: when the latest event applied to each happened, by the sender's clock

Webhooks arrive out of order (PagerDuty and Opsgenie say so; a retried delivery comes late). An
event older than the one an incident already shows must not move it back: a resolved incident's
late "triggered" reopened its card, and a late "acknowledged" left a resolved incident acknowledged.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 09:10:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.drop_column('event_at')
