"""alert incidents per group and entity: an incident has its own key, its group is a column, and its card's alert list a digest

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 10:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.alter_column('group_key', new_column_name='key', existing_type=sa.String(length=300), existing_nullable=False)
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:  # a batch of its own: the new column takes the old name
        batch_op.add_column(sa.Column('group_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('listed', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.execute("UPDATE alert_incident SET group_key = \"key\"")  # each group had one incident, keyed by the group
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.alter_column('group_key', existing_type=sa.String(length=300), nullable=False)
        batch_op.create_index('ix_alert_incident_group', ['group_key', 'entity_ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_incident_group')
        batch_op.drop_column('listed')
        batch_op.drop_column('group_key')
    with op.batch_alter_table('alert_incident', schema=None) as batch_op:
        batch_op.alter_column('key', new_column_name='group_key', existing_type=sa.String(length=300), existing_nullable=False)
