"""Shared fixtures: a fresh, migrated database per test on SQLite (default) or PostgreSQL.

Set `WAYFINDER_TEST_DATABASE_URL=postgresql+psycopg://user@host:port/postgres` to run the
whole suite against PostgreSQL; each test then gets its own throwaway database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from catalog.config import Config, load_config
from catalog.core import Catalog
from catalog.db import make_engine, upgrade

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("WAYFINDER_FIXTURES") or REPO.parent / "shared" / "fixtures")
EXAMPLES = REPO / "examples"
PG_URL = os.environ.get("WAYFINDER_TEST_DATABASE_URL")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database that only this test uses."""
    if not PG_URL:
        url = f"sqlite:///{tmp_path / 'wayfinder.db'}"
        upgrade(make_engine(url))
        yield url
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"wf_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (not migrated), on the same backend as `database_url`."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"wf_empty_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Config]:
    """Write a wayfinder.yaml into the test's directory and load it."""

    def write(body: str) -> Config:
        path = tmp_path / "wayfinder.yaml"
        path.write_text(body, encoding="utf-8")
        return load_config(path)

    return write


@pytest.fixture
def make_catalog(database_url: str) -> Iterator[Callable[[Config], Catalog]]:
    made: list[Catalog] = []

    def make(config: Config) -> Catalog:
        catalog = Catalog(database_url, config)
        made.append(catalog)
        return catalog

    yield make
    for c in made:
        c.dispose()


@pytest.fixture
def example_catalog(make_catalog: Callable[[Config], Catalog]) -> Catalog:
    """The bundled Northwind example organisation, synced."""
    catalog = make_catalog(load_config(EXAMPLES / "wayfinder.yaml"))
    reports = catalog.sync()
    assert all(r.ok for r in reports), [r.error for r in reports]
    return catalog
