"""Catalog text cannot fool a reader (issue 7, point 6).

Why: catalog files are written by many people. A description with `\\x1b[2J` cleared the terminal
of whoever ran `wayfinder ask`, an OSC sequence could retitle it, and U+202E (right-to-left
override) made a name read differently in Slack from what it is. Every renderer passes catalog
text through `catalog.safe_text.neutralise`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.table import Table
from typer.testing import CliRunner

from bot.cli.main import app as cli
from bot.cli.terminal import SafeConsole
from bot.slack.mrkdwn import escape, link
from bot.slack.views.answer import render_answer
from catalog.config import Config
from catalog.core import Catalog
from catalog.safe_text import escape_html, neutralise

HIDDEN = ["\x1b", "\x07", "\x9b", "\x00", "\x7f", "\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"]
EVIL = 'Evil \\e[2J\\e]0;pwned\\a cleared \\u202Egnp.exe \\x9b31m \\u2067x\\u2069 [bold red]loud[/bold red] <!channel>'
CATALOG = f"""apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: evil-service
  title: "Evil \\u202Eecivres"
  description: "{EVIL}"
spec:
  type: service
  lifecycle: production
  owner: team-evil
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-evil
  title: "Team \\e]8;;https://evil.example\\e\\\\Evil\\e]8;;\\e\\\\"
spec:
  type: team
  children: []
"""


def visible(text: str) -> bool:
    return not any(ch in text for ch in HIDDEN)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[2Jb", "a[2Jb"),
        ("title\x1b]0;pwned\x07!", "title]0;pwned!"),
        ("exe.\u202etxt", "exe.txt"),
        ("\u2066iso\u2069 \u200emark\u200f", "iso mark"),
        ("c1\x9b31m\x85", "c131m"),
        ("keeps\ttabs\nand lines\r\nand\u2028separators", "keeps\ttabs\nand lines\nand\nseparators"),
        ("naïve café 日本 emoji 🎉 arabic مرحبا", "naïve café 日本 emoji 🎉 arabic مرحبا"),
    ],
)
def test_neutralise(raw: str, shown: str) -> None:
    assert neutralise(raw) == shown


def test_single_line_folds_breaks_and_html_escapes() -> None:
    assert neutralise("a\n\tb\x1b", multiline=False) == "a b"
    assert escape_html('<b title="x">\u202eA&B</b>') == "&lt;b title=&quot;x&quot;&gt;A&amp;B&lt;/b&gt;"


def test_slack_mrkdwn_and_links_are_neutralised() -> None:
    assert escape("gnp.\u202eexe <!here>") == "gnp.exe &lt;!here&gt;"
    assert link("https://docs.example.com/\u202ea", "Docs\x1b[2J") == "<https://docs.example.com/a|Docs[2J>"


@pytest.fixture
def evil_catalog(tmp_path: Path, write_config: Callable[[str], Config], make_catalog: Callable[[Config], Catalog]) -> Catalog:
    (tmp_path / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    catalog = make_catalog(write_config("sources:\n  - name: evil\n    type: backstage\n    path: catalog.yaml\n"))
    assert all(r.ok for r in catalog.sync())
    return catalog


def test_the_catalog_really_holds_the_characters(evil_catalog: Catalog) -> None:
    """Guards the tests below: the YAML escapes produced the raw characters in the database."""
    answer = evil_catalog.ask("who owns evil-service?")
    assert answer.subject is not None and "\x1b[2J" in (answer.subject.description or "") and "\u202e" in (answer.subject.title or "")


def test_slack_answer_carries_no_control_or_bidi_characters(evil_catalog: Catalog) -> None:
    answer = evil_catalog.ask("who owns evil-service?")
    text, blocks = render_answer(answer, public_url="http://wayfinder.test", now=datetime.now(UTC))
    rendered = json.dumps({"text": text, "blocks": blocks}, ensure_ascii=False, default=str)
    assert visible(rendered) and "cleared" in rendered and "&lt;!channel&gt;" in rendered


def test_wayfinder_ask_prints_no_escape_sequences(evil_catalog: Catalog, tmp_path: Path) -> None:
    env = {"DATABASE_URL": evil_catalog.database_url, "WAYFINDER_CONFIG": str(tmp_path / "wayfinder.yaml")}
    for question in ("who owns evil-service?", "what does team-evil own?", "what is evil-servic?"):
        result = CliRunner().invoke(cli, ["ask", question], env=env)
        assert visible(result.output), repr(result.output)
    plain = CliRunner().invoke(cli, ["ask", "who owns evil-service?"], env=env).output
    assert "Evil ecivres" in plain and "Team" in plain
    as_json = CliRunner().invoke(cli, ["ask", "who owns evil-service?", "--json"], env=env).output
    assert visible(as_json) and visible(json.loads(as_json)["text"])


def test_terminal_tables_and_messages_print_markup_literally() -> None:
    console = SafeConsole()
    console.file = buffer = io.StringIO()
    table = Table("source")
    table.add_row("[bold red]evil[/bold red]\x1b[2J")
    console.print(table)
    console.print("problem: [link=https://evil.example]click[/link] \x1b]0;pwned\x07")

    out = buffer.getvalue()
    assert "[bold red]evil[/bold red][2J" in out and "[link=https://evil.example]click[/link]" in out
    assert visible(out)
