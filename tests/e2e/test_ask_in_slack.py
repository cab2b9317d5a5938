"""Asking in Slack end to end: mentions, DMs, /wayfinder, the shortcut, buttons, App Home, unfurls."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import select

from bot.slack.ids import ActionId, BlockId, CallbackId
from catalog.store.models import AnswerFeedback
from tests.e2e.harness import (
    CHANNEL_ID,
    PUBLIC_URL,
    USER_ID,
    Wayfinder,
    block_action,
    find_elements,
    mention,
    message_shortcut,
    view_submission,
)
from tests.fakes.slack_api import BOT_ID, BOT_USER_ID


def blocks_text(call_params: dict[str, Any]) -> str:
    return json.dumps(call_params.get("blocks"))


def test_mention_is_answered_in_its_thread_with_the_owner(wayfinder: Wayfinder) -> None:
    resp = wayfinder.event(mention("who owns payments-service?", ts="1700000001.000100"), event_id="Ev001")

    assert resp.status_code == 200
    [call] = wayfinder.fake.wait_for("chat.postMessage")
    assert call.token == "xoxb-e2e-0000-very-secret-token"
    assert (call.params["channel"], call.params["thread_ts"]) == (CHANNEL_ID, "1700000001.000100")
    assert "Payments" in blocks_text(call.params) and "<#C0123ABCD>" in blocks_text(call.params)
    assert "payments" in call.params["text"].lower()


def test_mention_inside_a_thread_answers_in_that_thread(wayfinder: Wayfinder) -> None:
    wayfinder.event(mention("who owns ledger-db", ts="1700000002.000200", thread_ts="1700000000.000001"), event_id="Ev002")

    [call] = wayfinder.fake.wait_for("chat.postMessage")
    assert call.params["thread_ts"] == "1700000000.000001"


def test_direct_message_is_answered_and_edits_and_bots_are_ignored(wayfinder: Wayfinder) -> None:
    dm = {"type": "message", "channel": "D0DM", "channel_type": "im", "user": USER_ID}
    wayfinder.event({**dm, "subtype": "message_changed", "ts": "1.1", "text": "who owns payments-service"}, event_id="EvEdit")
    wayfinder.event({**dm, "subtype": "message_deleted", "ts": "1.11", "deleted_ts": "1.1"}, event_id="EvDeleted")
    wayfinder.event({**dm, "subtype": "bot_message", "ts": "1.12", "text": "who owns payments-service"}, event_id="EvBotMessage")
    wayfinder.event({**dm, "bot_id": "B0OTHER", "ts": "1.2", "text": "who owns payments-service"}, event_id="EvBot")
    wayfinder.event({**dm, "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": "1.3", "text": "who owns payments-service"}, event_id="EvSelf")
    wayfinder.event({**dm, "ts": "1.4", "text": "what depends on ledger-db?"}, event_id="EvDM")

    [call] = wayfinder.fake.wait_for("chat.postMessage")
    assert call.params["channel"] == "D0DM" and "thread_ts" not in call.params
    assert "ledger-service" in blocks_text(call.params)


@pytest.mark.parametrize("subtype", ["file_share", "thread_broadcast"])
def test_a_direct_message_with_a_file_or_sent_to_the_channel_from_a_thread_is_answered(wayfinder: Wayfinder, subtype: str) -> None:
    """People ask with a screenshot attached, or from a thread with "Also send to …": those come with a subtype."""
    dm = {"type": "message", "channel": "D0DM", "channel_type": "im", "user": USER_ID, "ts": "1.5", "text": "who owns payments-service?"}
    extra = {"files": [{"id": "F0SHOT", "name": "screenshot.png"}]} if subtype == "file_share" else {"thread_ts": "1.1"}

    wayfinder.event({**dm, "subtype": subtype, **extra}, event_id=f"Ev{subtype}")

    [call] = wayfinder.fake.wait_for("chat.postMessage")
    assert call.params["channel"] == "D0DM" and call.params.get("thread_ts") == extra.get("thread_ts")
    assert "<#C0123ABCD>" in blocks_text(call.params)


def test_slash_command_answers_privately_and_share_posts_in_the_channel(wayfinder: Wayfinder) -> None:
    resp = wayfinder.command("who owns payments-service?", response_url=wayfinder.fake.response_url("cmd"))

    assert resp.status_code == 200 and resp.text == ""  # the ack; the answer follows via response_url
    [private] = wayfinder.fake.wait_for("response_url")
    assert private.params["response_type"] == "ephemeral"
    [share] = find_elements(private.params["blocks"], ActionId.SHARE)

    wayfinder.interact(block_action(ActionId.SHARE, share["value"], response_url=wayfinder.fake.response_url("share"), ephemeral=True))

    _, public, delete = wayfinder.fake.wait_for("response_url", count=3)
    assert public.params["response_type"] == "in_channel" and "<#C0123ABCD>" in blocks_text(public.params)
    assert not find_elements(public.params["blocks"], ActionId.SHARE)
    assert delete.params["delete_original"] is True


def test_a_double_click_on_share_posts_the_answer_once(wayfinder: Wayfinder) -> None:
    """Each click has its own trigger_id: the share is claimed for the message the button sits on, in the database."""
    wayfinder.command("who owns payments-service?", response_url=wayfinder.fake.response_url("cmd"))
    [private] = wayfinder.fake.wait_for("response_url")
    [share] = find_elements(private.params["blocks"], ActionId.SHARE)
    click = block_action(ActionId.SHARE, share["value"], response_url=wayfinder.fake.response_url("share"), ephemeral=True)
    clicks = [threading.Thread(target=wayfinder.interact, args=({**click, "trigger_id": f"1700000000.{n}.double"},)) for n in (1, 2)]

    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()

    wayfinder.fake.wait_for("response_url", count=3)  # the private answer, the shared one, the private one deleted
    duplicates = wayfinder.services.catalog.metrics.duplicates.labels("slack")
    assert duplicates._value.get() == 1  # the other click was dropped (the claim precedes its ack)
    shared = [c for c in wayfinder.fake.calls("response_url") if c.params.get("response_type") == "in_channel"]
    assert len(shared) == 1 and len(wayfinder.fake.calls("response_url")) == 3


def test_help_command_lists_examples_from_the_catalog(wayfinder: Wayfinder) -> None:
    wayfinder.command("help", response_url=wayfinder.fake.response_url("help"))

    [call] = wayfinder.fake.wait_for("response_url")
    examples = find_elements(call.params["blocks"], ActionId.DID_YOU_MEAN)
    assert examples and all(json.loads(b["value"])["question"] for b in examples)


def test_message_shortcut_gives_a_card_per_catalog_name_in_the_message(wayfinder: Wayfinder) -> None:
    text = "Is ledger-db slow again? The payments-service dashboards look odd."
    resp = wayfinder.interact(message_shortcut(CallbackId.WHO_OWNS_THIS, text, response_url=wayfinder.fake.response_url("sc")))

    assert resp.status_code == 200
    first, second = wayfinder.fake.wait_for("response_url", count=2)
    assert first.params["response_type"] == "ephemeral"
    assert "Ledger" in blocks_text(first.params) and "<#C0123ABCD>" in blocks_text(second.params)


def test_message_shortcut_without_catalog_names_says_so(wayfinder: Wayfinder) -> None:
    wayfinder.interact(message_shortcut(CallbackId.WHO_OWNS_THIS, "lunch at noon?", response_url=wayfinder.fake.response_url("sc")))

    [call] = wayfinder.fake.wait_for("response_url")
    assert "no catalog names" in call.params["text"]


def test_ambiguous_question_offers_buttons_and_a_click_answers(wayfinder: Wayfinder) -> None:
    wayfinder.event(mention("who owns gateway", ts="1700000003.000300"), event_id="Ev003")
    [question] = wayfinder.fake.wait_for("chat.postMessage")
    buttons = find_elements(question.params["blocks"], ActionId.DID_YOU_MEAN)
    assert len(buttons) >= 2
    [service] = [b for b in buttons if json.loads(b["value"])["ref"] == "component:default/payment-gateway"]

    wayfinder.interact(block_action(ActionId.DID_YOU_MEAN, service["value"], response_url=wayfinder.fake.response_url("dym")))

    [answer] = wayfinder.fake.wait_for("response_url")
    assert answer.params["replace_original"] is True
    assert "acquiring" in json.dumps(answer.params["blocks"]).lower() and not find_elements(
        answer.params["blocks"], ActionId.DID_YOU_MEAN
    )


def test_feedback_click_is_stored_with_the_question(wayfinder: Wayfinder) -> None:
    wayfinder.event(mention("who owns payments-service?", ts="1700000004.000400"), event_id="Ev004")
    [card] = wayfinder.fake.wait_for("chat.postMessage")
    [feedback] = find_elements(card.params["blocks"], ActionId.FEEDBACK)
    thumbs_down = feedback["negative_button"]["value"]

    wayfinder.interact(block_action(ActionId.FEEDBACK, thumbs_down, response_url=wayfinder.fake.response_url("fb")))

    [thanks] = wayfinder.fake.wait_for("response_url")
    assert thanks.params["response_type"] == "ephemeral" and thanks.params["replace_original"] is False
    with wayfinder.services.catalog.session() as session:
        [row] = session.scalars(select(AnswerFeedback)).all()
    assert (row.question, row.intent, row.entity_ref, row.helpful, row.user_id, row.transport) == (
        "<@UBOT> who owns payments-service?", "owner", "component:default/payments-service", False, USER_ID, "slack",
    )  # fmt: skip


def test_app_home_shows_the_teams_of_the_slack_user_matched_by_email(wayfinder: Wayfinder) -> None:
    wayfinder.fake.add_user("U0ELENA", "Elena.Rossi@northwind.example")

    wayfinder.event({"type": "app_home_opened", "user": "U0ELENA", "channel": "D0HOME", "tab": "home", "ts": "1.5"}, event_id="Ev005")

    [publish] = wayfinder.fake.wait_for("views.publish")
    assert publish.params["user_id"] == "U0ELENA" and publish.params["view"]["type"] == "home"
    view = json.dumps(publish.params["view"])
    assert "Payments" in view and "payments-service" in view
    assert find_elements(publish.params["view"]["blocks"], ActionId.HOME_SEARCH)


def test_people_in_answers_are_mentioned_by_their_slack_id_looked_up_once(wayfinder: Wayfinder) -> None:
    wayfinder.fake.add_user("U0ELENA", "elena.rossi@northwind.example")

    wayfinder.event(mention("who owns payments-service?", ts="1700000006.000600"), event_id="Ev006")
    wayfinder.fake.wait_for("chat.postMessage")
    wayfinder.event(mention("who owns payments-service?", ts="1700000006.000700"), event_id="Ev007")

    first, second = wayfinder.fake.wait_for("chat.postMessage", count=2)
    assert "<@U0ELENA>" in blocks_text(first.params) and "<@U0ELENA>" in blocks_text(second.params)
    looked_up = [c.params["email"] for c in wayfinder.fake.calls("users.lookupByEmail")]
    assert sorted(looked_up) == sorted(set(looked_up))  # each member once: the second answer used the cache


def test_search_button_opens_the_modal_and_a_submission_is_answered_in_a_dm(wayfinder: Wayfinder) -> None:
    wayfinder.interact(block_action(ActionId.HOME_SEARCH, "", response_url="", trigger_id="2222.3333.search"))
    [opened] = wayfinder.fake.wait_for("views.open")
    assert opened.params["trigger_id"] == "2222.3333.search" and opened.params["view"]["callback_id"] == CallbackId.SEARCH_MODAL

    empty = wayfinder.interact(
        view_submission(CallbackId.SEARCH_MODAL, {BlockId.QUESTION: {ActionId.QUESTION: {"type": "plain_text_input", "value": " "}}})
    )
    assert empty.json() == {
        "response_action": "errors",
        "errors": {BlockId.QUESTION: "Type a question, for example: who owns payments-service?"},
    }

    question: dict[str, dict[str, Any]] = {
        BlockId.QUESTION: {ActionId.QUESTION: {"type": "plain_text_input", "value": "who owns payments-service"}}
    }
    resp = wayfinder.interact(view_submission(CallbackId.SEARCH_MODAL, question))

    assert resp.status_code == 200 and resp.text == ""  # closes the modal
    [dm] = wayfinder.fake.wait_for("chat.postMessage")
    assert dm.params["channel"] == USER_ID and "<#C0123ABCD>" in blocks_text(dm.params)


def test_links_to_ownership_pages_are_unfurled(wayfinder: Wayfinder) -> None:
    page = f"{PUBLIC_URL}/o/component/default/payments-service"
    links = [{"domain": "wayfinder.test", "url": page}, {"domain": "example.com", "url": "https://example.com/o/component/default/x"}]
    event = {
        "type": "link_shared",
        "channel": CHANNEL_ID,
        "user": USER_ID,
        "message_ts": "1700000008.000800",
        "links": links,
        "source": "conversations_history",
    }

    wayfinder.event(event, event_id="Ev008")

    [unfurl] = wayfinder.fake.wait_for("chat.unfurl")
    assert (unfurl.params["channel"], unfurl.params["ts"]) == (CHANNEL_ID, "1700000008.000800")
    assert list(unfurl.params["unfurls"]) == [page]
    assert "Payments" in json.dumps(unfurl.params["unfurls"][page])


def test_url_verification_returns_the_challenge(wayfinder: Wayfinder) -> None:
    resp = wayfinder.post(json.dumps({"type": "url_verification", "token": "t", "challenge": "c-123"}), "application/json")

    assert resp.status_code == 200 and resp.json() == {"challenge": "c-123"}
