"""Reading an alert body's fields: each one typed and cleaned, or refused with a reason naming it.

Alert bodies come from tools and scripts we do not control. A value of the wrong kind must be
refused in words its sender can act on ("'alerts' must be a list"), never read through `str()`
(an object became the title "{'a': 1}", a missing key the group key "None"), and text must reach
the database storable: PostgreSQL refuses NUL, and no encoding stores a lone surrogate (JSON's
`"\\ud800"` makes one), so both are dropped where the text is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # surrogates left in a decoded str are lone: JSON joins pairs


class WrongField(ValueError):
    """A field is missing or of the wrong kind; the message names it for the sender."""


def clean(text: str) -> str:
    """`text` without NUL and lone surrogates, the characters no database column here can store."""
    return _UNSTORABLE.sub("", text)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in an ellipsis when cut (display text only: a cut key would merge others)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Fields:
    """One JSON object of the body; `path` is where it sits (`event.data.`), so errors name the full field."""

    values: Mapping[str, Any]
    path: str = ""

    def child(self, key: str, *, required: bool = False) -> Fields:
        """The object at `key`; when missing or null, an empty one (senders leave optional objects out) unless `required`."""
        value = self.values.get(key)
        if value is None and required:
            raise WrongField(f"{self.name(key)} is missing")
        if not isinstance(value, dict | None):
            raise WrongField(f"{self.name(key)} must be an object")
        return Fields(value or {}, f"{self.path}{key}.")

    def children(self, key: str) -> list[Fields]:
        """The required list of objects at `key`."""
        items = self.values.get(key)
        if items is None:
            raise WrongField(f"{self.name(key)} is missing")
        if not isinstance(items, list):
            raise WrongField(f"{self.name(key)} must be a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise WrongField(f"{self.name(f'{key}[{i}]')} must be an object")
        return [Fields(item, f"{self.path}{key}[{i}].") for i, item in enumerate(items)]

    def text(self, key: str) -> str | None:
        """The string or number at `key` as clean text; None when missing, null or empty."""
        value = self.values.get(key)
        if not _is_text(value):
            raise WrongField(f"{self.name(key)} must be a string or a number")
        return _as_text(value)

    def required_text(self, key: str) -> str:
        """The text at `key`, which must be there and not empty (an identity: never read as "None" or "")."""
        found = self.text(key)
        if found is None:
            raise WrongField(f"{self.name(key)} is missing or empty")
        return found

    def texts(self, key: str) -> list[str]:
        """The strings or numbers listed at `key` as clean text, empty ones left out; a lone string is one item."""
        value = self.values.get(key)
        items = value if isinstance(value, list) else [value]
        if not all(_is_text(item) for item in items):
            raise WrongField(f"{self.name(key)} must be a list of strings")
        return [text for item in items if (text := _as_text(item)) is not None]

    def name(self, key: str) -> str:
        return f"'{self.path}{key}'"


def _is_text(value: Any) -> bool:
    """Null, a string, or a number (which reads as JSON writes it); objects, lists and booleans are not text."""
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def _as_text(value: str | float | None) -> str | None:
    if isinstance(value, str):
        return clean(value) or None
    return None if value is None else str(value)
