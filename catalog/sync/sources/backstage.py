"""Backstage descriptor files: a file, a directory scanned recursively, or a Location.

Locations are followed relative to their own file; every file is read once, so an
entity reached both by the directory scan and through a Location is one entity.

`parse_documents` and `EntityCollector` are the parts other sources share (the GitHub source
reads the same files from repositories), so a descriptor means the same wherever it is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from catalog.errors import SourceError
from catalog.sync.sources.base import Snapshot
from catalog.sync.sources.descriptor import EntityDoc, Problem, parse_entity, spec_warnings

YAML_SUFFIXES = {".yaml", ".yml"}
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_documents(text: str) -> Iterator[tuple[int, Any]]:
    """Yield `(line, document)` for each YAML document; a syntax error raises with its mark."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node.start_mark.line + 1, loader.construct_document(node)
    finally:
        loader.dispose()


def _json_safe(value: Any) -> Any:
    """YAML may produce dates and other non-JSON values; store them as strings."""
    return json.loads(json.dumps(value, default=str))


def parse_documents(text: str, label: str) -> Iterator[tuple[int | None, EntityDoc | Problem]]:
    """`(line, entity or problem)` for each document of one descriptor file.

    `label` names the file in entity locations (`label:LINE`) and in problems: a path, or
    `github:org/repo/catalog-info.yaml`. Documents before a YAML syntax error still count.
    """
    try:
        for line, raw in read_documents(text):
            if raw is not None:
                yield line, parse_entity(_json_safe(raw), file=label, line=line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        at = mark.line + 1 if mark else None
        yield at, Problem(file=label, line=at, message=f"invalid YAML: {reason}")
    except yaml.YAMLError as exc:
        yield None, Problem(file=label, message=f"cannot read file: {exc}")


def location_targets(location: EntityDoc) -> list[str]:
    """A Location's `target` and `targets`, in that order."""
    spec = location.spec
    return [str(t) for t in list(spec.get("targets") or []) + ([spec["target"]] if spec.get("target") else [])]


def is_file_target(location: EntityDoc, target: str) -> bool:
    """Whether a target names a file next to the Location (followed) rather than a URL (not followed)."""
    return "://" not in target and location.spec.get("type", "file") in ("file", None)


class EntityCollector:
    """Entities gathered from many files: the first definition of a ref wins, later ones are reported."""

    def __init__(self) -> None:
        self.entities: dict[str, EntityDoc] = {}
        self.problems: list[Problem] = []

    def add(self, parsed: EntityDoc | Problem, file: str, line: int | None) -> EntityDoc | None:
        """Keep an entity read at `file:line` (returned, so the caller can follow a Location) or record why not."""
        if isinstance(parsed, Problem):
            self.problems.append(parsed)
            return None
        first = self.entities.get(parsed.ref)
        if first is not None:
            self.problems.append(
                Problem(file=file, line=line, entity=parsed.ref, message=f"duplicate entity, already defined at {first.location}; skipped")
            )
            return None
        self.entities[parsed.ref] = parsed
        for message in spec_warnings(parsed):
            self.problems.append(Problem(severity="warning", file=file, line=line, entity=parsed.ref, message=message))
        return parsed


class BackstageSource:
    """Reads Backstage `catalog-info.yaml` style files from disk."""

    type = "backstage"

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.max_file_bytes = max_file_bytes
        self.progress = progress

    def fetch(self) -> Snapshot:
        if not self.path.exists():
            raise SourceError(f"source {self.name!r}: path {self.path} does not exist")
        files = sorted(p for p in self.path.rglob("*") if _is_catalog_file(p)) if self.path.is_dir() else [self.path]
        loader = _CatalogLoader(self.max_file_bytes)
        for index, file in enumerate(files, 1):
            loader.load_file(file)
            if self.progress:
                self.progress(index, len(files))
        _remember(self.path, loader.parsed)
        return Snapshot(entities=list(loader.collected.entities.values()), problems=loader.collected.problems)


# Parsed documents of the files each source root read last time, keyed by path and checked
# against a digest of the file's bytes. Parsing YAML and validating entities is nearly all of a
# sync's cost; a scheduled resync of an unchanged tree then only reads and hashes the files.
# The entities are shared between snapshots, so nothing may modify an `EntityDoc` after parsing.
_PARSED_BY_ROOT: dict[Path, dict[str, tuple[bytes, list[tuple[int | None, EntityDoc | Problem]]]]] = {}
_PARSED: dict[str, tuple[bytes, list[tuple[int | None, EntityDoc | Problem]]]] = {}


def _remember(root: Path, parsed: dict[str, tuple[bytes, list[tuple[int | None, EntityDoc | Problem]]]]) -> None:
    """Keep what this fetch read (and only that) for the next fetch of the same root."""
    _PARSED_BY_ROOT[root.resolve()] = parsed
    _PARSED.clear()
    for files in _PARSED_BY_ROOT.values():
        _PARSED.update(files)


def clear_parse_cache() -> None:
    """Forget every parsed file (benchmarks use this to measure a cold resync)."""
    _PARSED_BY_ROOT.clear()
    _PARSED.clear()


def _decode(data: bytes) -> str:
    """What `Path.read_text(encoding="utf-8")` returns for these bytes (universal newlines)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _is_catalog_file(path: Path) -> bool:
    return path.suffix in YAML_SUFFIXES and path.is_file() and not any(p.startswith(".") for p in path.parts)


class _CatalogLoader:
    """Reads files from disk into a collector, following Locations."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.collected = EntityCollector()
        self._seen_files: set[Path] = set()
        self.parsed: dict[str, tuple[bytes, list[tuple[int | None, EntityDoc | Problem]]]] = {}

    def load_file(self, file: Path, *, referenced_from: str | None = None) -> None:
        file = file.resolve()
        if file in self._seen_files:
            return
        self._seen_files.add(file)
        shown = str(file)
        problems = self.collected.problems
        if not file.is_file():
            problems.append(Problem(file=referenced_from, message=f"location target {shown} does not exist"))
            return
        size = file.stat().st_size
        if size > self.max_file_bytes:
            problems.append(
                Problem(file=shown, message=f"file is {size / 1048576:.1f} MiB, over the {self.max_file_bytes / 1048576:.0f} MiB limit; skipped")
            )
            return
        data = file.read_bytes()
        digest = hashlib.sha1(data, usedforsecurity=False).digest()
        cached = _PARSED.get(shown)
        if cached is not None and cached[0] == digest:
            documents = cached[1]
        else:
            try:
                text = _decode(data)
            except UnicodeDecodeError as exc:
                problems.append(Problem(file=shown, message=f"cannot read file: {exc}"))
                return
            documents = list(parse_documents(text, shown))
        self.parsed[shown] = (digest, documents)
        for line, parsed in documents:
            kept = self.collected.add(parsed, shown, line)
            if kept is not None and kept.kind == "location":
                self._follow(kept, file.parent, f"{shown}:{line}")

    def _follow(self, location: EntityDoc, base: Path, where: str) -> None:
        for text in location_targets(location):
            if not is_file_target(location, text):
                self.collected.problems.append(Problem(severity="warning", file=where, entity=location.ref, message=f"target {text} is not a local file; not followed"))
                continue
            path = base / text.removeprefix("file:")
            if any(ch in text for ch in "*?["):
                for match in sorted(base.glob(text)):
                    self.load_file(match, referenced_from=where)
            else:
                self.load_file(path, referenced_from=where)
