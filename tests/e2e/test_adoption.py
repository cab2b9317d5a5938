"""Adoption end to end: every surface records its events through the real server and the fake Slack,
learned aliases go from a 👍 to an admin's approval to resolution, the digest and pulse reach Slack,
and the report is served at /adoption and printed by `wayfinder report adoption`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, text
from sqlmodel import col

from bot.slack.adoption import post_weekly_digest, send_pulse
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.views.alert import ALERT_CARD
from catalog.adoption.models import AdoptionEvent
from catalog.adoption.service import Adoption
from catalog.config import AdoptionConfig, PulseConfig, QuestionsConfig
from catalog.core import Catalog
from tests.e2e.harness import BOT_TOKEN, USER_ID, Wayfinder, block_action, find_elements, mention, message_shortcut, view_submission
from tests.e2e.pages_server import TOKEN, serve_pages
from tests.invoke_cli import wayfinder as run_cli

ADMIN = "U0ADMIN"


def events(catalog: Catalog, count: int, timeout: float = 5.0) -> list[AdoptionEvent]:
    """The recorded events once there are `count` (listeners run after the ack, on Bolt's threads; the buffered ones
    are written at once)."""
    deadline = time.monotonic() + timeout
    while True:
        catalog.flush_records()
        with catalog.session() as s:
            rows = list(s.scalars(select(AdoptionEvent).order_by(col(AdoptionEvent.id))))
            s.expunge_all()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


def test_every_surface_records_who_where_what_and_how_it_went(wayfinder: Wayfinder, example_catalog: Catalog) -> None:
    fake = wayfinder.fake
    wayfinder.event(mention("who owns payments-service?", ts="1700000001.000100"), event_id="EvA1")
    [card] = fake.wait_for("chat.postMessage")
    example_catalog.flush_records()  # a colleague's reply in the thread comes seconds later, once the answer's row is written
    wayfinder.event({"type": "message", "channel": "D0DM", "channel_type": "im", "user": USER_ID, "ts": "2.1", "text": "who owns ledger-db"}, event_id="EvA2")
    wayfinder.command("who owns payments-service?", response_url=fake.response_url("cmd"))
    wayfinder.interact(message_shortcut(CallbackId.WHO_OWNS_THIS, "is ledger-db slow?", response_url=fake.response_url("sc")))
    [feedback] = find_elements(card.params["blocks"], ActionId.FEEDBACK)
    wayfinder.interact(block_action(ActionId.FEEDBACK, feedback["positive_button"]["value"], response_url=fake.response_url("fb")))
    wayfinder.event({"type": "app_home_opened", "user": USER_ID, "channel": "D0HOME", "tab": "home", "ts": "1.5"}, event_id="EvA3")
    wayfinder.interact(block_action(ActionId.LINK, ALERT_CARD, response_url=fake.response_url("link")))
    thread = {"type": "message", "channel": "C0GENERAL", "channel_type": "channel", "user": "U0HELPER", "text": "I'll take it"}
    wayfinder.event({**thread, "ts": "3.1", "thread_ts": "1700000001.000100"}, event_id="EvA4")
    assert wayfinder.http.get("/o/component/default/payments-service").status_code == 200
    assert wayfinder.http.get("/api/v1/ask", params={"q": "who owns ledger-db"}).status_code == 200
    assert wayfinder.http.get("/api/v1/ask", params={"q": "who owns ledger-db"}, headers={"X-Wayfinder-Client": "cli"}).status_code == 200

    rows = events(example_catalog, 11)

    seen = {(r.surface, r.kind, r.outcome) for r in rows}
    assert seen >= {
        ("slack_mention", "question", "answered"), ("slack_dm", "question", "answered"), ("slack_command", "question", "answered"),
        ("slack_shortcut", "question", "answered"), ("slack_button", "feedback", "up"), ("slack_home", "home_opened", "ok"),
        ("slack_alert", "alert_opened", "ok"), ("slack_thread", "followup", "ok"), ("web_page", "page_view", "found"),
        ("web_api", "question", "answered"), ("cli_remote", "question", "answered"),
    }  # fmt: skip
    mention_row = next(r for r in rows if r.surface == "slack_mention")
    assert (mention_row.who, mention_row.intent, mention_row.thread) == (USER_ID, "owner", "C0GENERAL:1700000001.000100")
    assert mention_row.latency_ms is not None and mention_row.latency_ms > 0
    assert next(r for r in rows if r.kind == "followup").who is None  # writing in a thread is not using Wayfinder


def test_pseudonymised_people_leave_no_raw_id_anywhere(start: Callable[..., Wayfinder], example_catalog: Catalog) -> None:
    example_catalog.config.questions = QuestionsConfig(pseudonymise_askers=True, asker_key=SecretStr("k" * 32))
    wayfinder = start(example_catalog)
    wayfinder.event(mention("who owns payments-service?", ts="1700000001.000100"), event_id="EvP1")
    wayfinder.fake.wait_for("chat.postMessage")
    wayfinder.event({"type": "app_home_opened", "user": USER_ID, "channel": "D0HOME", "tab": "home", "ts": "1.5"}, event_id="EvP2")
    wayfinder.fake.wait_for("views.publish")

    rows = events(example_catalog, 2)

    assert len({r.who for r in rows}) == 1 and rows[0].who and rows[0].who.startswith("hmac:")
    with example_catalog.session() as s:
        for table in ("adoption_event", "question_log"):
            dump = json.dumps([list(r) for r in s.execute(text(f"SELECT * FROM {table}"))], default=str)
            assert USER_ID not in dump, table


def test_a_confirmed_fuzzy_name_becomes_an_alias_once_an_admin_approves(start: Callable[..., Wayfinder], example_catalog: Catalog) -> None:
    example_catalog.config.adoption = AdoptionConfig(admins=[ADMIN])
    wayfinder = start(example_catalog)
    fake = wayfinder.fake
    before = example_catalog.ask("who owns paymnts-servce")
    assert before.subject and before.subject.ref == "component:default/payments-service"  # by fuzzy matching only
    wayfinder.event(mention("who owns paymnts-servce", ts="1700000001.000100"), event_id="EvL1")
    [card] = fake.wait_for("chat.postMessage")
    [feedback] = find_elements(card.params["blocks"], ActionId.FEEDBACK)

    wayfinder.interact(block_action(ActionId.FEEDBACK, feedback["positive_button"]["value"], response_url=fake.response_url("fb")))

    _, proposal = fake.wait_for("chat.postMessage", count=2)  # the actions' approval card, to the admin (no report channel)
    assert proposal.params["channel"] == ADMIN and "paymnts-servce" in json.dumps(proposal.params["blocks"])
    [approve] = find_elements(proposal.params["blocks"], ActionId.ACTION_APPROVE)

    wayfinder.interact(block_action(ActionId.ACTION_APPROVE, approve["value"], response_url=fake.response_url("nope")))  # USER_ID: no admin
    [refused] = [c for c in fake.wait_for("response_url", count=2) if c.path.endswith("/nope")]  # beside the 👍's thanks
    assert "not an approver" in refused.params["text"]
    admin_click = block_action(ActionId.ACTION_APPROVE, approve["value"], response_url=fake.response_url("yes"))
    admin_click["user"]["id"] = ADMIN
    wayfinder.interact(admin_click)
    done = fake.wait_for("chat.update", 3)[-1]  # approved, running, done: the same card, in place
    assert "now finds component:default/payments-service" in json.dumps(done.params["blocks"]) + json.dumps(fake.calls("chat.postMessage")[-1].params)
    wayfinder.interact(admin_click)  # a second click changes nothing
    assert "already decided" in [c for c in fake.wait_for("response_url", count=3) if c.path.endswith("/yes")][-1].params["text"]

    after = example_catalog.ask("who owns paymnts-servce")
    assert after.subject and after.subject.ref == "component:default/payments-service"
    assert not after.notes  # an exact alias now: no "did you mean" or fuzzy-match note
    [(alias, provenance)] = Adoption(example_catalog).aliases()
    assert (alias.alias, alias.status, provenance.startswith("alias learned from 1 question, approved by U0ADMIN")) == ("paymnts-servce", "approved", True)


def test_the_weekly_digest_posts_numbers_fixes_and_a_chart_once_a_week(wayfinder: Wayfinder, example_catalog: Catalog) -> None:
    example_catalog.config.adoption = AdoptionConfig(report_channel="C0PLATFORM", engineers=40)
    example_catalog.ask("who owns quasar-gateway", asker="U01")
    example_catalog.flush_records()
    client = WebClient(token=BOT_TOKEN, base_url=wayfinder.fake.url)
    monday = datetime.now(UTC)

    assert post_weekly_digest(wayfinder.services, client, now=monday)
    assert not post_weekly_digest(wayfinder.services, client, now=monday)  # claimed for this week

    [digest] = wayfinder.fake.wait_for("chat.postMessage")
    assert digest.params["channel"] == "C0PLATFORM"
    blocks = json.dumps(digest.params["blocks"])
    assert "Daily active" in blocks and "bar 50%" in blocks and "quasar-gateway" in blocks
    assert find_elements(digest.params["blocks"], ActionId.ADOPTION_FIX)
    [upload] = wayfinder.fake.wait_for("file_upload")
    assert upload.params["png"] and upload.params["size"] > 1000
    [complete] = wayfinder.fake.wait_for("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C0PLATFORM" and complete.params["thread_ts"]  # under the digest


def test_a_digest_slack_refused_is_sent_by_the_next_run_not_skipped_for_the_week(wayfinder: Wayfinder, example_catalog: Catalog) -> None:
    example_catalog.config.adoption = AdoptionConfig(report_channel="C0PLATFORM", engineers=40)
    client = WebClient(token=BOT_TOKEN, base_url=wayfinder.fake.url)
    monday = datetime.now(UTC)
    wayfinder.fake.fail_next("chat.postMessage", status=200, error="not_in_channel")

    with pytest.raises(SlackApiError):
        post_weekly_digest(wayfinder.services, client, now=monday)
    assert post_weekly_digest(wayfinder.services, client, now=monday)  # the failed attempt gave its claim back
    assert not post_weekly_digest(wayfinder.services, client, now=monday)
    assert len(wayfinder.fake.calls("chat.postMessage")) == 2  # the refused attempt and the digest: no third post


def test_pulse_survey_by_dm_and_modal(wayfinder: Wayfinder, example_catalog: Catalog) -> None:
    example_catalog.config.adoption = AdoptionConfig(pulse=PulseConfig(enabled=True, sample_size=5))
    example_catalog.ask("who owns payments-service", asker=USER_ID)
    example_catalog.flush_records()
    client = WebClient(token=BOT_TOKEN, base_url=wayfinder.fake.url)

    assert send_pulse(wayfinder.services, client, now=datetime.now(UTC)) == 1
    assert send_pulse(wayfinder.services, client, now=datetime.now(UTC)) == 0
    [invite] = wayfinder.fake.wait_for("chat.postMessage")
    [button] = find_elements(invite.params["blocks"], ActionId.PULSE_OPEN)
    wayfinder.interact(block_action(ActionId.PULSE_OPEN, "", response_url="", trigger_id="3333.pulse"))
    [opened] = wayfinder.fake.wait_for("views.open")
    assert opened.params["view"]["callback_id"] == CallbackId.PULSE_MODAL

    answer: dict[str, dict[str, Any]] = {
        BlockId.PULSE_SCORE: {ActionId.PULSE_SCORE: {"type": "static_select", "selected_option": {"value": "9"}}},
        BlockId.PULSE_COMMENT: {ActionId.PULSE_COMMENT: {"type": "plain_text_input", "value": "more runbooks"}},
    }
    assert wayfinder.interact(view_submission(CallbackId.PULSE_MODAL, answer)).status_code == 200

    wayfinder.fake.wait_for("chat.postMessage", count=2)  # the thanks
    report = wayfinder.http.get("/adoption", headers={"Accept": "application/json"}).json()
    assert (report["pulse"]["responses"], report["pulse"]["nps"], report["pulse"]["comments"]) == (1, 100.0, ["more runbooks"])


def test_adoption_page_needs_the_token_and_escapes_what_people_typed(guarded: Catalog) -> None:
    guarded.ask("who owns <script>alert(1)</script>", asker="U01")
    guarded.flush_records()
    with serve_pages(guarded) as http:
        assert http.get("/adoption").status_code == 401
        page = http.get("/adoption", headers={"Authorization": f"Bearer {TOKEN}"})
        data = http.get("/adoption?days=7", headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}).json()

    assert page.status_code == 200 and "data:image/png;base64," in page.text and "Daily active" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert data["days"] in (7, 8) and data["answer_rate"]["of"] == 1


def test_report_adoption_json_and_terminal(example_catalog: Catalog, database_url: str, tmp_path: Path) -> None:
    example_catalog.ask("who owns payments-service", asker="cli:ana")
    example_catalog.flush_records()  # before another process reads the report
    config = Path(__file__).resolve().parents[2] / "catalog" / "examples" / "wayfinder.yaml"

    as_json = run_cli("report", "adoption", "--since", "2w", "--json", database_url=database_url, config=config)
    printed = run_cli("report", "adoption", database_url=database_url, config=config)
    bad = run_cli("report", "adoption", "--since", "soon", database_url=database_url, config=config)

    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["days"] in (14, 15) and data["active_users"] == 1 and data["answer_rate"]["value"] == 1.0
    assert printed.exit_code == 0 and "Answer rate" in printed.stdout and "█" in printed.stdout  # the sparkline
    assert bad.exit_code == 2


def test_local_cli_questions_count_as_the_cli(example_catalog: Catalog) -> None:
    example_catalog.ask("who owns payments-service", asker="cli:ana")
    [row] = events(example_catalog, 1)
    assert (row.surface, row.who) == ("cli", "cli:ana")
