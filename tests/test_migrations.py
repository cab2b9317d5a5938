"""Alembic migrations build the schema on SQLite and PostgreSQL, and outdated databases are refused.

Why: every process refuses to start on a schema older than its code, saying which command fixes
it; if that guard or the migrations drift from the models, deploys fail in confusing ways.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlmodel import SQLModel, col

import actions.models  # noqa: F401  (the action tables)
import catalog.store.models  # noqa: F401  (registers every table)
from catalog.errors import SchemaOutdated
from catalog.search.fulltext import is_modelled
from catalog.store.engine import MIGRATIONS, head_revision, make_engine, require_current_schema, schema_status, upgrade
from catalog.store.models import CatalogState
from tests.invoke_cli import one_source_config, wayfinder

CORE_TABLES = {"entity", "relation", "source_state", "sync_run", "catalog_state", "question_log"}


def test_empty_database_is_refused_with_the_fix(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        with pytest.raises(SchemaOutdated) as err:
            require_current_schema(engine)
        assert "no Wayfinder tables" in str(err.value)
        assert "`wayfinder db upgrade`" in str(err.value)
    finally:
        engine.dispose()


def test_the_schema_check_knows_alembics_head() -> None:
    """The check every command runs reads the head from the files, not through Alembic (a CLI start-up cost)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_upgrade_from_empty_to_head(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        current, head = schema_status(engine)
        assert current is None and head
        upgrade(engine)
        assert schema_status(engine) == (head, head)
        require_current_schema(engine)  # does not raise
        assert CORE_TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:  # the generation row caches key on exists from the start
            assert conn.execute(select(col(CatalogState.generation)).where(col(CatalogState.id) == 1)).scalar_one() == 0
        upgrade(engine)  # running it again is harmless
        assert schema_status(engine) == (head, head)
    finally:
        engine.dispose()


def test_older_revision_is_refused_with_the_fix_and_upgrade_completes_it(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0001")
        head = schema_status(engine)[1]
        assert head != "0001"
        with pytest.raises(SchemaOutdated) as err:
            require_current_schema(engine)
        assert f"is at revision 0001, the code needs {head}" in str(err.value)
        assert "Run `wayfinder db upgrade`" in str(err.value)
        upgrade(engine)
        require_current_schema(engine)
    finally:
        engine.dispose()


def test_migrations_match_the_models(database_url: str) -> None:
    """A model changed without a migration would only show up in production; catch it here."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True, "include_object": is_modelled}), SQLModel.metadata
            )
        assert diff == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [("ask", "who owns billing?"), ("sync", "status"), ("sync",), ("sync", "--no-migrate"), ("db", "upgrade")])
def test_a_schema_from_a_newer_wayfinder_is_refused_by_every_command(database_url: str, tmp_path: Path, command: tuple[str, ...]) -> None:
    """After a rolled-back deploy the database is ahead of the code: `db upgrade` is no fix, and Alembic cannot place the revision."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    finally:
        engine.dispose()
    ran = wayfinder(*command, database_url=database_url, config=one_source_config(tmp_path))
    assert ran.exit_code == 2
    assert ran.stderr.splitlines() == [
        f"error: The database was migrated by a newer Wayfinder (to revision 0099_future; a deploy rolled back?) and this version "
        f"(schema {head_revision()}) cannot use it. Run the newer version, or restore a backup taken before it migrated."
    ]
