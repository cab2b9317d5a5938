"""Database failures in words an operator can act on: which database, the driver's reason, what to check."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

_HINTS = {
    "readonly database": "Wayfinder needs write access to the database file and its directory",
    "password authentication failed": "check the user and password in DATABASE_URL",
    "does not exist": "check the user and database name in DATABASE_URL",
    "connection refused": "is the database server running and DATABASE_URL's host and port right?",
    "unable to open database file": "check that the database file's directory exists and is writable",
    "malformed": "restore it from a backup",
    "file is not a database": "restore it from a backup",
    "timeout expired": "the server did not answer in time; is it up and reachable? `?connect_timeout=N` in DATABASE_URL sets the wait",
}


def describe_database_error(exc: SQLAlchemyError, url: str) -> str:
    """One line: which database (password hidden), the driver's reason, and what to check."""
    lines = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()
    reason = "; ".join(" ".join(line.split()) for line in lines if line.strip())
    hint = next((h for needle, h in _HINTS.items() if needle in reason.lower()), None)
    return f"database {safe_url(url)}: {reason}" + (f" ({hint})" if hint else "")


def driver_reason(exc: SQLAlchemyError) -> object:
    """The driver's own error, or the exception's class: what a warning about a write given up logs, never
    SQLAlchemy's full text, which carries the statement's parameters (catalog and Slack data)."""
    return getattr(exc, "orig", None) or type(exc).__name__


def safe_url(url: str) -> str:
    """DATABASE_URL as it may be shown: its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(DATABASE_URL, which cannot be parsed)"
