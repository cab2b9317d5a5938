"""Actions in Slack: who is clicking (`actor`), and the notifier that keeps the approval card, its
thread and the requester's DMs in step with the request (`SlackActionNotifier`)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk import WebClient

from actions.approvers import Person
from actions.read import ActionEvent, RequestView
from actions.service import Actor
from bot.compose import Services
from bot.slack.identity import identify, slack_ids
from bot.slack.mrkdwn import escape
from bot.slack.views.actions import input_lines, render_card, ttl_buttons, who

# Events the requester hears about by DM (progress stays in the thread; reminders go to approvers).
DM_EVENTS = {"created", "approval", "approved", "rejected", "cancelled", "expired", "no_approver", "succeeded", "failed", "escalated", "torn_down", "extended", "ttl_reminder"}


def actor(services: Services, client: WebClient, slack_user_id: str, *, hurry: bool = False) -> Actor:
    """The Slack user as the catalog knows them (a user ref when their email matches a User); `hurry` as in `identify`."""
    identity = identify(services, client, slack_user_id, hurry=hurry)
    return Actor("slack", user_ref=identity.user_ref, slack_user_id=slack_user_id, name=identity.display_name or "")


class SlackActionNotifier:
    def __init__(self, services: Services, client: WebClient) -> None:
        self.services, self.client = services, client

    def _ids(self, request: RequestView, extra: Sequence[Person] = ()) -> dict[str, str]:
        people = [p for s in request.stages for p in s.approvers] + request.escalation + list(extra)
        by_id = {p.ref: p.ref.removeprefix("slack:") for p in people if p.ref.startswith("slack:")}  # approvers named by Slack id
        return slack_ids(self.services, self.client, {p.ref: p.email for p in people if p.email}) | by_id

    def post_card(self, request: RequestView) -> str | None:
        assert request.channel
        text, blocks = render_card(request, self._ids(request), public_url=self.services.public_url)
        posted = self.client.chat_postMessage(channel=request.channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        return str(posted["ts"])

    def tell(self, event: ActionEvent) -> None:
        request = event.request
        ids = self._ids(request, event.notify)
        if request.channel and request.ts and event.kind not in ("progress", "created"):
            text, blocks = render_card(request, ids, public_url=self.services.public_url)
            self.client.chat_update(channel=request.channel, ts=request.ts, text=text, blocks=blocks)
        line = escape(event.text) + (" " + ", ".join(who(p, ids) for p in event.notify) if event.notify else "")
        if request.channel and request.ts and event.kind != "created":
            self.client.chat_postMessage(channel=request.channel, thread_ts=request.ts, text=line)
        if request.requester_slack_id and event.kind in DM_EVENTS:
            dm = f"*{escape(request.action_title)}* (#{request.id}): {escape(event.text)}"
            if event.kind in ("created", "no_approver"):  # what was asked for, once, as the approvers see it
                dm += "".join(f"\n• {line}" for line in input_lines(request))
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": dm, "verbatim": True}}]
            if event.kind == "ttl_reminder":
                blocks += ttl_buttons(request)
            self.client.chat_postMessage(channel=request.requester_slack_id, text=dm, blocks=blocks)
