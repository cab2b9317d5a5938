"""Events API: mentions, direct messages, App Home and link unfurls (acked by Bolt on receipt, each handled once),
and Slack's notices about the app itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from bot.compose import Services
from bot.slack.actions import actor
from bot.slack.deliveries import DELIVERY, ONCE, once_per_delivery
from bot.slack.identity import identify
from bot.slack.replies import TRANSPORT, post, reply
from bot.slack.views.actions import home_section
from bot.slack.views.home import render_home
from bot.slack.views.unfurl import parse_ownership_url, render_alert_unfurl, render_unfurl
from catalog.adoption.events import Kind, Surface
from catalog.adoption.service import Adoption
from catalog.alerts.service import Alerts

log = logging.getLogger(__name__)
# Message subtypes that are people writing: plain, with a file (a screenshot) attached, a thread reply also sent to the channel.
WRITTEN_BY_PEOPLE = frozenset({None, "file_share", "thread_broadcast"})
# Revoked tokens and an uninstall: the bot can no longer post anything, which only an operator can fix.
APP_NOTICES = ("tokens_revoked", "app_uninstalled")


def register(app: App) -> None:
    app.event("app_mention", middleware=ONCE)(once_per_delivery(handle_app_mention))
    app.event("message", middleware=ONCE)(once_per_delivery(handle_direct_message))
    app.event("app_home_opened", middleware=ONCE)(once_per_delivery(handle_app_home_opened))
    app.event("link_shared", middleware=ONCE)(once_per_delivery(handle_link_shared))
    app.use(acknowledge_app_rate_limited)
    for notice in APP_NOTICES:
        app.event(notice)(handle_app_notice)


def acknowledge_app_rate_limited(body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:
    """Global middleware: Slack's `app_rate_limited` callback (over 30,000 events an hour) gets its 200.

    It is no `event_callback`, so no listener matches it and Bolt answered 404; Slack counts
    that as a failed delivery, and enough of those disable the app's event subscriptions.
    """
    if body.get("type") != "app_rate_limited":
        next()
        return None
    minute = body.get("minute_rate_limited")
    _notice(context["services"], "app_rate_limited", f"team {body.get('team_id')}: Slack drops this app's events in the minute starting at {minute} (epoch)")
    return BoltResponse(status=200, body="")


def handle_app_notice(event: dict[str, Any], body: dict[str, Any], services: Services) -> None:
    """`tokens_revoked` / `app_uninstalled`: logged and counted (Bolt answers 200), so an operator finds out why the bot went quiet."""
    _notice(services, event["type"], f"team {body.get('team_id')}: Wayfinder cannot answer there until the app is reinstalled")


def _notice(services: Services, kind: str, text: str) -> None:
    log.warning("Slack %s: %s", kind, text)
    services.catalog.metrics.slack_app_notices.labels(kind).inc()


def handle_app_mention(event: dict[str, Any], client: WebClient, services: Services, context: dict[str, Any]) -> None:
    """Answer in the question's thread, so a busy channel stays readable."""
    if event.get("bot_id"):
        return  # other bots: answering them invites loops
    thread_ts = event.get("thread_ts") or event["ts"]
    answer = services.catalog.ask(
        event.get("text", ""), transport=TRANSPORT, asker=event.get("user"), surface=Surface.SLACK_MENTION, thread=f"{event['channel']}:{thread_ts}"
    )
    post(client, event["channel"], reply(services, client, answer), thread_ts=thread_ts, delivery=context.get(DELIVERY))


def handle_direct_message(event: dict[str, Any], client: WebClient, services: Services, context: dict[str, Any]) -> None:
    """A DM to the bot is a question (also with a file, or sent to the channel from a thread); edits,
    deletions, joins and bots' messages are not.

    In a channel, a person's message in the thread of an answer is a follow-up: the answer did not
    settle it alone (the self-service rate of the adoption report).
    """
    if event.get("subtype") not in WRITTEN_BY_PEOPLE or event.get("bot_id"):
        return
    if event.get("channel_type") != "im":
        if event.get("thread_ts") and event.get("user"):
            Adoption(services.catalog).record_followup(thread=f"{event['channel']}:{event['thread_ts']}", author=event["user"], now=services.clock())
        return
    thread = f"{event['channel']}:{event['thread_ts']}" if event.get("thread_ts") else None
    answer = services.catalog.ask(event.get("text", ""), transport=TRANSPORT, asker=event.get("user"), surface=Surface.SLACK_DM, thread=thread)
    post(client, event["channel"], reply(services, client, answer), thread_ts=event.get("thread_ts"), delivery=context.get(DELIVERY))


def handle_app_home_opened(event: dict[str, Any], client: WebClient, services: Services) -> None:
    """Publish the Home tab for whoever opened it (fires on every open, so identity is cached)."""
    if event.get("tab") != "home":
        return
    Adoption(services.catalog).record_event(surface=Surface.SLACK_HOME, kind=Kind.HOME_OPENED, outcome="ok", who=event["user"], now=services.clock())
    who = identify(services, client, event["user"])
    summary = services.catalog.home(user_ref=who.user_ref, email=who.email)
    me = actor(services, client, event["user"])
    requests = home_section(services.actions.list_requests(requester=me, limit=10), services.actions.waiting_for(me))
    view = render_home(summary, examples=services.catalog.example_questions(), now=services.clock(), public_url=services.public_url, requests=requests)
    client.views_publish(user_id=event["user"], view=view)


def handle_link_shared(event: dict[str, Any], client: WebClient, services: Services) -> None:
    """Unfurl links to this server's ownership pages, and alert links (`alerts.links`), into compact ownership cards."""
    urls = [link["url"] for link in event.get("links", [])]
    refs = {url: ref for url in urls if (ref := parse_ownership_url(url, services.public_url))}
    found = services.catalog.cards(refs.values())
    unfurls = {url: render_unfurl(found[ref], now=services.clock()) for url, ref in refs.items() if ref in found}
    adoption = Adoption(services.catalog)
    for url, placed in Alerts(services.catalog).linked_entities(u for u in urls if u not in refs).items():
        if page := services.catalog.ownership_page(placed.ref, now=services.clock()):
            unfurls[url] = render_alert_unfurl(page, now=services.clock(), unchecked=placed.unchecked)
            adoption.record_event(
                surface=Surface.SLACK_ALERT, kind=Kind.ALERT_OPENED, outcome="ok", who=event.get("user"), entity_ref=placed.ref, now=services.clock()
            )
    if not unfurls:
        return
    if event.get("unfurl_id") and event.get("source"):  # links in the message composer have no ts yet
        client.chat_unfurl(unfurl_id=event["unfurl_id"], source=event["source"], unfurls=unfurls)
    else:
        client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)
