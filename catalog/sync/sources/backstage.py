"""Backstage descriptor files: a file, a directory scanned recursively, or a Location.

Locations are followed relative to their own file; every file is read once, so an
entity reached both by the directory scan and through a Location is one entity.

`parse_documents` and `EntityCollector` are the parts other sources share (the GitHub source
reads the same files from repositories), so a descriptor means the same wherever it is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from catalog.config import BackstageSourceConfig
from catalog.errors import SourceError
from catalog.sync.sources.base import FileRead, Scan, Snapshot
from catalog.sync.sources.bounded_yaml import DEFAULT_LIMITS, Document, FileLimits, FileTooCostly, read_documents
from catalog.sync.sources.catalog_roots import CatalogRoots, Refused, is_glob
from catalog.sync.sources.descriptor import EntityDoc, Problem, declared_references, parse_entity, spec_warnings
from catalog.sync.sources.substitutions import EXPRESSION, TextReader, Unreadable, skeleton_expression, substitute

YAML_SUFFIXES = {".yaml", ".yml"}
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024


def _json_safe(value: Any) -> Any:
    """YAML may produce dates and other non-JSON values; store them as strings."""
    return json.loads(json.dumps(value, default=str))


def parse_documents(
    text: str, label: str, limits: FileLimits = DEFAULT_LIMITS, read_text: TextReader | None = None
) -> Iterator[tuple[int | None, EntityDoc | Problem]]:
    """`(line, entity or problem)` for each document of one descriptor file, warnings about an entity before it.

    `label` names the file in entity locations (`label:LINE`) and in problems: a path, or
    `github:org/repo/catalog-info.yaml`. Documents before a YAML syntax error, or before the
    file exceeds one of its `limits`, still count; nothing after it is read. `read_text` reads
    what a `$text` placeholder names; without it placeholders are left out.
    """
    entities = relations = 0
    templated = EXPRESSION in text  # only then is a document searched for a template expression
    try:
        for doc in read_documents(text, limits):
            if doc.value is None:
                continue
            if templated and (expression := skeleton_expression(doc.value)) is not None:
                message = f"holds the template expression {expression[:80]!r}: a Template's skeleton, not an entity; skipped"
                yield doc.line, Problem(severity="warning", file=label, line=doc.line, message=message)
                continue
            # Counted before the entity is built: building one with 600k references is the cost to avoid.
            entities, relations = entities + 1, relations + declared_references(doc.value)
            over = _over_limits(entities, relations, limits)
            if over:
                yield doc.line, Problem(file=label, line=doc.line, message=over)
                return
            yield from ((doc.line, parsed) for parsed in _entity_of(doc, label, read_text))
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


def _entity_of(doc: Document, label: str, read_text: TextReader | None) -> Iterator[EntityDoc | Problem]:
    """One document's entity, or the error that rejects it, after the warnings about it."""
    raw = _json_safe(doc.value)
    error, warnings = substitute(raw, read_text)
    parsed = parse_entity(raw, file=label, line=doc.line)
    if isinstance(parsed, Problem):
        yield parsed
        return
    yield from (Problem(severity="warning", file=label, line=doc.line, entity=parsed.ref, message=w) for w in warnings)
    if error is not None:
        yield Problem(file=label, line=doc.line, entity=parsed.ref, message=error)
    elif doc.flaw is not None:
        line, why = doc.flaw
        yield Problem(file=label, line=line, entity=parsed.ref, message=why)
    else:
        yield parsed


def _over_limits(entities: int, relations: int, limits: FileLimits) -> str | None:
    if entities > limits.max_entities:
        return f"the file holds more than {limits.max_entities} entities; the rest of the file is skipped"
    if relations > limits.max_relations:
        return f"the file declares more than {limits.max_relations} references; the rest of the file is skipped"
    return None


def location_targets(location: EntityDoc) -> list[str]:
    """A Location's `targets` and `target`, in that order (`parse_entity` checked they are strings)."""
    spec = location.spec
    return [*(spec.get("targets") or []), *([spec["target"]] if spec.get("target") else [])]


def is_file_target(location: EntityDoc, target: str) -> bool:
    """Whether a target names a file next to the Location (followed) rather than a URL (not followed)."""
    return "://" not in target and location.spec.get("type", "file") in ("file", None)


class EntityCollector:
    """Entities gathered from many files: the first definition of a ref wins, later ones are reported.

    `take` hands over what was gathered so far (a source that streams its files keeps only the
    refs and where they were defined, for the duplicate check).
    """

    def __init__(self) -> None:
        self.entities: dict[str, EntityDoc] = {}
        self.problems: list[Problem] = []
        self._taken: dict[str, str | None] = {}  # ref -> location, of the entities handed over

    def add(self, parsed: EntityDoc | Problem, file: str, line: int | None) -> EntityDoc | None:
        """Keep an entity read at `file:line` (returned, so the caller can follow a Location) or record why not."""
        if isinstance(parsed, Problem):
            self.problems.append(parsed)
            return None
        first = self.entities.get(parsed.ref)
        if first is not None or parsed.ref in self._taken:
            where = first.location if first is not None else self._taken[parsed.ref]
            self.problems.append(Problem(file=file, line=line, entity=parsed.ref, message=f"duplicate entity, already defined at {where}; skipped"))
            return None
        self.entities[parsed.ref] = parsed
        for message in spec_warnings(parsed):
            self.problems.append(Problem(severity="warning", file=file, line=line, entity=parsed.ref, message=message))
        return parsed

    def take(self) -> list[EntityDoc]:
        """The entities gathered since the last `take`; later duplicates of them are still reported."""
        taken = list(self.entities.values())
        self._taken.update((doc.ref, doc.location) for doc in taken)
        self.entities.clear()
        return taken


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
        """Every file parsed, as one snapshot (`wayfinder validate`); the sync engine uses `scan`."""
        scan = self.scan({})
        snapshot = Snapshot()
        for read in scan.files:
            snapshot.entities += read.entities or []
            snapshot.problems += read.problems
            if read.broken is not None:
                snapshot.broken[read.path] = read.broken
        snapshot.problems += scan.problems
        return snapshot

    def scan(self, known: Mapping[str, str]) -> Scan:
        """The files in reading order (the directory's, sorted, then each Location's targets after its file);
        a file whose SHA-1 is `known[path]` is read and hashed but not parsed."""
        if not self.path.exists():
            raise SourceError(f"source {self.name!r}: path {self.path} does not exist")
        files, passed_over = _scan_directory(self.path) if self.path.is_dir() else ([self.path], [])
        loader = _CatalogLoader(CatalogRoots.of(self.path, self.allowed_roots), self.max_file_bytes, self.limits, known)
        loader.problems += passed_over
        return Scan(loader.read_all(files, self.progress), loader.problems)


def _decode(data: bytes) -> str:
    """What `Path.read_text(encoding="utf-8")` returns for these bytes (universal newlines)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _scan_directory(root: Path) -> tuple[list[Path], list[Problem]]:
    """The YAML files (`.yaml`, `.YML`, ...) below `root`, sorted, and a warning for each symlink the scan passes over.

    Names starting with `.` below `root` are skipped (`.git/`); `root` itself may be inside one
    (`~/.wayfinder/catalog`). A symlinked directory is not followed (it could loop or lead out of
    the root): a Location can still name its files, and every file is checked against the roots when read.
    """
    files: list[Path] = []
    passed_over: list[Problem] = []
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.is_symlink() and path.is_dir():
            message = "a symlink to a directory: the directory scan does not follow it; name its files in a Location to read them"
            passed_over.append(Problem(severity="warning", file=str(path), message=message))
        elif path.suffix.lower() in YAML_SUFFIXES and path.is_file():
            files.append(path)
        elif path.suffix.lower() in YAML_SUFFIXES and path.is_symlink():
            passed_over.append(Problem(severity="warning", file=str(path), message="a broken symlink; skipped"))
    return files, passed_over


class _CatalogLoader:
    """Reads files from disk one at a time, following Locations; keeps only refs across files."""

    def __init__(self, roots: CatalogRoots, max_file_bytes: int, limits: FileLimits, known: Mapping[str, str]) -> None:
        self.roots = roots
        self.max_file_bytes = max_file_bytes
        self.limits = limits
        self.known = known
        self.collected = EntityCollector()
        self.problems: list[Problem] = []
        self._seen_files: set[Path] = set()

    def read_all(self, files: list[Path], progress: Callable[[int, int], None] | None) -> Iterator[FileRead]:
        for index, file in enumerate(files, 1):
            yield from self.load_file(file)
            if progress:
                progress(index, len(files))

    def load_file(self, file: Path, *, referenced_from: tuple[str, int | None] | None = None, optional: bool = False) -> Iterator[FileRead]:
        """One file (a directory scan's, or a Location's target named at `referenced_from`), then its Locations' targets.

        An `optional` target (`presence: optional`) may be absent, as in Backstage: that is no problem.
        """
        at_file, at_line = referenced_from or (str(file), None)
        target = "location target " if referenced_from else ""
        try:
            file = self.roots.resolve(file)
        except Refused as exc:
            self.problems.append(Problem(file=at_file, line=at_line, message=f"{target}{exc}; not read"))
            return
        if file in self._seen_files:
            return
        self._seen_files.add(file)
        shown = str(file)
        if not file.is_file():
            if not optional:
                self.problems.append(Problem(file=at_file, line=at_line, message=f"location target {shown} does not exist"))
            return
        read, locations = self._read(file, shown)
        yield read
        for location, line in locations:
            yield from self._follow(location, file.parent, shown, line)

    def _read(self, file: Path, shown: str) -> tuple[FileRead, list[tuple[EntityDoc, int | None]]]:
        """The file as read (parsed unless its digest is known), and the Locations it holds with their lines."""
        size = file.stat().st_size
        if size > self.max_file_bytes:
            return self._unreadable(shown, "", f"file is {size / 1048576:.1f} MiB, over the {self.max_file_bytes / 1048576:.0f} MiB limit; skipped"), []
        data = file.read_bytes()
        digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        if self.known.get(shown) == digest:
            return FileRead(shown, digest), []
        try:
            text = _decode(data)
        except UnicodeDecodeError as exc:
            return self._unreadable(shown, digest, f"cannot read file: {exc}"), []
        del data
        problems = self.collected.problems
        before = len(problems)
        broken: Problem | None = None
        locations: list[tuple[EntityDoc, int | None]] = []
        lost = False
        for line, parsed in parse_documents(text, shown, self.limits, self._text_reader(file.parent)):
            if broken is None and isinstance(parsed, Problem) and parsed.severity == "error":
                broken = parsed
            kept = self.collected.add(parsed, shown, line)
            lost = lost or (kept is None and isinstance(parsed, EntityDoc))
            if kept is not None and kept.kind == "location":
                locations.append((kept, line))
        own = problems[before:]
        del problems[before:]
        # Read again every run: a Location's targets may change, a lost duplicate may win, a `$text` file may change.
        reparse = bool(locations) or lost or "$text" in text
        return FileRead(shown, digest, self.collected.take(), own, broken, reparse=reparse), locations

    def _text_reader(self, base: Path) -> TextReader:
        """What a `$text` placeholder in a file of directory `base` names: a local file inside the roots, as text."""

        def read(target: str) -> str:
            if "://" in target:
                raise Unreadable("not a local file; not read")
            try:
                path = self.roots.resolve(base / target)
            except Refused as exc:
                raise Unreadable(f"{exc}; not read") from None
            if not path.is_file():
                raise Unreadable("does not exist")
            if path.stat().st_size > self.max_file_bytes:
                raise Unreadable(f"over the {self.max_file_bytes / 1048576:.0f} MiB limit; not read")
            try:
                text = _decode(path.read_bytes())
            except UnicodeDecodeError as exc:
                raise Unreadable(f"is not UTF-8 text: {exc}") from None
            if "\x00" in text:
                raise Unreadable("contains a NUL character, which the catalog cannot store")
            return text

        return read

    def _unreadable(self, shown: str, digest: str, message: str) -> FileRead:
        """A file that is not parsed at all: it is broken, so what it described is kept."""
        problem = Problem(file=shown, message=message)
        return FileRead(shown, digest, [], [problem], problem)

    def _follow(self, location: EntityDoc, base: Path, file: str, line: int | None) -> Iterator[FileRead]:
        optional = location.spec.get("presence") == "optional"
        for text in location_targets(location):
            if not is_file_target(location, text):
                message = f"target {text} is not a local file; not followed"
                self.problems.append(Problem(severity="warning", file=file, line=line, entity=location.ref, message=message))
                continue
            path = text.removeprefix("file:")
            if not is_glob(path):
                yield from self.load_file(base / path, referenced_from=(file, line), optional=optional)
                continue
            try:
                matches = self.roots.glob(base, path)
            except Refused as exc:
                self.problems.append(Problem(file=file, line=line, message=f"location target {text}: {exc}; not read"))
                continue
            for match in matches:
                yield from self.load_file(match, referenced_from=(file, line))
