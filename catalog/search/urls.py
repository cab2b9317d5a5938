"""Links resolve: a repository URL, or a pull request, issue or file inside it, names its entity.

An entity is found through `github.com/project-slug` and `backstage.io/source-location` (the
longest location that contains the URL wins, so a monorepo folder beats its repository), or
through a URL equal to one of its `metadata.links` or its PagerDuty service URL. The map is
built once per index (so once per catalog generation) by one query, the first time a question
carries a link; questions without links never pay for it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlmodel import Session

from catalog.answers.oncall import SERVICE_ID_ANNOTATION
from catalog.search.resolve import CatalogIndex
from catalog.store.models import Entity, table_of

URL = re.compile(r"(?:https?://|www\.|github\.com/|git@github\.com:)[^\s<>|()\"'`]+", re.I)  # and git's SSH remotes
_SLUG = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_PAGERDUTY_SERVICE = re.compile(r"/(?:service-directory|services)/([A-Z0-9]{4,})", re.I)
SLUG_ANNOTATION = "github.com/project-slug"
SOURCE_LOCATION = "backstage.io/source-location"
_MEMO = "catalog.search.urls.map"
_E = table_of(Entity).c


def find_urls(text: str) -> list[str]:
    """Links in `text` (Slack writes them `<url|label>`), without trailing punctuation."""
    return [m.rstrip(".,;:!?") for m in URL.findall(text)]


def normalize(url: str) -> str:
    """`https://www.GitHub.com/Org/Repo/blob/main/x.py?plain=1#L3` -> `github.com/org/repo/tree/main/x.py`."""
    text = url.strip().removeprefix("url:")
    if text.lower().startswith("git@github.com:"):  # `git remote -v`: git@github.com:org/repo.git
        text = "github.com/" + text[len("git@github.com:") :]
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = (parts.hostname or "").lower().removeprefix("www.")
    segments = [s for s in parts.path.lower().split("/") if s]
    if host == "github.com" and len(segments) >= 2:
        segments[1] = segments[1].removesuffix(".git")
        if len(segments) > 2 and segments[2] == "blob":  # a file inside a folder Backstage names with /tree/
            segments[2] = "tree"
    return "/".join([host, *segments])


def _url_map(session: Session) -> dict[str, list[str]]:
    """Normalized URL or location -> refs, from slugs, source locations, links and PagerDuty services."""
    found: dict[str, list[str]] = defaultdict(list)

    def add(key: str, ref: str) -> None:
        if key and ref not in found[key]:
            found[key].append(ref)

    # The row shape is spelled out: mypy cannot unpack SQLAlchemy 2.1's variadic Row itself.
    rows: Iterable[tuple[str, str | None, str | None, str | None, str | None, list[Any] | None]] = session.execute(
        select(
            _E.ref, _E.annotations[SLUG_ANNOTATION].as_string(), _E.annotations[SOURCE_LOCATION].as_string(),
            _E.annotations[SERVICE_ID_ANNOTATION].as_string(), _E.spec[("pagerduty", "service", "url")].as_string(), _E.links,
        ).where(_E.retired_at.is_(None))
    )  # fmt: skip
    for ref, slug, location, service_id, service_url, links in rows:
        if slug:
            add(normalize(f"github.com/{slug.strip()}"), ref)
        if location and location.startswith("url:"):
            add(normalize(location), ref)
        if service_id:
            add(f"pagerduty:{service_id.strip().lower()}", ref)
        if service_url:
            add(normalize(service_url), ref)
        for link in links or []:
            if isinstance(link, dict) and link.get("url"):
                add(normalize(str(link["url"])), ref)
    return dict(found)


def resolve_url(session: Session, index: CatalogIndex, url: str) -> list[str]:
    """Refs of the entities `url` belongs to (several when they share a repository), best first."""
    urls = index.memo(_MEMO, lambda: _url_map(session))
    key = normalize(url)
    host, _, path = key.partition("/")
    if "pagerduty.com" in host and (m := _PAGERDUTY_SERVICE.search("/" + path)):
        refs = urls.get(f"pagerduty:{m.group(1).lower()}")
        if refs:
            return list(refs)
    segments = key.split("/")
    shortest = 3 if host == "github.com" else 2  # a repository, or one folder of a site: never a whole host
    for n in range(len(segments), shortest - 1, -1):
        refs = urls.get("/".join(segments[:n]))
        if refs:  # the entity named like the repository or folder first, then by ref, on every database
            return sorted(refs, key=lambda ref: (ref.rpartition("/")[2] != segments[n - 1], ref))
    return []


def looks_like_slug(word: str) -> bool:
    """`northwind/checkout-api`: a repository slug written without its host."""
    return bool(_SLUG.match(word)) and ":" not in word


def resolve_slug(session: Session, index: CatalogIndex, slug: str) -> list[str]:
    return resolve_url(session, index, f"github.com/{slug}")
