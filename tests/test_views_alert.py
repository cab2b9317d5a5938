"""The alert card's drawing: loud when the catalog cannot place the alert or it has no owner; catalog text escaped.

Why: a card with a blank where the owner should be looks like an answer; a responder must see at
once that nobody is on the hook and whom to call instead. And a catalog or alert string must never
turn into `<!channel>` in an incident channel.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.slack.views.alert import render_alert_card, render_alert_line
from catalog.alerts.card import AlertCard
from catalog.answers.models import Contact, EntityCard, EntitySummary, LinkInfo
from catalog.pages.ownership import OwnershipPage

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
PUBLIC_URL = "https://wayfinder.example.com"


def card(**fields: object) -> AlertCard:
    return AlertCard.model_validate({
        "group_key": "generic:k", "provider": "generic", "title": "Latency high", "status": "triggered",
        "fallback_contact": "@platform-oncall", "as_of": NOW, **fields,
    })  # fmt: skip


def page(title: str, links: list[LinkInfo] | None = None, owner: Contact | None = None) -> OwnershipPage:
    entity = EntitySummary(ref="component:default/ledger", kind="component", name="ledger", title=title, type="service")
    return OwnershipPage(card=EntityCard(entity=entity, owner=owner, links=links or []), defined_in="catalog/ledger.yaml", as_of=NOW)


def mrkdwn(blocks: list[dict]) -> str:
    return json.dumps([b for b in blocks if b["type"] != "header"])


def test_an_entity_without_owner_is_said_out_loud_with_where_to_declare_it() -> None:
    _, blocks = render_alert_card(card(page=page("Ledger"), loud="no_owner"), public_url=PUBLIC_URL, now=NOW)
    text = mrkdwn(blocks)
    assert "This entity has no owner" in text and "@platform-oncall" in text and "catalog/ledger.yaml" in text
    assert "none declared" in text  # the missing runbook is flagged
    assert "/o/component/default/ledger" in text  # the ownership page button


def test_catalog_and_alert_text_is_escaped() -> None:
    evil = "<!channel> <https://evil.example|click> &"
    owner = Contact(ref="group:default/evil", kind="group", name="evil", display_name=evil, slack_channel_id="<!here>")
    alert = card(
        page=page(evil, [LinkInfo(url="https://runbooks.example/x", title=evil, type="runbook")], owner=owner),
        title=evil,
        severity=evil,
        acknowledged_by=evil,
        status="acknowledged",
    )
    fallback, blocks = render_alert_card(alert, public_url=PUBLIC_URL, now=NOW)
    text = fallback + mrkdwn(blocks) + render_alert_line(alert)
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt;" in text


def test_the_thread_line_says_who_acknowledged() -> None:
    assert render_alert_line(card(status="acknowledged", acknowledged_by="Ana")) == ":eyes: Acknowledged by Ana"
    assert render_alert_line(card(status="resolved", acknowledged_by="Ana")) == ":white_check_mark: Resolved"
