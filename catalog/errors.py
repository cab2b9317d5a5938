"""Exceptions raised by the catalog.

    WayfinderError
    ├── ConfigError        the config file is missing, malformed or has unknown keys
    ├── InvalidInput       a command named something the config does not have (a level of a scorecard)
    ├── SchemaOutdated     the database needs `wayfinder db upgrade`
    │   └── NoSchema       ... and has no Wayfinder tables at all yet
    ├── SchemaNewer        a newer Wayfinder migrated the database; this version cannot use it
    └── SourceError        a source could not produce a full snapshot (nothing is retired)

Problems with single entities are not exceptions: sources report them as `Problem`
values and carry on, so one broken file never hides the rest of the catalog.
"""

from __future__ import annotations

# What the database layer raises (connection refused, read-only file, ...): adapters catch it by
# this name and describe it with `catalog.store.database_errors`, without importing SQLAlchemy.
from sqlalchemy.exc import OperationalError as DatabaseUnavailable  # the database could not be reached or used just now
from sqlalchemy.exc import SQLAlchemyError as DatabaseError

__all__ = [
    "ConfigError", "DatabaseError", "DatabaseUnavailable", "InvalidInput", "NoSchema", "SchemaNewer", "SchemaOutdated", "SourceError",
    "WayfinderError",
]  # fmt: skip


class WayfinderError(Exception):
    """Base of every error Wayfinder raises on purpose."""


class ConfigError(WayfinderError):
    """The config file cannot be used as it is; the message names file, line and key."""


class InvalidInput(WayfinderError):
    """What was asked for does not exist in the config; the message says what does."""


class SchemaOutdated(WayfinderError):
    """The database schema is behind the code."""


class NoSchema(SchemaOutdated):
    """The database has no Wayfinder tables yet: nothing was ever synced into it."""


class SchemaNewer(WayfinderError):
    """The database schema is ahead of the code: a newer Wayfinder migrated it."""


class SourceError(WayfinderError):
    """A source failed as a whole; the sync engine then changes nothing it owns."""
