"""A local fake of the GitHub REST API: org repository listing and file contents.

Why: the GitHub sync source must be tested (and benchmarked) against GitHub's real behaviour:
Link-header pagination whose next URL is not the one the client built, base64 contents wrapped
every 60 characters, ETag/304 conditional requests that do not cost rate limit, rate-limit
headers on every response, secondary limits and flaky pages. Repository objects are built from
``tests/data/github/repository.json``, written in the shape of GitHub's REST responses; the
conformance tests in ``tests/test_fake_sources_api.py`` check that they carry exactly the fields
of GitHub's own OpenAPI examples (when ``WAYFINDER_FIXTURES`` is present).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .http_fake import Body, FakeHTTPServer, RecordedRequest, Response, rebase

__all__ = ["FakeGitHub", "webhook_signature"]

_TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "github"

_API_VERSION = "2022-11-28"
_DOCS = "https://docs.github.com/rest"
_SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID FAKE:0000."
)
_RAW_MEDIA_TYPES = ("application/vnd.github.raw", "application/vnd.github.v3.raw")
_MAX_INLINE_CONTENT = 1024 * 1024  # larger files come back with encoding "none"

_ORG_REPOS = re.compile(r"^/orgs/(?P<org>[^/]+)/repos/?$")
_ORG_ID_REPOS = re.compile(r"^/organizations/(?P<org_id>\d+)/repos/?$")
_DISPATCH = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/actions/workflows/(?P<workflow>[^/]+)/dispatches$")
_CONTENTS = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/contents(?:/(?P<path>.*))?$")


@cache
def _template(name: str) -> Any:
    return json.loads((_TEMPLATES / name).read_text(encoding="utf-8"))


def webhook_signature(secret: str | bytes, body: str | bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``: ``sha256=<hex hmac>``."""
    key = secret.encode() if isinstance(secret, str) else secret
    payload = body.encode() if isinstance(body, str) else body
    return "sha256=" + hmac.new(key, payload, hashlib.sha256).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _blob_sha(data: bytes) -> str:
    """Git's blob id, as GitHub reports in ``sha``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _wrapped_base64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
    return "".join(line + "\n" for line in lines)


def _int_param(request: RecordedRequest, name: str, default: int, low: int, high: int) -> int:
    """GitHub ignores unusable values and caps ``per_page`` at 100 instead of failing."""
    try:
        value = int(request.param(name) or default)
    except ValueError:
        return default
    return min(max(value, low), high)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@dataclass
class _Repo:
    id: int
    name: str
    description: str | None
    topics: tuple[str, ...]
    language: str | None
    archived: bool
    default_branch: str
    files: dict[str, bytes]
    fork: bool = False
    created_at: str = field(default_factory=_now)
    pushed_at: str = field(default_factory=_now)


class FakeGitHub(FakeHTTPServer):
    """GitHub for one organisation.

    Records ``POST /repos/{org}/{repo}/actions/workflows/{workflow}/dispatches`` in ``dispatches``.
    Serves ``GET /orgs/{org}/repos`` (and ``/organizations/{org_id}/repos``, where its Link
    header points, as GitHub's does) and ``GET /repos/{org}/{repo}/contents/{path}``.
    ``rate_limit_remaining`` is a plain attribute: set it to 0 to get GitHub's primary-limit 403.
    """

    def __init__(
        self,
        *,
        org: str = "acme",
        org_id: int = 4242,
        token: str | None = None,
        rate_limit: int = 5000,
        rate_limit_remaining: int | None = None,
        rate_limit_resource: str = "core",
    ) -> None:
        super().__init__()
        self.org = org
        self.org_id = org_id
        self.token = token
        self.rate_limit = rate_limit
        self.rate_limit_remaining = (
            rate_limit if rate_limit_remaining is None else rate_limit_remaining
        )
        self.rate_limit_resource = rate_limit_resource
        self.rate_limit_reset = int(time.time()) + 3600
        # Keyed by lower-case name: GitHub resolves owner and repo names case-insensitively.
        self._repos: dict[str, _Repo] = {}
        self.dispatches: list[tuple[str, str, dict[str, Any]]] = []  # (repo, workflow, body) of each workflow_dispatch
        self._next_id = org_id * 1000

    # -- state -----------------------------------------------------------------------------

    def add_repo(
        self,
        name: str,
        *,
        description: str | None = None,
        topics: tuple[str, ...] | list[str] = (),
        language: str | None = None,
        archived: bool = False,
        default_branch: str = "main",
        files: Mapping[str, str] | None = None,
        pushed_at: str | None = None,
        fork: bool = False,
    ) -> None:
        """Create a repository, or replace one of the same name (keeping its id).

        ``pushed_at`` (``2024-01-02T03:04:05Z``; default now) lets a test say when the last push
        happened, e.g. long before a sync, as clients may skip re-reading repositories by it.
        ``fork`` marks a fork, which org sync clients usually leave out.
        """
        with self._lock:
            self._put_repo(
                name,
                description,
                tuple(topics),
                language,
                archived,
                default_branch,
                files,
            )
            repo = self._repos[name.lower()]
            repo.fork = fork
            if pushed_at is not None:
                repo.pushed_at = pushed_at

    def bulk_add_repos(
        self,
        count: int,
        *,
        name_format: str = "repo-{i:05d}",
        files: Callable[[str], Mapping[str, str]] | None = None,
    ) -> list[str]:
        """Add ``count`` repositories at once (benchmarks); ``files(name)`` gives their files."""
        names = [name_format.format(i=i) for i in range(count)]
        with self._lock:
            for name in names:
                self._put_repo(name, None, (), None, False, "main", files(name) if files else None)
        return names

    def set_file(self, repo: str, path: str, text: str) -> None:
        """Create or change one file on the default branch (its sha and ETag change too)."""
        with self._lock:
            target = self._repos[repo.lower()]
            target.files[path.strip("/")] = text.encode()
            target.pushed_at = _now()

    def remove_file(self, repo: str, path: str) -> None:
        with self._lock:
            target = self._repos[repo.lower()]
            del target.files[path.strip("/")]
            target.pushed_at = _now()

    def remove_repo(self, name: str) -> None:
        with self._lock:
            del self._repos[name.lower()]

    def _put_repo(
        self,
        name: str,
        description: str | None,
        topics: tuple[str, ...],
        language: str | None,
        archived: bool,
        default_branch: str,
        files: Mapping[str, str] | None,
    ) -> None:
        existing = self._repos.get(name.lower())
        if existing is None:
            self._next_id += 1
        self._repos[name.lower()] = _Repo(
            id=existing.id if existing else self._next_id,
            name=name,
            description=description,
            topics=topics,
            language=language,
            archived=archived,
            default_branch=default_branch,
            files={path.strip("/"): text.encode() for path, text in (files or {}).items()},
        )

    # -- HTTP ------------------------------------------------------------------------------

    def error_body(self, status: int) -> Body:
        """GitHub's envelope; 403/429 faults default to the secondary-limit message (pass
        ``body=`` to :meth:`fail` for a plain permission 403, which clients must not retry)."""
        messages = {
            401: "Bad credentials",
            403: _SECONDARY_LIMIT,
            404: "Not Found",
            429: _SECONDARY_LIMIT,
            500: "Server Error",
        }
        return self._error(status, messages.get(status, "Server Error"))

    def handle(self, request: RecordedRequest) -> Response:
        if self.token is not None:
            auth = request.headers.get("authorization", "")
            if auth not in (f"Bearer {self.token}", f"token {self.token}"):
                return Response.of(401, self.error_body(401))
        if request.method == "POST" and (match := _DISPATCH.match(request.path)):
            if match["owner"].lower() != self.org.lower() or match["repo"].lower() not in self._repos:
                return Response.of(404, self.error_body(404))
            self.dispatches.append((match["repo"].lower(), match["workflow"], json.loads(request.body or b"{}")))
            return Response(204)
        if request.method != "GET":
            return Response.of(404, self.error_body(404))
        if match := _ORG_REPOS.match(request.path):
            if match["org"].lower() != self.org.lower():
                return Response.of(404, self.error_body(404))
            return self._list_repos(request)
        if (match := _ORG_ID_REPOS.match(request.path)) and int(match["org_id"]) == self.org_id:
            return self._list_repos(request)
        if match := _CONTENTS.match(request.path):
            return self._contents(
                request, match["owner"], match["repo"], (match["path"] or "").strip("/")
            )
        return Response.of(404, self.error_body(404))

    def finalize(self, request: RecordedRequest, response: Response) -> Response:
        """Add ETag, 304 and rate-limit accounting, as GitHub does on every response."""
        if response.status == 200:
            etag = f'"{hashlib.sha256(response.body).hexdigest()}"'
            response.headers.setdefault("etag", etag)
            if _etag_matches(request.headers.get("if-none-match"), etag):
                return Response(304, b"", {**self._rate_headers(), "etag": etag})
        if response.status != 401:
            if self.rate_limit_remaining <= 0:
                message = f"API rate limit exceeded for installation ID {self.org_id}."
                response = Response.of(403, self._error(403, message))
            else:
                self.rate_limit_remaining -= 1
        response.headers = {
            **self._rate_headers(),
            "x-github-media-type": "github.v3; format=json",
            "x-github-api-version-selected": _API_VERSION,
            "x-github-request-id": f"FAKE:{len(self._log):08X}",
            **response.headers,
        }
        return response

    def _rate_headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(self.rate_limit_remaining),
            "x-ratelimit-used": str(self.rate_limit - self.rate_limit_remaining),
            "x-ratelimit-reset": str(self.rate_limit_reset),
            "x-ratelimit-resource": self.rate_limit_resource,
        }

    def _error(self, status: int, message: str) -> dict[str, str]:
        return {"message": message, "documentation_url": _DOCS, "status": str(status)}

    def _list_repos(self, request: RecordedRequest) -> Response:
        per_page = _int_param(request, "per_page", 30, 1, 100)
        page = _int_param(request, "page", 1, 1, 1 << 31)
        repos = list(self._repos.values())
        last = max(1, -(-len(repos) // per_page))
        chunk = repos[(page - 1) * per_page : page * per_page]
        headers = {}
        if link := self._link_header(request, page, last):
            headers["link"] = link
        return Response.of(200, [self._repo_json(repo) for repo in chunk], headers)

    def _link_header(self, request: RecordedRequest, page: int, last: int) -> str:
        """GitHub's ``Link``: prev, next, last, first (in that order), on the org-id URL."""
        base = f"{self.url}/organizations/{self.org_id}/repos"
        params = [(k, v[0]) for k, v in request.query.items() if k != "page"]

        def url(number: int) -> str:
            return f"<{base}?{urlencode([*params, ('page', number)])}>"

        rels = []
        if page > 1:
            rels.append(f'{url(page - 1)}; rel="prev"')
        if page < last:
            rels += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
        if page > 1:
            rels.append(f'{url(1)}; rel="first"')
        return ", ".join(rels)

    def _repo_json(self, repo: _Repo) -> dict[str, Any]:
        template = _template("repository.json")
        full_name = f"{self.org}/{repo.name}"
        data: dict[str, Any] = rebase(
            template,
            {"https://api.github.com": self.url, "template-org/template-repo": full_name},
        )
        owner = rebase(data["owner"], {"/template-org": f"/{self.org}"})
        owner.update(
            login=self.org,
            id=self.org_id,
            node_id=base64.b64encode(f"012:Organization{self.org_id}".encode()).decode(),
            avatar_url=f"https://avatars.githubusercontent.com/u/{self.org_id}?v=4",
            type="Organization",
        )
        data.update(
            id=repo.id,
            node_id=base64.b64encode(f"010:Repository{repo.id}".encode()).decode(),
            name=repo.name,
            full_name=full_name,
            owner=owner,
            description=repo.description,
            mirror_url=None,
            homepage=None,
            language=repo.language,
            default_branch=repo.default_branch,
            topics=list(repo.topics),
            archived=repo.archived,
            fork=repo.fork,
            created_at=repo.created_at,
            pushed_at=repo.pushed_at,
            updated_at=repo.pushed_at,
        )
        return data

    def _contents(self, request: RecordedRequest, owner: str, name: str, path: str) -> Response:
        repo = self._repos.get(name.lower()) if owner.lower() == self.org.lower() else None
        if repo is None:
            return Response.of(404, self.error_body(404))
        ref = request.param("ref")
        if ref is not None and ref != repo.default_branch:
            return Response.of(404, self._error(404, f"No commit found for the ref {ref}"))
        data = repo.files.get(path)
        if data is not None:
            accept = request.headers.get("accept", "").split(",")
            media = next(
                (m.split(";")[0].strip() for m in accept if m.strip().startswith(_RAW_MEDIA_TYPES)),
                None,
            )
            if media is not None:
                return Response(
                    200,
                    data,
                    {
                        "content-type": f"{media}; charset=utf-8",
                        "x-github-media-type": "github.v3; param=raw",
                    },
                )
            return Response.of(200, self._file_json(repo, path, data))
        entries = self._directory(repo, path)
        if not entries and path:
            return Response.of(404, self.error_body(404))
        return Response.of(200, entries)

    def _links(self, repo: _Repo, path: str, kind: str, sha: str) -> dict[str, Any]:
        """The URL fields shared by file and directory entries."""
        full = f"{self.org}/{repo.name}"
        branch = repo.default_branch
        is_file = kind == "file"
        api_url = f"{self.url}/repos/{full}/contents/{path}?ref={branch}"
        git_url = f"{self.url}/repos/{full}/git/{'blobs' if is_file else 'trees'}/{sha}"
        html_url = f"https://github.com/{full}/{'blob' if is_file else 'tree'}/{branch}/{path}"
        return {
            "url": api_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": f"https://raw.githubusercontent.com/{full}/{branch}/{path}"
            if is_file
            else None,
            "_links": {"self": api_url, "git": git_url, "html": html_url},
        }

    def _file_json(self, repo: _Repo, path: str, data: bytes) -> dict[str, Any]:
        sha = _blob_sha(data)
        inline = len(data) <= _MAX_INLINE_CONTENT
        return {
            "type": "file",
            "encoding": "base64" if inline else "none",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": _wrapped_base64(data) if inline else "",
            "sha": sha,
            **self._links(repo, path, "file", sha),
        }

    def _directory(self, repo: _Repo, path: str) -> list[dict[str, Any]]:
        """Entries directly under ``path``, derived from the repo's file paths."""
        prefix = f"{path}/" if path else ""
        children: dict[str, bytes | None] = {}  # name -> file data, or None for a sub-directory
        for file_path, data in repo.files.items():
            if file_path.startswith(prefix):
                head, sep, _ = file_path[len(prefix) :].partition("/")
                children[head] = None if sep else data
        entries = []
        for child, content in sorted(children.items()):
            child_path = prefix + child
            kind = "dir" if content is None else "file"
            sha = (
                _blob_sha(content)
                if content is not None
                else hashlib.sha1(child_path.encode()).hexdigest()
            )
            entries.append(
                {
                    "type": kind,
                    "size": 0 if content is None else len(content),
                    "name": child,
                    "path": child_path,
                    "sha": sha,
                    **self._links(repo, child_path, kind, sha),
                }
            )
        return entries
