"""Clean a question of Slack markup before it is understood (`catalog.search.understand`)."""

from __future__ import annotations

import re

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<![^>]*>")


def clean(text: str) -> str:
    """Remove Slack markup and punctuation noise: mentions, links, channels, backticks, quotes."""
    text = _MENTION.sub(" ", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _CHANNEL.sub(lambda m: m.group(1) or "", text)
    text = _SPECIAL.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = re.sub(r"[`*_~\"“”‘]", "", text.replace("’", "'"))  # ’ is how phones and Slack write "who's"
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^(?:(?:hey|hi|hello|please|pls|wayfinder)[,:!]?\s+)+", "", text, flags=re.I)  # "hey wayfinder, ..."
    return text.rstrip("?!. ").strip()
