"""The transport-independent core: one object that Slack, the CLI and HTTP all call.

Adapters (`bot/`) reach the catalog only through `Catalog` and the models it returns; they never
open sessions themselves, so each call here is one short transaction.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from catalog.adoption.asked import record_question
from catalog.answers.ask import ask, ask_about, example_questions
from catalog.answers.card import entity_card
from catalog.answers.models import Answer, EntityCard
from catalog.answers.questionlog import asker_id
from catalog.config import Config, GitHubSourceConfig
from catalog.scorecards.answers import with_scoreboards
from catalog.scorecards.questions import below_question, failing_question
from catalog.search.resolve import CatalogIndex, IndexedEntity
from catalog.search.spot import spot_entities
from catalog.store import claims
from catalog.store.engine import (
    is_newer_than_code,
    make_engine,
    migrate_on_start,
    read_engine,
    require_current_schema,
    schema_status,
    session_factory,
    session_scope,
    upgrade,
)
from catalog.store.identities import IdentityCache
from catalog.store.index_file import IndexFile
from catalog.store.index_file import default_directory as default_index_dir  # noqa: F401 (the CLI's cache folder, re-exported)
from catalog.store.reads import REBUILD_SHARE, REBUILD_SPREAD_SECONDS, IndexCache, active_refs
from catalog.store.refs import make_ref
from catalog.store.write_behind import RowBuffer

# What a question does not need (pages, scorecard evaluation, syncing, Slack deliveries) is
# imported by the methods that use it: `wayfinder ask` is a new process per question.
if TYPE_CHECKING:
    from catalog.answers.home import HomeSummary
    from catalog.metrics import Metrics
    from catalog.pages.listing import EntityList
    from catalog.pages.ownership import OwnershipPage
    from catalog.pages.short_links import LinkTarget
    from catalog.pages.team import TeamPage
    from catalog.scorecards.evaluate import EvaluationReport
    from catalog.scorecards.gate import GateResult
    from catalog.scorecards.scores import Scoreboard
    from catalog.store.models import SyncRun
    from catalog.sync.engine import SyncReport
    from catalog.sync.sources.registry import Progress
    from catalog.sync.status import SourceStatus

log = logging.getLogger(__name__)


def migrate(database_url: str) -> None:
    """Apply the migrations (`wayfinder db upgrade`); needs no config, unlike opening a `Catalog`."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


REHEARSED_DELIVERY = "wayfinder:rehearsal"  # the key `Catalog.prepare_deliveries` claims, never committed


@dataclass
class Catalog:
    """Engine, sessions, config and the resolution index of one process."""

    database_url: str = field(repr=False)  # may carry a password
    config: Config
    slack_api_url: str = "https://slack.com/api/"
    slack_token: str | None = field(default=None, repr=False)
    # Where to keep the resolution index between processes (`catalog.store.index_file`): the CLI sets it.
    index_dir: Path | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)  # what "now" is for work the catalog starts itself
    # Whether answers are counted in `metrics`: not in a process asked one question (`wayfinder ask`), which
    # nobody scrapes and which would import prometheus_client (and its HTTP server) for nothing.
    metered: bool = True

    def __post_init__(self) -> None:
        self.engine = make_engine(self.database_url)
        self.factory = session_factory(self.engine)
        self._read_engine = read_engine(self.engine)  # answers and pages only read: on PostgreSQL no BEGIN and COMMIT
        self._reads = session_factory(self._read_engine)
        self.ledger = claims.Ledger(self.engine)  # on SQLite, claims never wait for a sync's write lock
        self._index = IndexCache(IndexFile(self.index_dir, self.database_url) if self.index_dir else None)
        self.identities = IdentityCache(self.factory, self._reads)
        # The question log, its usage events and page views, written in batches by a background thread (`flush_records`).
        self.records = RowBuffer(self.factory)
        if self.metered:  # made now, not by the first of several threads counting at once (each could make its own)
            self.metrics  # noqa: B018

    @functools.cached_property
    def metrics(self) -> Metrics:
        """The Prometheus instruments of this process (`GET /metrics`); made with a metered catalog, else on first use."""
        from catalog.metrics import Metrics

        return Metrics(self.factory)

    def require_schema(self) -> None:
        require_current_schema(self.engine)

    def migrate_on_start(self) -> bool:
        """Bring the schema to head (once across replicas); True when it changed anything."""
        return migrate_on_start(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.factory) as session:
            yield session

    def index(self, session: Session) -> CatalogIndex:
        return self._index.get(session)

    def build_index(self) -> int:
        """Build the resolution index now, at full speed, and say how many entities it holds.

        The server does this before it accepts a connection: a replica restarted under load answered
        its first questions only once their index was built, and every ack meanwhile waited for the GIL.
        """
        with self.session() as session:
            return len(self._index.get(session))

    def after_index_rebuild(self, hook: Callable[[], None]) -> None:
        """Run `hook` each time the resolution index is rebuilt (the server freezes it out of the garbage collector's sight)."""
        self._index.after_rebuild = hook

    def pace_index_rebuilds(self, share: float = REBUILD_SHARE, spread: float = REBUILD_SPREAD_SECONDS) -> None:
        """Hold each rebuild of the resolution index after the first to `share` of a core, and start a background
        one up to `spread` seconds late, at random (a server, beside its requests and the other replicas)."""
        self._index.rebuild_share = share
        self._index.rebuild_spread = spread

    def ask(
        self, text: str, *, transport: str = "cli", asker: str | None = None, surface: str | None = None, thread: str | None = None
    ) -> Answer:
        """Answer and log `text`; `asker` (Slack user id, `cli:<login>`) is pseudonymised when configured.

        `surface` says where exactly it was asked (`catalog.adoption.events.Surface`; default: the
        transport) and `thread` (`channel:ts`) where a Slack answer went, for the usage events.
        """
        stored = asker_id(asker, self.config.questions)
        with self._measured(transport) as answered:
            with session_scope(self._reads) as session:
                started, now = time.perf_counter(), self.clock()
                below = below_question(text, self.config.scorecards)
                if below is None:

                    def respond(index: CatalogIndex) -> Answer:
                        answer = with_scoreboards(session, self.config, ask(session, text, index=index, clock=lambda: now), now=now)
                        failing = failing_question(text, self.config.scorecards)
                        if failing is not None and not (answer.intent == "scorecard" and any(p.subject for p in answer.parts or [answer])):
                            from catalog.scorecards.answers import failing_answer  # "is checkout-api failing readiness" stays about it

                            return failing_answer(session, self.config, text, failing, now=now)
                        return answer

                    answer = self._with_current_index(session, respond)
                else:
                    from catalog.scorecards.answers import below_answer

                    answer = below_answer(session, self.config, text, *below, now=now)
            self._log_question(answer, transport, surface, stored, now, started, thread)
            return answered(answer)

    def ask_about(
        self, question: str, *, ref: str, intent: str, transport: str = "cli", asker: str | None = None, surface: str | None = None,
        thread: str | None = None,
    ) -> Answer:  # fmt: skip
        """`question`'s intent for the entity `ref` (a "Did you mean" pick)."""
        stored = asker_id(asker, self.config.questions)
        with self._measured(transport) as answered:
            with session_scope(self._reads) as session:
                started, now = time.perf_counter(), self.clock()
                answer = self._with_current_index(
                    session, lambda index: ask_about(session, question, ref=ref, intent=intent, index=index, clock=lambda: now)
                )
                answer = with_scoreboards(session, self.config, answer, now=now)
            self._log_question(answer, transport, surface, stored, now, started, thread)
            return answered(answer)

    def _with_current_index(self, session: Session, respond: Callable[[CatalogIndex], Answer]) -> Answer:
        """`respond`'s answer with the process's index, checked afterwards (`IndexCache.confirm`) and answered again when stale.

        The check usually comes with the answer's first read: one round trip instead of two.
        """
        used = self._index.cached() or self._index.get(session)
        answer = respond(used)
        current = self._index.confirm(session, used)
        return answer if current is used else respond(current)

    def _log_question(
        self, answer: Answer, transport: str, surface: str | None, who: str | None, now: datetime, started: float, thread: str | None
    ) -> None:
        """Queue the answer's question log row and usage event (`adoption.asked`), once its reads are done."""
        record_question(
            self.records, answer, transport=transport, surface=surface or transport, asker=who, asked_at=answer.asked_at or now,
            latency_ms=(time.perf_counter() - started) * 1000, thread=thread,
        )  # fmt: skip

    def ownership_page(self, ref: str, *, now: datetime) -> OwnershipPage | None:
        """The page behind `/o/{kind}/{namespace}/{name}`; files are named relative to the config."""
        from catalog.pages.ownership import ownership_page
        from catalog.scorecards.evaluate import today
        from catalog.scorecards.report import scoreboard

        with self.session() as session:
            page = ownership_page(session, ref, now=now, base=self.config.path.parent if self.config.path else None)
            if page is not None and self.config.scorecards:
                page.scorecards = scoreboard(session, self.config, day=today(self.config, now), scope=ref, refs=[page.card.entity.ref]).scores
            return page

    def resolve_link(self, name: str, *, kind: str | None = None) -> LinkTarget:
        """What a short link `/o/{name}` (or `/o/{kind}/{name}`) points at."""
        from catalog.pages.short_links import resolve_link

        with self.session() as session:
            return resolve_link(session, self.index(session), name, kind=kind)

    def team_page(self, name: str, *, namespace: str | None = None, now: datetime) -> TeamPage | None:
        """The page behind `/t/{name}` (the default namespace's team, else the one team so called) or `/t/{namespace}/{name}`."""
        from catalog.pages.team import team_page, team_ref

        with self.session() as session:
            ref = team_ref(session, name) if namespace is None else make_ref("group", namespace, name)
            return team_page(session, ref, now=now) if ref else None

    def active_refs(self, refs: Iterable[str], *, as_of: int | None = None) -> set[str]:
        """Which of `refs` the catalog has, active: a page links only those (a dangling owner is named, not linked).

        `as_of` is the catalog generation the page's data was read at: while the resolution index is of
        that generation, it holds exactly the active refs, and answers without a query of its own.
        """
        index = self._index.cached()
        if as_of is not None and index is not None and index.generation == as_of:
            return {ref for ref in map(str.lower, refs) if index.get(ref) is not None}
        with self._read_engine.connect() as conn:
            return active_refs(conn, refs)

    def list_entities(self, *, kind: str | None = None, owner: str | None = None, q: str | None = None, cursor: str | None = None, limit: int = 100) -> EntityList:
        from catalog.pages.listing import list_entities

        with self.session() as session:
            return list_entities(session, kind=kind, owner=owner, q=q, cursor=cursor, limit=limit)

    @contextmanager
    def _measured(self, surface: str) -> Iterator[Callable[[Answer], Answer]]:
        """Times the block and counts the answer it passes to the yielded callable (failures count as `error`)."""
        started, outcome = time.perf_counter(), {"intent": "unknown", "status": "error"}

        def answered(answer: Answer) -> Answer:
            outcome.update(intent=answer.intent, status=answer.status)
            return answer

        try:
            yield answered
        finally:
            if self.metered:
                self.metrics.answer_seconds.labels(surface).observe(time.perf_counter() - started)
                self.metrics.questions.labels(surface, outcome["intent"], outcome["status"]).inc()

    def sync(
        self,
        names: list[str] | None = None,
        *,
        allow_large_delete: bool = False,
        progress: Callable[[str], Progress | None] = lambda name: None,
    ) -> list[SyncReport]:
        """Run the named sources (all by default) once, each in its own transaction.

        `sync_source` records a crash as its source's failed run, so one source never stops the next.
        A GitHub source's run also settles the pushes queued while it was busy (`sync_organisation`).
        """
        from catalog.sync.engine import sync_source
        from catalog.sync.sources.registry import SourceContext, build_source
        from catalog.sync.webhooks import sync_organisation

        reports = []
        for cfg in [self.config.source(n) for n in names] if names else list(self.config.sources):
            source = build_source(cfg, SourceContext(self.factory, progress(cfg.name), self.slack_api_url, self.slack_token))
            if isinstance(cfg, GitHubSourceConfig):
                reports.append(sync_organisation(self, source, cfg, allow_large_delete=allow_large_delete))
            else:
                reports.append(sync_source(self.factory, source, allow_large_delete=allow_large_delete, max_delete_fraction=cfg.max_delete_fraction))
        if self.config.scorecards and any(r.ok for r in reports):
            self._evaluate_after_sync()
        return reports

    def _evaluate_after_sync(self) -> None:
        """Scorecards follow the data: a failed evaluation is logged and leaves the sync's result alone."""
        try:
            self.evaluate_scorecards(now=self.clock())
        except SQLAlchemyError:
            log.exception("scorecard evaluation after the sync failed")

    def scoreboard(self, *, team: str | None = None, now: datetime) -> Scoreboard | None:
        """Today's levels of every entity (or of one team's; None when no team has that name), with last week's beside them."""
        from catalog.pages.team import team_ref
        from catalog.scorecards.evaluate import today
        from catalog.scorecards.report import scoreboard

        with self.session() as session:
            owner = team_ref(session, team) if team else None
            if team and owner is None:
                return None
            scope = f"team {team}" if team else "every entity"
            return scoreboard(session, self.config, day=today(self.config, now), scope=scope, owner=owner)

    def gate(self, name: str, *, scorecard: str, min_level: str, now: datetime) -> GateResult:
        """The deployment gate (`wayfinder check`): is `name` at `min_level` or above on `scorecard` now?"""
        from catalog.scorecards.gate import gate

        with self.session() as session:
            return gate(session, self.config, name, scorecard, min_level, now=now)

    def evaluate_scorecards(self, *, now: datetime) -> EvaluationReport:
        """Evaluate every scorecard and file today's results (after each sync, or on demand)."""
        from catalog.scorecards.evaluate import evaluate_all

        return evaluate_all(self.factory, self.config, now=now)

    def example_questions(self) -> list[str]:
        with self.session() as session:
            return example_questions(self.index(session))

    def home(self, *, user_ref: str | None, email: str | None) -> HomeSummary:
        from catalog.answers.home import home_summary
        from catalog.scorecards.evaluate import today
        from catalog.scorecards.report import team_levels

        with self.session() as session:
            summary = home_summary(session, user_ref=user_ref, email=email)
            day = today(self.config, self.clock())
            for team in summary.teams:
                team.levels = team_levels(session, self.config, team.team.ref, day=day)
            return summary

    def cards(self, refs: Iterable[str]) -> dict[str, EntityCard]:
        """ref -> its card, for the refs (or unique bare names) the catalog knows."""
        with self.session() as session:
            return {ref: card for ref in refs if (card := entity_card(session, ref))}

    def spot(self, text: str, *, limit: int) -> list[IndexedEntity]:
        """Catalog names mentioned in `text` (exact names, titles and aliases only)."""
        with self.session() as session:
            return spot_entities(self.index(session), text, limit=limit)

    def record_feedback(self, *, question: str, intent: str, ref: str | None, helpful: bool, user_id: str | None, transport: str, now: datetime) -> None:
        from catalog.answers.feedback import record_feedback

        with self.session() as session:
            record_feedback(session, question=question, intent=intent, ref=ref, helpful=helpful, user_id=user_id, transport=transport, now=now)

    def claim_once(self, key: str, *, now: datetime) -> bool:
        """True only for the first claim of `key` (work due once per period, such as a weekly digest), across replicas."""
        with self.session() as session:
            return claims.claim(session, key, now=now)

    def release_claim(self, key: str) -> None:
        """Give back a `claim_once` key whose work failed before it had any effect, so a later attempt can do it."""
        with self.session() as session:
            claims.release(session, [key])

    def start_delivery(self, key: str, body: str, *, now: datetime) -> bool:
        """True only for the first claim of `key` (a Slack event id or trigger id), across retries, restarts and replicas.

        The delivery's `body` is kept until `finish_delivery`, for another replica to handle if this one dies meanwhile.
        """
        from catalog.store import deliveries

        with self.ledger.connection() as conn:
            return deliveries.start(conn, key, body, now=now)

    def prepare_deliveries(self) -> None:
        """Claim and finish a delivery in a transaction rolled back, before a server listens.

        A replica's first Slack ack opened the claims ledger's first connection (on PostgreSQL an
        engine of its own, whose first connection also reads the server's settings) and compiled
        the claim and the finish: about 10 ms more CPU than the next ack, and several round trips,
        paid at a restart while the other replicas' load went on. Nothing of this stays in the ledger.
        """
        from catalog.store import deliveries

        now = self.clock()
        with self.ledger.rehearsal() as conn:
            deliveries.start(conn, REHEARSED_DELIVERY, "", now=now)
            deliveries.finish(conn, REHEARSED_DELIVERY, now=now)

    def finish_delivery(self, key: str, *, now: datetime) -> None:
        from catalog.store import deliveries

        with self.ledger.connection() as conn:
            deliveries.finish(conn, key, now=now)

    def take_over_deliveries(self, *, now: datetime) -> list[tuple[str, str]]:
        """(key, body) of deliveries whose replica died while handling them, now claimed by this one."""
        from catalog.store import deliveries

        with self.ledger.session() as session:
            keys = deliveries.abandoned(session, now=now)
        taken = []
        for key in keys:
            with self.ledger.session() as session:
                if (body := deliveries.take_over(session, key, now=now)) is not None:
                    taken.append((key, body))
        return taken

    def prune_deliveries(self, *, now: datetime) -> int:
        """Forget Slack deliveries past their retention (housekeeping); returns how many went."""
        from catalog.store import deliveries

        with self.ledger.session() as session:
            return deliveries.prune(session, now=now)

    def source_statuses(self, *, now: datetime) -> list[SourceStatus]:
        from catalog.sync.status import source_statuses

        with self.session() as session:
            return source_statuses(session, self.config, now=now)

    def last_runs(self, limit_per_source: int = 1) -> list[SyncRun]:
        from catalog.sync.engine import last_runs

        with self.session() as session:
            return last_runs(session, limit_per_source)

    def database_reachable(self) -> bool:
        """Whether the database answers a trivial query (health checks); the failure is logged by type only."""
        try:
            with self.session() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            log.warning("database unreachable: %s", type(exc).__name__)
            return False
        return True

    def schema_problem(self) -> str | None:
        """Why the schema is not the one this code needs (readiness), or None when it is."""
        try:
            current, head = schema_status(self.engine)
        except SQLAlchemyError as exc:
            log.warning("schema unreadable: %s", type(exc).__name__)
            return "unreadable"
        if is_newer_than_code(current):
            return f"at revision {current}, from a newer Wayfinder: this version cannot use it"
        return None if current == head else f"at revision {current or 'none'}, needs {head}: run `wayfinder db upgrade`"

    @property
    def reads_are_local(self) -> bool:
        """SQLite: a local file whose readers never wait for a writer (WAL). PostgreSQL's reads wait on the network."""
        return self.engine.dialect.name == "sqlite"

    def flush_records(self) -> int:
        """Write the buffered question log rows and usage events now, rather than within the second; returns how many.

        For whoever reads them right after asking in the same process (tests, a report); `dispose`
        and the exit of the process flush too.
        """
        return self.records.flush()

    def dispose(self) -> None:
        """Write the buffered rows and close the connections; a server calls it when it stops."""
        self.records.close()
        self.engine.dispose()
        self.ledger.dispose()
