"""Backstage entity references: `[kind:][namespace/]name`, compared case-insensitively.

The canonical stored form is `kind:namespace/name`, all lowercase (FORMATS.md §1).
"""

from __future__ import annotations

import re
from typing import NamedTuple

DEFAULT_NAMESPACE = "default"
# The ref columns' size (`catalog.store.models`): a longer ref is refused here, where it is written,
# instead of failing the whole sync's transaction on PostgreSQL (SQLite would accept it).
MAX_REF_LENGTH = 400
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    """Parse `[kind:][namespace/]name` as Backstage's `parseEntityRef` does, applying the field's defaults.

    The first `/` ends the namespace and everything after it is the name, so a name may hold `/`
    and `:` (`a:b/c/d` is kind a, namespace b, name c/d); a `:` counts only before that `/`.
    Raises ValueError when the text is empty, a part is written but empty (`:x`, `a:/x`, `a:b/`),
    or the kind is missing and the field implies none.
    Also raises when it holds control characters (NUL cannot be stored) or is longer than the
    database stores.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty entity reference")
    if _CONTROL.search(raw):
        raise ValueError(f"reference {raw!r} contains control characters")
    colon, slash = raw.find(":"), raw.find("/")
    if slash != -1 and slash < colon:
        colon = -1  # the colon belongs to the name
    kind = raw[:colon] if colon != -1 else None
    namespace = raw[colon + 1 : slash] if slash != -1 else None
    name = raw[max(colon + 1, slash + 1) :]
    if kind == "" or namespace == "" or name == "":
        raise ValueError(f"reference {raw!r} is not of the form [kind:][namespace/]name: a part is empty")
    kind = kind or default_kind
    if not kind:
        raise ValueError(f"reference {raw!r} needs a kind, like component:{raw}")
    ref = EntityRef(kind.lower(), (namespace or default_namespace).lower(), name.lower())
    if len(str(ref)) > MAX_REF_LENGTH:
        raise ValueError(f"reference {raw[:40]!r}... is {len(str(ref))} characters, over the limit of {MAX_REF_LENGTH}")
    return ref


def split_ref(ref: str) -> EntityRef:
    """Split a canonical ref string back into its parts."""
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return EntityRef(kind, namespace, name)
