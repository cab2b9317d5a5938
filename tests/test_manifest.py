"""manifest.yml and its Socket Mode twin: valid for Slack, in step with bot/slack/ids.py, no scope unexplained."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.slack.ids import CallbackId, Command
from tests.conftest import REPO

MANIFESTS = [REPO / "manifest.yml", REPO / "manifest.socket-mode.yml"]
EVENTS_URL = "https://wayfinder.example.com/slack/events"
# The scope each subscribed bot event needs (docs.slack.dev event reference); app_home_opened needs none.
EVENT_SCOPES = {
    "app_mention": {"app_mentions:read"}, "message.im": {"im:history"}, "message.channels": {"channels:history"}, "link_shared": {"links:read"}, "app_home_opened": set(),
}  # fmt: skip
# Every bot scope and the README's reason for it: a new scope must be added here on purpose.
SCOPES = {
    "app_mentions:read", "channels:history", "chat:write", "commands", "files:write", "groups:history", "im:history", "links:read", "links:write",
    "usergroups:read", "users:read", "users:read.email",
}  # fmt: skip


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def slack_schema(third_party: Path) -> Draft7Validator:
    """Slack's published manifest schema (conformance: skipped without the fixtures)."""
    schema = third_party / "slack-manifest-schema" / "schemas" / "manifest.schema.1.0.0.json"
    return Draft7Validator(json.loads(schema.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_valid_against_slack_schema(slack_schema: Draft7Validator, path: Path) -> None:
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in slack_schema.iter_errors(load(path))]
    assert errors == []


def test_schema_check_can_fail(slack_schema: Draft7Validator) -> None:
    manifest = load(MANIFESTS[0])
    manifest["display_information"]["name"] = "W" * 36
    manifest["features"]["shortcuts"][0]["name"] = "Who owns this message, please?"
    assert len(list(slack_schema.iter_errors(manifest))) == 2


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_ids_match_the_code(path: Path) -> None:
    features = load(path)["features"]
    assert [c["command"] for c in features["slash_commands"]] == [Command.WAYFINDER]
    assert [(s["type"], s["callback_id"]) for s in features["shortcuts"]] == [("message", CallbackId.WHO_OWNS_THIS)]
    assert features["app_home"]["home_tab_enabled"] and features["app_home"]["messages_tab_enabled"]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_scopes_cover_events_and_features(path: Path) -> None:
    manifest = load(path)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == SCOPES
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == set(EVENT_SCOPES)
    for event in events:
        assert EVENT_SCOPES[event] <= scopes, event
    assert "commands" in scopes  # slash command and message shortcut
    assert manifest["features"]["unfurl_domains"] and "links:write" in scopes  # chat.unfurl


def test_http_manifest_routes_everything_to_one_url() -> None:
    manifest = load(REPO / "manifest.yml")
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"]["request_url"] == EVENTS_URL
    assert settings["interactivity"] == {"is_enabled": True, "request_url": EVENTS_URL, "message_menu_options_url": EVENTS_URL}  # entity pickers' options
    assert [c["url"] for c in manifest["features"]["slash_commands"]] == [EVENTS_URL]


def test_socket_mode_manifest_is_the_same_app_without_urls() -> None:
    http, socket = load(REPO / "manifest.yml"), load(REPO / "manifest.socket-mode.yml")
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert "request_url" not in socket["settings"]["interactivity"]
    assert all("url" not in c for c in socket["features"]["slash_commands"])
    del http["settings"]["event_subscriptions"]["request_url"], http["settings"]["interactivity"]["request_url"]
    del http["settings"]["interactivity"]["message_menu_options_url"]  # Socket Mode asks for options over the socket
    for command in http["features"]["slash_commands"]:
        del command["url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket == http
