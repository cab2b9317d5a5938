"""Finding our own message again by its Slack message metadata.

A worker that died between posting a message and recording that it did leaves no trace in the
database; the message itself names what it was posted for (`Metadata.event_payload`), so whoever
does the work again looks for it in Slack first instead of posting it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Page = Callable[[str | None], Any]  # a cursor to one page of `conversations.history` or `.replies`


def find_posted(fetch: Page, *, event_type: str, field: str, value: str, pages: int) -> str | None:
    """The `ts` of the first message in up to `pages` pages whose metadata has `field` == `value`; None if none."""
    cursor = None
    for _ in range(pages):
        page = fetch(cursor)
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == event_type and (metadata.get("event_payload") or {}).get(field) == value:
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page.get("has_more") or not cursor:
            return None
    return None
