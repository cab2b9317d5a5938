"""The ownership page in a real browser: on a phone, owner, on-call and runbook show without scrolling.

Why: responders open these links from an alert on their phone; if what they need sits below the
fold or overflows sideways, the page fails them however correct its HTML is. Screenshots at
390×844 and 1280×800 are saved to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from catalog.config import Config
from catalog.core import Catalog
from tests import browser
from tests.actions_world import SLACK_APP, write_config
from tests.conftest import REPO
from tests.e2e.harness import Wayfinder
from tests.e2e.pages_server import serve_pages
from tests.pagerduty_world import T0, World, pagerduty, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not browser.available(), reason="chromium is not installed (.ci/run installs it)")
ARTIFACTS = REPO / "tests" / "artifacts"
MUST_SEE = ("owner", "oncall-1", "runbook")
PLACES = """JSON.stringify({
  viewport: [innerWidth, innerHeight], scrollWidth: document.documentElement.scrollWidth,
  found: Object.fromEntries(%s.map(id => { const e = document.getElementById(id); if (!e) return [id, null];
    const r = e.getBoundingClientRect(); return [id, {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
    shown: getComputedStyle(e).visibility === 'visible' && r.width > 0 && r.height > 0}]; }))
})"""


def test_phone_sees_owner_oncall_and_runbook_without_scrolling(world: World) -> None:
    world.sync_pagerduty()
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_pages(world.catalog, clock=lambda: T0 + timedelta(minutes=5)) as client, browser.chromium() as tab:
        url = f"{client.base_url}/o/component/default/payments-service"
        tab.open(url, width=390, height=844, mobile=True)
        phone = json.loads(tab.evaluate(PLACES % json.dumps(MUST_SEE)))
        print("screenshot:", tab.screenshot(ARTIFACTS / "ownership-390x844.png"))
        tab.open(url, width=360, height=740, mobile=True)  # the narrowest phones in use
        narrow = json.loads(tab.evaluate(PLACES % json.dumps(MUST_SEE)))
        tab.open(url, width=1280, height=800, mobile=False)
        desktop = json.loads(tab.evaluate(PLACES % json.dumps(MUST_SEE)))
        print("screenshot:", tab.screenshot(ARTIFACTS / "ownership-1280x800.png"))

    width, height = phone["viewport"]
    assert (width, height) == (390, 844)
    assert phone["scrollWidth"] <= width, "the page scrolls sideways on a phone"
    assert narrow["scrollWidth"] <= 360, "the page scrolls sideways on a 360 px phone"
    for name in MUST_SEE:
        box = phone["found"][name]
        assert box is not None and box["shown"], name
        assert 0 <= box["top"] and box["bottom"] <= height and 0 <= box["left"] and box["right"] <= width, (name, box)
    assert all(desktop["found"][name]["bottom"] <= 800 for name in MUST_SEE)
    assert (ARTIFACTS / "ownership-390x844.png").stat().st_size > 10_000


REQUEST = """JSON.stringify((() => {
  const button = document.getElementById('request-db-read-access'), command = document.getElementById('command-db-read-access');
  command.scrollIntoView(); const r = command.getBoundingClientRect(), b = button.getBoundingClientRect();
  return {href: button.href, label: button.textContent, button: [b.width, b.height], command: [r.left + r.width / 2, r.top + r.height / 2],
          scrollWidth: document.documentElement.scrollWidth, width: innerWidth};
})())"""


def test_phone_taps_request_and_selects_the_exact_command(
    example_catalog: Catalog, start: Callable[..., Wayfinder], make_catalog: Callable[[Config], Catalog],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The "Request…" button opens Wayfinder in Slack; one tap on the command selects all of it, ready to paste there."""
    wayfinder = start(make_catalog(write_config(tmp_path, monkeypatch, "http://127.0.0.1:9/unused", extra=SLACK_APP)))
    ARTIFACTS.mkdir(exist_ok=True)
    with browser.chromium() as tab:
        tab.open(f"{wayfinder.http.base_url}/o/resource/default/payments-db", width=390, height=844, mobile=True)
        seen = json.loads(tab.evaluate(REQUEST))
        x, y = seen["command"]
        for kind in ("mousePressed", "mouseReleased"):
            tab.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        selected = tab.evaluate("getSelection().toString()")
        print("screenshot:", tab.screenshot(ARTIFACTS / "ownership-request-390x844.png"))

    assert seen["href"] == "https://slack.com/app_redirect?app=A0WAYFINDER&team=T0NORTHWIND" and seen["label"] == "Request…"
    assert seen["button"][0] > 40 and seen["button"][1] > 15, "the button is too small to tap"
    assert seen["scrollWidth"] <= seen["width"], "the command makes the page scroll sideways"
    assert selected.strip() == "/wayfinder run db-read-access resource:default/payments-db"
