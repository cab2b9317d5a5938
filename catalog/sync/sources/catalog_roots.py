"""Which local files a Backstage source may read: those inside its root, or a root the operator allows.

A catalog file is written by whoever can change the catalog directory; without this check a
Location's `../` target, an absolute path, a glob or a symlink would import files from anywhere
the process can read. Every path is checked after its symlinks are followed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

_GLOB_CHARS = frozenset("*?[")


class Refused(Exception):
    """A target that must not be read; the message says why, without the file and line (the caller adds them)."""


def is_glob(target: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in target)


@dataclass(frozen=True)
class CatalogRoots:
    """The source's own root first, then the `allowed_roots` of its config; all resolved."""

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, path: Path, allowed: Iterable[Path] = ()) -> CatalogRoots:
        """A directory source's root is the directory; a file source's root is the file's directory."""
        root = path.resolve()
        return cls((root if root.is_dir() else root.parent, *(Path(a).resolve() for a in allowed)))

    def contains(self, path: Path) -> bool:
        return any(path.is_relative_to(root) for root in self.roots)

    def resolve(self, path: Path) -> Path:
        """`path` with its symlinks followed; raises `Refused` when that leaves every root or loops."""
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
            raise Refused(f"{path} cannot be resolved (a symlink loop?)") from None
        if not self.contains(resolved):
            allowed = "; add its directory to allowed_roots in the config to allow it" if len(self.roots) == 1 else ""
            raise Refused(f"{path} resolves to {resolved}, outside the catalog root {self.roots[0]}{allowed}")
        return resolved

    def glob(self, base: Path, pattern: str) -> list[Path]:
        """Matches of a glob target, relative to `base` or absolute.

        The part before the first wildcard must lie inside a root, so a glob never walks the rest
        of the disk; each match is checked again when it is read (it may be a symlink).
        """
        parts = PurePath(pattern).parts
        fixed = next(i for i, part in enumerate(parts) if is_glob(part))
        start = self.resolve(base.joinpath(*parts[:fixed]))
        try:
            return sorted(start.glob(str(PurePath(*parts[fixed:]))))
        except (OSError, ValueError) as exc:
            raise Refused(f"glob {pattern} cannot be searched: {exc}") from None
