"""Every action_id, callback_id and command the app uses; manifest.yml must match (a test checks)."""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    DID_YOU_MEAN = "wf_did_you_mean"  # also the help examples: the value says what to ask
    FEEDBACK = "wf_feedback"  # one feedback_buttons element; the value says up or down
    SHARE = "wf_share"
    HOME_SEARCH = "wf_home_search"
    LINK = "wf_link"  # URL buttons: Slack still sends an interaction that must be acked
    QUESTION = "question"  # the search modal's text input
    ALIAS_DECISION = "wf_alias_decision"  # approve a learned alias (catalog admins)
    ALIAS_REJECT = "wf_alias_reject"
    ADOPTION_FIX = "wf_adoption_fix"  # the digest's one-click fixes: add alias, create entity
    PULSE_OPEN = "wf_pulse_open"  # opens the satisfaction survey
    PULSE_SCORE = "pulse_score"
    PULSE_COMMENT = "pulse_comment"


class BlockId(StrEnum):
    QUESTION = "question"  # the search modal's input block
    PULSE_SCORE = "pulse_score"
    PULSE_COMMENT = "pulse_comment"


class CallbackId(StrEnum):
    WHO_OWNS_THIS = "wf_who_owns_this"  # message shortcut
    SEARCH_MODAL = "wf_search"
    PULSE_MODAL = "wf_pulse"


class Command(StrEnum):
    WAYFINDER = "/wayfinder"
