"""question log: every question recorded; unanswered_question becomes a view of it

Existing unanswered questions move into question_log (their intent and latency were never
kept, so those stay NULL).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 10:30:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_UNANSWERED_VIEW = (
    "CREATE VIEW unanswered_question AS SELECT id, question, status AS reason, surface AS transport, asked_at "
    "FROM question_log WHERE status IN ('unknown', 'not_found')"
)


def upgrade() -> None:
    log = op.create_table('question_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('surface', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('intent', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('entity_ref', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('asker', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('question_log', schema=None) as batch_op:
        batch_op.create_index('ix_question_log_asked_at', ['asked_at'], unique=False)

    old = sa.table(
        "unanswered_question",
        sa.column("question"),
        sa.column("reason"),
        sa.column("transport"),
        sa.column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    rows = op.get_bind().execute(sa.select(old.c.question, old.c.reason, old.c.transport, old.c.asked_at).order_by(old.c.asked_at)).all()
    if rows:
        op.bulk_insert(log, [
            {'asked_at': r.asked_at, 'surface': r.transport, 'question': r.question, 'status': r.reason, 'candidates': []} for r in rows
        ])
    op.drop_table('unanswered_question')
    op.execute(_UNANSWERED_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW unanswered_question")
    table = op.create_table('unanswered_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('transport', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    log = sa.table(
        "question_log",
        sa.column("question"),
        sa.column("status"),
        sa.column("surface"),
        sa.column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    rows = (
        op.get_bind()
        .execute(
            sa.select(log.c.question, log.c.status, log.c.surface, log.c.asked_at)
            .where(log.c.status.in_(["unknown", "not_found"]))
            .order_by(log.c.asked_at)
        )
        .all()
    )
    if rows:
        op.bulk_insert(table, [{'question': r.question, 'reason': r.status, 'transport': r.surface, 'asked_at': r.asked_at} for r in rows])
    with op.batch_alter_table('question_log', schema=None) as batch_op:
        batch_op.drop_index('ix_question_log_asked_at')
    op.drop_table('question_log')
