"""`wayfinder serve --workers N`: N processes on one port, supervised, each a replica on the same database.

Which worker answered is read from Linux's `/proc` (the worker process holding the server side of
the test's TCP connection), so the server needs no header or endpoint that reveals its pids.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as ws_serve

from catalog.core import Catalog
from catalog.store.models import QuestionLog
from tests.cli import Served, serving
from tests.conftest import REPO
from tests.e2e.harness import BOT_TOKEN, PUBLIC_URL, SIGNING_SECRET, event_envelope, mention, signed_headers
from tests.fakes.slack_api import APP_ID, FakeSlackAPI

pytestmark = pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="reads which worker answered from Linux /proc")

PAGE = "/o/component/default/payments-service"
QUESTION = "who+owns+ledger-db"


def logged(catalog: Catalog, question: str) -> int:
    with catalog.session() as session:
        return int(session.execute(select(func.count()).select_from(QuestionLog).where(col(QuestionLog.question) == question)).scalar_one())


def workers_of(served: Served) -> set[int]:
    pid = served.process.pid
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def answered_by(connection: http.client.HTTPConnection, workers: set[int]) -> int:
    """The worker holding the server side of `connection` (found by its socket inode in /proc)."""
    assert connection.sock is not None
    client_port = connection.sock.getsockname()[1]
    server_port = connection.sock.getpeername()[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        if (local, remote) == (server_port, client_port):
            inodes.add(f"socket:[{fields[9]}]")
    for pid in workers:
        if inodes & _open_files(pid):
            return pid
    raise AssertionError(f"no worker of {workers} holds the connection from port {client_port}")


def _open_files(pid: int) -> set[str]:
    """What `pid`'s file descriptors point at; one closed while they are listed (the worker is busy) is skipped."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found.add(os.readlink(fd))
    return found


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


@contextmanager
def connections_to_each(served: Served) -> Iterator[dict[int, http.client.HTTPConnection]]:
    """A kept-alive connection answered by each worker: new connections until every worker has accepted one."""
    workers = workers_of(served)
    port = int(served.url.rsplit(":", 1)[1])
    pinned: dict[int, http.client.HTTPConnection] = {}
    try:
        for _ in range(300):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            assert get(connection, "/livez")[0] == 200
            pid = answered_by(connection, workers)
            if pid in pinned:
                connection.close()
            else:
                pinned[pid] = connection
            if set(pinned) == workers:
                break
        assert set(pinned) == workers, f"only {set(pinned)} of {workers} accepted any of 300 connections"
        yield pinned
    finally:
        for connection in pinned.values():
            connection.close()


@contextmanager
def serving_workers(database_url: str, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`serve --workers 2`; workers still alive afterwards (a failed test) are killed with their supervisor."""
    with serving({"DATABASE_URL": database_url, **(env or {})}, cwd=REPO, args=["--workers", "2", *args]) as served:
        workers = set()
        try:
            workers = workers_of(served)
            yield served
        finally:
            for pid in workers | (workers_of(served) if served.process.poll() is None else set()):
                if Path(f"/proc/{pid}").exists():
                    os.kill(pid, signal.SIGKILL)


def test_two_workers_serve_pages_restart_a_killed_worker_and_stop_cleanly(example_catalog: Catalog) -> None:
    with serving_workers(example_catalog.database_url, "--scheduler") as served:
        first = workers_of(served)
        assert len(first) == 2
        with connections_to_each(served) as pinned:  # both workers answer requests on the one port
            for connection in pinned.values():
                status, page = get(connection, PAGE)
                assert status == 200 and b"payments-service" in page

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len(workers_of(served) - {victim}) < 2:  # the supervisor forks a replacement
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.05)
        replaced = workers_of(served)
        assert victim not in replaced and len(replaced) == 2
        with connections_to_each(served) as pinned:  # the replacement serves too
            assert set(pinned) == replaced
            for connection in pinned.values():  # its rows wait in the worker's buffer for up to half a second
                assert get(connection, f"/api/v1/ask?q={QUESTION}")[0] == 200

        output = served.stop(timeout=60)
        assert served.process.returncode == 0, output
        assert not any(Path(f"/proc/{pid}").exists() for pid in replaced | first), "a worker outlived `serve`"
    assert logged(example_catalog, QUESTION.replace("+", " ")) == 2, output  # a stopping worker writes what it buffered (it ends with os._exit)
    assert re.search(rf"worker [01] \(pid {victim}\) exited with code -9; restarting it", output)
    primary_starts = output.count("worker 0 started")  # twice when the victim was worker 0
    assert output.count("Scheduled syncs:") == primary_starts == output.count("Wayfinder is serving on") > 0  # the first worker only


def test_workers_stop_when_their_supervisor_is_killed_with_9(example_catalog: Catalog) -> None:
    with serving_workers(example_catalog.database_url) as served:
        workers = workers_of(served)
        assert len(workers) == 2
        served.process.kill()
        served.process.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers):  # SIGTERM from the kernel, then uvicorn's graceful stop
            assert time.monotonic() < deadline, "a worker outlived its supervisor"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_a_slack_event_delivered_to_both_workers_is_answered_once(example_catalog: Catalog, fake_slack: FakeSlackAPI) -> None:
    slack = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.url, "WAYFINDER_PUBLIC_URL": PUBLIC_URL}
    with serving_workers(example_catalog.database_url, env=slack) as served, connections_to_each(served) as pinned:
        first, second = pinned.values()

        def deliver(connection: http.client.HTTPConnection, event_id: str, ts: str, retry: int = 0) -> None:
            body = json.dumps(event_envelope(mention("who owns payments-service?", ts=ts), event_id=event_id))
            headers = signed_headers(body, "application/json") | ({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {})
            connection.request("POST", "/slack/events", body=body, headers=headers)
            response = connection.getresponse()
            assert response.status == 200, response.read()
            response.read()

        deliver(first, "EvTwice", "1700000030.000100")
        fake_slack.wait_for("chat.postMessage", timeout=30)
        deliver(second, "EvTwice", "1700000030.000100", retry=1)  # Slack's retry lands on the other worker
        status, metrics = get(second, "/metrics")
        assert b'wayfinder_duplicate_deliveries_dropped_total{origin="slack"} 1.0' in metrics  # dropped at its claim
        deliver(second, "EvOther", "1700000030.000200")  # the other worker does answer new events

        posts = fake_slack.wait_for("chat.postMessage", count=2, timeout=30)
        assert [post.params["thread_ts"] for post in posts] == ["1700000030.000100", "1700000030.000200"]


def test_socket_mode_connects_from_the_first_worker_only(example_catalog: Catalog, fake_slack: FakeSlackAPI) -> None:
    """Slack sends each Socket Mode event to one connection: one connection per `serve`, whatever `--workers`."""

    def slack_side(ws: ServerConnection) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}}))
        for _ in ws:
            pass

    with ws_serve(slack_side, "127.0.0.1", 0) as ws_server:
        threading.Thread(target=ws_server.serve_forever, daemon=True).start()
        fake_slack.socket_url = f"ws://127.0.0.1:{ws_server.socket.getsockname()[1]}/link/?ticket=test"
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-test", "SLACK_API_URL": fake_slack.url}
        with serving_workers(example_catalog.database_url, "--socket", env=env) as served, connections_to_each(served) as pinned:
            assert len(pinned) == 2  # both workers have started (connecting comes first), and only the first connected
            assert len(fake_slack.wait_for("apps.connections.open", timeout=30)) == 1
        ws_server.shutdown()


def test_a_worker_that_cannot_start_stops_serve_with_its_error(example_catalog: Catalog, fake_slack: FakeSlackAPI) -> None:
    """A rejected token fails every restart alike: `serve` stops as it does without workers, not restarting forever."""
    fake_slack.fail_next("auth.test", 200, error="invalid_auth")  # the first worker to ask is refused
    marker = f"WF_TEST_SERVE={uuid.uuid4().hex}"  # in the environment of every process `serve` starts
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WAYFINDER_", "DATABASE_URL"))} | dict([marker.split("=")])
    env |= {"DATABASE_URL": example_catalog.database_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.url}
    command = [sys.executable, "-c", "from bot.cli.main import main; main()", "serve", "--port", "0", "--workers", "2", "--no-scheduler"]

    ended = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    assert ended.returncode == 2, ended.stderr
    assert "error: cannot start the Slack app: check SLACK_BOT_TOKEN and SLACK_API_URL" in ended.stderr and BOT_TOKEN not in ended.stderr
    assert "could not start (its error is above); stopped every worker" in ended.stderr
    assert not [p for p in Path("/proc").glob("[0-9]*") if marker.encode() in _environ(p)], "a worker outlived `serve`"


def _environ(process: Path) -> bytes:
    try:
        return (process / "environ").read_bytes()
    except OSError:  # gone meanwhile, or not ours
        return b""
