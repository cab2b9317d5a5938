"""Backstage descriptor files: a file, a directory scanned recursively, or a Location.

Locations are followed relative to their own file; every file is read once, so an
entity reached both by the directory scan and through a Location is one entity.

`parse_documents` and `EntityCollector` are the parts other sources share (the GitHub source
reads the same files from repositories), so a descriptor means the same wherever it is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from catalog.config import BackstageSourceConfig
from catalog.errors import SourceError
from catalog.sync.sources.base import Snapshot
from catalog.sync.sources.bounded_yaml import DEFAULT_LIMITS, FileLimits, FileTooCostly, read_documents
from catalog.sync.sources.catalog_roots import CatalogRoots, Refused, is_glob
from catalog.sync.sources.descriptor import EntityDoc, Problem, declared_references, parse_entity, spec_warnings

YAML_SUFFIXES = {".yaml", ".yml"}
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024


def _json_safe(value: Any) -> Any:
    """YAML may produce dates and other non-JSON values; store them as strings."""
    return json.loads(json.dumps(value, default=str))


def parse_documents(text: str, label: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[tuple[int | None, EntityDoc | Problem]]:
    """`(line, entity or problem)` for each document of one descriptor file.

    `label` names the file in entity locations (`label:LINE`) and in problems: a path, or
    `github:org/repo/catalog-info.yaml`. Documents before a YAML syntax error, or before the
    file exceeds one of its `limits`, still count; nothing after it is read.
    """
    entities = relations = 0
    try:
        for doc in read_documents(text, limits):
            if doc.value is None:
                continue
            # Counted before the entity is built: building one with 600k references is the cost to avoid.
            entities, relations = entities + 1, relations + declared_references(doc.value)
            over = _over_limits(entities, relations, limits)
            if over:
                yield doc.line, Problem(file=label, line=doc.line, message=over)
                return
            parsed = parse_entity(_json_safe(doc.value), file=label, line=doc.line)
            if isinstance(parsed, EntityDoc) and doc.nul_line is not None:
                message = "contains a NUL character, which the catalog cannot store; entity skipped"
                parsed = Problem(file=label, line=doc.nul_line, entity=parsed.ref, message=message)
            yield doc.line, parsed
    except FileTooCostly as exc:
        yield exc.line, Problem(file=label, line=exc.line, message=f"{exc.message}; the rest of the file is skipped")
    except RecursionError:  # the pure-Python YAML reader (no libyaml) composes recursively
        yield None, Problem(file=label, message="nested too deeply to read; file skipped")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        at = mark.line + 1 if mark else None
        yield at, Problem(file=label, line=at, message=f"invalid YAML: {reason}")
    except yaml.YAMLError as exc:
        yield None, Problem(file=label, message=f"cannot read file: {exc}")


def _over_limits(entities: int, relations: int, limits: FileLimits) -> str | None:
    if entities > limits.max_entities:
        return f"the file holds more than {limits.max_entities} entities; the rest of the file is skipped"
    if relations > limits.max_relations:
        return f"the file declares more than {limits.max_relations} references; the rest of the file is skipped"
    return None


def _first_error(documents: Iterable[tuple[int | None, EntityDoc | Problem]]) -> Problem | None:
    """The error that makes a parsed file broken (its earlier entities are kept stale, not retired)."""
    return next((p for _, p in documents if isinstance(p, Problem) and p.severity == "error"), None)


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
    """Reads Backstage `catalog-info.yaml` style files from disk.

    Only files inside the source's root (its directory, or the directory of its file) or one of
    `allowed_roots` are read, after following symlinks; other targets are refused with the file
    and line that named them.
    """

    type = "backstage"

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        allowed_roots: Iterable[Path] = (),
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        limits: FileLimits = DEFAULT_LIMITS,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.allowed_roots = tuple(allowed_roots)
        self.max_file_bytes = max_file_bytes
        self.limits = limits
        self.progress = progress

    @classmethod
    def from_config(cls, cfg: BackstageSourceConfig, *, progress: Callable[[int, int], None] | None = None) -> BackstageSource:
        max_file_bytes = int(cfg.max_file_mb * 1024 * 1024)
        return cls(cfg.name, cfg.path, allowed_roots=cfg.allowed_roots, max_file_bytes=max_file_bytes, progress=progress)

    def fetch(self) -> Snapshot:
        if not self.path.exists():
            raise SourceError(f"source {self.name!r}: path {self.path} does not exist")
        files = sorted(p for p in self.path.rglob("*") if _is_catalog_file(p)) if self.path.is_dir() else [self.path]
        loader = _CatalogLoader(CatalogRoots.of(self.path, self.allowed_roots), self.max_file_bytes, self.limits)
        for index, file in enumerate(files, 1):
            loader.load_file(file)
            if self.progress:
                self.progress(index, len(files))
        _remember(self.path, loader.parsed)
        collected = loader.collected
        return Snapshot(entities=list(collected.entities.values()), problems=collected.problems, broken=loader.broken)


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


def _decode(data: bytes) -> str:
    """What `Path.read_text(encoding="utf-8")` returns for these bytes (universal newlines)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _is_catalog_file(path: Path) -> bool:
    return path.suffix in YAML_SUFFIXES and path.is_file() and not any(p.startswith(".") for p in path.parts)


class _CatalogLoader:
    """Reads files from disk into a collector, following Locations."""

    def __init__(self, roots: CatalogRoots, max_file_bytes: int, limits: FileLimits) -> None:
        self.roots = roots
        self.max_file_bytes = max_file_bytes
        self.limits = limits
        self.collected = EntityCollector()
        self.broken: dict[str, Problem] = {}
        self._seen_files: set[Path] = set()
        self.parsed: dict[str, tuple[bytes, list[tuple[int | None, EntityDoc | Problem]]]] = {}

    def load_file(self, file: Path, *, referenced_from: tuple[str, int | None] | None = None) -> None:
        """Read one file (a directory scan's, or a Location's target named at `referenced_from`)."""
        problems = self.collected.problems
        at_file, at_line = referenced_from or (str(file), None)
        target = "location target " if referenced_from else ""
        try:
            file = self.roots.resolve(file)
        except Refused as exc:
            problems.append(Problem(file=at_file, line=at_line, message=f"{target}{exc}; not read"))
            return
        if file in self._seen_files:
            return
        self._seen_files.add(file)
        shown = str(file)
        if not file.is_file():
            problems.append(Problem(file=at_file, line=at_line, message=f"location target {shown} does not exist"))
            return
        documents = self._documents(file, shown)
        if documents is None:
            return
        self.parsed[shown] = documents
        broken = _first_error(documents[1])
        if broken is not None:
            self.broken[shown] = broken
        for line, parsed in documents[1]:
            kept = self.collected.add(parsed, shown, line)
            if kept is not None and kept.kind == "location":
                self._follow(kept, file.parent, shown, line)

    def _documents(self, file: Path, shown: str) -> tuple[bytes, list[tuple[int | None, EntityDoc | Problem]]] | None:
        """`(digest, documents)` of one file, parsed or from the cache; None (and a problem) if unreadable."""
        size = file.stat().st_size
        if size > self.max_file_bytes:
            self._unreadable(shown, f"file is {size / 1048576:.1f} MiB, over the {self.max_file_bytes / 1048576:.0f} MiB limit; skipped")
            return None
        data = file.read_bytes()
        digest = hashlib.sha1(data, usedforsecurity=False).digest()
        cached = _PARSED.get(shown)
        if cached is not None and cached[0] == digest:
            return cached
        try:
            text = _decode(data)
        except UnicodeDecodeError as exc:
            self._unreadable(shown, f"cannot read file: {exc}")
            return None
        return digest, list(parse_documents(text, shown, self.limits))

    def _unreadable(self, shown: str, message: str) -> None:
        """Report a file that is not parsed at all: it is broken, so what it described is kept."""
        problem = Problem(file=shown, message=message)
        self.collected.problems.append(problem)
        self.broken[shown] = problem

    def _follow(self, location: EntityDoc, base: Path, file: str, line: int | None) -> None:
        for text in location_targets(location):
            if not is_file_target(location, text):
                message = f"target {text} is not a local file; not followed"
                self.collected.problems.append(Problem(severity="warning", file=file, line=line, entity=location.ref, message=message))
                continue
            path = text.removeprefix("file:")
            if not is_glob(path):
                self.load_file(base / path, referenced_from=(file, line))
                continue
            try:
                matches = self.roots.glob(base, path)
            except Refused as exc:
                self.collected.problems.append(Problem(file=file, line=line, message=f"location target {text}: {exc}; not read"))
                continue
            for match in matches:
                self.load_file(match, referenced_from=(file, line))
