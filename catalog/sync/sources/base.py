"""What every source gives the sync engine: a full snapshot, or a `SourceError`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

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
    """

    entities: list[EntityDoc] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    requests: int = 0
    complete: bool = True
    scope: Scope | None = None
    broken: dict[str, Problem] = field(default_factory=dict)


class Source(Protocol):
    name: str
    type: str

    def fetch(self) -> Snapshot:
        """Read the whole source; raise `SourceError` if it cannot be read."""
        ...
