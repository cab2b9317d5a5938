"""`wayfinder validate`: check a config file or catalog files without touching the database."""

from __future__ import annotations

from pathlib import Path

import yaml

from catalog.config import BackstageSourceConfig, Config, load_config
from catalog.errors import ConfigError, SourceError
from catalog.sync.sources.backstage import BackstageSource
from catalog.sync.sources.base import Snapshot
from catalog.sync.sources.descriptor import Problem, dangling_targets, snapshot_relations


def _is_config(path: Path) -> bool:
    if path.is_dir() or path.suffix not in (".yaml", ".yml"):
        return False
    try:
        first = next(yaml.safe_load_all(path.read_text(encoding="utf-8")), None)
    except (yaml.YAMLError, UnicodeDecodeError):  # load_config says what is wrong with a config file
        return path.name.startswith("wayfinder")
    return isinstance(first, dict) and "sources" in first and "kind" not in first


def check_snapshot(snapshot: Snapshot) -> list[Problem]:
    """The snapshot's own problems plus references that point nowhere inside it."""
    relations, problems = snapshot_relations(snapshot.entities)
    known = {e.ref for e in snapshot.entities}
    return snapshot.problems + problems + dangling_targets(snapshot.entities, relations, known.__contains__)


def validate_path(path: Path) -> list[Problem]:
    if not path.exists():
        return [Problem(file=str(path), message="does not exist")]
    if not _is_config(path):
        return check_snapshot(BackstageSource("validate", path).fetch())
    try:
        config = load_config(path)
    except ConfigError as exc:
        return [Problem(message=line) for line in str(exc).splitlines()]
    snapshot, problems = config_snapshot(config)
    return problems + check_snapshot(snapshot)


def config_snapshot(config: Config) -> tuple[Snapshot, list[Problem]]:
    """What the config's Backstage sources describe, read from their files (no database), and the sources that failed."""
    snapshot = Snapshot()
    problems: list[Problem] = []
    for source in config.sources:
        if isinstance(source, BackstageSourceConfig):
            try:
                part = BackstageSource.from_config(source).fetch()
            except SourceError as exc:
                problems.append(Problem(file=str(config.path), message=str(exc)))
                continue
            snapshot.entities += part.entities
            snapshot.problems += part.problems
    return snapshot, problems
