"""The replica drill: three `wayfinder serve` processes on one PostgreSQL behind a round-robin proxy.

Mixed Slack and webhook traffic arrives at a fixed rate while a big sync runs in another process;
a share of the deliveries is sent again to a different replica (Slack retrying, a balancer
resending); one replica is killed with SIGKILL and restarted. Every delivery has an effect the
fakes can see, named by something unique to it:

| kind        | sent as                                        | its effect, counted at the fake          |
| mention     | `app_mention`, its own `ts`                    | `chat.postMessage` in that thread        |
| dm          | `message.im`, its own DM channel               | `chat.postMessage` to that channel       |
| command     | `/wayfinder`, its own `response_url`           | a post to that response_url              |
| click       | a "Did you mean" button, its own response_url  | a post to that response_url              |
| alert       | a generic alert webhook, its own title         | one ownership card with that title       |
| push        | a GitHub push, its own repository              | a read of that repository's descriptor   |

Done twice: an effect seen more than once. Lost: a delivery that was acknowledged (2xx) whose
effect never came. A delivery that got no acknowledgement is sent again like Slack and GitHub do
(up to `ATTEMPTS` times), so it is lost only if every attempt failed. Approvals (issue 13) are not
built yet: add a kind to `KINDS` with its sender and its effect when they are.

`tests/test_replica_drill.py` runs a short form; `benchmarks/bench_replicas.py` the full one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.bench_catalog import percentile
from bot.slack.ids import ActionId
from bot.slack.metadata import AskValue
from tests.alert_payloads import CHANNEL, TOKEN, generic
from tests.drill.compose import REPO, replicas
from tests.drill.cpu import CpuTimes, cores_line
from tests.drill.proxy import UPSTREAM_HEADER, ProxyProcess, free_port
from tests.e2e.harness import BOT_TOKEN, SIGNING_SECRET, block_action, command_body, event_envelope, interaction_body, mention, signed_headers
from tests.fakes.github_api import FakeGitHub, webhook_signature
from tests.fakes.slack_api import Call, FakeSlackAPI

EXAMPLES = REPO / "catalog" / "examples" / "catalog"
GITHUB_TOKEN, GITHUB_SECRET = "ghs_drill_token", "whsec-drill"
# Share of each kind in the load (approvals: see the module docstring).
KINDS = {"mention": 0.3, "dm": 0.15, "command": 0.2, "click": 0.15, "alert": 0.17, "push": 0.03}
ATTEMPTS = 4  # Slack retries an unacknowledged event three times
SENDERS = 256  # threads sending the load: deliveries in flight at once, at most
RETRY_AFTER = 1.0  # seconds before a delivery that got no ack is sent again
QUESTIONS = ("who owns payments-service?", "who owns ledger-db?", "who is on call for checkout-web?", "what depends on ledger-db?")
ALERT_SERVICES = ("checkout-web", "payments-service", "ledger-db")


@dataclass
class Delivery:
    kind: str
    key: str  # what names its effect at the fake
    path: str
    body: str
    headers: dict[str, str]
    sent_at: float = 0.0
    acked_at: float | None = None
    acked_by: int | None = None  # the replica (index) that acknowledged it
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)
    reached: set[int] = field(default_factory=set)  # the replicas that received an attempt (or a redelivery)


@dataclass
class DrillReport:
    seconds: float
    rate: float
    entities: int
    sent: int
    redelivered: int
    acks_ms: list[float]
    answers_ms: list[float]
    twice: dict[str, int]  # key -> times its effect was seen, for the deliveries done more than once
    lost: list[str]
    in_flight: set[str]  # keys of deliveries the killed replica had received before the kill
    unacked: list[str]
    pickup_seconds: float | None
    killed_at: float
    restarted_at: float
    sync_seconds: float | None
    per_kind: Counter[str]
    machine: str  # `cores_line` over the load

    def lines(self) -> list[str]:
        def pct(values: list[float], p: float) -> str:
            return f"{percentile(values, p):.1f} ms" if values else "n/a"

        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.per_kind.items()))
        pickup = f"{self.pickup_seconds:.1f} s" if self.pickup_seconds is not None else "no work of the killed replica was in flight"
        sync = f"{self.sync_seconds:.1f} s" if self.sync_seconds is not None else "still running at the end"
        return [
            f"  sent                 {self.sent} deliveries in {self.seconds:.0f} s ({self.rate:.0f}/s: {kinds}), {self.redelivered} redelivered to another replica",
            f"  sync of {self.entities:,} entities  {sync}",
            f"  machine CPU          {self.machine}",
            f"  killed / restarted   replica 0 at {self.killed_at:.1f} s / {self.restarted_at:.1f} s",
            f"  ack p50 / p99        {pct(self.acks_ms, 50)} / {pct(self.acks_ms, 99)}   (goal p99 <= 100 ms)",
            f"  answer p50 / p95     {pct(self.answers_ms, 50)} / {pct(self.answers_ms, 95)}   (goal p95 <= 500 ms)",
            f"  done twice           {len(self.twice)}   (goal 0; {len(set(self.twice) & self.in_flight)} in flight on the killed replica) {list(self.twice)[:5] or ''}",
            f"  lost                 {len(self.lost)}   (goal 0; {len(set(self.lost) & self.in_flight)} of them in flight on the killed replica) {self.lost[:5] or ''}",
            f"  never acknowledged   {len(self.unacked)}   (every attempt failed) {self.unacked[:5] or ''}",
            f"  killed replica's work picked up after  {pickup}   (goal <= 120 s)",
        ]


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """An empty database on the PostgreSQL server, dropped afterwards."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"wf_drill_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_config(workdir: Path, github: FakeGitHub, bulk: Path) -> Path:
    """Northwind (the answers), a GitHub organisation (the pushes), the bulk catalog (the big sync) and alerts."""
    config = {
        "sources": [
            {"name": "northwind", "type": "backstage", "path": str(EXAMPLES)},
            {"name": "gh", "type": "github", "org": "acme", "token": GITHUB_TOKEN, "api_url": github.url, "webhook_secret": GITHUB_SECRET},
            {"name": "bulk", "type": "backstage", "path": str(bulk)},
        ],
        "alerts": {"channel": CHANNEL, "providers": {"generic": {"token": TOKEN}}},
    }
    path = workdir / "wayfinder.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def wayfinder_executable() -> str:
    """The `wayfinder` console script of this interpreter's environment (what the image puts on PATH)."""
    script = Path(sys.executable).parent / "wayfinder"
    return str(script) if script.exists() else "wayfinder"


class Replicas:
    """The compose file's first replica service, run `count` times as processes on loopback."""

    def __init__(self, count: int, env: dict[str, str], logs: Path) -> None:
        self.spec = replicas()[0]
        self.env, self.logs = env, logs
        self.ports = [free_port() for _ in range(count)]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * count

    def start(self, i: int) -> None:
        argv, env = self.spec.process(port=self.ports[i], changes=self.env)
        argv[0] = wayfinder_executable()
        log = (self.logs / f"replica-{i}.log").open("ab")
        path_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
        self.processes[i] = subprocess.Popen(argv, env={**path_env, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=self.logs)

    def wait_ready(self, i: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[i]
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"replica {i} exited {process.returncode}: {(self.logs / f'replica-{i}.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.urls[i]}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"replica {i} not ready after {timeout:.0f} s")

    def kill(self, i: int) -> None:
        process = self.processes[i]
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


class Traffic:
    """Builds each kind of delivery, unique by its key, and reads its effects off the fakes."""

    def __init__(self, slack: FakeSlackAPI, github: FakeGitHub, repos: list[str], seed: int) -> None:
        self.slack, self.github, self.repos = slack, github, iter(repos)
        self.random = random.Random(seed)
        self.n = 0
        self._listed = _organisation(github)
        # Effects count from here: the syncs before the load read every repository once.
        self._slack_read, self._github_read = len(slack.calls()), github.requests
        self._seen: Counter[str] = Counter()
        self._reading = threading.Lock()

    def make(self, kind: str) -> Delivery:
        self.n += 1
        n, question = self.n, self.random.choice(QUESTIONS)
        if kind in ("mention", "dm"):
            ts = f"1700000000.{n:06d}"
            channel = f"D{n:08d}" if kind == "dm" else "C0GENERAL"
            event = mention(question, ts=ts, channel=channel)
            if kind == "dm":
                event |= {"type": "message", "channel_type": "im", "text": question}
            body = json.dumps(event_envelope(event, event_id=f"EvDrill{n}"))
            return Delivery(kind, ts if kind == "mention" else channel, "/slack/events", body, {"Content-Type": "application/json"})
        if kind == "command":
            body = command_body(question, response_url=self.slack.response_url(f"cmd-{n}"))
            return Delivery(kind, f"cmd-{n}", "/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if kind == "click":
            value = AskValue(question=question, ref="component:default/payments-service", intent="owner").model_dump_json()
            body = interaction_body(block_action(ActionId.DID_YOU_MEAN, value, response_url=self.slack.response_url(f"click-{n}")))
            return Delivery(kind, f"click-{n}", "/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if kind == "alert":
            title = f"Drill alert {n:06d}"
            body = generic(f"drill-{n}", "triggered", service=self.random.choice(ALERT_SERVICES), title=title).decode()
            return Delivery(kind, title, "/webhooks/alerts/generic", body, {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
        repo = next(self.repos)
        push = {"ref": "refs/heads/main", "before": "0" * 40, "after": "1" * 40, "repository": {**self._listed[repo], "pushed_at": int(time.time())}}
        body = json.dumps(push | {"pusher": {"name": "drill"}})
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4())}
        headers["X-Hub-Signature-256"] = webhook_signature(GITHUB_SECRET, body)
        return Delivery(kind, repo, "/webhooks/github", body, headers)

    def effects(self) -> Counter[str]:
        """How often each key's effect was seen."""
        with self._reading:
            self._read_new()
            return Counter(self._seen)

    def new_effects(self) -> list[str]:
        """The keys whose first effect arrived since the last read."""
        with self._reading:
            return self._read_new()

    def _read_new(self) -> list[str]:
        """Count the calls since the last read, and only those: the watcher polls this every 20 ms
        in the process that also sends the load and times its acks."""
        calls = self.slack.calls_since(self._slack_read)
        requests = self.github.log_since(self._github_read)
        self._slack_read += len(calls)
        self._github_read += len(requests)
        keys = [_effect_key(call) for call in calls]
        keys += [r.path.split("/")[3] for r in requests if r.path.endswith("/contents/catalog-info.yaml") and "/repos/acme/drill-" in r.path]
        first = []
        for key in filter(None, keys):
            if key not in self._seen:
                first.append(key)
            self._seen[key] += 1
        return first


def _effect_key(call: Call) -> str | None:
    """The delivery key a Slack call is the effect of, if any (see the module docstring's table)."""
    if call.method == "response_url":
        return call.path.rsplit("/", 1)[-1]
    if call.method != "chat.postMessage":
        return None
    params = call.params
    if params.get("thread_ts"):
        return str(params["thread_ts"])
    if str(params.get("channel", "")).startswith("D"):
        return str(params["channel"])
    blocks = json.dumps(params.get("blocks")) + str(params.get("text", ""))
    at = blocks.find("Drill alert ")
    return blocks[at : at + 18] if at >= 0 else None


class EffectClock:
    """When each key's effect first reached a fake (polled), for answer latency and pick-up time."""

    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic
        self.first: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="drill-effects", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            now = time.perf_counter()
            for key in self.traffic.new_effects():
                self.first.setdefault(key, now)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class SenderClients:
    """An HTTP client per sender thread. One client shared by the 256 senders queued them all on its
    connection pool's lock, held while the pool scans every connection it keeps: time the acks
    measured as if the replicas had taken it, and the more requests were in flight, the longer.

    The clients share one TLS context (unused over loopback HTTP): each would build its own,
    27 ms of CPU per client.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._made: list[httpx.Client] = []
        self._making = threading.Lock()
        self._tls = ssl.create_default_context()

    def mine(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(timeout=30, verify=self._tls)
            with self._making:
                self._made.append(client)
        return client

    def close(self) -> None:
        for client in self._made:
            client.close()


def warm_up(pool: ThreadPoolExecutor, clients: SenderClients, proxy: str, replicas: int) -> None:
    """Start the load's own machinery before it is timed: every sender thread with its client, and
    the proxy's path to each replica (health checks, not deliveries: the replicas stay as started).
    In the first half second of a cold drill, 14 acks took over 100 ms while the drill's process
    started its threads and clients and the proxy served its first requests, at twice their
    steady CPU each, on the same two cores as the replicas."""
    together = threading.Barrier(SENDERS)

    def start_sender(_: int) -> None:
        clients.mine()
        together.wait(timeout=60)  # every thread is started: none is free until all are

    list(pool.map(start_sender, range(SENDERS)))
    for _ in range(3 * replicas):
        clients.mine().get(f"{proxy}/livez")


def send(http: httpx.Client, base: str, delivery: Delivery) -> httpx.Response | None:
    headers = dict(delivery.headers)
    if delivery.path == "/slack/events":
        headers |= signed_headers(delivery.body, headers["Content-Type"], secret=SIGNING_SECRET)
        if delivery.attempts > 1:
            headers |= {"X-Slack-Retry-Num": str(delivery.attempts - 1), "X-Slack-Retry-Reason": "http_error"}
    try:
        return http.post(base + delivery.path, content=delivery.body, headers=headers)
    except httpx.HTTPError:
        return None


def deliver(clients: SenderClients, proxy: str, replica_urls: list[str], delivery: Delivery, redeliver: bool, redelivered: list[int]) -> None:
    """Send through the proxy until acknowledged (or `ATTEMPTS` failed); maybe send again to another replica."""
    http = clients.mine()
    while delivery.attempts < ATTEMPTS and delivery.acked_at is None:
        delivery.attempts += 1
        started = time.perf_counter()
        delivery.sent_at = delivery.sent_at or started
        response = send(http, proxy, delivery)
        delivery.statuses.append(response.status_code if response is not None else 0)
        if response is not None and int(response.headers.get(UPSTREAM_HEADER, "-1")) >= 0:
            delivery.reached.add(int(response.headers[UPSTREAM_HEADER]))
        if response is not None and 200 <= response.status_code < 300:
            delivery.acked_at = time.perf_counter()
            delivery.acked_by = int(response.headers.get(UPSTREAM_HEADER, "-1"))
            break
        time.sleep(RETRY_AFTER * delivery.attempts)  # Slack's retry (and GitHub's "Redeliver"), not a test waiting for a result
    if redeliver and delivery.acked_by is not None:
        other = random.choice([i for i in range(len(replica_urls)) if i != delivery.acked_by])
        delivery.reached.add(other)
        send(http, replica_urls[other], delivery)
        redelivered.append(1)


def run_drill(
    server_url: str,
    *,
    seconds: float,
    rate: float,
    entities: int,
    replica_count: int = 3,
    redeliver_share: float = 0.2,
    settle_seconds: float = 150.0,
    seed: int = 16,
    workdir: Path | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> DrillReport:
    """The drill against a throwaway database on `server_url`; see the module docstring."""
    from benchmarks.generate import write_catalog

    rng = random.Random(seed)
    pushes = int(seconds * rate * KINDS["push"] * 2) + 10
    with ExitStack() as stack:
        work = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wayfinder-drill-")))
        database = stack.enter_context(throwaway_database(server_url))
        # Real-time message ts: a replica that takes over an alert card looks for it with `oldest` = its real posting time.
        slack = stack.enter_context(FakeSlackAPI(ts_base=int(time.time())))
        github = stack.enter_context(FakeGitHub(org="acme", token=GITHUB_TOKEN))
        repos = github.bulk_add_repos(pushes, name_format="drill-{i:05d}", files=lambda name: {"catalog-info.yaml": _component(name)})
        bulk = work / "bulk"
        write_catalog(bulk, entities, seed=seed, per_file=500)
        config = write_config(work, github, bulk)
        env = {"DATABASE_URL": database, "WAYFINDER_CONFIG": str(config), "SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "WAYFINDER_PUBLIC_URL": "http://wayfinder.drill"}  # fmt: skip
        cli = {**env, "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
        progress("migrating and syncing the answers' sources")
        for source in ("northwind", "gh"):
            subprocess.run([wayfinder_executable(), "sync", "--source", source], env=cli, cwd=work, check=True, capture_output=True)
        fleet = Replicas(replica_count, env, work)
        stack.callback(fleet.stop_all)
        for i in range(replica_count):
            fleet.start(i)
        for i in range(replica_count):
            fleet.wait_ready(i)
        proxy = ProxyProcess(fleet.urls).start()
        stack.callback(proxy.stop)
        progress(f"{replica_count} replicas ready; load for {seconds:.0f} s")

        traffic = Traffic(slack, github, repos, seed)
        clock = EffectClock(traffic)
        clients = SenderClients()
        stack.callback(clients.close)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="drill-sender"))
        warm_up(pool, clients, proxy.url, replica_count)
        deliveries: list[Delivery] = []
        redelivered: list[int] = []
        kinds, weights = list(KINDS), list(KINDS.values())
        start, cpu_at_start = time.perf_counter(), CpuTimes.read()
        sync = subprocess.Popen([wayfinder_executable(), "sync", "--source", "bulk"], env=cli, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_at, restart_at = seconds / 3, seconds / 2
        killed_at = restarted_at = -1.0
        sync_seconds: float | None = None
        futures = []
        i = 0
        while (elapsed := time.perf_counter() - start) < seconds:
            if killed_at < 0 and elapsed >= kill_at:
                fleet.kill(0)
                killed_at = elapsed
                progress(f"killed replica 0 at {elapsed:.1f} s")
            if restarted_at < 0 and elapsed >= restart_at:
                fleet.start(0)
                restarted_at = elapsed
                progress(f"restarting replica 0 at {elapsed:.1f} s")
            if sync_seconds is None and sync.poll() is not None:
                sync_seconds = elapsed
            delivery = traffic.make(rng.choices(kinds, weights)[0])
            deliveries.append(delivery)
            futures.append(pool.submit(deliver, clients, proxy.url, fleet.urls, delivery, rng.random() < redeliver_share, redelivered))
            i += 1
            time.sleep(max(0.0, start + i / rate - time.perf_counter()))
        machine = cores_line(cpu_at_start, CpuTimes.read(), time.perf_counter() - start)
        for future in futures:
            future.result()
        fleet.wait_ready(0)
        progress(f"load done; waiting up to {settle_seconds:.0f} s for every acknowledged delivery's effect")
        deadline = time.perf_counter() + settle_seconds
        acked = [d for d in deliveries if d.acked_at is not None]
        while time.perf_counter() < deadline and any(d.key not in clock.first for d in acked):
            time.sleep(0.2)
        if sync.poll() is None:
            sync.wait()
        sync_seconds = sync_seconds if sync_seconds is not None else time.perf_counter() - start
        clock.stop()
        seen = traffic.effects()

    kill_time = start + killed_at
    in_flight = [d for d in acked if d.acked_by == 0 and d.acked_at is not None and d.acked_at <= kill_time and clock.first.get(d.key, 0) > kill_time]
    pickup = max((clock.first[d.key] - kill_time for d in in_flight), default=None)
    answered = [d for d in acked if d.kind in ("mention", "dm", "command", "click") and d.key in clock.first]
    return DrillReport(
        seconds=seconds, rate=rate, entities=entities, sent=len(deliveries), redelivered=len(redelivered),
        acks_ms=[(d.acked_at - d.sent_at) * 1000 for d in acked if d.attempts == 1 and d.acked_at is not None],
        answers_ms=[(clock.first[d.key] - d.sent_at) * 1000 for d in answered if d.attempts == 1],
        twice={d.key: seen[d.key] for d in deliveries if seen[d.key] > 1},
        lost=[d.key for d in acked if seen[d.key] == 0],
        in_flight={d.key for d in deliveries if 0 in d.reached and d.sent_at <= kill_time},
        unacked=[f"{d.kind} {d.key} {d.statuses}" for d in deliveries if d.acked_at is None],
        pickup_seconds=pickup, killed_at=killed_at, restarted_at=restarted_at, sync_seconds=sync_seconds,
        per_kind=Counter(d.kind for d in deliveries), machine=machine,
    )  # fmt: skip


def _organisation(github: FakeGitHub) -> dict[str, dict[str, Any]]:
    """Every repository as the organisation listing shows it (what a push event carries)."""
    found: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=github.url, headers={"Authorization": f"Bearer {GITHUB_TOKEN}"}) as client:
        for page in range(1, 1000):
            listed = client.get("/orgs/acme/repos", params={"per_page": 100, "page": page}).json()
            found |= {repo["name"]: repo for repo in listed}
            if len(listed) < 100:
                return found
    return found


def _component(name: str) -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-drill\n"
