"""Backstage descriptor files: a file, a directory scanned recursively, or a Location.

Locations are followed relative to their own file; every file is read once, so an
entity reached both by the directory scan and through a Location is one entity.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from catalog.descriptor import EntityDoc, Problem, parse_entity, spec_warnings
from catalog.errors import SourceError
from catalog.sources.base import Snapshot

YAML_SUFFIXES = {".yaml", ".yml"}
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_documents(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield `(line, document)` for each YAML document; a syntax error raises with its mark."""
    loader = _Loader(path.read_text(encoding="utf-8"))
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node.start_mark.line + 1, loader.construct_document(node)
    finally:
        loader.dispose()


def _json_safe(value: Any) -> Any:
    """YAML may produce dates and other non-JSON values; store them as strings."""
    return json.loads(json.dumps(value, default=str))


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
        return Snapshot(entities=list(loader.entities.values()), problems=loader.problems)


def _is_catalog_file(path: Path) -> bool:
    return path.suffix in YAML_SUFFIXES and path.is_file() and not any(p.startswith(".") for p in path.parts)


class _CatalogLoader:
    """Accumulates entities across files, following Locations and reporting problems."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.entities: dict[str, EntityDoc] = {}
        self.problems: list[Problem] = []
        self._seen_files: set[Path] = set()

    def load_file(self, file: Path, *, referenced_from: str | None = None) -> None:
        file = file.resolve()
        if file in self._seen_files:
            return
        self._seen_files.add(file)
        shown = str(file)
        if not file.is_file():
            self.problems.append(Problem(file=referenced_from, message=f"location target {shown} does not exist"))
            return
        size = file.stat().st_size
        if size > self.max_file_bytes:
            self.problems.append(
                Problem(file=shown, message=f"file is {size / 1048576:.1f} MiB, over the {self.max_file_bytes / 1048576:.0f} MiB limit; skipped")
            )
            return
        try:
            for line, raw in read_documents(file):
                if raw is not None:
                    self._add(_json_safe(raw), shown, line)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            reason = exc.problem or exc.context or "invalid YAML"
            self.problems.append(Problem(file=shown, line=mark.line + 1 if mark else None, message=f"invalid YAML: {reason}"))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            self.problems.append(Problem(file=shown, message=f"cannot read file: {exc}"))

    def _add(self, raw: Any, file: str, line: int) -> None:
        parsed = parse_entity(raw, file=file, line=line)
        if isinstance(parsed, Problem):
            self.problems.append(parsed)
            return
        first = self.entities.get(parsed.ref)
        if first is not None:
            self.problems.append(
                Problem(file=file, line=line, entity=parsed.ref, message=f"duplicate entity, already defined at {first.location}; skipped")
            )
            return
        self.entities[parsed.ref] = parsed
        for message in spec_warnings(parsed):
            self.problems.append(Problem(severity="warning", file=file, line=line, entity=parsed.ref, message=message))
        if parsed.kind == "location":
            self._follow(parsed, Path(file).parent, f"{file}:{line}")

    def _follow(self, location: EntityDoc, base: Path, where: str) -> None:
        spec = location.spec
        targets = list(spec.get("targets") or []) + ([spec["target"]] if spec.get("target") else [])
        for target in targets:
            text = str(target)
            if "://" in text or spec.get("type", "file") not in ("file", None):
                self.problems.append(Problem(severity="warning", file=where, entity=location.ref, message=f"target {text} is not a local file; not followed"))
                continue
            path = base / text.removeprefix("file:")
            if any(ch in text for ch in "*?["):
                for match in sorted(base.glob(text)):
                    self.load_file(match, referenced_from=where)
            else:
                self.load_file(path, referenced_from=where)
