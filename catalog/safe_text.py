"""Text that cannot fool a reader: the one filter every renderer applies to catalog strings.

Catalog files are written by many people; a description may carry terminal escape sequences
(`\\x1b[2J` clears the screen, OSC sequences retitle the window or forge hyperlinks) or Unicode
bidirectional overrides that show `exe.txt` as `txt.exe`. Slack mrkdwn and plain_text, the
terminal (`wayfinder ask`, tables) and HTML pages all pass catalog text through `neutralise`
before drawing it, so such characters never reach a screen.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

# C0 controls except tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on some terminals),
# and the invisible direction marks: ALM, LRM/RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
# Line and paragraph separators become newlines, so a line break stays a line break.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\r\u2028\u2029]\n?")
LINK_SCHEMES = ("http", "https", "mailto")


def neutralise(text: str, *, multiline: bool = True) -> str:
    """`text` without control or bidi-override characters; `multiline=False` folds newlines and tabs to spaces.

    Every character either pattern removes or folds is a control, format or separator character,
    which `str.isprintable` rejects: most catalog text passes that one C-speed test unchanged (a
    page filters some 90 strings).
    """
    if text.isprintable():
        return text
    text = _HIDDEN.sub("", _LINE_BREAKS.sub("\n", text))
    return text if multiline else re.sub(r"[\t\n]+", " ", text)


def escape_html(text: str) -> str:
    """Catalog text for an HTML page: neutralised, then entity-escaped (quotes too, for attributes)."""
    return html.escape(neutralise(text), quote=True)


def safe_href(url: str | None) -> str | None:
    """`url` when it may be a link target (http, https or mailto), else None: pages show it as text, and it counts as no link."""
    if not url:
        return None
    url = neutralise(url, multiline=False).strip()
    scheme = urlsplit(url).scheme.lower()
    return url if scheme in LINK_SCHEMES and url.lower().startswith(scheme + ":") else None
