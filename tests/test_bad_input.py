"""Broken catalog files and config: each problem is named with its file and line, the rest still loads.

Why: a real catalog is edited by dozens of teams; one typo must not hide everyone else's entities,
and the person who made it must be told exactly where it is. Nothing already synced may be lost.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.config import Config, load_config
from catalog.core import Catalog
from catalog.errors import ConfigError
from catalog.sync.engine import SyncReport
from catalog.sync.sources.descriptor import Problem
from tests.helpers import active_refs, backstage_config, component, group, owner_of, rows, sync_runs

MakeCatalog = Callable[[Config], Catalog]


def _sync_dir(make_catalog: MakeCatalog, tmp_path: Path, files: dict[str, str]) -> tuple[Catalog, SyncReport]:
    root = tmp_path / "catalog"
    root.mkdir(exist_ok=True)
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body, encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    [report] = catalog.sync()
    return catalog, report


def _problems_in(report: SyncReport, filename: str) -> list[Problem]:
    return [p for p in report.problems if filename in str(p)]


def test_malformed_yaml_is_reported_with_file_and_line_and_the_rest_still_loads(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    broken = group("team-a") + "---\n" + component("half-written").replace("  owner: team-a", "  owner: [team-a\n  system: x")
    catalog, report = _sync_dir(make_catalog, tmp_path, {"a-broken.yaml": broken, "b-good.yaml": component("still-here")})
    assert report.ok  # a broken file is a problem report, not a failed source
    [problem] = [p for p in report.problems if p.severity == "error"]
    assert problem.file is not None and problem.file.endswith("a-broken.yaml")
    assert problem.line is not None and 9 <= problem.line <= 19  # inside the second document, not line 1
    assert "invalid YAML" in problem.message
    assert f"a-broken.yaml:{problem.line}" in str(problem)
    # The good document before the error and the other file both landed.
    assert active_refs(catalog) == {"group:default/team-a", "component:default/still-here"}
    assert owner_of(catalog, "still-here") == "group:default/team-a"
    # The run keeps the error for `sync status` and later inspection.
    [run] = sync_runs(catalog)
    assert run.error_count == 1 and any("a-broken.yaml" in e and "invalid YAML" in e for e in run.errors)


def test_entity_without_name_is_skipped_with_its_location(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    nameless = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  title: No Name\nspec:\n  type: service\n"
    body = component("first") + "---\n" + nameless + "---\n" + component("third")
    catalog, report = _sync_dir(make_catalog, tmp_path, {"svc.yaml": body, "team.yaml": group("team-a")})
    [problem] = _problems_in(report, "svc.yaml")
    assert problem.severity == "error"
    assert "metadata.name" in problem.message
    assert problem.line == 10  # the line where the nameless document starts
    assert active_refs(catalog) == {"component:default/first", "component:default/third", "group:default/team-a"}


@pytest.mark.parametrize(("written", "suggested"), [("Componnt", "Component"), ("Grup", "Group"), ("Sytem", "System")])
def test_unknown_backstage_kind_suggests_the_right_one(make_catalog: MakeCatalog, tmp_path: Path, written: str, suggested: str) -> None:
    typo = component("typo-kind").replace("kind: Component", f"kind: {written}")
    catalog, report = _sync_dir(make_catalog, tmp_path, {"x.yaml": typo + "---\n" + component("fine")})
    [problem] = [p for p in _problems_in(report, "x.yaml") if p.severity == "error"]
    assert problem.line == 1
    assert repr(written) in problem.message and f"did you mean {suggested}?" in problem.message
    assert active_refs(catalog) == {"component:default/fine"}


def test_custom_kind_with_custom_api_version_is_accepted(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    widget = "apiVersion: example.com/v1\nkind: FeatureFlag\nmetadata:\n  name: dark-mode\nspec:\n  owner: team-a\n"
    catalog, report = _sync_dir(make_catalog, tmp_path, {"flags.yaml": widget, "team.yaml": group("team-a")})
    assert report.problems == []
    assert "featureflag:default/dark-mode" in active_refs(catalog)
    answer = catalog.ask("who owns dark-mode?")
    assert answer.owner is not None and answer.owner.ref == "group:default/team-a"


def test_reference_to_missing_entity_is_a_warning_naming_file_and_line(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    body = group("team-a") + "---\n" + component("orders", extra="  dependsOn: ['resource:orders-db']\n")
    catalog, report = _sync_dir(make_catalog, tmp_path, {"orders.yaml": body})
    [problem] = _problems_in(report, "orders.yaml")
    assert problem.severity == "warning"
    assert "resource:default/orders-db" in problem.message and "does not exist" in problem.message
    assert "orders.yaml:9" in str(problem)  # the Component document starts on line 9
    # Still loaded, and the dangling dependency is still shown to whoever asks.
    answer = catalog.ask("what does orders depend on?")
    assert [i.ref for i in answer.items] == ["resource:default/orders-db"]


def test_missing_owner_loads_with_a_warning(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    ownerless = component("orphan").replace("  owner: team-a\n", "")
    catalog, report = _sync_dir(make_catalog, tmp_path, {"orphan.yaml": ownerless})
    [problem] = _problems_in(report, "orphan.yaml")
    assert problem.severity == "warning" and "spec.owner" in problem.message
    assert active_refs(catalog) == {"component:default/orphan"}


def test_duplicate_across_files_reports_both_locations_and_first_wins(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    files = {
        "a/first.yaml": group("team-a") + "---\n" + group("team-b") + "---\n" + component("billing", owner="team-a"),
        "b/second.yaml": component("other") + "---\n" + component("BILLING", owner="team-b"),
    }
    catalog, report = _sync_dir(make_catalog, tmp_path, files)
    [problem] = [p for p in report.problems if "duplicate" in p.message]
    first = tmp_path / "catalog" / "a" / "first.yaml"
    second = tmp_path / "catalog" / "b" / "second.yaml"
    assert str(problem).startswith(f"{second}:10:")  # where the duplicate is
    assert f"{first}:17" in problem.message  # and where the original is
    assert rows(catalog, "main")["component:default/billing"].owner_ref == "group:default/team-a"
    assert owner_of(catalog, "billing") == "group:default/team-a"
    assert "component:default/other" in active_refs(catalog)


def test_oversized_file_is_skipped_with_a_clear_message(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    big = component("huge") + "#" + "x" * (10 * 1024 * 1024) + "\n"  # a 10 MB file, over the 5 MiB default
    (root / "huge.yaml").write_text(big, encoding="utf-8")
    catalog, report = _sync_dir(make_catalog, tmp_path, {"small.yaml": component("small")})
    [problem] = _problems_in(report, "huge.yaml")
    assert problem.severity == "error"
    assert "10.0 MiB" in problem.message and "5 MiB limit" in problem.message and "skipped" in problem.message
    assert active_refs(catalog) == {"component:default/small"}


def test_non_mapping_documents_and_invalid_names_are_reported(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    body = "- just\n- a list\n---\n" + component("Not Valid!") + "---\n" + component("x" * 64) + "---\n" + component("ok")
    catalog, report = _sync_dir(make_catalog, tmp_path, {"mixed.yaml": body})
    messages = [(p.line, p.message) for p in _problems_in(report, "mixed.yaml") if p.severity == "error"]
    assert len(messages) == 3
    assert messages[0][0] == 1 and "expected a mapping" in messages[0][1]
    assert "'Not Valid!'" in messages[1][1] and "at most 63 characters" in messages[2][1]
    assert active_refs(catalog) == {"component:default/ok"}


def test_config_unknown_key_names_file_line_and_key(write_config: Callable[[str], Config], tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        write_config("sources:\n  - name: main\n    type: backstage\n    path: catalog\n    shedule: 15m\n")
    assert str(err.value) == f"{tmp_path / 'wayfinder.yaml'}:5: sources.0.shedule: unknown key 'shedule' (did you mean 'schedule'?)"
    with pytest.raises(ConfigError) as err:
        write_config("sources: []\nscorecard:\n  - name: x\n")
    assert f"{tmp_path / 'wayfinder.yaml'}:2:" in str(err.value) and "unknown key 'scorecard'" in str(err.value)


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("sources:\n  - name: main\n    type: backstage\n    path: x\n    schedule: every day\n", 5, ["sources.0.schedule", "every day"]),
        ("sources:\n  - name: main\n    type: gitlab\n    path: x\n", 2, ["unknown source type 'gitlab'"]),
        ("sources:\n  - name: Main Source\n    type: backstage\n    path: x\n", 2, ["sources.0.name"]),
        ("sources:\n  - name: a\n    type: backstage\n    path: x\n  - name: a\n    type: backstage\n    path: y\n", 1, ["unique", "a"]),
        ("sources: [\n", 2, ["invalid YAML"]),
    ],
)
def test_config_bad_values_name_file_line_and_key(
    write_config: Callable[[str], Config], tmp_path: Path, body: str, line: int, words: list[str]
) -> None:
    with pytest.raises(ConfigError) as err:
        write_config(body)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'wayfinder.yaml'}:{line}:"), message
    for word in words:
        assert word in message


def test_config_secret_from_missing_environment_variable_is_named(
    write_config: Callable[[str], Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WF_TEST_UNSET_VAR", raising=False)
    with pytest.raises(ConfigError, match="WF_TEST_UNSET_VAR is not set"):
        write_config("sources:\n  - name: main\n    type: backstage\n    path: ${WF_TEST_UNSET_VAR}\n")


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_source_path_that_does_not_exist_fails_the_sync_and_loses_nothing(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "all.yaml").write_text(group("team-a") + "---\n" + component("billing"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert catalog.sync()[0].ok
    before = active_refs(catalog)

    moved = make_catalog(backstage_config(tmp_path, {"main": tmp_path / "moved-away"}, name="moved.yaml"))
    [report] = moved.sync()
    assert report.status == "failed"
    assert str(tmp_path / "moved-away") in (report.error or "") and "does not exist" in (report.error or "")
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    assert active_refs(moved) == before
    assert sync_runs(moved)[-1].status == "failed"
    answer = moved.ask("who owns billing?")
    assert answer.owner is not None and answer.owner.ref == "group:default/team-a"
    assert "unreachable since" in answer.text  # the data is still there, visibly stale
