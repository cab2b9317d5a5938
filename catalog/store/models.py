"""Database tables. One row of `Entity` is one source's assertion of one entity.

Several sources may describe the same ref; reads merge them by source precedence
(see `catalog.merge`). Retiring is a soft delete (`retired_at`) so old links still resolve.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Table, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from catalog.store.precedence import DESCRIPTOR


class TableModel(SQLModel):
    """The base of every table: its pydantic validator and serializer are built on first use, not at import.

    Rows are made and read through SQLAlchemy, which never validates them, so most processes never need
    them; building them for the 19 tables it imports cost `wayfinder ask` (a new process per question)
    about 10 ms, 1.5 % of its instructions (the rest of a table's cost is SQLAlchemy's mapping).
    """

    model_config = SQLModelConfig(defer_build=True)


class Entity(TableModel, table=True):
    __tablename__ = "entity"
    __table_args__ = (
        UniqueConstraint("source", "ref", name="uq_entity_source_ref"),
        Index("ix_entity_ref", "ref"),
        Index("ix_entity_owner_ref", "owner_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    precedence: int = DESCRIPTOR  # higher wins when sources disagree: see catalog.store.precedence
    ref: str = Field(max_length=400)
    kind: str = Field(max_length=100)
    namespace: str = Field(max_length=100)
    name: str = Field(max_length=200)
    title: str | None = None
    description: str | None = None
    type: str | None = Field(default=None, max_length=100)
    lifecycle: str | None = Field(default=None, max_length=100)
    owner_ref: str | None = Field(default=None, max_length=400)
    system_ref: str | None = Field(default=None, max_length=400)
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    links: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    api_version: str = Field(default="backstage.io/v1alpha1", max_length=200)
    location: str | None = None
    content_hash: str = Field(max_length=64)
    first_seen_at: datetime
    updated_at: datetime
    retired_at: datetime | None = None
    # Set while the file that described the entity cannot be read: the row is kept as it was,
    # and answers say it is stale and why (see `catalog.sync.broken_files`).
    broken_since: datetime | None = None
    broken_reason: str | None = None
    # Who made the row's last content change, when the source knows it (`github:<login>` from a push's
    # commits); None when it does not: a file without history names nobody.
    changed_by: str | None = Field(default=None, max_length=200)


class Relation(TableModel, table=True):
    """A relation derived from `origin`'s spec, stored in both directions: every lookup goes by `subject_ref`."""

    __tablename__ = "relation"
    __table_args__ = (
        Index("ix_relation_subject", "subject_ref", "type"),
        Index("ix_relation_origin", "source", "origin_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    origin_ref: str = Field(max_length=400)
    subject_ref: str = Field(max_length=400)
    type: str = Field(max_length=50)
    target_ref: str = Field(max_length=400)


class SourceState(TableModel, table=True):
    """What we know about each configured source: freshness comes from here."""

    __tablename__ = "source_state"

    name: str = Field(primary_key=True, max_length=100)
    type: str = Field(max_length=50)
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_error_status: str | None = Field(default=None, max_length=20)  # the run's: failed, or refused (read fine, would retire too much)


class SyncRun(TableModel, table=True):
    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_source", "source", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    started_at: datetime
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=20)  # running | ok | failed | refused
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    error_count: int = 0
    requests: int = 0
    errors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    message: str | None = None
    # A file-based source's files parsed, and those skipped as unchanged (see `catalog.sync.files`); None for others.
    files_parsed: int | None = None
    files_skipped: int | None = None


class CatalogState(TableModel, table=True):
    """A single row whose `generation` changes whenever the catalog does: caches key on it."""

    __tablename__ = "catalog_state"

    id: int = Field(default=1, primary_key=True)
    generation: int = 0


class QuestionLog(TableModel, table=True):
    """Every question asked, on every surface, and how it went: what usage reports are built on.

    `asker` is a Slack user id, `cli:<login>`, or its keyed hash when pseudonymised (see
    `catalog.answers.questionlog`). `intent` and `latency_ms` are None on rows migrated from the old
    unanswered-question table, which did not keep them. The view `unanswered_question` shows
    the rows whose status is `unknown` or `not_found`.
    """

    __tablename__ = "question_log"
    __table_args__ = (Index("ix_question_log_asked_at", "asked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    asked_at: datetime
    surface: str = Field(max_length=20)  # slack | cli | demo | http
    question: str
    intent: str | None = Field(default=None, max_length=50)
    status: str = Field(max_length=20)  # catalog.answers.Status
    entity_ref: str | None = Field(default=None, max_length=400)
    candidates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    latency_ms: float | None = None
    asker: str | None = Field(default=None, max_length=200)


class SeenEvent(TableModel, table=True):
    """Inbound deliveries already handled (Slack `event_id`, webhook ids): retries do nothing twice.

    Inserting the key is the claim; the primary key makes it atomic across replicas.
    """

    __tablename__ = "seen_event"

    key: str = Field(primary_key=True, max_length=300)
    received_at: datetime


class AnswerFeedback(TableModel, table=True):
    """A 👍/👎 on an answer, stored with the question it answered."""

    __tablename__ = "answer_feedback"

    id: int | None = Field(default=None, primary_key=True)
    question: str
    intent: str = Field(max_length=50)
    entity_ref: str | None = Field(default=None, max_length=400)
    helpful: bool
    user_id: str | None = Field(default=None, max_length=100)
    transport: str = Field(default="slack", max_length=20)
    created_at: datetime


class ChatIdentity(TableModel, table=True):
    """Slack user -> email -> catalog User, cached with an expiry so "my team" is cheap."""

    __tablename__ = "chat_identity"

    slack_user_id: str = Field(primary_key=True, max_length=50)
    email: str | None = Field(default=None, max_length=300)
    user_ref: str | None = Field(default=None, max_length=400)
    display_name: str | None = None
    fetched_at: datetime
    expires_at: datetime


class JobLease(TableModel, table=True):
    """Who may run a scheduled job right now, and until when (see `catalog.store.leases`).

    Replicas sharing the database race for this row; a conditional UPDATE decides, so a due
    job runs once, not once per replica.
    """

    __tablename__ = "job_lease"

    name: str = Field(primary_key=True, max_length=200)
    owner: str = Field(max_length=200)
    expires_at: datetime


class QueuedPush(TableModel, table=True):
    """A GitHub push that found its source busy, kept until a resync of its repository reads it (see `catalog.store.queued_pushes`).

    One row per push, so racing pushes overwrite nothing; `full_name` is lower case, grouping them.
    """

    __tablename__ = "queued_push"
    __table_args__ = (Index("ix_queued_push_source", "source", "full_name"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    full_name: str = Field(max_length=200)
    repository: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # the push's repository object
    authors: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # path -> who changed it last


class HttpCacheEntry(TableModel, table=True):
    """A source's last answer per URL, so the next run can ask `If-None-Match` and reuse the body on 304.

    `body` is the part of the response the source uses (None when the URL answered 404, so absent
    files are remembered too); `next_url` is the page's `Link: rel="next"`, which a 304 does not
    repeat; `fetched_at` is the server's `Date` of the last answer.
    """

    __tablename__ = "http_cache"

    source: str = Field(primary_key=True, max_length=100)
    url: str = Field(primary_key=True, max_length=2000)
    etag: str | None = Field(default=None, max_length=300)
    next_url: str | None = Field(default=None, max_length=2000)
    body: str | None = None
    fetched_at: datetime


class SourceFile(TableModel, table=True):
    """What a file-based source read from one file last time, so an unchanged file is not parsed again.

    `refs` are the entities the file put in the catalog (with those kept stale while it is broken),
    `problems` what reading it reported (shown again on every run while it is unchanged). A file with
    `reparse` set is read in full every run whatever its digest: it holds Locations (whose targets
    must be followed again), lost a duplicate to another file, or is broken. See `catalog.sync.files`.
    """

    __tablename__ = "sync_source_file"

    source: str = Field(primary_key=True, max_length=100)
    path: str = Field(primary_key=True, max_length=2000)
    digest: str = Field(max_length=64)
    refs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reparse: bool = False


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for Core statements (SQLModel does not declare `__table__` for type checkers)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


def column_length(model: type[SQLModel], field: str) -> int:
    """The declared length of a string column: the limit a value must fit before the database sees it."""
    column_type = table_of(model).c[field].type
    if isinstance(column_type, TypeDecorator):  # SQLModel's AutoString wraps a String
        column_type = column_type.impl_instance
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"{model.__name__}.{field} is not a string column with a length")
    return column_type.length


class SlackDelivery(TableModel, table=True):
    """A Slack delivery (event, command, click) being handled, kept until it is done.

    Inserting the key is the claim, as in `SeenEvent`; the body and a lease are kept with it, so
    work a replica acknowledged and then died doing (kill -9, a lost machine) is taken over by
    another once the lease runs out (`catalog.store.deliveries`).
    """

    __tablename__ = "slack_delivery"
    __table_args__ = (Index("ix_slack_delivery_pending", "done_at", "claimed_until"),)

    key: str = Field(primary_key=True, max_length=300)
    body: str  # the delivery as Bolt parsed it, as JSON
    received_at: datetime
    claimed_until: datetime | None = None  # a replica is handling it until then
    attempts: int = 1
    done_at: datetime | None = None


def as_utc(moment: datetime) -> datetime:
    """The database hands back naive UTC datetimes (SQLite keeps no zone); the clock is aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
