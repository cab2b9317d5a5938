"""The deployment files: a multi-stage, non-root image that runs `wayfinder serve` with health
checks, and a compose file with PostgreSQL, two replicas and a round-robin proxy, whose replica
command and environment are what the replica drill (`tests/drill`) runs as processes."""

from __future__ import annotations

import re
from collections import Counter

from bot.settings import Settings
from tests.drill.compose import COMPOSE, LOOPBACK_CHANGES, REPO, load_compose, replicas
from tests.drill.proxy import RoundRobinProxy

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def test_the_image_is_multi_stage_non_root_and_serves_with_a_liveness_check() -> None:
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", DOCKERFILE, re.MULTILINE | re.IGNORECASE)
    assert len(stages) >= 2 and stages[0][1], "a named build stage, then the runtime stage"
    assert re.search(r"^COPY --from=" + stages[0][1] + r"\b", DOCKERFILE, re.MULTILINE), "the runtime copies only the build's output"
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/livez", DOCKERFILE, re.MULTILINE)
    assert '["wayfinder", "serve", "--host", "0.0.0.0", "--port", "3000"]' in DOCKERFILE


def test_compose_runs_two_replicas_of_the_image_command_on_postgresql_behind_a_proxy() -> None:
    compose = load_compose()
    services = compose["services"]
    found = replicas(compose)
    assert len(found) >= 2
    assert all(r.command == found[0].command == ["wayfinder", "serve", "--host", "0.0.0.0", "--port", "3000"] for r in found)
    assert all(r.environment == found[0].environment for r in found), "replicas differ only in name"
    assert found[0].environment["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in found[0].environment["DATABASE_URL"]
    assert services["postgres"]["image"].startswith("postgres:")
    for r in found:
        assert services[r.service]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(services[r.service]["healthcheck"]["test"])
    proxy = services["proxy"]
    conf = (COMPOSE.parent / proxy["volumes"][0].split(":")[0]).read_text(encoding="utf-8")
    upstreams = re.findall(r"^\s*server\s+([\w-]+):3000", conf, re.MULTILINE)
    assert sorted(upstreams) == sorted(r.service for r in found), "the proxy balances over every replica"


def test_the_replica_environment_names_only_settings_wayfinder_reads() -> None:
    """A misspelt variable in compose.yaml would be ignored silently by the replicas."""
    [first, *_] = replicas()
    fields = Settings.model_fields
    known = {f"WAYFINDER_{name.upper()}" for name in fields} | {
        str(alias) for f in fields.values() for alias in getattr(f.validation_alias, "choices", [f.validation_alias]) if alias
    }
    assert set(first.environment) <= known, set(first.environment) - known
    assert set(LOOPBACK_CHANGES) <= known


def test_the_drill_changes_only_where_to_listen_and_what_to_talk_to() -> None:
    [first, *_] = replicas(variables={"POSTGRES_PASSWORD": "pw"})
    argv, env = first.process(port=4101, changes={"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5544/drill"})
    assert argv == ["wayfinder", "serve", "--host", "127.0.0.1", "--port", "4101"]
    assert {k: v for k, v in env.items() if k != "DATABASE_URL"} == {k: v for k, v in first.environment.items() if k != "DATABASE_URL"}


def test_the_drills_proxy_leaves_a_refusing_replica_out_for_nginxs_fail_timeout() -> None:
    """`deploy/nginx.conf` (`max_fails=1 fail_timeout=10s`): after a refused connection, nginx sends that replica
    nothing for 10 s and shares its requests evenly among the others; the drill's stand-in must do the same,
    or the replica after a restarting one takes two shares and the drill measures the proxy, not the replicas."""
    conf = (COMPOSE.parent / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "max_fails=1 fail_timeout=10s" in conf
    now = [0.0]
    proxy = RoundRobinProxy(["http://a", "http://b", "http://c"], fail_timeout=10.0, clock=lambda: now[0])
    assert [proxy.order()[0] for _ in range(6)] == [0, 1, 2, 0, 1, 2]

    proxy.refused(0)
    now[0] = 9.9
    orders = [proxy.order() for _ in range(6)]
    assert Counter(order[0] for order in orders) == {1: 3, 2: 3}
    assert all(order[-1] == 0 for order in orders)  # still tried when both others refuse

    now[0] = 10.0
    assert {proxy.order()[0] for _ in range(3)} == {0, 1, 2}
