"""The transport-independent core: one object that Slack, the CLI and HTTP all call."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from catalog.answers.models import Answer
from catalog.answers.ask import ask, ask_about
from catalog.config import Config
from catalog.store.engine import make_engine, require_current_schema, session_factory, session_scope
from catalog.pages.listing import EntityList, list_entities
from catalog.metrics import Metrics
from catalog.pages.ownership import OwnershipPage, ownership_page
from catalog.answers.questionlog import asker_id
from catalog.store.reads import IndexCache
from catalog.search.resolve import CatalogIndex
from catalog.pages.short_links import LinkTarget, resolve_link
from catalog.sync.sources.registry import Progress, SourceContext, build_source
from catalog.sync.engine import SyncReport, sync_source
from catalog.pages.team import TeamPage, team_page, team_ref


@dataclass
class Catalog:
    """Engine, sessions, config and the resolution index of one process."""

    database_url: str = field(repr=False)  # may carry a password
    config: Config
    slack_api_url: str = "https://slack.com/api/"
    slack_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.database_url)
        self.factory = session_factory(self.engine)
        self._index = IndexCache()
        self.metrics = Metrics(self.factory)

    def require_schema(self) -> None:
        require_current_schema(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.factory) as session:
            yield session

    def index(self, session: Session) -> CatalogIndex:
        return self._index.get(session)

    def ask(self, text: str, *, transport: str = "cli", asker: str | None = None) -> Answer:
        """Answer and log `text`; `asker` (Slack user id, `cli:<login>`) is pseudonymised when configured."""
        stored = asker_id(asker, self.config.questions)
        with self._measured(transport) as answered, self.session() as session:
            return answered(ask(session, text, index=self.index(session), transport=transport, asker=stored))

    def ask_about(self, question: str, *, ref: str, intent: str, transport: str = "cli", asker: str | None = None) -> Answer:
        """`question`'s intent for the entity `ref` (a "Did you mean" pick)."""
        stored = asker_id(asker, self.config.questions)
        with self._measured(transport) as answered, self.session() as session:
            return answered(
                ask_about(session, question, ref=ref, intent=intent, index=self.index(session), transport=transport, asker=stored)
            )

    def ownership_page(self, ref: str, *, now: datetime) -> OwnershipPage | None:
        """The page behind `/o/{kind}/{namespace}/{name}`; files are named relative to the config."""
        with self.session() as session:
            return ownership_page(session, ref, now=now, base=self.config.path.parent if self.config.path else None)

    def resolve_link(self, name: str, *, kind: str | None = None) -> LinkTarget:
        """What a short link `/o/{name}` (or `/o/{kind}/{name}`) points at."""
        with self.session() as session:
            return resolve_link(session, self.index(session), name, kind=kind)

    def team_page(self, name: str, *, now: datetime) -> TeamPage | None:
        with self.session() as session:
            ref = team_ref(session, name)
            return team_page(session, ref, now=now) if ref else None

    def list_entities(self, *, kind: str | None = None, owner: str | None = None, q: str | None = None, cursor: str | None = None, limit: int = 100) -> EntityList:
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
            self.metrics.answer_seconds.labels(surface).observe(time.perf_counter() - started)
            self.metrics.questions.labels(surface, outcome["intent"], outcome["status"]).inc()

    def sync(
        self,
        names: list[str] | None = None,
        *,
        allow_large_delete: bool = False,
        progress: Callable[[str], Progress | None] = lambda name: None,
    ) -> list[SyncReport]:
        """Run the named sources (all by default) once, each in its own transaction."""
        chosen = [self.config.source(n) for n in names] if names else list(self.config.sources)
        return [
            sync_source(
                self.factory,
                build_source(cfg, SourceContext(self.factory, progress(cfg.name), self.slack_api_url, self.slack_token)),
                allow_large_delete=allow_large_delete,
                max_delete_fraction=cfg.max_delete_fraction,
            )
            for cfg in chosen
        ]

    def dispose(self) -> None:
        self.engine.dispose()
