"""The one error handler: a short apology with an error id for the person, details for the logs.

Listeners never catch exceptions themselves: Bolt hands them to `handle_error`, except those
raised after the ack, which `reported` hands over itself (see there why). Logs carry the error id,
what kind of request failed and the traceback, never the request body (it holds Slack's
verification token and people's messages) and never credentials.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import Ack, BoltRequest, Respond
from slack_sdk import WebClient

from bot.slack.wrappers import Handler, as_listener, call

log = logging.getLogger(__name__)

APOLOGY = (
    ":warning: Sorry, something went wrong on my side and I could not answer. "
    "If it keeps happening, tell the Wayfinder maintainers error id `{error_id}`."
)


# Slack retries an event it got no 2xx for three times, the last about 5 minutes on (SLACK-FACTS §1.3).
LAST_RETRY = "3"


def handle_error(error: Exception, body: dict[str, Any], request: BoltRequest, client: WebClient, respond: Respond | None) -> None:
    """Bolt's `app.error` handler, for anything a listener or middleware raises before the ack: Bolt answers 500.

    Slack delivers an event it got a 500 for again, so its apology waits for the last try: the claim
    failing on a database that was restarting apologised, and then the retry answered.
    """
    retry = next(iter(request.headers.get("x-slack-retry-num") or ()), None)  # Bolt keeps each header's values as a list
    _report(error, body, request, client, respond, apologise=body.get("type") != "event_callback" and not retry or retry == LAST_RETRY)


def _report(error: Exception, body: dict[str, Any], request: BoltRequest, client: WebClient, respond: Respond | None, *, apologise: bool) -> None:
    """Log the error with an id and, when `apologise`, tell the person that id."""
    error_id = uuid.uuid4().hex[:12]
    ids = {"error_id": error_id, "event_id": body.get("event_id") or body.get("trigger_id")}
    log.error("error %s while handling %s", error_id, _describe(body), exc_info=error, extra=ids)
    if not apologise:
        return
    try:
        _apologise(APOLOGY.format(error_id=error_id), body, client, respond)
    except Exception:  # an apology that cannot be delivered must not hide the original error
        log.exception("could not deliver the apology for error %s", error_id)


def reported(handler: Handler) -> Handler:
    """`handler` as a listener whose errors after its ack go to `handle_error` from here, and the ack stands.

    Bolt's thread runner, when a listener raises after `ack()`, resets the ack's response unless its
    dispatch loop (polling every 10 ms) saw it first, so Slack mostly got a 404 "unhandled request"
    after 3 s on top of the apology. An error before the ack still goes to Bolt: it answers 500
    (Slack shows the person an error, a modal keeps their input) and calls `handle_error`.
    """

    def report_after_ack(**kwargs: Any) -> None:
        try:
            call(handler, kwargs)
        except Exception as error:
            ack: Ack = kwargs["ack"]
            if ack.response is None:
                raise
            # acked, so never delivered again: its retries are redeliveries, dropped, and the first try apologises
            request: BoltRequest = kwargs["request"]
            apologise = not request.headers.get("x-slack-retry-num")
            _report(error, kwargs["body"], request, kwargs["client"], kwargs["respond"], apologise=apologise)

    return as_listener(report_after_ack, handler, needs=("ack", "body", "request", "client", "respond"))


def _describe(body: dict[str, Any]) -> str:
    """What was being handled, in ids only: enough to find it, nothing private."""
    event = body.get("event") or {}
    action = (body.get("actions") or [{}])[0]
    view = body.get("view") or {}
    what = event.get("type") or body.get("command") or action.get("action_id") or body.get("callback_id") or view.get("callback_id")
    user, team = body.get("user"), body.get("team")
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id") or event.get("user")
    team_id = team.get("id") if isinstance(team, dict) else body.get("team_id")
    return f"{body.get('type', 'command')}:{what} team={team_id} user={user_id}"


def _apologise(text: str, body: dict[str, Any], client: WebClient, respond: Respond | None) -> None:
    """Where the person is looking: the ephemeral reply, the question's thread, or their DM."""
    event = body.get("event") or {}
    if respond is not None and body.get("response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
    elif event.get("type") in ("app_mention", "message") and event.get("channel"):
        thread_ts = event.get("thread_ts") or (event.get("ts") if event["type"] == "app_mention" else None)
        client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, text=text)
    elif body.get("type") == "view_submission":
        client.chat_postMessage(channel=body["user"]["id"], text=text)
