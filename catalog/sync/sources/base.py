"""What every source gives the sync engine: a full snapshot, or a `SourceError`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from catalog.sync.sources.descriptor import EntityDoc, Problem


@dataclass(frozen=True)
class Scope:
    """The part of a source a partial snapshot speaks for (one repository a webhook resynced).

    `contains` says, from a row's `location`, whether the row belongs to that part: only those
    rows may be retired, and a ref held elsewhere in the source is taken over only by a higher
    precedence. `label` names the part in the run's record.
    """

    label: str
    contains: Callable[[str | None], bool]


@dataclass
class Snapshot:
    """Everything a source asserts right now.

    `complete=False` means some part could not be read: the engine then adds and
    updates what it got but retires nothing. A `scope` makes the snapshot partial.
    `broken` maps each file (as entity locations name it) that could not be read in full to
    its first error: what that file described before is kept, marked stale, not retired.
    `authors` maps a ref to who made the change the snapshot carries (`github:<login>`), for the
    entities whose source knows it (a push's commits); the others are written with no author.
    `enriches` says the source only adds facts to entities other sources define (PagerDuty,
    Slack): when such an entity goes, its defining source retired it, so the rows this source
    loses with it are not this run's deletes (see `catalog.sync.engine`).
    """

    entities: list[EntityDoc] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    requests: int = 0
    complete: bool = True
    scope: Scope | None = None
    broken: dict[str, Problem] = field(default_factory=dict)
    authors: dict[str, str] = field(default_factory=dict)
    enriches: bool = False


class Source(Protocol):
    name: str
    type: str

    def fetch(self) -> Snapshot:
        """Read the whole source; raise `SourceError` if it cannot be read."""
        ...


@dataclass
class FileRead:
    """One file a file-based source reached, parsed or (when its digest is the one the engine knew) not.

    `entities` is None for a file that was not parsed. `problems` are the file's own (invalid
    entities, duplicates, missing fields); `broken` its first error when it could not be read in
    full. `reparse` asks for the file to be parsed next time too whatever its digest: it holds
    Locations, whose targets must be followed again, or it lost a duplicate to another file.
    """

    path: str
    digest: str
    entities: list[EntityDoc] | None = None
    problems: list[Problem] = field(default_factory=list)
    broken: Problem | None = None
    reparse: bool = False


@dataclass
class Scan:
    """What a file-based source reads now: `files` is consumed once, in reading order.

    `problems` fills while `files` is consumed: those no file holds (a Location target that
    cannot be read is reported where it is named, and that file is parsed every run anyway).
    """

    files: Iterator[FileRead]
    problems: list[Problem] = field(default_factory=list)


@runtime_checkable
class FileSource(Protocol):
    """A source whose entities come from files: the engine parses and writes only what changed."""

    name: str
    type: str

    def scan(self, known: Mapping[str, str]) -> Scan:
        """Every file of the source; those whose digest equals `known[path]` are not parsed.

        Raises `SourceError` if the source cannot be read at all.
        """
        ...
