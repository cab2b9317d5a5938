"""Build source objects from their config entries."""

from __future__ import annotations

from collections.abc import Callable

from catalog.config import BackstageSourceConfig, SourceBase
from catalog.sources.backstage import BackstageSource
from catalog.sources.base import Source

Progress = Callable[[int, int], None]


def build_source(cfg: SourceBase, *, progress: Progress | None = None) -> Source:
    if isinstance(cfg, BackstageSourceConfig):
        return BackstageSource(cfg.name, cfg.path, max_file_bytes=int(cfg.max_file_mb * 1024 * 1024), progress=progress)
    raise TypeError(f"no builder for source type {type(cfg).__name__}")
