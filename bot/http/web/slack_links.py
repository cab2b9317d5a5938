"""Links that open Slack on a channel, a DM or Wayfinder itself: `app_redirect` in any browser, `slack://` in the desktop app.

Ids are used only when they look like Slack ids, so an annotation cannot inject a URL.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from catalog.answers.models import Contact

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,20}$")
_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_APP_ID = re.compile(r"^A[A-Z0-9]{2,20}$")


def _pair(target: str, deep_kind: str, team_id: str | None, deep_ok: bool, param: str = "channel", **deep_extra: str) -> tuple[str, str | None]:
    query = {param: target} | ({"team": team_id} if team_id else {})
    web = "https://slack.com/app_redirect?" + urlencode(query)
    deep = f"slack://{deep_kind}?" + urlencode({"team": team_id, "id": target, **deep_extra}) if team_id and deep_ok else None
    return web, deep


def channel_links(owner: Contact, team_id: str | None) -> tuple[str, str | None] | None:
    """(web link, deep link or None) to the owner's channel; the deep link needs the workspace and channel ids."""
    if owner.slack_channel_id and _CHANNEL_ID.match(owner.slack_channel_id):
        return _pair(owner.slack_channel_id, "channel", team_id, True)
    name = (owner.slack_channel or "").lstrip("#")
    return _pair(name, "channel", team_id, False) if _CHANNEL_NAME.match(name) else None


def dm_links(user_id: str | None, team_id: str | None) -> tuple[str, str | None] | None:
    if not user_id or not _USER_ID.match(user_id):
        return None
    return _pair(user_id, "user", team_id, True)


def app_links(app_id: str | None, team_id: str | None) -> tuple[str, str | None] | None:
    """(web link, deep link or None) to Wayfinder's own conversation in Slack, where `/wayfinder run …` opens a request form.

    None without the app id (`http.slack_app_id`): a page cannot open a Slack modal, and a link to
    nowhere is worse than the command alone.
    """
    if not app_id or not _APP_ID.match(app_id):
        return None
    return _pair(app_id, "app", team_id, True, param="app", tab="messages")
