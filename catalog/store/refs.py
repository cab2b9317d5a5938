"""Backstage entity references: `[kind:][namespace/]name`, compared case-insensitively.

The canonical stored form is `kind:namespace/name`, all lowercase (FORMATS.md §1).
"""

from __future__ import annotations

from typing import NamedTuple

DEFAULT_NAMESPACE = "default"


class EntityRef(NamedTuple):
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"


def make_ref(kind: str, namespace: str | None, name: str) -> str:
    """Canonical ref string for a key."""
    return f"{kind.lower()}:{(namespace or DEFAULT_NAMESPACE).lower()}/{name.lower()}"


def parse_ref(text: str, *, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE) -> EntityRef:
    """Parse a reference as written in a descriptor, applying the field's default kind.

    Raises ValueError when the kind is missing and the field implies none, or the text is empty.
    """
    raw = str(text).strip()
    if not raw:
        raise ValueError("empty entity reference")
    kind: str | None
    if ":" in raw:
        kind, _, rest = raw.partition(":")
    else:
        kind, rest = default_kind, raw
    if not kind:
        raise ValueError(f"reference {raw!r} needs a kind, like component:{raw}")
    namespace, _, name = rest.rpartition("/")
    if not name:
        raise ValueError(f"reference {raw!r} has no name")
    return EntityRef(kind.lower(), (namespace or default_namespace).lower(), name.lower())


def split_ref(ref: str) -> EntityRef:
    """Split a canonical ref string back into its parts."""
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return EntityRef(kind, namespace, name)
