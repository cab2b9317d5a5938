"""adoption: an index to count the most asked entities in its order

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-02 16:40:00.000000
"""
from alembic import op

revision = '0017'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('adoption_event', schema=None) as batch_op:
        batch_op.create_index('ix_adoption_event_kind_entity', ['kind', 'entity_ref', 'day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('adoption_event', schema=None) as batch_op:
        batch_op.drop_index('ix_adoption_event_kind_entity')
