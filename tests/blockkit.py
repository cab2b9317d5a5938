"""Checks on rendered Block Kit that `to_dict()` does not make: limits across a whole message, and escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Tokens the bot itself writes into mrkdwn; anything else starting with `<` came from data.
BOT_TOKEN = re.compile(r"<(?:https?://[^\s<>|]+\|[^<>|]*|#[CG][A-Z0-9]+|@[UW][A-Z0-9]+)>")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a block tree, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [d["text"] for d in walk(blocks) if d.get("type") == "mrkdwn"]


def assert_safe_mrkdwn(text: str) -> None:
    """Only the bot's own tokens may use `<…>`, and every `&` is an entity."""
    rest = BOT_TOKEN.sub("", text)
    assert "<" not in rest and ">" not in rest, text
    assert not BARE_AMPERSAND.search(text), text


def assert_within_limits(blocks: list[dict[str, Any]], *, max_blocks: int) -> None:
    """Slack's per-message and per-object limits (SLACK-FACTS.md §4), plus unique ids where Slack demands them."""
    assert len(blocks) <= max_blocks
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    for block in blocks:
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] in ("actions", "context", "context_actions"):
            assert len(block["elements"]) <= (25 if block["type"] == "actions" else 10 if block["type"] == "context" else 5)
        action_ids = [d["action_id"] for d in walk(block) if "action_id" in d]
        assert len(action_ids) == len(set(action_ids)), f"duplicate action_id in {block}"
    for d in walk(blocks):
        if d.get("type") in ("button",) or "positive_button" in d:
            for button in (d, d.get("positive_button"), d.get("negative_button")):
                if button and "text" in button:
                    assert len(button["text"]["text"]) <= 75
                    assert len(button.get("value", "")) <= 2000
        if d.get("type") == "mrkdwn":
            assert d.get("verbatim") is True
            assert_safe_mrkdwn(d["text"])
