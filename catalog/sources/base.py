"""What every source gives the sync engine: a full snapshot, or a `SourceError`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from catalog.descriptor import EntityDoc, Problem


@dataclass
class Snapshot:
    """Everything a source asserts right now.

    `complete=False` means some part could not be read: the engine then adds and
    updates what it got but retires nothing.
    """

    entities: list[EntityDoc] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    requests: int = 0
    complete: bool = True


class Source(Protocol):
    name: str
    type: str

    def fetch(self) -> Snapshot:
        """Read the whole source; raise `SourceError` if it cannot be read."""
        ...
