"""A fake Slack Web API server for tests.

Slack ships no official fake (SLACK-FACTS §7), and patching ``WebClient`` would skip the real
request encoding, retry handlers and error parsing.  So tests point the real client at this
server instead: ``WebClient(token="xoxb-test", base_url=fake.url)``.  It binds 127.0.0.1 on a
random port (parallel runs never collide), records every call, answers with realistic shapes
and can be told to fail the next call(s) of a method.

slack_sdk sends every method as ``POST <base_url><method>``; reads (``users.lookupByEmail``,
``usergroups.users.list`` ...) carry their arguments in the query string, writes in a JSON
body, ``auth.test`` with no body at all.  Other clients may use GET or form bodies, so all of
these are accepted and merged into ``Call.params``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.http_fake import Body, FakeHTTPServer, RecordedRequest, Response

__all__ = ["Call", "FakeSlackAPI"]

JSONDict = dict[str, Any]

TEAM_ID = "T0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "wayfinder"
APP_ID = "A0001"
_TS_BASE_SECONDS = 1_700_000_000
_API_PREFIX = "/api/"
_RESPONSE_URL_PREFIX = "/response_url/"
_UPLOAD_PREFIX = "/upload/"  # where `files.getUploadURLExternal` tells the client to send a file's bytes


@dataclass(frozen=True)
class Call:
    """One request the fake received.

    ``method`` is the Web API method (``"chat.postMessage"``), ``"response_url"`` for posts to
    :meth:`FakeSlackAPI.response_url`, or the raw path for anything else (so a wrong
    ``base_url`` shows up in :meth:`FakeSlackAPI.wait_for` errors).  ``params`` merges the
    query string, form body and JSON body; JSON values keep their types.  ``headers`` keys are
    lower-case.
    """

    method: str
    params: JSONDict
    token: str | None
    headers: dict[str, str]
    path: str


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int | None
    remaining: int


def _parse_params(query: dict[str, list[str]], content_type: str, raw: bytes) -> JSONDict | None:
    """Merge query, form and JSON params; ``None`` means the JSON body was malformed."""
    params: JSONDict = {name: values[-1] for name, values in query.items()}
    if not raw:
        return params
    if "json" in content_type:
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        params.update(body)
    elif not content_type or "x-www-form-urlencoded" in content_type:
        params.update(parse_qsl(raw.decode(), keep_blank_values=True))
    return params


def _token(headers: dict[str, str], params: JSONDict) -> str | None:
    """Slack accepts the token as a Bearer header or, in form bodies, as ``token``."""
    auth = headers.get("authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ")
    token = params.get("token")
    return token if isinstance(token, str) else None


def _json_arg(value: Any) -> Any:
    """Block Kit arguments arrive as objects in JSON bodies but as JSON strings in form bodies."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


class FakeSlackAPI(FakeHTTPServer):
    """In-process fake of slack.com/api plus ``response_url`` endpoints.

    Use as ``with FakeSlackAPI() as fake:`` or ``fake.start()`` / ``fake.stop()``; tests seed it
    with :meth:`add_user` / :meth:`add_usergroup`, script failures with :meth:`fail_next`, and
    assert with :meth:`calls` / :meth:`wait_for`.  Set :attr:`socket_url` to the ``ws://`` URL
    that ``apps.connections.open`` should hand out.  The server lifecycle, and the generic
    request log and fault injection (``log``, ``fail``, ``delay``), come from FakeHTTPServer.

    Message timestamps count up from ``ts_base`` (epoch seconds): a fixed 2023 instant by default,
    which tests with an injected clock start from; a run on the real clock (the replica drill)
    passes the current time, so `oldest` filters on real times find real messages, as on Slack.
    """

    def __init__(self, *, ts_base: int = _TS_BASE_SECONDS) -> None:
        super().__init__()
        self._ts_base = ts_base
        self._cond = threading.Condition(self._lock)  # the base's lock: handle() runs under it
        self._responders: dict[str, Callable[[JSONDict], JSONDict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "views.publish": self._view,
            "views.open": self._view,
            "views.update": self._view,
            "views.push": self._view,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.list": self._users_list,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
        }
        self.reset()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        return super().url

    @property
    def url(self) -> str:
        """``WebClient(base_url=...)`` value; ends with ``/`` since slack_sdk appends the method."""
        return f"{self.base}{_API_PREFIX}"

    def response_url(self, id: str) -> str:
        """A ``response_url`` to put in command/action payloads; posts to it are recorded."""
        return f"{self.base}{_RESPONSE_URL_PREFIX}{id}"

    # -- scripting ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Return to a pristine state (calls, faults, registries, counters), keeping the port.

        Lets one server be shared across tests without leaking state between them.
        """
        self.clear_faults()
        with self._cond:
            self._log.clear()
            self._calls: list[Call] = []
            self._scripted: dict[str, deque[_Fault]] = {}
            self._users: dict[str, JSONDict] = {}
            self._usergroups: dict[str, JSONDict] = {}
            self._ts_counter = 0
            self._channels: dict[str, list[JSONDict]] = {}  # top-level messages per channel, oldest first
            self._threads: dict[tuple[str, str], list[JSONDict]] = {}  # replies per (channel, thread ts), oldest first
            self._view_counter = 0
            self.uploads: dict[str, bytes] = {}  # file id -> the bytes uploaded to its URL
            self.socket_url: str | None = None

    def add_user(
        self, id: str, email: str | None, name: str | None = None, is_bot: bool = False
    ) -> JSONDict:
        """Register a user for ``users.info`` / ``users.lookupByEmail`` / ``users.list``; returns it."""
        name = name or (email.split("@")[0] if email else id.lower())
        profile: JSONDict = {"real_name": name, "display_name": name}
        if email is not None:
            profile["email"] = email
        user: JSONDict = {
            "id": id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name,
            "deleted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "tz": "Etc/UTC",
            "profile": profile,
        }
        with self._cond:
            self._users[id] = user
        return user

    def add_usergroup(
        self, id: str, handle: str, name: str, users: list[str] | None = None
    ) -> JSONDict:
        """Register a user group for ``usergroups.list`` / ``usergroups.users.list``."""
        group: JSONDict = {
            "id": id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "name": name,
            "handle": handle,
            "description": "",
            "is_external": False,
            "date_delete": 0,
            "users": list(users or []),
            "user_count": len(users or []),
        }
        with self._cond:
            self._usergroups[id] = group
        return group

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        error: str | None = None,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail; queued faults apply in order.

        ``status=429`` answers like Slack's rate limiter (``Retry-After`` header, error
        ``ratelimited``); ``status=200`` with ``error=...`` is an ordinary API error such as
        ``channel_not_found``; ``status>=500`` defaults to ``fatal_error``.  Use
        ``method="response_url"`` to fail response_url posts (e.g. ``expired_url``).
        """
        if error is None:
            if status == 429:
                error = "ratelimited"
            elif status >= 500:
                error = "fatal_error"
            else:
                raise ValueError(f"fail_next({method!r}, status={status}) needs an error code")
        fault = _Fault(
            status=status,
            error=error,
            retry_after=retry_after if status == 429 else None,
            remaining=times,
        )
        with self._cond:
            self._scripted.setdefault(method, deque()).append(fault)

    # -- assertions --------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls in arrival order, optionally only those of ``method``."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def calls_since(self, start: int) -> list[Call]:
        """The calls recorded after the first `start`, in arrival order: a poller reads only what is new."""
        with self._cond:
            return self._calls[start:]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls of ``method`` were recorded; return all of them.

        Bolt runs listeners on worker threads, so tests wait on the call log rather than sleep.
        """
        with self._cond:
            done = self._cond.wait_for(
                lambda: sum(c.method == method for c in self._calls) >= count, timeout
            )
            matching = [c for c in self._calls if c.method == method]
            if not done:
                seen = [c.method for c in self._calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method!r} within {timeout}s, "
                    f"got {len(matching)}; calls seen: {seen}"
                )
            return matching

    def wait_until(self, predicate: Callable[[list[Call]], bool], timeout: float = 5.0) -> list[Call]:
        """Block until ``predicate`` holds for the recorded calls (say, a thread reply with some text); return them."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self._calls), timeout):
                raise AssertionError(f"condition not met within {timeout}s; calls seen: {[c.method for c in self._calls]}")
            return list(self._calls)

    # -- request handling (server threads, self._lock held) -----------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        """Record the call and pick the answer: scripted fault, canned response or 404."""
        path = request.path
        if path.startswith(_UPLOAD_PREFIX):  # a file's raw bytes (files_upload_v2 step 2): not a Web API call
            file_id = path.removeprefix(_UPLOAD_PREFIX)
            self.uploads[file_id] = request.body
            upload = {"file_id": file_id, "size": len(request.body), "png": request.body.startswith(b"\x89PNG")}
            self._calls.append(Call("file_upload", upload, None, request.headers, path))
            self._cond.notify_all()
            return Response(200, b"OK - " + str(len(request.body)).encode(), {"content-type": "text/plain"})
        if path.startswith(_API_PREFIX):
            method = path.removeprefix(_API_PREFIX)
        elif path.startswith(_RESPONSE_URL_PREFIX):
            method = "response_url"
        else:
            method = path
        headers = request.headers
        params = _parse_params(request.query, headers.get("content-type", ""), request.body)
        self._calls.append(Call(method, params or {}, _token(headers, params or {}), headers, path))
        self._cond.notify_all()
        fault = self._take_fault(method)
        if fault is not None:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return Response.of(fault.status, {"ok": False, "error": fault.error}, extra)
        if params is None:
            return Response.of(200, {"ok": False, "error": "invalid_json"})
        if method == "response_url":
            return Response.of(200, {"ok": True})
        if not path.startswith(_API_PREFIX):
            return Response.of(404, {"ok": False, "error": "not_found"})
        responder = self._responders.get(method)
        return Response.of(200, responder(params) if responder else {"ok": True})

    def error_body(self, status: int) -> Body:
        """Slack's envelope for injected ``fail()`` faults and errors in the fake itself."""
        return {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._scripted.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    def _next_ts(self) -> str:
        """``1700000000.000100``, ``.000200``...: unique, ordered message ts like Slack's."""
        self._ts_counter += 1
        micros = self._ts_counter * 100
        return f"{self._ts_base + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _message(self, params: JSONDict, ts: str) -> JSONDict:
        message: JSONDict = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text", ""),
            "ts": ts,
        }
        if "blocks" in params:
            message["blocks"] = _json_arg(params["blocks"])
        if "thread_ts" in params:
            message["thread_ts"] = params["thread_ts"]
        if "metadata" in params:
            message["metadata"] = _json_arg(params["metadata"])
        return message

    # -- canned responses (called with self._cond held) --------------------------------------

    def _auth_test(self, params: JSONDict) -> JSONDict:
        return {
            "ok": True,
            "url": "https://wayfinder-test.slack.com/",
            "team": "Wayfinder Test",
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JSONDict) -> JSONDict:
        ts = self._next_ts()
        message = self._message(params, ts)
        if "thread_ts" not in params:  # replies stay in their thread, out of conversations.history
            self._channels.setdefault(str(params.get("channel")), []).append(message)
        else:
            self._threads.setdefault((str(params.get("channel")), str(params["thread_ts"])), []).append(message)
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}

    def _chat_post_ephemeral(self, params: JSONDict) -> JSONDict:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, params: JSONDict) -> JSONDict:
        ts = params.get("ts") or self._next_ts()
        return {
            "ok": True,
            "channel": params.get("channel"),
            "ts": ts,
            "text": params.get("text", ""),
            "message": self._message(params, ts),
        }

    def _view(self, params: JSONDict) -> JSONDict:
        view = _json_arg(params.get("view"))
        view = dict(view) if isinstance(view, dict) else {}
        self._view_counter += 1
        view_id = params.get("view_id") or f"V{self._view_counter:08X}"
        view.update(
            id=view_id,
            team_id=TEAM_ID,
            app_id=APP_ID,
            bot_id=BOT_ID,
            state={"values": {}},
            hash=f"{_TS_BASE_SECONDS}.{self._view_counter:08x}",
        )
        view.setdefault("blocks", [])
        view.setdefault("private_metadata", "")
        view.setdefault("callback_id", "")
        return {"ok": True, "view": view}

    def _users_info(self, params: JSONDict) -> JSONDict:
        user = self._users.get(str(params.get("user")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _users_lookup_by_email(self, params: JSONDict) -> JSONDict:
        email = str(params.get("email", "")).lower()
        for user in self._users.values():
            if str(user["profile"].get("email", "")).lower() == email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _users_list(self, params: JSONDict) -> JSONDict:
        """Registered users in order, paged like Slack: opaque ``cursor``, ``next_cursor`` "" at the end."""
        try:
            start = int(base64.b64decode(str(params["cursor"])).decode().removeprefix("user:")) if params.get("cursor") else 0
        except (ValueError, binascii.Error):
            return {"ok": False, "error": "invalid_cursor"}
        users = list(self._users.values())
        limit = int(params.get("limit") or 0) or len(users)
        end = start + limit
        next_cursor = base64.b64encode(f"user:{end}".encode()).decode() if end < len(users) else ""
        return {
            "ok": True,
            "members": users[start:end],
            "cache_ts": _TS_BASE_SECONDS,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _usergroups_list(self, params: JSONDict) -> JSONDict:
        include_users = _truthy(params.get("include_users"))
        groups = [
            g if include_users else {k: v for k, v in g.items() if k != "users"}
            for g in self._usergroups.values()
        ]
        return {"ok": True, "usergroups": groups}

    def _usergroups_users_list(self, params: JSONDict) -> JSONDict:
        group = self._usergroups.get(str(params.get("usergroup")))
        if group is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(group["users"])}

    def _conversations_info(self, params: JSONDict) -> JSONDict:
        channel = str(params.get("channel", ""))
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": channel.lower(),
                "is_channel": True,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
                "context_team_id": TEAM_ID,
            },
        }

    def _conversations_history(self, params: JSONDict) -> JSONDict:
        """Newest first, after `oldest`, `limit` per page (the cursor is an offset); metadata only on request."""
        oldest = float(params.get("oldest") or 0)
        messages = [m for m in reversed(self._channels.get(str(params.get("channel")), [])) if float(m["ts"]) > oldest]
        return self._page(messages, params)

    @staticmethod
    def _page(messages: list[JSONDict], params: JSONDict) -> JSONDict:
        """One page of `messages` (the cursor is an offset), without their metadata unless `include_all_metadata`."""
        start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 100)
        page = messages[start : start + limit]
        if not _truthy(params.get("include_all_metadata")):
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(messages)
        return {"ok": True, "messages": page, "has_more": more, "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _conversations_replies(self, params: JSONDict) -> JSONDict:
        """The thread's parent (if posted here) then its replies, oldest first, `limit` per page; metadata only on request."""
        channel, ts = str(params.get("channel")), str(params.get("ts"))
        parent = [m for m in self._channels.get(channel, []) if m["ts"] == ts]
        messages = parent + self._threads.get((channel, ts), [])
        return self._page(messages, params)

    def _files_get_upload_url(self, params: JSONDict) -> JSONDict:
        file_id = f"F{len(self.uploads) + 1:08d}"
        self.uploads.setdefault(file_id, b"")
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base}{_UPLOAD_PREFIX}{file_id}"}

    def _files_complete_upload(self, params: JSONDict) -> JSONDict:
        files = _json_arg(params.get("files")) or []
        return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title"), "channels": [params.get("channel_id")]} for f in files]}

    def messages(self, channel: str) -> list[JSONDict]:
        """What was posted in `channel` (chat.postMessage), oldest first."""
        with self._cond:
            return list(self._channels.get(channel, []))

    def _apps_connections_open(self, params: JSONDict) -> JSONDict:
        return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": True}
