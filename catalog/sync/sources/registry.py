"""Build source objects from their config entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catalog.config import BackstageSourceConfig, GitHubSourceConfig, PagerDutySourceConfig, SlackSourceConfig, SourceBase
from catalog.store.engine import SessionFactory
from catalog.sync.sources.backstage import BackstageSource
from catalog.sync.sources.base import Source
from catalog.sync.sources.github import GitHubSource
from catalog.sync.sources.pagerduty import PagerDutySource
from catalog.sync.sources.slack_groups import Engineers, SlackSource

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SourceContext:
    """What a source may need beyond its own config: read access to the catalog, process settings."""

    factory: SessionFactory
    progress: Progress | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_token: str | None = None


def build_source(cfg: SourceBase, context: SourceContext) -> Source:
    if isinstance(cfg, BackstageSourceConfig):
        return BackstageSource.from_config(cfg, progress=context.progress)
    if isinstance(cfg, SlackSourceConfig):
        token = cfg.token.get_secret_value() if cfg.token else context.slack_token
        return SlackSource(
            cfg.name, api_url=cfg.api_url or context.slack_api_url, token=token, factory=context.factory,
            engineers=Engineers(usergroups=cfg.engineer_usergroups, guests=cfg.count_guests),
        )  # fmt: skip
    if isinstance(cfg, PagerDutySourceConfig):
        return PagerDutySource.from_config(cfg, context.factory)
    if isinstance(cfg, GitHubSourceConfig):
        return GitHubSource(cfg, context.factory, progress=context.progress)
    raise TypeError(f"no builder for source type {type(cfg).__name__}")
