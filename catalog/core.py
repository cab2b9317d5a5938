"""The transport-independent core: one object that Slack, the CLI and HTTP all call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlmodel import Session

from catalog.answers import Answer
from catalog.ask import ask, ask_about
from catalog.config import Config
from catalog.db import make_engine, require_current_schema, session_factory, session_scope
from catalog.queries import IndexCache
from catalog.search import CatalogIndex
from catalog.sources.registry import Progress, SourceContext, build_source
from catalog.sync import SyncReport, sync_source


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

    def require_schema(self) -> None:
        require_current_schema(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.factory) as session:
            yield session

    def index(self, session: Session) -> CatalogIndex:
        return self._index.get(session)

    def ask(self, text: str, *, transport: str = "cli") -> Answer:
        with self.session() as session:
            return ask(session, text, index=self.index(session), transport=transport)

    def ask_about(self, question: str, *, ref: str, intent: str, transport: str = "cli") -> Answer:
        """`question`'s intent for the entity `ref` (a "Did you mean" pick)."""
        with self.session() as session:
            return ask_about(session, question, ref=ref, intent=intent, index=self.index(session), transport=transport)

    def sync(
        self,
        names: list[str] | None = None,
        *,
        allow_large_delete: bool = False,
        progress: Callable[[str], Progress | None] = lambda name: None,
    ) -> list[SyncReport]:
        """Run the named sources (all by default) once, each in its own transaction.

        `sync_source` records a crash as its source's failed run, so one source never stops the next.
        """
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
