"""Clean a question of Slack markup before it is understood (`catalog.search.understand`)."""

from __future__ import annotations

import re

_LEADING_MENTIONS = re.compile(r"^\s*(?:<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*)+")  # "@wayfinder who owns X": the bot, not the subject
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_USERGROUP = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|@?([^>]*))?>")
_SPECIAL = re.compile(r"<![^>]*>")


_SHORTCODE = re.compile(r":[a-z][a-z0-9_+'-]*:")  # letters first: not the ":30:" of a time

def clean(text: str) -> str:
    """Remove Slack markup and punctuation noise: the bot's mention, links, backticks, quotes.

    A person, user group or channel mentioned inside the question is its subject ("what team is
    @yuki on" arrives as `<@U0YUKI>`): it becomes its label, or its Slack id, which the catalog's
    `slack.com/*-id` annotations resolve.
    """
    text = _LEADING_MENTIONS.sub(" ", text)
    text = _MENTION.sub(lambda m: f" {m.group(1)} ", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _CHANNEL.sub(lambda m: m.group(2) or m.group(1), text)
    text = _USERGROUP.sub(lambda m: f" @{m.group(2)} " if m.group(2) else f" {m.group(1)} ", text)
    text = _SPECIAL.sub(" ", text)
    text = _SHORTCODE.sub(" ", text)  # ":pray:", ":thumbsup::skin-tone-2:": emoji as Slack sends them
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = re.sub(r"[`*_~\"“”‘]", "", text.replace("’", "'"))  # ’ is how phones and Slack write "who's"
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^(?:(?:hey|hi|hello|please|pls|wayfinder)[,:!]?\s+)+", "", text, flags=re.I)  # "hey wayfinder, ..."
    return text.rstrip("?!. ").strip()
