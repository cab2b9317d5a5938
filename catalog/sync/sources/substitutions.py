"""Values a descriptor does not hold itself: Backstage's placeholders, and a scaffolder skeleton's expressions.

Backstage's `PlaceholderProcessor` replaces `description: {$text: ./README.md}` with the text of
that file. Wayfinder does so for `metadata.title` and `metadata.description`, the text it shows;
elsewhere (an API's `definition: {$text: ./openapi.yaml}`) the placeholder stays in `spec` as
written, unread. Stored as it was, a placeholder showed as "{'$text': './README.md'}".

A Template's skeleton (`template/content/catalog-info.yaml`, `name: ${{ values.name }}`) is an
entity only once the Template renders it. Backstage never reads it (nobody registers it), but a
directory scan meets it: it is skipped with a warning rather than failing every sync.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PLACEHOLDERS = ("$text", "$json", "$yaml")
TEXT_FIELDS = ("title", "description")
EXPRESSION = "${{"  # how a scaffolder template expression starts

TextReader = Callable[[str], str]  # the text a `$text` target names; raises `Unreadable`


class Unreadable(Exception):
    """A `$text` target that cannot be read; the message says why, without the field (the caller adds it)."""


def substitute(raw: Any, read: TextReader | None) -> tuple[str | None, list[str]]:
    """Replace, in place, the `$text` placeholders of `raw`'s metadata title and description by the text they name.

    Returns `(error, warnings)`. A target that cannot be read is an error, as it fails the entity
    in Backstage; a placeholder not read here (`$json` or `$yaml`, which give no text, or any where
    `read` is None: a file of another source) is a warning. Either way the field is left out.
    """
    metadata = raw.get("metadata") if isinstance(raw, dict) else None
    if not isinstance(metadata, dict):
        return None, []
    error, warnings = None, []
    for field in TEXT_FIELDS:
        found = _placeholder(metadata.get(field))
        if found is None:
            continue
        key, target = found
        del metadata[field]
        if key != "$text" or read is None:
            warnings.append(f"metadata.{field}: the placeholder {key} is not read here; left out")
            continue
        try:
            metadata[field] = read(target)
        except Unreadable as exc:
            error = error or f"metadata.{field}: $text {target}: {exc}"
    return error, warnings


def _placeholder(value: Any) -> tuple[str, str] | None:
    """`(key, target)` of a placeholder: a mapping with one key, `$text`, `$json` or `$yaml`, to a string."""
    if isinstance(value, dict) and len(value) == 1:
        [(key, target)] = value.items()
        if key in PLACEHOLDERS and isinstance(target, str):
            return key, target
    return None


def skeleton_expression(raw: Any) -> str | None:
    """The first value holding a template expression in a document that is not a Template (which holds them
    legitimately in its steps): that document is a skeleton the Template renders, not an entity."""
    if isinstance(raw, dict) and str(raw.get("kind", "")).lower() == "template":
        return None
    return _first_expression(raw)


def _first_expression(value: Any) -> str | None:
    if isinstance(value, str):
        return value if EXPRESSION in value else None
    children = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else []
    return next((found for child in children if (found := _first_expression(child)) is not None), None)
