"""entity full-text search: an update rewrites the text index only when the indexed text changed

On SQLite the trigger of 0008 fires for every UPDATE that names name, title, description or tags,
and a sync's update names them all, so a sync that changed only owners re-tokenised every updated
entity twice (the old text out, the new in) while holding the database's write lock: about 80%
of that transaction. The trigger now runs only when one of them really differs. PostgreSQL's
generated column is unchanged.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 19:00:00.000000
"""
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

_COLUMNS = "name, title, description, tags"
_NEW = "new.id, new.name, new.title, new.description, new.tags"
_OLD = "'delete', old.id, old.name, old.title, old.description, old.tags"
_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in ("name", "title", "description", "tags"))


def _update_trigger(when: str) -> None:
    op.execute("DROP TRIGGER IF EXISTS entity_fts_update")
    op.execute(f"CREATE TRIGGER entity_fts_update AFTER UPDATE OF {_COLUMNS} ON entity {when}BEGIN "
               f"INSERT INTO entity_fts(entity_fts, rowid, {_COLUMNS}) VALUES ({_OLD}); "
               f"INSERT INTO entity_fts(rowid, {_COLUMNS}) VALUES ({_NEW}); END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _update_trigger(f"WHEN {_CHANGED} ")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _update_trigger("")
