import pytest

from bot.slack.mrkdwn import escape, link, truncate


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here>", "&lt;!here&gt;"),
        ("<@U1>", "&lt;@U1&gt;"),
        ("<!subteam^S123>", "&lt;!subteam^S123&gt;"),
        ("<#C123|general>", "&lt;#C123|general&gt;"),
        ("&", "&amp;"),
        ("&lt;", "&amp;lt;"),  # already-looking entities are data too
        ("<https://evil|docs>", "&lt;https://evil|docs&gt;"),
        ("Tom & Jerry's <b>", "Tom &amp; Jerry's &lt;b&gt;"),
        ("*bold* _it_ `code` \"q\"", "*bold* _it_ `code` \"q\""),  # only the three control characters
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


def test_link_for_http_urls() -> None:
    assert link("https://docs.example.com/a?b=1&c=2", "Docs") == "<https://docs.example.com/a?b=1&amp;c=2|Docs>"
    assert link("http://x.example.com", "") == "<http://x.example.com|http://x.example.com>"


def test_link_label_cannot_break_out() -> None:
    out = link("https://ok.example.com", "a|b> <!channel>")
    assert out == "<https://ok.example.com|a¦b&gt; &lt;!channel&gt;>"


def test_link_url_cannot_break_out() -> None:
    out = link("https://ok.example.com/x>y|z <!here>", "Docs")
    assert out.startswith("<https://ok.example.com/x%3Ey%7Cz%20%3C!here%3E|")
    assert out.count("<") == 1 and out.count(">") == 1 and out.count("|") == 1


@pytest.mark.parametrize("url", ["javascript:alert(1)", "mailto:a@b.c", "/relative/path", "ftp://files.example.com", "https://", ""])
def test_link_without_http_url_is_plain_text(url: str) -> None:
    out = link(url, "<b>Runbook</b>")
    assert "<" not in out and ">" not in out
    assert out.startswith("&lt;b&gt;Runbook&lt;/b&gt;")


def test_truncate_keeps_short_text() -> None:
    assert truncate("abc", 3) == "abc"


def test_truncate_adds_ellipsis_within_limit() -> None:
    out = truncate("a" * 100, 10)
    assert out == "a" * 9 + "…" and len(out) == 10


def test_truncate_never_splits_an_entity() -> None:
    text = escape("x" * 7 + "&&&")  # xxxxxxx&amp;&amp;&amp;
    for limit in range(8, len(text)):
        out = truncate(text, limit)
        assert len(out) <= limit
        assert not out.removesuffix("…").endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))


def test_truncate_never_splits_a_token() -> None:
    text = "see " + link("https://docs.example.com/page", "Docs") + " now"
    out = truncate(text, 20)
    assert out == "see …"
