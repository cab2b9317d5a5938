"""Events API: mentions, direct messages, App Home and link unfurls (acked by Bolt on receipt, each handled once)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
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


def register(app: App) -> None:
    app.event("app_mention", middleware=ONCE)(once_per_delivery(handle_app_mention))
    app.event("message", middleware=ONCE)(once_per_delivery(handle_direct_message))
    app.event("app_home_opened", middleware=ONCE)(once_per_delivery(handle_app_home_opened))
    app.event("link_shared", middleware=ONCE)(once_per_delivery(handle_link_shared))


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
    """A DM to the bot is a question; edits, deletions, joins and bots' messages are not.

    In a channel, a person's message in the thread of an answer is a follow-up: the answer did not
    settle it alone (the self-service rate of the adoption report).
    """
    if event.get("subtype") or event.get("bot_id"):
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
