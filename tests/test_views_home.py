"""App Home, the search modal and link unfurls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.views.home import render_home, render_search_modal
from bot.slack.views.unfurl import parse_ownership_url, render_unfurl
from catalog.answers.card import entity_card
from catalog.answers.home import EntityGaps, HomeSummary, Missing, TeamSummary, home_summary
from catalog.answers.models import Contact, EntityCard, EntitySummary, Person
from catalog.core import Catalog
from tests.blockkit import assert_within_limits, mrkdwn_texts, walk

PUBLIC = "https://wayfinder.example.com"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
EXAMPLES = ["who owns payments-service?", "what does payments own?"]


def home(summary: HomeSummary, **kw: Any) -> dict:
    view = render_home(summary, examples=EXAMPLES, now=NOW, **kw)
    assert view["type"] == "home"
    assert_within_limits(view["blocks"], max_blocks=100)
    return view


def test_home_for_a_team_member(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        summary = home_summary(session, user_ref=None, email="maya.levi@northwind.example")
    view = home(summary, public_url=PUBLIC)
    texts = "\n".join(mrkdwn_texts(view["blocks"]))
    assert "*Data Platform* · <#C04DATAPLAT>" in texts
    assert f"<{PUBLIC}/o/component/default/bi-dashboards|BI Dashboards>" in texts
    assert "*Needs attention (1)*" in texts and "metrics-warehouse-loader" in texts and "no owner" in texts
    assert "who owns payments-service?" in texts
    [search] = [d for d in walk(view["blocks"]) if d.get("action_id") == ActionId.HOME_SEARCH]
    assert search["type"] == "button"


def test_home_words_every_gap() -> None:
    entity = EntitySummary(ref="component:default/a", kind="component", name="a")
    gaps = [EntityGaps(entity=entity, missing=list(Missing), stale_sources=["github & co"])]
    texts = "\n".join(mrkdwn_texts(home(HomeSummary(user=Person(ref="user:default/p", name="p"), gaps=gaps))["blocks"]))
    assert "no owner; owner team has no Slack channel; no runbook link; stale source github &amp; co" in texts


def test_home_for_a_stranger_explains_the_email_match() -> None:
    texts = "\n".join(mrkdwn_texts(home(HomeSummary())["blocks"]))
    assert "couldn't match your Slack account" in texts and "spec.profile.email" in texts


def test_home_stays_within_100_blocks() -> None:
    team = Contact(ref="group:default/t", kind="group", name="t", display_name="<!channel>" * 500)
    owns = [EntitySummary(ref=f"component:default/c{i}", kind="component", name=f"c{i}", title="z" * 5000) for i in range(300)]
    summary = HomeSummary(user=Person(ref="user:default/p", name="p"), teams=[TeamSummary(team=team, owns=owns)] * 200)
    blocks = home(summary)["blocks"]
    assert len(blocks) == 100
    texts = "\n".join(mrkdwn_texts(blocks))
    assert "more sections not shown" in texts and "…and " in texts
    assert blocks[-1]["type"] == "context"  # the "updated" line survives


def test_search_modal() -> None:
    view = render_search_modal()
    assert (view["type"], view["callback_id"]) == ("modal", CallbackId.SEARCH_MODAL)
    [block] = view["blocks"]
    assert (block["type"], block["block_id"], block["element"]["action_id"]) == ("input", BlockId.QUESTION, ActionId.QUESTION)
    assert block["element"]["type"] == "plain_text_input"


@pytest.mark.parametrize(
    ("url", "ref"),
    [
        (f"{PUBLIC}/o/component/default/payments-service", "component:default/payments-service"),
        (f"{PUBLIC}/o/Component/Default/Payments-Service/?x=1#top", "component:default/payments-service"),
        ("http://WAYFINDER.example.com/o/group/default/payments", "group:default/payments"),  # scheme and host case differ
        (f"{PUBLIC}/o/payments-service", "payments-service"),
        (f"{PUBLIC}/o/api/default/a%20b", "api:default/a b"),
        (f"{PUBLIC}/o/", None),
        (f"{PUBLIC}/o/a/b", None),
        (f"{PUBLIC}/o/a/b/c/d", None),
        (f"{PUBLIC}/healthz", None),
        ("https://evil.example.com/o/component/default/x", None),
        ("https://wayfinder.example.com.evil.example/o/component/default/x", None),
        ("ftp://wayfinder.example.com/o/x", None),
    ],
)
def test_parse_ownership_url(url: str, ref: str | None) -> None:
    assert parse_ownership_url(url, PUBLIC) == ref


def test_parse_ownership_url_under_a_base_path() -> None:
    assert parse_ownership_url("https://tools.example.com/wf/o/x", "https://tools.example.com/wf/") == "x"
    assert parse_ownership_url("https://tools.example.com/o/x", "https://tools.example.com/wf") is None


def test_unfurl_is_a_compact_ownership_card(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        card = entity_card(session, "payments-service")
    assert card is not None
    blocks = render_unfurl(card, now=NOW)["blocks"]
    assert_within_limits(blocks, max_blocks=3)
    text = blocks[0]["text"]["text"]
    assert text.startswith("*Payments Service* · component, service, production\n")
    assert "*Owner*: Payments · <#C0123ABCD> · `@payments-team` · payments@northwind.example" in text
    assert "System: Payments Platform · Domain: Money Movement" in text
    assert blocks[1]["elements"][0]["text"].startswith("from northwind")


def test_unfurl_escapes_and_flags_missing_owner() -> None:
    entity = EntitySummary(ref="component:default/x", kind="component", name="x", description="<!channel> & <@U1>")
    blocks = render_unfurl(EntityCard(entity=entity), now=NOW)["blocks"]
    assert_within_limits(blocks, max_blocks=3)
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;\n:warning: No owner in the catalog." in blocks[0]["text"]["text"]
