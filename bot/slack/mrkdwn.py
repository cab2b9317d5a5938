"""Safe mrkdwn: catalog text is data, never markup.

Slack treats `&`, `<` and `>` as control characters (`<!channel>`, `<@U123>`, `<url|label>`), so
every catalog string is escaped before it goes into mrkdwn; only the bot's own tokens (links it
builds here, ids it resolved) are added unescaped. Escaping also drops control and bidi-override
characters (`catalog.safe_text`), so a name cannot read differently from what it is.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from catalog.safe_text import neutralise

ELLIPSIS = "…"
_UNSAFE_IN_URL = re.compile(r"[\s<>|\"]")
_OPEN_ENTITY = re.compile(r"&[a-z]{0,4}$")


def escape(text: str) -> str:
    """Neutralise, then escape the three control characters (`&` first, so entities are not double-escaped later)."""
    return neutralise(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """`<url|label>` for an http(s) URL; anything else (javascript:, relative, garbage) is plain text."""
    url, label = neutralise(url, multiline=False), neutralise(label or url, multiline=False)
    parts = urlsplit(url.strip()) if url else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return escape(label) if label == url else f"{escape(label)} ({escape(url)})"
    # `|` and `>` would end the URL part early; `<`, quotes and spaces have no business there either.
    safe_url = _UNSAFE_IN_URL.sub(lambda m: quote(m.group(0)), url.strip()).replace("&", "&amp;")
    return f"<{safe_url}|{escape(label).replace('|', '¦')}>"


def truncate(text: str, limit: int) -> str:
    """Cut already-escaped mrkdwn to `limit` characters with "…", never inside `&amp;` or `<…>`."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    if (m := _OPEN_ENTITY.search(cut)) is not None:
        cut = cut[: m.start()]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut + ELLIPSIS
