"""Questions asked in Slack land in the question log with who asked (issue 10, point 7)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from catalog.core import Catalog
from catalog.store.models import QuestionLog
from tests.e2e.harness import USER_ID, Wayfinder, mention


def test_slash_commands_and_mentions_are_logged_with_the_asker(wayfinder: Wayfinder, example_catalog: Catalog) -> None:
    wayfinder.command("who owns payments-service?", response_url=wayfinder.fake.response_url("cmd"))
    wayfinder.fake.wait_for("response_url")
    wayfinder.event(mention("who owns quantum-flux-capacitor?", ts="1700000009.000100", user="U0OTHER"), event_id="EvLog1")
    wayfinder.fake.wait_for("chat.postMessage")

    example_catalog.flush_records()  # written now rather than within the second
    with example_catalog.session() as s:
        rows = list(s.scalars(select(QuestionLog).order_by(col(QuestionLog.id))))
    assert [(r.surface, r.asker, r.status, r.entity_ref) for r in rows] == [
        ("slack", USER_ID, "answered", "component:default/payments-service"),
        ("slack", "U0OTHER", "not_found", None),
    ]
