"""Links the pages build: only safe schemes become links, Slack links only from id-shaped ids.

Why: a catalog file is written by anyone; a `javascript:` URL or an annotation like
`C123&foo=<script>` must never become a clickable target on a page opened during an incident.
"""

from __future__ import annotations

from bot.http.web.render import safe_href, short, team_url
from bot.http.web.slack_links import channel_links, dm_links
from catalog.answers.models import Contact


def test_only_http_https_and_mailto_become_links() -> None:
    assert safe_href("https://runbooks.example/x") == "https://runbooks.example/x"
    assert safe_href("mailto:team@example.com") == "mailto:team@example.com"
    for bad in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<b>",
        "vbscript:x",
        "//evil.example",
        "",
        None,
    ):
        assert safe_href(bad) is None, bad


def test_slack_links_need_id_shaped_ids() -> None:
    team = Contact(
        ref="group:default/payments", kind="group", name="payments", slack_channel="#team-payments", slack_channel_id="C0123ABCD"
    )

    assert channel_links(team, None) == ("https://slack.com/app_redirect?channel=C0123ABCD", None)
    assert channel_links(team, "T0WORK") == ("https://slack.com/app_redirect?channel=C0123ABCD&team=T0WORK", "slack://channel?team=T0WORK&id=C0123ABCD")
    by_name = team.model_copy(update={"slack_channel_id": "C1&x=<script>"})
    assert channel_links(by_name, "T0WORK") == ("https://slack.com/app_redirect?channel=team-payments&team=T0WORK", None)
    assert dm_links("U0NADIA", "T0WORK") == ("https://slack.com/app_redirect?channel=U0NADIA&team=T0WORK", "slack://user?team=T0WORK&id=U0NADIA")
    assert dm_links("not-an-id", "T0WORK") is None


def test_team_links_carry_the_namespace_unless_it_is_the_default() -> None:
    """`/t/{name}` opens the default namespace's team: a team elsewhere of the same name needs its namespace in the link."""
    assert team_url("group:default/checkout") == "/t/checkout"
    assert team_url("group:other/checkout") == "/t/other/checkout"
    assert (short("group:default/checkout"), short("group:other/checkout")) == ("checkout", "other/checkout")
