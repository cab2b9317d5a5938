"""Clicks, forms, shortcuts and pickers no listener knows: acked, logged, and the person told.

A message posted by an older version can carry a button this one no longer has, and a forged
payload can name anything. Bolt answered those 404 "unhandled request", which Slack shows as an
error on the button or the form. Registered last, these match only what nothing else did.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.errors import reported

log = logging.getLogger(__name__)

ANYTHING = re.compile(".*")
STALE = "That button is from an older Wayfinder message and no longer does anything. Ask again for a fresh answer."


def register(app: App) -> None:
    app.action(ANYTHING)(reported(handle_unknown_click))
    app.view(ANYTHING)(reported(handle_unknown_form))
    app.shortcut(ANYTHING)(reported(handle_unknown_form))
    app.options(ANYTHING)(handle_unknown_picker)


def handle_unknown_click(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    action = (body.get("actions") or [{}])[0]
    log.info("a click on %r, which no listener handles: told the person it is stale", str(action.get("action_id"))[:100])
    if body.get("response_url"):
        respond(response_type="ephemeral", replace_original=False, text=STALE)


def handle_unknown_form(ack: Ack, body: dict[str, Any]) -> None:
    ack()  # closes the form: what it holds is no request of this version
    callback = (body.get("view") or {}).get("callback_id") or body.get("callback_id")
    log.info("a %s for %r, which no listener handles", body.get("type"), str(callback)[:100])


def handle_unknown_picker(ack: Ack, body: dict[str, Any]) -> None:
    ack(options=[])
    log.info("options for %r, which no listener handles", str(body.get("action_id"))[:100])
