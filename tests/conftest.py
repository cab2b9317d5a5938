"""Shared fixtures: a fresh, migrated database per test on SQLite (default) or PostgreSQL.

Set `WAYFINDER_TEST_DATABASE_URL=postgresql+psycopg://user@host:port/postgres` to run the
whole suite against PostgreSQL; each test then gets a database no other test uses at the same time.

Migrating (and syncing the example organisation) costs far more than copying, so each test
process prepares a template database once and every test starts from a copy of it (a file copy
on SQLite; on PostgreSQL a `CREATE DATABASE ... TEMPLATE` copy that later tests of the same
process reuse, reset to the template's rows: see `_PgPool`).

Third-party conformance data (Backstage's examples, vendor payloads, Slack's test vectors) is
not part of the repository: it is read from `WAYFINDER_FIXTURES` (default: `../shared/fixtures`
beside the checkout), and a test that needs it asks for the `third_party` fixture, which skips
the test when the folder is absent. Everything else writes its own data or reads `tests/data/`.
"""

from __future__ import annotations

import compileall
import contextlib
import functools
import gc
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastapi.dependencies.models as fastapi_dependencies
import pytest
from sqlalchemy import Column, Connection, Engine, MetaData, Table, create_engine, select, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.pool import NullPool

from catalog.config import Config, load_config
from catalog.core import Catalog
from catalog.store import engine as catalog_engine
from catalog.store.engine import make_engine, upgrade
from tests.fakes.executor import FakeExecutor
from tests.helpers import backstage_config

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
FIXTURES = Path(os.environ.get("WAYFINDER_FIXTURES") or REPO.parent / "shared" / "fixtures")
EXAMPLES = REPO / "catalog" / "examples"
PG_URL = os.environ.get("WAYFINDER_TEST_DATABASE_URL")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (the README's command): two workers per CPU, because a worker spends about half of
    its time waiting on servers, subprocesses and timeouts rather than computing (two CPUs: 46-53 s
    with four workers, 56-62 s with three, 50-57 s with six). PYTEST_XDIST_AUTO_NUM_WORKERS still
    decides when set."""
    return None if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") else 2 * (os.cpu_count() or 1)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With workers (`-n`), an idle worker takes tests queued for a busy one (`--dist worksteal`)
    unless `--dist` says otherwise: with xdist's default (`load`) one worker went on for 6 s after
    the others had finished. Set here, not in `addopts`, so `-p no:xdist` still runs the suite."""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", None) == "no":
        config.option.dist = "worksteal"


# The cyclic garbage collector's thresholds in test processes (CPython's default: 700, 10, 10).
# A test allocates far more than a request (an app, a catalog, an engine, pydantic models) and
# most of it is garbage by the test's end: collecting young objects every 700 allocations promoted
# them into older generations, and full collections (about 0.15 s each in a test process) ran
# dozens of times. Collecting rarely frees the same objects and cost 60% less GC CPU.
GC_THRESHOLDS = (50_000, 20, 20)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    if sys.dont_write_bytecode:
        if not os.environ.get("PYTEST_XDIST_WORKER"):
            _write_project_bytecode()
        sys.dont_write_bytecode = False  # pytest keeps the test modules it rewrote, as it does by default
    _PROCESS_PATCHES.setattr(catalog_engine, "create_engine", _engine_sharing_statements)


def pytest_unconfigure(config: pytest.Config) -> None:
    _PROCESS_PATCHES.undo()


_PROCESS_PATCHES = pytest.MonkeyPatch()


def _write_project_bytecode() -> None:
    """Compile the project once into its `__pycache__` folders (git-ignored), as Python does by default.

    With PYTHONDONTWRITEBYTECODE set (many CI images and sandboxes set it), no process writes
    bytecode, so every test worker and each of the hundreds of `wayfinder` processes the tests start
    compiled the project from source again: about 10 s of the suite's CPU on two cores. Reading
    bytecode is still allowed; this writes it once (a second run finds it current and writes nothing).
    The test processes write bytecode again too: otherwise each pytest-xdist worker rewrote the
    assertions of every test module from source before its first test, about 2.5 s of CPU each.
    """
    for package in ("actions", "benchmarks", "bot", "catalog", "tests"):
        compileall.compile_dir(REPO / package, quiet=2)


# (backend, host, port, engine arguments) -> the first engine's dialect and compiled-statement cache.
_SHARED_DIALECTS: dict[tuple[str, str | None, int | None, str], tuple[Dialect, Any]] = {}


def _engine_sharing_statements(url: str, **kwargs: Any) -> Engine:
    """`make_engine`'s engines, sharing one dialect and statement cache per database server.

    A production process keeps one engine for its lifetime; a test process makes one per catalog,
    about 1,800 a run. Each new engine's dialect adapted every column type again and compiled every
    statement again: about a quarter of a short test's CPU. Engines to the same server with the same
    arguments produce the same SQL, so later ones use the first one's dialect and cache; each still
    has its own pool and connections to its own database. Only a dialect that has connected is shared:
    it learns the server's version on its first connection (reflection, as in a batch migration on
    SQLite, compares it), and an engine that never connected would hand on one that never will.
    """
    engine = create_engine(url, **kwargs)
    parsed = make_url(url)
    key = (parsed.drivername, parsed.host, parsed.port, repr(sorted(kwargs.items())))
    shared = _SHARED_DIALECTS.get(key)
    if shared is None or shared[0].server_version_info is None:
        _SHARED_DIALECTS[key] = (engine.dialect, engine._compiled_cache)
        return engine
    engine.dialect = engine.pool._dialect = shared[0]
    engine._compiled_cache = shared[1]
    return engine


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection left alive (every imported module, the collected tests) out of the cyclic
    garbage collector's sight (`gc.freeze`), as `wayfinder serve` does: every full collection in a
    test process walked it again."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _forget_endpoints() -> Iterator[None]:
    """Drop FastAPI's process-wide caches of endpoint functions after each test.

    Production builds one app per process; a test process builds hundreds, and those caches (up
    to 4,096 endpoints each) kept every app's route closures alive, and with them each test's
    catalog, index and engine: about 5,000 objects a server test that every later collection walked.
    """
    yield
    for cached in vars(fastapi_dependencies).values():
        if isinstance(cached, functools._lru_cache_wrapper):
            cached.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _hermetic_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The same environment however the suite is started: `wayfinder ask` saves its index under
    XDG_CACHE_HOME, kept out of the home directory; CLI tables fit COLUMNS, which a shell or a
    pytest-xdist worker (80) may set, so tests that want a width set it per run. matplotlib keeps
    its font list where it always does (under the real cache directory): rebuilding it in every
    test process cost half a second of CPU each."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLCONFIGDIR", os.environ.get("MPLCONFIGDIR") or str(Path(cache) / "matplotlib"))
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        patch.delenv("COLUMNS", raising=False)
        patch.delenv("LINES", raising=False)
        yield


@pytest.fixture(scope="session")
def third_party() -> Path:
    """The third-party fixtures folder; the test is skipped when it is absent."""
    if not FIXTURES.is_dir():
        pytest.skip(f"third-party fixtures not found at {FIXTURES} (set WAYFINDER_FIXTURES)")
    return FIXTURES


def _pg_database(name: str, template: str | None = None) -> str:
    """Create database `name` (optionally as a copy of `template`) and return its URL."""
    with _pg_admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return _pg_url(name)


def _pg_url(name: str) -> str:
    assert PG_URL
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _pg_drop(name: str) -> None:
    with _pg_admin().connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@functools.cache
def _pg_admin() -> Engine:
    """One connection per test process for CREATE and DROP DATABASE (a new one each time cost a login)."""
    assert PG_URL
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1)


# What a test could change about a database's schema (tables, columns, indexes, sequences, views, types,
# triggers, functions):
# a database whose answer differs from its template's is dropped rather than reused.
_SCHEMA_QUERY = """
SELECT c.relkind::text, n.nspname || '.' || c.relname || '.' || coalesce(a.attname || ':' || format_type(a.atttypid, a.atttypmod), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL SELECT 't', n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND t.typtype IN ('e', 'd')
UNION ALL SELECT 'g', tgrelid::regclass::text || '.' || tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'f', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


@dataclass
class _Snapshot:
    """A template database's schema fingerprint, rows and sequence positions, to reset a copy to it."""

    schema: frozenset[tuple[str, str]]
    metadata: MetaData
    rows: dict[str, list[dict[str, object]]]
    sequences: list[tuple[str, int, bool]]

    @classmethod
    def of(cls, conn: Connection) -> _Snapshot:
        metadata = MetaData()
        metadata.reflect(conn)
        rows = {t.name: [dict(r._mapping) for r in conn.execute(select(*_stored(t)))] for t in metadata.sorted_tables}
        sequences = [
            (f'"{schema}"."{name}"', int(str(start if last is None else last)), last is not None)
            for schema, name, start, last in conn.execute(text("SELECT schemaname, sequencename, start_value, last_value FROM pg_sequences"))
        ]
        return cls(_schema(conn), metadata, rows, sequences)

    def restore(self, conn: Connection) -> None:
        """Empty every table and put the template's rows and sequence positions back, in few round trips."""
        # DELETE, not TRUNCATE: TRUNCATE makes new files for every table, slower for a test's few rows.
        deletes = [f'DELETE FROM "{t.name}"' for t in reversed(self.metadata.sorted_tables)]
        setvals = [f"SELECT setval('{sequence}', {value}, {called})" for sequence, value, called in self.sequences]
        conn.exec_driver_sql(";\n".join(deletes + setvals))
        for table in self.metadata.sorted_tables:
            if self.rows[table.name]:
                conn.execute(table.insert(), self.rows[table.name])


def _stored(table: Table) -> list[Column[object]]:
    """The columns an INSERT may set: not the generated ones (PostgreSQL computes those)."""
    return [c for c in table.columns if c.computed is None]


def _schema(conn: Connection) -> frozenset[tuple[str, str]]:
    return frozenset((str(kind), str(what)) for kind, what in conn.execute(text(_SCHEMA_QUERY)))


class _PgPool:
    """Copies of template databases that this test process reuses on PostgreSQL.

    Why: `DROP DATABASE` waits for a checkpoint of the whole server (seconds each on a busy
    machine, most of the PostgreSQL run's time), while emptying a copy and putting its template's
    rows back takes milliseconds. A copy whose schema a test changed is dropped instead.
    """

    def __init__(self) -> None:
        self.free: dict[str, list[str]] = {}
        self.snapshots: dict[str, _Snapshot] = {}

    def take(self, template: str) -> str:
        free = self.free.setdefault(template, [])
        return _pg_url(free.pop()) if free else _pg_database(f"wf_test_{uuid.uuid4().hex[:12]}", template=template)

    def give_back(self, url: str, template: str) -> None:
        name = str(make_url(url).database)
        if template not in self.snapshots:
            self.snapshots[template] = self._read(_pg_url(template))
        snapshot = self.snapshots[template]
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name})
                reusable = _schema(conn) == snapshot.schema
                if reusable:
                    snapshot.restore(conn)
        finally:
            engine.dispose()
        if reusable:
            self.free[template].append(name)
        else:
            _pg_drop(name)

    @staticmethod
    def _read(url: str) -> _Snapshot:
        engine = create_engine(url, poolclass=NullPool)  # nobody may stay connected: PostgreSQL copies only an idle template
        try:
            with engine.connect() as conn:
                return _Snapshot.of(conn)
        finally:
            engine.dispose()

    def close(self) -> None:
        for name in (n for names in self.free.values() for n in names):
            _pg_drop(name)


@pytest.fixture(scope="session")
def _pg_pool() -> Iterator[_PgPool | None]:
    if not PG_URL:
        yield None
        return
    pool = _PgPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory, _pg_pool: _PgPool | None) -> Iterator[str]:
    """A migrated database that tests copy: a SQLite file path, or a PostgreSQL database name."""
    if not PG_URL:
        path = tmp_path_factory.mktemp("template") / "wayfinder.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()  # the last connection checkpoints the WAL into the file
        yield str(path)
        return
    name = f"wf_tmpl_{uuid.uuid4().hex[:12]}"
    engine = make_engine(_pg_database(name))
    upgrade(engine)
    engine.dispose()  # PostgreSQL copies a template only while nobody is connected to it
    yield name
    _pg_drop(name)


def _copy(template: str, tmp_path: Path) -> str:
    """A new database copied from `template` (a SQLite file or a PostgreSQL database name): its URL."""
    if not PG_URL:
        path = tmp_path / "wayfinder.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    return _pg_database(f"wf_test_{uuid.uuid4().hex[:12]}", template=template)


@contextmanager
def copied_database(template: str, tmp_path: Path, pool: _PgPool | None = None) -> Iterator[str]:
    """A copy of `template` (see `_copy`; on PostgreSQL from `pool` when given), gone or reset afterwards: its URL."""
    url = pool.take(template) if pool else _copy(template, tmp_path)
    yield url
    if pool:
        pool.give_back(url, template)
    elif PG_URL:
        _pg_drop(str(make_url(url).database))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: str, _pg_pool: _PgPool | None) -> Iterator[str]:
    """A migrated database that only this test uses: empty, or, when the test asks for
    `example_catalog`, with the example organisation already synced (one copy either way)."""
    uses_example = "example_catalog" in request.fixturenames
    with copied_database(request.getfixturevalue("example_template") if uses_example else migrated_template, tmp_path, _pg_pool) as url:
        yield url


@pytest.fixture(scope="session")
def parsed_example_config() -> Config:
    """The bundled example config, parsed once (parsing its YAML with line numbers costs ~10 ms a test)."""
    return load_config(EXAMPLES / "wayfinder.yaml")


@pytest.fixture
def example_config(parsed_example_config: Config) -> Config:
    """The bundled example config: this test's own copy, which it may change."""
    return parsed_example_config.model_copy(deep=True)


@contextmanager
def filled_template(template: str, directory: Path, config: Config, fill: Callable[[Catalog], None]) -> Iterator[str]:
    """A copy of `template` that `fill` wrote into once, for a session- or module-scoped fixture:
    its tests copy it (`copied_database`) instead of writing the same rows again."""
    url = _copy(template, directory)
    catalog = Catalog(url, config)
    fill(catalog)
    catalog.dispose()  # PostgreSQL copies a template only while nobody is connected to it
    name = make_url(url).database
    assert name
    yield name
    if PG_URL:
        _pg_drop(name)


def _sync_all(catalog: Catalog) -> None:
    reports = catalog.sync()
    assert all(r.ok for r in reports), [r.error for r in reports]


def synced_template(migrated_template: str, directory: Path, config: Config) -> contextlib.AbstractContextManager[str]:
    """A copy of `migrated_template` with every source of `config` synced into it once (`filled_template`)."""
    return filled_template(migrated_template, directory, config, _sync_all)


@pytest.fixture(scope="session")
def example_template(migrated_template: str, tmp_path_factory: pytest.TempPathFactory, parsed_example_config: Config) -> Iterator[str]:
    """A copy of `migrated_template` with the bundled example organisation synced into it once."""
    with synced_template(migrated_template, tmp_path_factory.mktemp("example"), parsed_example_config.model_copy(deep=True)) as name:
        yield name


@pytest.fixture(scope="session")
def backstage_template(migrated_template: str, tmp_path_factory: pytest.TempPathFactory, third_party: Path) -> Iterator[str]:
    """Backstage's own example organisation, synced once per test process (about 50 tests read it; syncing it cost 0.1 s of CPU each)."""
    directory = tmp_path_factory.mktemp("backstage")
    with synced_template(migrated_template, directory, backstage_config(directory, {"backstage-examples": third_party / "backstage-examples"})) as name:
        yield name


@pytest.fixture
def backstage(backstage_template: str, tmp_path: Path, _pg_pool: _PgPool | None, third_party: Path) -> Iterator[Catalog]:
    """Backstage's own example organisation, synced without errors, in a database of this test's own
    (a copy of `backstage_template`; conformance: skipped without the third-party fixtures)."""
    with copied_database(backstage_template, tmp_path, _pg_pool) as url:
        catalog = Catalog(url, backstage_config(tmp_path, {"backstage-examples": third_party / "backstage-examples"}))
        yield catalog
        catalog.dispose()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (not migrated), on the same backend as `database_url`."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"wf_empty_{uuid.uuid4().hex[:12]}"
    yield _pg_database(name)
    _pg_drop(name)


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
def example_catalog(make_catalog: Callable[[Config], Catalog], example_config: Config) -> Catalog:
    """The bundled Northwind example organisation, synced (when the test session started: see `database_url`)."""
    return make_catalog(example_config)


@pytest.fixture
def executor() -> Iterator[FakeExecutor]:
    """A local HTTP executor of self-service actions that checks every request's signature."""
    from tests.actions_world import SECRET  # it imports this module

    with FakeExecutor(SECRET) as fake:
        yield fake
