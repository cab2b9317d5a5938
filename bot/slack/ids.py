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
    EXEMPTION_REQUEST = "wf_exemption_request"  # a digest's "Request exemption": opens the modal
    EXEMPTION_APPROVE = "wf_exemption_approve"  # the value is the exemption's id
    EXEMPTION_REJECT = "wf_exemption_reject"
    EXEMPTION_ENTITY = "entity"  # the exemption modal's inputs
    EXEMPTION_REASON = "reason"
    EXEMPTION_EXPIRES = "expires"


class BlockId(StrEnum):
    QUESTION = "question"  # the search modal's input block
    EXEMPTION_ENTITY = "entity"
    EXEMPTION_REASON = "reason"
    EXEMPTION_EXPIRES = "expires"


class CallbackId(StrEnum):
    WHO_OWNS_THIS = "wf_who_owns_this"  # message shortcut
    SEARCH_MODAL = "wf_search"
    EXEMPTION_MODAL = "wf_exemption"


class Command(StrEnum):
    WAYFINDER = "/wayfinder"
