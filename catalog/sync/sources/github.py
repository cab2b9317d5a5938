"""GitHub: an organisation's repositories as catalog entities.

A repository's `catalog-info.yaml` (the path is configurable) on its default branch is imported
exactly as the Backstage source imports files, at descriptor precedence (100), with locations
like `github:org/repo/catalog-info.yaml:LINE`. A repository without one still becomes a
Component inferred from the repository itself, at precedence 50, owned by whoever CODEOWNERS
gives the repository root. A descriptor written by people therefore wins over the guess, field
by field, wherever it lives.

Requests stay few. The listing and every file are conditional requests (ETag, see
`http_cache`), and a repository whose `pushed_at` is older than our last read of its files is
not asked again at all: an unchanged org costs one request per 100 repositories.

Nothing unreadable deletes anything. A listing that cannot be read completely raises
`SourceError`, so the engine retires nothing. A repository whose descriptor is broken or whose
files cannot be read is reported, and keeps the entities it had.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlmodel import col

from catalog.config import GitHubSourceConfig
from catalog.errors import SourceError
from catalog.store.engine import SessionFactory, session_scope
from catalog.store.models import Entity
from catalog.store.precedence import GITHUB_INFERRED
from catalog.store.reads import user_ref_by_email
from catalog.store.refs import make_ref
from catalog.sync.sources.backstage import EntityCollector, location_targets, parse_documents
from catalog.sync.sources.base import Scope, Snapshot
from catalog.sync.sources.codeowners import CODEOWNERS_PATHS, Owner, parse_codeowners
from catalog.sync.sources.descriptor import NAME_RE, EntityDoc, Link, Problem
from catalog.sync.sources.http import ApiClient, HttpStatusError, RetryDelay, default_retry_delay, retry_after
from catalog.sync.sources.http_cache import HttpCache, conditional_get

PAGE_SIZE = 100
# A primary limit resets within the hour; waiting up to this long beats failing the run, longer
# would hold the source's scheduler slot for nothing (the next run starts fresh).
DEFAULT_MAX_WAIT = 300.0
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: "wait at least one minute", then back off

PROJECT_SLUG = "github.com/project-slug"
TEAM_SLUG = "github.com/team-slug"
USER_LOGIN = "github.com/user-login"
_RAW = "application/vnd.github.raw+json"


class Repository(BaseModel):
    """The fields of GitHub's repository object the catalog uses (listing and push payloads alike)."""

    name: str
    full_name: str
    default_branch: str
    html_url: str
    description: str | None = None
    topics: list[str] = Field(default_factory=list)
    language: str | None = None
    archived: bool = False
    fork: bool = False
    pushed_at: datetime | None = None


_PAGE = TypeAdapter(list[Repository])


def github_retry_delay(clock: Callable[[], float] = time.time) -> RetryDelay:
    """GitHub's rate-limit rules (FORMATS.md §4) for 403 and 429, the shared defaults otherwise.

    `retry-after` first; then a spent primary limit waits for `x-ratelimit-reset`; then a
    secondary limit (429, or a 403 saying so) waits a minute, doubling. A 403 with none of these
    signals is a permission error and final.
    """

    def delay(response: httpx.Response, attempt: int) -> float | None:
        if response.status_code not in (403, 429):
            return default_retry_delay(response, attempt)
        if (seconds := retry_after(response)) is not None:
            return seconds
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = float(response.headers.get("x-ratelimit-reset") or 0)
            return max(reset - clock(), 0.0) + 1.0
        if response.status_code == 429 or "secondary rate limit" in response.text.lower():
            return SECONDARY_LIMIT_WAIT * 2.0**attempt
        return None

    return delay


class GitHubSource:
    """Every repository of one organisation (`fetch`), or one of them, re-read now (`repository`)."""

    type = "github"

    def __init__(
        self,
        config: GitHubSourceConfig,
        factory: SessionFactory,
        *,
        progress: Callable[[int, int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: float = DEFAULT_MAX_WAIT,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.name = config.name
        self.config = config
        self.factory = factory
        self.progress = progress
        self.sleep = sleep
        self.clock = clock
        self.max_wait = max_wait
        self.page_size = page_size

    def fetch(self) -> Snapshot:
        """The whole org; a listing that cannot be read completely raises `SourceError`."""
        run = _Run(self)
        try:
            repos = [repo for repo in run.list_repositories() if self.wanted(repo)]
            for index, repo in enumerate(repos, 1):
                run.add_repository(repo, reuse=True)
                if self.progress:
                    self.progress(index, len(repos))
            return run.snapshot()
        finally:
            run.close()

    def wanted(self, repo: Repository) -> bool:
        return (self.config.include_forks or not repo.fork) and (self.config.include_archived or not repo.archived)

    def repository(self, repo: Repository, authors: Mapping[str, str] | None = None) -> GitHubRepositorySource:
        return GitHubRepositorySource(self, repo, authors)

    def fetch_repository(self, repo: Repository, authors: Mapping[str, str] | None = None) -> Snapshot:
        """One repository's entities, every file asked again: a partial snapshot scoped to that repository.

        `authors` (repository path -> who last changed it, from a push's commits) names the author
        of each entity whose file (or, for an inferred component, CODEOWNERS) the push changed.
        """
        run = _Run(self)
        try:
            if self.wanted(repo):
                run.add_repository(repo, reuse=False)
            snapshot = run.snapshot(Scope(repo.full_name, partial(_in_repository, repo.full_name.lower())))
        finally:
            run.close()
        if authors:
            snapshot.authors = {doc.ref: who for doc in snapshot.entities if (who := _author_of(doc, authors))}
        return snapshot


class GitHubRepositorySource:
    """One repository of a GitHub source as a source of its own: what a push webhook syncs, knowing who pushed what."""

    type = "github"

    def __init__(self, source: GitHubSource, repo: Repository, authors: Mapping[str, str] | None = None) -> None:
        self.name = source.name
        self.source = source
        self.repo = repo
        self.authors = authors

    def fetch(self) -> Snapshot:
        return self.source.fetch_repository(self.repo, self.authors)


def commit_authors(commits: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """repository path -> `github:<login>` of the last of a push's commits that added or changed it.

    A commit whose author GitHub did not match to an account (no `username`) names nobody, and
    its files then have no known author (the last change is theirs, whoever they are).
    """
    found: dict[str, str | None] = {}
    for commit in commits:
        if not isinstance(commit, Mapping):
            continue
        author = commit.get("author")
        login = author.get("username") if isinstance(author, Mapping) else None
        for key in ("added", "modified"):
            paths = commit.get(key)
            for path in paths if isinstance(paths, list) else []:
                if isinstance(path, str):
                    found[path] = f"github:{login}" if isinstance(login, str) and login else None
    return {path: who for path, who in found.items() if who}


def _author_of(doc: EntityDoc, authors: Mapping[str, str]) -> str | None:
    """Who changed the file `doc` came from (`github:org/repo/path:LINE`), or the CODEOWNERS an inferred component's owner comes from."""
    parts = (doc.location or "").removeprefix("github:").split("/", 2)
    if len(parts) < 3:  # an inferred component: its facts come from the repository and its CODEOWNERS
        return next((authors[p] for p in CODEOWNERS_PATHS if p in authors), None)
    return authors.get(parts[2].rpartition(":")[0] or parts[2])


def _repository_of(location: str | None) -> str | None:
    """`github:org/repo/path:LINE` or `github:org/repo` -> `org/repo` (lower case)."""
    if not location or not location.startswith("github:"):
        return None
    parts = location.removeprefix("github:").split("/", 2)
    return "/".join(parts[:2]).lower() if len(parts) >= 2 else None


def _in_repository(full_name: str, location: str | None) -> bool:
    return _repository_of(location) == full_name


def github_client(
    cfg: GitHubSourceConfig, *, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time, max_wait: float = DEFAULT_MAX_WAIT
) -> ApiClient:
    """The REST client of a GitHub source: its API URL and token, GitHub's headers and rate-limit waits (also the actions' workflow dispatch)."""
    return ApiClient(
        cfg.name,
        cfg.api_url.rstrip("/"),
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {cfg.token.get_secret_value()}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "wayfinder",
        },
        timeout=cfg.timeout_seconds,
        max_retries=cfg.max_retries,
        max_wait=max_wait,
        retry_delay=github_retry_delay(clock),
        sleep=sleep,
    )


class _Run:
    """One fetch: the HTTP client, the cache, and what has been collected so far."""

    def __init__(self, source: GitHubSource) -> None:
        cfg = source.config
        self.source = source
        self.base = cfg.api_url.rstrip("/")
        self.api = github_client(cfg, sleep=source.sleep, clock=source.clock, max_wait=source.max_wait)
        self.cache = HttpCache(source.factory, source.name)
        self.collected = EntityCollector()
        self.inferred: list[EntityDoc] = []
        self._owners: _Owners | None = None
        self._previous: dict[str, list[EntityDoc]] | None = None

    def close(self) -> None:
        try:
            self.cache.save()
        finally:
            self.api.close()

    def snapshot(self, scope: Scope | None = None) -> Snapshot:
        entities = dict(self.collected.entities)
        for doc in self.inferred:  # a descriptor anywhere in the org beats a guess for the same ref
            entities.setdefault(doc.ref, doc)
        return Snapshot(entities=list(entities.values()), problems=self.collected.problems, requests=self.api.requests, scope=scope)

    # -- listing -------------------------------------------------------------------------

    def list_repositories(self) -> list[Repository]:
        """Every page, following `Link: rel="next"` only; any gap fails the whole listing."""
        url: str | None = f"{self.base}/orgs/{quote(self.source.config.org)}/repos?type=all&per_page={self.source.page_size}"
        repos: list[Repository] = []
        seen: set[str] = set()
        while url:
            if url in seen:
                raise SourceError(f"{self.source.name}: the repository listing links back to {url}")
            seen.add(url)
            entry = conditional_get(self.api, self.cache, url, keep=partial(_repository_page, self.source.name))
            if entry.body is None:
                raise SourceError(f"{self.source.name}: {url} answered 404; the repository listing is incomplete")
            repos += _PAGE.validate_json(entry.body)
            url = entry.next_url
        return repos

    # -- one repository ------------------------------------------------------------------

    def add_repository(self, repo: Repository, *, reuse: bool) -> None:
        """Descriptors if the repository has them, else an inferred Component; keeps old entities when broken."""
        errors_before = self._errors()
        path = self.source.config.catalog_path.strip("/")
        try:
            text = self.read(repo, path, reuse=reuse)
            if text is None:
                self.infer(repo, reuse=reuse)
            else:
                self.descriptors(repo, path, text, reuse=reuse, seen={path})
        except HttpStatusError as exc:
            if exc.status == 401:  # the token, not this repository: nothing else will read either
                raise
            self.collected.problems.append(Problem(file=f"github:{repo.full_name}", message=f"cannot read the repository: {exc}"))
        if self._errors() > errors_before:
            for doc in self.previous().get(repo.full_name.lower(), []):
                self.collected.entities.setdefault(doc.ref, doc)

    def read(self, repo: Repository, path: str, *, reuse: bool) -> str | None:
        """A file's text on the default branch, or None when it does not exist."""
        url = f"{self.base}/repos/{repo.full_name}/contents/{quote(path)}?ref={quote(repo.default_branch, safe='')}"
        cached = self.cache.get(url)
        # Timestamps have whole seconds: only a read in a later second than the last push has seen it.
        if reuse and cached is not None and repo.pushed_at is not None and cached.fetched_at > repo.pushed_at:
            return cached.body
        return conditional_get(self.api, self.cache, url, headers={"Accept": _RAW}).body

    def descriptors(self, repo: Repository, path: str, text: str, *, reuse: bool, seen: set[str]) -> None:
        label = f"github:{repo.full_name}/{path}"
        for line, parsed in parse_documents(text, label):
            kept = self.collected.add(parsed, label, line)
            if kept is not None and kept.kind == "location":
                self.follow(repo, path, kept, f"{label}:{line}", reuse=reuse, seen=seen)

    def follow(self, repo: Repository, path: str, location: EntityDoc, where: str, *, reuse: bool, seen: set[str]) -> None:
        """A Location's targets that are files of the same repository, read like the Backstage source reads them."""
        for target in location_targets(location):
            target_path = _path_in_repository(location, path, target, repo.full_name)
            if isinstance(target_path, Problem):
                self.collected.problems.append(target_path.model_copy(update={"file": where, "entity": location.ref}))
                continue
            if target_path in seen:
                continue
            seen.add(target_path)
            text = self.read(repo, target_path, reuse=reuse)
            if text is None:
                self.collected.problems.append(
                    Problem(file=where, message=f"location target {target_path} does not exist in {repo.full_name}")
                )
            else:
                self.descriptors(repo, target_path, text, reuse=reuse, seen=seen)

    def infer(self, repo: Repository, *, reuse: bool) -> None:
        where = f"github:{repo.full_name}"
        if len(repo.name) > 63 or not NAME_RE.match(repo.name):
            message = f"repository name {repo.name!r} is not a valid entity name; no component inferred"
            self.collected.problems.append(Problem(severity="warning", file=where, message=message))
            return
        self.inferred.append(_component(repo, self.root_owner(repo, reuse=reuse)))

    def root_owner(self, repo: Repository, *, reuse: bool) -> str | None:
        """The catalog ref of the first owner of CODEOWNERS' rule for the repository root."""
        where = f"github:{repo.full_name}"
        for path in CODEOWNERS_PATHS:
            text = self.read(repo, path, reuse=reuse)
            if text is not None:
                break
        else:
            self._warn(where, "no CODEOWNERS file; the inferred component has no owner")
            return None
        label = f"{where}/{path}"
        codeowners = parse_codeowners(text)
        for bad in codeowners.invalid:
            self.collected.problems.append(
                Problem(severity="warning", file=label, line=bad.line, message=f"CODEOWNERS line skipped: {bad.reason}")
            )
        rule = codeowners.root_rule()
        if rule is None:
            self._warn(label, "no rule covers the repository root (such as `*`); the inferred component has no owner")
            return None
        if not rule.owners:
            return None  # deliberately unowned
        owners = self.own_org(rule.owners, label)
        if not owners:
            return None
        ref = self.owners().ref(owners[0])
        if ref is None:
            self._warn(label, f"owner {owners[0]} matches no catalog user; the inferred component has no owner")
        return ref

    def own_org(self, owners: Iterable[Owner], label: str) -> list[Owner]:
        """`owners` without the teams of other organisations, each reported: only a team of the
        source's org can own its repositories, and a slug alone would name some unrelated Group."""
        org = self.source.config.org.lower()
        kept = []
        for owner in owners:
            if owner.kind == "team" and owner.name.split("/", 1)[0].lower() != org:
                self._warn(label, f"owner {owner} is a team of another organisation than {self.source.config.org}; it owns nothing here")
            else:
                kept.append(owner)
        return kept

    # -- catalog lookups (read-only) ------------------------------------------------------

    def owners(self) -> _Owners:
        if self._owners is None:
            self._owners = _Owners(self.source.factory)
        return self._owners

    def previous(self) -> dict[str, list[EntityDoc]]:
        """This source's active entities by repository (`org/repo`), to keep when a repository cannot be read."""
        if self._previous is None:
            self._previous = defaultdict(list)
            with session_scope(self.source.factory) as session:
                rows = session.scalars(select(Entity).where(col(Entity.source) == self.source.name, col(Entity.retired_at).is_(None)))
                for row in rows:
                    if repo := _repository_of(row.location):
                        self._previous[repo].append(EntityDoc.model_validate(row.model_dump()))
        return self._previous

    def _errors(self) -> int:
        return sum(1 for p in self.collected.problems if p.severity == "error")

    def _warn(self, where: str, message: str) -> None:
        self.collected.problems.append(Problem(severity="warning", file=where, message=message))


def _repository_page(source: str, response: httpx.Response) -> str:
    """One listing page, validated and cut down to the fields we use (the stored body)."""
    try:
        return _PAGE.dump_json(_PAGE.validate_json(response.content)).decode()
    except ValidationError as exc:
        raise SourceError(f"{source}: {response.request.url} answered a malformed repository list: {exc.errors()[0]['msg']}") from None


def _path_in_repository(location: EntityDoc, base: str, target: str, full_name: str) -> str | Problem:
    """The repository path a Location target in file `base` names, or why it is not followed.

    As Backstage's LocationEntityProcessor: the type is `spec.type`, else that of the location
    the file was read from, `url` for a repository's file; a relative `url` or `file` target
    resolves against its file. Absolute URLs and paths leaving the repository are not followed
    (a warning). A glob is an error: files are read one by one, and no tree listing expands it.
    """
    text = target.removeprefix("file:")
    path = posixpath.normpath(posixpath.join(posixpath.dirname(base), text))
    followed = (location.spec.get("type") or "url") in ("url", "file") and "://" not in text
    if not followed or path in (".", "..") or path.startswith(("../", "/")):
        return Problem(severity="warning", message=f"target {target} is not a file in {full_name}; not followed")
    if any(ch in text for ch in "*?["):
        return Problem(message=f"target {target} is a glob, which the GitHub source cannot expand; name each file as a target")
    return path


class _Owners:
    """CODEOWNERS owners as catalog refs (teams of the source's own org only: see `_Run.own_org`).

    `@org/team-slug` is the Group annotated `github.com/team-slug: org/team-slug`, else
    `group:default/team-slug`; `@login` is the User annotated `github.com/user-login: login`,
    else `user:default/login`; an email is the User with that `spec.profile.email`, if any.
    """

    def __init__(self, factory: SessionFactory) -> None:
        self.factory = factory
        self.teams: dict[str, str] = {}
        self.logins: dict[str, str] = {}
        with session_scope(factory) as session:
            rows: Iterable[tuple[str, str, dict[str, str] | None]] = session.execute(
                select(col(Entity.kind), col(Entity.ref), col(Entity.annotations))
                .where(col(Entity.kind).in_(("group", "user")), col(Entity.retired_at).is_(None))
                .order_by(col(Entity.ref))
            )
            for kind, ref, annotations in rows:
                key = TEAM_SLUG if kind == "group" else USER_LOGIN
                if value := (annotations or {}).get(key, "").strip().lower():
                    (self.teams if kind == "group" else self.logins).setdefault(value, ref)

    def ref(self, owner: Owner) -> str | None:
        if owner.kind == "team":
            return self.teams.get(owner.name.lower()) or make_ref("group", None, owner.name.split("/", 1)[1])
        if owner.kind == "user":
            return self.logins.get(owner.name.lower()) or make_ref("user", None, owner.name)
        with session_scope(self.factory) as session:
            return user_ref_by_email(session, owner.name)


def _component(repo: Repository, owner_ref: str | None) -> EntityDoc:
    """The Component a repository without descriptors stands for."""
    lifecycle = "deprecated" if repo.archived else "production"
    language = [re.sub(r"[^a-z0-9:+#]+", "-", repo.language.lower()).strip("-")] if repo.language else []
    spec: dict[str, str] = {"type": "service", "lifecycle": lifecycle} | ({"owner": owner_ref} if owner_ref else {})
    return EntityDoc(
        ref=make_ref("component", None, repo.name),
        kind="component",
        name=repo.name,
        description=repo.description or None,
        type="service",
        lifecycle=lifecycle,
        owner_ref=owner_ref,
        annotations={PROJECT_SLUG: repo.full_name},
        tags=list(dict.fromkeys([*repo.topics, *language])),
        links=[Link(url=repo.html_url, title="Repository", icon="github", type="repo")],
        spec=spec,
        location=f"github:{repo.full_name}",
        precedence=GITHUB_INFERRED,
    )
