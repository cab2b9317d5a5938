"""Scorecards as code: the config's errors name file and line, each operator does what it says,
levels need every rule of them and below, and the results are kept per entity, rule and day.

Why: a scorecard that passes a service for the wrong reason teaches teams to ignore it, and
history that has to be recomputed cannot say what changed since last week.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from catalog.config import Config, load_config
from catalog.core import Catalog
from catalog.errors import ConfigError
from catalog.scorecards.checks import Compiled, Facts, compile_check
from catalog.scorecards.config import Check, ScorecardConfig
from catalog.scorecards.models import GONE, ScorecardAlert, ScorecardResult
from tests.helpers import component, group

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # a Monday


def _errors(body: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "wayfinder.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return [line.removeprefix(f"{path}:") for line in str(raised.value).splitlines()]


def test_config_errors_name_the_line_and_key(tmp_path: Path) -> None:
    body = """\
scorecards:
  - id: readiness
    title: Readiness
    levels: [Bronze, Silver]
    rules:
      - {id: a, level: Bronze, check: {field: owner, op: exists}, fix: "x"}
      - {id: b, level: Gold, check: {annotation: x, op: exists}, fix: "x"}
      - {id: c, level: Bronze, check: {label: tier, op: in, value: tier-1}, fix: "x"}
      - {id: d, level: Bronze, check: {field: colour, op: exists}, fix: "x"}
      - {id: e, level: Bronze, check: {spec: x, op: matches, value: "("}, fix: "x"}
      - {id: f, level: Bronze, check: {tag: x, label: y}, fix: "x", fixx: "y"}
initiatives:
  - {id: q1, scorecard: nope, target_level: Silver, deadline: 2027-03-31}
digests:
  timezone: Mars/Olympus
"""
    errors = _errors(body, tmp_path)
    joined = "\n".join(errors)
    assert "8: scorecards.0.rules.2.check: op 'in' needs a list value" in joined
    assert "9: scorecards.0.rules.3.check: unknown field 'colour'" in joined
    assert "10: scorecards.0.rules.4.check: not a regular expression" in joined
    assert "11: scorecards.0.rules.5.check: a check names exactly one of" in joined
    assert "11: scorecards.0.rules.5.fixx: unknown key 'fixx' (did you mean 'fix'?)" in joined
    assert "15: digests.timezone: unknown time zone 'Mars/Olympus'" in joined


def test_an_initiative_names_a_known_scorecard_and_level(tmp_path: Path) -> None:
    body = """\
scorecards:
  - {id: r, title: R, levels: [Bronze], rules: [{id: a, level: Bronze, check: {field: owner}, fix: x}]}
initiatives:
  - {id: q1, scorecard: r, target_level: Gold, deadline: 2027-03-31}
"""
    assert _errors(body, tmp_path) == ["3: initiatives: scorecard 'r' has no level 'Gold' (levels: Bronze)"]


def _entity(**facts: Any) -> SimpleNamespace:
    base: dict[str, Any] = dict(
        kind="component", type="service", lifecycle="production", name="svc", namespace="default", title=None, description=None,
        owner_ref="group:default/team-a", system_ref=None, location=None, labels={}, annotations={}, tags=[], links=[], spec={}, ref="component:default/svc",
    )  # fmt: skip
    return SimpleNamespace(**(base | facts))


def _passes(check: dict[str, Any], entity: SimpleNamespace, relations: dict[str, int] | None = None, synced_at: datetime | None = NOW) -> bool:
    return compile_check(Check.model_validate(check), now=NOW)(Facts(entity, relations or {}, synced_at))


@pytest.mark.parametrize(
    ("check", "facts", "expected"),
    [
        ({"field": "owner", "op": "exists"}, {}, True),
        ({"field": "owner", "op": "exists"}, {"owner_ref": None}, False),
        ({"field": "lifecycle", "op": "equals", "value": "Production"}, {}, True),
        ({"field": "lifecycle", "op": "in", "value": ["experimental", "deprecated"]}, {}, False),
        ({"label": "tier", "op": "in", "value": ["1", "2"]}, {"labels": {"tier": "2"}}, True),
        ({"label": "tier", "op": ">=", "value": 2}, {"labels": {"tier": "1"}}, False),
        ({"label": "tier", "op": "<=", "value": 2}, {"labels": {"tier": "1"}}, True),
        ({"label": "tier", "op": "<=", "value": 2}, {"labels": {"tier": "gold"}}, False),
        ({"annotation": "pagerduty.com/service-id", "op": "exists"}, {"annotations": {"pagerduty.com/service-id": "P1"}}, True),
        ({"annotation": "pagerduty.com/service-id", "op": "exists"}, {"annotations": {"pagerduty.com/service-id": ""}}, False),
        ({"annotation": "github.com/project-slug", "op": "matches", "value": "^northwind/"}, {"annotations": {"github.com/project-slug": "acme/x"}}, False),
        ({"tag": "Tier-1", "op": "exists"}, {"tags": ["tier-1"]}, True),
        ({"tag": "tier-1", "op": "exists"}, {"tags": ["tier-2"]}, False),
        ({"link_type": "runbook", "op": "exists"}, {"links": [{"url": "https://r", "type": "runbook"}]}, True),
        ({"link_type": "runbook", "op": "exists"}, {"links": [{"url": "https://r", "type": "docs"}]}, False),
        ({"link_type": "runbook", "op": "matches", "value": "^https://wiki"}, {"links": [{"url": "https://r", "type": "runbook"}]}, False),
        ({"spec": "profile.email", "op": "matches", "value": "@northwind"}, {"spec": {"profile": {"email": "a@northwind.example"}}}, True),
        ({"spec": "profile.email", "op": "exists"}, {"spec": {"profile": "nope"}}, False),
        ({"spec": "replicas", "op": ">=", "value": 3}, {"spec": {"replicas": 3}}, True),
    ],
)
def test_each_operator(check: dict[str, Any], facts: dict[str, Any], expected: bool) -> None:
    assert _passes(check, _entity(**facts)) is expected


def test_relation_counts_and_freshness() -> None:
    entity = _entity()
    assert _passes({"relation": "dependsOn", "op": "exists"}, entity, {"dependsOn": 1})
    assert not _passes({"relation": "dependsOn", "op": "exists"}, entity, {})
    assert _passes({"relation": "dependsOn", "op": "<=", "value": 3}, entity, {"dependsOn": 3})
    assert not _passes({"relation": "dependsOn", "op": "equals", "value": 2}, entity, {"dependsOn": 3})
    assert _passes({"synced_within": "7d"}, entity, synced_at=NOW - timedelta(days=6))
    assert not _passes({"synced_within": "7d"}, entity, synced_at=NOW - timedelta(days=8))
    assert not _passes({"synced_within": "7d"}, entity, synced_at=None)  # a failing source or a broken file


def test_a_level_needs_every_rule_of_it_and_below() -> None:
    config = ScorecardConfig.model_validate({
        "id": "r", "title": "R", "levels": ["Bronze", "Silver", "Gold"],
        "rules": [
            {"id": "owner", "level": "Bronze", "check": {"field": "owner"}, "fix": "x"},
            {"id": "oncall", "level": "Silver", "check": {"annotation": "pd"}, "fix": "x"},
            {"id": "docs", "level": "Gold", "check": {"tag": "docs"}, "fix": "x"},
        ],
    })  # fmt: skip
    compiled = Compiled.of([config, config.model_copy(update={"id": "r2"})], now=NOW)
    assert len(compiled.checks) == 3  # the second scorecard's rules reuse the first one's checks
    card = compiled.cards[0]

    def level(exempt: frozenset[str] = frozenset(), **facts: Any) -> tuple[int, list[str]]:
        found, failing = card.evaluate(compiled.run_checks(Facts(_entity(**facts), {}, NOW)), exempt or None)
        return found, failing.split(",") if failing else []

    assert level(annotations={"pd": "P"}, tags=["docs"]) == (3, [])
    assert level(tags=["docs"]) == (1, ["oncall"])  # Gold's rule passing does not lift it past Silver
    assert level(owner_ref=None, annotations={"pd": "P"}, tags=["docs"]) == (0, ["owner"])
    assert level(frozenset({"oncall"}), tags=["docs"]) == (3, [])  # an approved exemption


def _results(catalog: Catalog, day: date) -> dict[tuple[str, str], tuple[int, list[str]]]:
    """Each (scorecard, entity)'s result as of `day`: its last recorded change on or before that day."""
    with catalog.session() as s:
        rows = s.scalars(select(ScorecardResult).where(col(ScorecardResult.day) <= day).order_by(col(ScorecardResult.day)))
        found = {(r.scorecard, r.entity_ref): (r.level, r.failing.split(",") if r.failing else []) for r in rows}
    return {key: value for key, value in found.items() if value[0] != GONE}


def test_the_example_organisation(example_catalog: Catalog) -> None:
    """The bundled scorecards over the bundled organisation: each service where its descriptor puts it."""
    report = example_catalog.evaluate_scorecards(now=datetime.now(UTC))  # the sync evaluated already: nothing changed since
    assert report.changed == 0
    results = _results(example_catalog, report.day)
    # payment-gateway has an owner, PagerDuty, a runbook and TechDocs, and was just synced.
    assert results["production-readiness", "component:default/payment-gateway"] == (3, [])
    # The simulator is experimental: production readiness does not apply to it; maturity does.
    assert ("production-readiness", "component:default/payment-gateway-simulator") not in results
    assert results["service-maturity", "component:default/payment-gateway-simulator"][0] >= 1
    # Nothing changed since the sync's evaluation: every entity's inputs are as they were, so none is evaluated again.
    assert report.results == 0 and report.unchanged >= len({ref for _, ref in results})
    # Eight days without a sync: the data is no longer fresh, and Gold is lost.
    later = example_catalog.evaluate_scorecards(now=datetime.now(UTC) + timedelta(days=8))
    assert _results(example_catalog, later.day)["production-readiness", "component:default/payment-gateway"] == (2, ["fresh"])


def _team_catalog(tmp_path: Path, make_catalog: Callable[[Config], Catalog], services: dict[str, str]) -> tuple[Catalog, Path]:
    root = tmp_path / "catalog"
    root.mkdir(exist_ok=True)
    (root / "org.yaml").write_text(group("team-a") + "---\n" + "---\n".join(component(n, extra=e) for n, e in services.items()), encoding="utf-8")
    config = tmp_path / "wayfinder.yaml"
    config.write_text(
        f"""\
sources: [{{name: main, type: backstage, path: {root}}}]
scorecards:
  - id: readiness
    title: Readiness
    applies_to: {{kind: component}}
    levels: [Bronze, Silver]
    rules:
      - {{id: has-owner, level: Bronze, check: {{field: owner, op: exists}}, fix: "Add spec.owner."}}
      - {{id: has-system, level: Silver, check: {{field: system, op: exists}}, fix: "Add spec.system."}}
      - {{id: has-deps, level: Silver, check: {{relation: dependsOn, op: exists}}, fix: "Declare spec.dependsOn."}}
""",
        encoding="utf-8",
    )
    catalog = make_catalog(load_config(config))
    return catalog, root


def test_history_per_day_and_what_got_worse(tmp_path: Path, make_catalog: Callable[[Config], Catalog]) -> None:
    deps = "  system: shop\n  dependsOn: ['component:db']\n"
    catalog, root = _team_catalog(tmp_path, make_catalog, {"billing": deps, "db": "  system: shop\n"})
    catalog.clock = lambda: NOW - timedelta(days=7)
    assert all(r.ok for r in catalog.sync())  # the sync evaluates
    week_ago = _results(catalog, date(2026, 11, 30))
    assert week_ago[("readiness", "component:default/billing")] == (2, [])
    assert week_ago[("readiness", "component:default/db")] == (1, ["has-deps"])
    # A week later billing loses its system and dependencies, and db is retired.
    (root / "org.yaml").write_text(group("team-a") + "---\n" + component("billing"), encoding="utf-8")
    catalog.clock = lambda: NOW
    catalog.sync(allow_large_delete=True)
    assert _results(catalog, date(2026, 12, 7)) == {("readiness", "component:default/billing"): (1, ["has-system", "has-deps"])}
    assert _results(catalog, date(2026, 11, 30)) == week_ago  # last week's results are kept
    with catalog.session() as s:
        alerts = sorted((a.entity_ref, a.rule, a.from_level, a.to_level) for a in s.scalars(select(ScorecardAlert)))
        written = s.scalars(select(col(ScorecardResult.entity_ref)).where(col(ScorecardResult.day) == date(2026, 12, 7))).all()
    assert alerts == [
        ("component:default/billing", "", 2, 1), ("component:default/billing", "has-deps", 2, 1), ("component:default/billing", "has-system", 2, 1),
    ]  # fmt: skip
    assert sorted(written) == ["component:default/billing", "component:default/db"]  # billing changed, db is gone
    # Evaluating again the same day writes nothing and raises nothing twice.
    again = catalog.evaluate_scorecards(now=NOW + timedelta(hours=1))
    assert (again.changed, again.alerts, again.results, again.unchanged) == (0, 0, 0, 1)


def test_an_entity_is_evaluated_again_when_only_another_entity_changed_what_it_is_checked_on(tmp_path: Path, make_catalog: Callable[[Config], Catalog]) -> None:
    """db's own descriptor never changes; billing declaring a dependency on it changes db's `dependencyOf` count,
    which its fingerprint holds, so db is evaluated again (and an unchanged entity is not)."""
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "org.yaml").write_text(group("team-a") + "---\n" + component("db") + "---\n" + component("billing"), encoding="utf-8")
    config = tmp_path / "wayfinder.yaml"
    config.write_text(
        f"sources: [{{name: main, type: backstage, path: {root}}}]\n"
        "scorecards:\n  - id: used\n    title: Used\n    applies_to: {kind: component}\n    levels: [Used]\n    rules:\n"
        "      - {id: has-dependents, level: Used, check: {relation: dependencyOf, op: exists}, fix: Someone should depend on it.}\n",
        encoding="utf-8",
    )
    catalog = make_catalog(load_config(config))
    catalog.clock = lambda: NOW - timedelta(days=1)
    assert all(r.ok for r in catalog.sync())
    assert _results(catalog, date(2026, 12, 6))[("used", "component:default/db")] == (0, ["has-dependents"])
    (root / "org.yaml").write_text(
        group("team-a") + "---\n" + component("db") + "---\n" + component("billing", extra="  dependsOn: ['component:db']\n"), encoding="utf-8"
    )
    catalog.clock = lambda: NOW
    assert all(r.ok for r in catalog.sync())
    assert _results(catalog, date(2026, 12, 7))[("used", "component:default/db")] == (1, [])
    again = catalog.evaluate_scorecards(now=NOW + timedelta(hours=1))
    assert (again.results, again.changed, again.unchanged) == (0, 0, 2)


def test_app_home_and_the_ownership_page_show_levels(example_catalog: Catalog) -> None:
    from bot.slack.views.home import render_home

    home = example_catalog.home(user_ref="user:default/grace.mensah", email=None)
    [acquiring] = [t for t in home.teams if t.team.ref == "group:default/acquiring"]
    readiness = next(x for x in acquiring.levels if x.scorecard_title == "Production readiness")
    assert sum(readiness.counts.values()) >= 2 and "Gold" in readiness.counts
    assert "Production readiness: Gold" in str(render_home(home, examples=[], now=NOW))
    page = example_catalog.ownership_page("component:default/pricing-service", now=NOW)
    assert page is not None
    readiness_score = next(s for s in page.scorecards if s.scorecard == "production-readiness")
    assert readiness_score.level == "Bronze" and [r.id for r in readiness_score.next_fixes] == ["has-oncall", "has-runbook"]
