"""entity full-text search, kept current by the database itself

SQLite: an FTS5 external-content table over entity(name, title, description, tags), maintained
by triggers. PostgreSQL: a generated tsvector column with a GIN index. Either way the sync engine
writes `entity` as before and the text index follows.

Note for later migrations: a SQLite batch (copy-and-move) alter of `entity` drops its triggers;
recreate them with `create_sqlite_triggers()` after such an alter.

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000
"""
from alembic import op

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None

_COLUMNS = "name, title, description, tags"
_NEW = "new.id, new.name, new.title, new.description, new.tags"
_OLD = "'delete', old.id, old.name, old.title, old.description, old.tags"

_PG_VECTOR = (
    "setweight(to_tsvector('english', coalesce(name, '') || ' ' || coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(tags::text, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'C')"
)


def create_sqlite_triggers() -> None:
    op.execute(f"CREATE TRIGGER entity_fts_insert AFTER INSERT ON entity BEGIN "
               f"INSERT INTO entity_fts(rowid, {_COLUMNS}) VALUES ({_NEW}); END")
    op.execute(f"CREATE TRIGGER entity_fts_delete AFTER DELETE ON entity BEGIN "
               f"INSERT INTO entity_fts(entity_fts, rowid, {_COLUMNS}) VALUES ({_OLD}); END")
    op.execute(f"CREATE TRIGGER entity_fts_update AFTER UPDATE OF {_COLUMNS} ON entity BEGIN "
               f"INSERT INTO entity_fts(entity_fts, rowid, {_COLUMNS}) VALUES ({_OLD}); "
               f"INSERT INTO entity_fts(rowid, {_COLUMNS}) VALUES ({_NEW}); END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE entity ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_PG_VECTOR}) STORED")
        op.execute("CREATE INDEX ix_entity_search ON entity USING gin (search_vector)")
        return
    op.execute(f"CREATE VIRTUAL TABLE entity_fts USING fts5({_COLUMNS}, content='entity', content_rowid='id', "
               "tokenize='porter unicode61')")
    create_sqlite_triggers()
    op.execute("INSERT INTO entity_fts(entity_fts) VALUES ('rebuild')")  # entities synced before this revision


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_entity_search")
        op.execute("ALTER TABLE entity DROP COLUMN search_vector")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER entity_fts_{trigger}")
    op.execute("DROP TABLE entity_fts")
