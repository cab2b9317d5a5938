"""Understand a question without an LLM: clean Slack markup, find the intent and the subject.

Patterns are tried in order; each captures the subject. Kind words ("team", "api", "db")
around the subject narrow the entity search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<![^>]*>")

KIND_WORDS: dict[str, str] = {
    "team": "group", "group": "group", "squad": "group", "org": "group", "department": "group",
    "person": "user", "user": "user", "engineer": "user",
    "service": "component", "svc": "component", "component": "component", "library": "component",
    "lib": "component", "website": "component", "app": "component",
    "api": "api", "apis": "api", "endpoint": "api",
    "db": "resource", "database": "resource", "resource": "resource", "bucket": "resource",
    "queue": "resource", "cache": "resource", "topic": "resource", "table": "resource",
    "system": "system", "domain": "domain",
}  # fmt: skip
_LEADING_FILLER = re.compile(r"^(?:the|our|a|an|this|that|team's|teams)\s+", re.I)

_S = r"(?P<s>.+?)"
_PATTERNS: list[tuple[str, list[str]]] = [
    ("help", [r"help", r"\?", r"what can you do", r"how do (?:i|you) use (?:this|you|wayfinder)", r"usage", r"commands"]),
    ("oncall", [rf"who(?:'s| is) on[- ]?call (?:for|on|at) {_S}", rf"on[- ]?call (?:for|of) {_S}", rf"{_S} on[- ]?call"]),
    ("members", [
        rf"who(?:'s| is| are)? (?:in|on|part of) {_S}",
        rf"(?:who are the |list )?members (?:of|in) {_S}",
        rf"who belongs to {_S}", rf"{_S} members", rf"who works (?:in|on) team {_S}",
    ]),
    ("owned_by", [
        rf"what (?:does|do|did) {_S} own", rf"what(?:'s| is|s) owned by {_S}", rf"(?:things |services |everything )?owned by {_S}",
        rf"what belongs to {_S}", rf"{_S} owns what", rf"list (?:what )?{_S} owns",
    ]),
    ("dependents", [
        rf"(?:what|who) (?:depends|relies) on {_S}", rf"(?:what|who) (?:uses|calls|consumes) {_S}",
        rf"(?:dependents|consumers|callers|users) of {_S}", rf"what breaks if {_S} (?:is )?(?:goes )?down",
    ]),
    ("depends_on", [
        rf"what (?:does|do) {_S} (?:depend|rely) on", rf"what (?:does|do) {_S} (?:use|call|consume)",
        rf"(?:dependencies|deps) (?:of|for) {_S}", rf"{_S} (?:dependencies|deps)", rf"{_S} depends on what",
    ]),
    ("links", [
        rf"(?:where are |where is |show me |get )?(?:the )?(?:links?|docs?|documentation|repo|repository|runbooks?|dashboards?|code|source) (?:for|of|to) {_S}",
        rf"{_S}(?:'s)? (?:links?|docs?|documentation|repo|repository|runbooks?|dashboards?)",
    ]),
    ("where", [
        rf"where (?:does|do) {_S} (?:sit|live|belong)", rf"(?:what|which) (?:system|domain) (?:is|does) {_S}(?: (?:in|part of|belong to))?",
        rf"where is {_S}", rf"what is {_S} part of",
    ]),
    ("owner", [
        rf"who (?:owns|maintains|runs|built|wrote) {_S}", rf"(?:the )?owners? (?:of|for) {_S}", rf"{_S}(?:'s)? owners?",
        rf"whose (?:is )?{_S}", rf"who (?:do|should|can) (?:i|we) (?:ask|talk to|contact|ping) (?:about|for|regarding) {_S}",
        rf"who(?:'s| is| are) (?:responsible|accountable) for {_S}", rf"who(?:'s| is) (?:the )?owner of {_S}",
        rf"who(?:'s| is) behind {_S}", rf"(?:tell me )?about {_S}", rf"what is {_S}", rf"{_S}",
    ]),
]  # fmt: skip
_COMPILED = [(intent, [re.compile(rf"^{p}$", re.I) for p in pats]) for intent, pats in _PATTERNS]


@dataclass
class ParsedQuestion:
    text: str
    intent: str
    subject: str = ""
    kinds: set[str] = field(default_factory=set)
    stripped_subject: str = ""
    bare: bool = False  # no question words at all, just a name (or noise)


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


def parse(text: str) -> ParsedQuestion:
    cleaned = clean(text)
    if not cleaned:
        return ParsedQuestion(text, "help")
    for intent, patterns in _COMPILED:
        for pattern in patterns:
            m = pattern.match(cleaned)
            if not m:
                continue
            subject = _tidy(m.groupdict().get("s") or "")
            if intent != "help" and not subject:
                continue
            stripped, kinds = split_kind_words(subject)
            return ParsedQuestion(text, intent, subject, kinds, stripped, bare=pattern.pattern == f"^{_S}$")
    return ParsedQuestion(text, "unknown")


def _tidy(subject: str) -> str:
    subject = subject.strip(" ,:;'\"?")
    while True:
        new = _LEADING_FILLER.sub("", subject)
        if new == subject:
            return subject
        subject = new


def split_kind_words(subject: str) -> tuple[str, set[str]]:
    """`the artists db` -> (`artists`, {resource}); `team b` -> (`b`, {group})."""
    words = subject.split()
    kinds: set[str] = set()
    while len(words) > 1 and words[0].lower() in KIND_WORDS:
        kinds.add(KIND_WORDS[words.pop(0).lower()])
    while len(words) > 1 and words[-1].lower() in KIND_WORDS:
        kinds.add(KIND_WORDS[words.pop().lower()])
    return " ".join(words), kinds
