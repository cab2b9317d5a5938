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
    ACTION_REQUEST = "wf_action_request"  # "Request…": the value is `action_id|target ref`; answer cards suffix `:action_id`
    ACTION_APPROVE = "wf_action_approve"  # approval card buttons: the value is the request id
    ACTION_REJECT = "wf_action_reject"
    ACTION_EXTEND = "wf_action_extend"  # TTL reminder buttons (DM)
    ACTION_TEARDOWN = "wf_action_teardown"
    ACTION_ENTITY = "wf_action_entity"  # the request modal's entity pickers (external_select; block_id = the input id)
    EXEMPTION_REQUEST = "wf_exemption_request"  # a digest's "Request exemption": opens the modal
    EXEMPTION_ENTITY = "entity"  # the exemption modal's inputs
    EXEMPTION_REASON = "reason"
    EXEMPTION_EXPIRES = "expires"
    ADOPTION_FIX = "wf_adoption_fix"  # the digest's one-click fixes: add alias, create entity
    PULSE_OPEN = "wf_pulse_open"  # opens the satisfaction survey
    PULSE_SCORE = "pulse_score"
    PULSE_COMMENT = "pulse_comment"


class BlockId(StrEnum):
    QUESTION = "question"  # the search modal's input block
    EXEMPTION_ENTITY = "entity"
    EXEMPTION_REASON = "reason"
    EXEMPTION_EXPIRES = "expires"
    PULSE_SCORE = "pulse_score"
    PULSE_COMMENT = "pulse_comment"


class CallbackId(StrEnum):
    WHO_OWNS_THIS = "wf_who_owns_this"  # message shortcut
    SEARCH_MODAL = "wf_search"
    ACTION_MODAL = "wf_action"  # the request modal; private_metadata holds the action id, target and channel
    ACTION_REJECT_MODAL = "wf_action_reject"  # the reason for a rejection; private_metadata holds the request id
    EXEMPTION_MODAL = "wf_exemption"
    PULSE_MODAL = "wf_pulse"


class Command(StrEnum):
    WAYFINDER = "/wayfinder"
