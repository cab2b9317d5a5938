"""Scorecard questions that name a level, a scorecard or a rule rather than an entity: "who is below Silver on production
readiness?", "which services fail the production readiness scorecard?", "who is failing has-runbook?".

Questions about an entity or a team ("how is payments-service doing?") go through the ordinary
understanding (`catalog.search.intents`, intent `scorecard`); these name things only the
scorecards' config knows, so they are recognised here, before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.scorecards.config import ScorecardConfig

FAIL_WORDS = {"fail", "fails", "failing", "failed", "failure", "failures", "violate", "violates", "violating", "miss", "misses", "missing"}
PASS_WORDS = {"pass", "passes", "passing", "meet", "meets", "meeting"}
NEGATIONS = {"not", "dont", "doesnt", "don", "doesn", "isn", "aren", "never"}

_BELOW = re.compile(r"\b(?:below|under|short of|not (?:yet )?(?:at|on))\s+(?P<level>[\w-]+)(?:\s+(?:on|in|for|of)\s+(?:the\s+)?(?P<card>[^?]+))?", re.I)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def below_question(text: str, scorecards: list[ScorecardConfig]) -> tuple[ScorecardConfig, int] | None:
    """(scorecard, level index) for "who is below LEVEL [on SCORECARD]?", None when the question is not one.

    Without a scorecard the level must belong to exactly one scorecard.
    """
    m = _BELOW.search(text)
    if not m:
        return None
    level = m.group("level").lower()
    named = _words(m.group("card") or "").removesuffix(" scorecard")
    found = [
        card for card in scorecards
        if level in (lv.lower() for lv in card.levels) and (not named or named in (_words(card.id), _words(card.title)))
    ]  # fmt: skip
    if len(found) != 1:
        return None
    return found[0], found[0].level_index(level)


@dataclass(frozen=True)
class FailingQuestion:
    """Entities failing a scorecard (any of its rules) or one named rule of it."""

    card: ScorecardConfig
    rule: str | None = None


def failing_question(text: str, scorecards: list[ScorecardConfig]) -> FailingQuestion | None:
    """"which services fail production readiness", "who is failing has-runbook", "what doesn't pass service maturity".

    Asks when a failing word (or a negated passing one) stands beside a scorecard's id or title or a rule's
    id, read as words anywhere in the sentence; a rule or title that two scorecards share is not guessed.
    """
    words = _words(text).split()
    fails = set(words) & FAIL_WORDS or any(w in PASS_WORDS and set(words[max(0, i - 3) : i]) & NEGATIONS for i, w in enumerate(words))
    if not fails:
        return None
    said = f" {' '.join(words)} "
    rules = [(card, rule.id) for card in scorecards for rule in card.rules if f" {_words(rule.id)} " in said]
    cards = [card for card in scorecards if any(f" {_words(name)} " in said for name in (card.id, card.title))]
    if cards and rules:
        rules = [(card, rule) for card, rule in rules if card in cards]
    if len(rules) == 1:
        return FailingQuestion(*rules[0])
    if not rules and len(cards) == 1:
        return FailingQuestion(cards[0])
    return None
