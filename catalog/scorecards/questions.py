"""Scorecard questions that name a level and a scorecard rather than an entity: "who is below Silver on production readiness?".

Questions about an entity or a team ("how is payments-service doing?") go through the ordinary
understanding (`catalog.search.intents`, intent `scorecard`); these name things only the
scorecards' config knows, so they are recognised here, before it.
"""

from __future__ import annotations

import re

from catalog.scorecards.config import ScorecardConfig

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
