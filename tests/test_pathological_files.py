"""Pathological catalog files cost one file's error each, never the whole source.

Why: a 0.6 kB file nested 300 levels deep crashed every sync of its source, an alias bomb ran to
a 4 GB memory cap, and an absolute-glob Location or a symlink loop blocked the source. What one
file may cost is bounded (nesting, values after alias expansion, entities, references); past a
bound the file is reported with its line and the rest of the source syncs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.config import Config
from catalog.core import Catalog
from catalog.sync.engine import SyncReport, sync_source
from catalog.sync.sources.backstage import BackstageSource
from catalog.sync.sources.bounded_yaml import FileLimits
from tests.helpers import active_refs, backstage_config, component, group, related

MakeCatalog = Callable[[Config], Catalog]
GOOD = {"component:default/billing", "group:default/team-a"}


def _sync(make_catalog: MakeCatalog, tmp_path: Path, bad: str, *, name: str = "bad.yaml") -> tuple[Catalog, SyncReport]:
    root = tmp_path / "catalog"
    root.mkdir(exist_ok=True)
    (root / "good.yaml").write_text(group("team-a") + "---\n" + component("billing"), encoding="utf-8")
    (root / name).write_text(bad, encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    [report] = catalog.sync()
    assert report.ok, report.error
    assert active_refs(catalog) >= GOOD
    return catalog, report


def _error_in(report: SyncReport, name: str) -> str:
    [error] = [p for p in report.problems if p.severity == "error"]
    assert error.file is not None and error.file.endswith(name)
    return str(error)


def _nested(levels: int, flow: bool) -> str:
    if flow:
        return component("deep", extra=f"  profile: {'[' * levels}x{']' * levels}\n")
    value = "".join(f"{'  ' * (i + 1)}k:\n" for i in range(levels)) + f"{'  ' * (levels + 1)}k: x\n"
    return component("deep", extra="  profile:\n" + value)


@pytest.mark.parametrize("levels", [300, 990])
@pytest.mark.parametrize("flow", [True, False])
def test_deeply_nested_value_is_one_files_error(make_catalog: MakeCatalog, tmp_path: Path, levels: int, flow: bool) -> None:
    catalog, report = _sync(make_catalog, tmp_path, _nested(levels, flow))
    assert "bad.yaml:" in _error_in(report, "bad.yaml") and "nested more than 64 levels deep" in _error_in(report, "bad.yaml")
    assert "component:default/deep" not in active_refs(catalog)


def test_nesting_past_what_libyaml_reads_is_invalid_yaml(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    _, report = _sync(make_catalog, tmp_path, _nested(5000, flow=True))
    assert "invalid YAML" in _error_in(report, "bad.yaml")


def test_reasonable_nesting_still_loads(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    catalog, report = _sync(make_catalog, tmp_path, _nested(40, flow=False))
    assert "component:default/deep" in active_refs(catalog)
    assert not [p for p in report.problems if p.severity == "error"]


BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9))
)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            component("bomb", extra="  profile:\n" + "".join(f"    {line}\n" for line in BILLION_LAUGHS.splitlines())),
            "once its aliases are expanded",
        ),
        (component("loop", extra="  profile: &x [1, *x]\n"), "an alias refers to a collection that contains it"),
    ],
)
def test_alias_bomb_and_recursive_alias_are_one_files_error(make_catalog: MakeCatalog, tmp_path: Path, body: str, words: str) -> None:
    catalog, report = _sync(make_catalog, tmp_path, group("before") + "---\n" + body)
    error = _error_in(report, "bad.yaml")
    assert words in error and "the rest of the file is skipped" in error
    assert "bad.yaml:" in error  # with its line
    assert "group:default/before" in active_refs(catalog)  # documents before the bomb still count


def test_ordinary_aliases_still_load(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    body = component("one", extra="  profile: &shared {tier: 1, tags: [a, b]}\n  backup: *shared\n")
    catalog, report = _sync(make_catalog, tmp_path, body)
    assert "component:default/one" in active_refs(catalog)
    assert not [p for p in report.problems if p.severity == "error"]


def test_entities_and_references_per_file_are_bounded(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "good.yaml").write_text(group("team-a") + "---\n" + component("billing"), encoding="utf-8")
    (root / "many.yaml").write_text("---\n".join(component(f"svc-{i}") for i in range(6)), encoding="utf-8")
    refs = "".join(f"    - component:dep-{i}\n" for i in range(30))
    (root / "refs.yaml").write_text(component("small") + "---\n" + component("hub", extra=f"  dependsOn:\n{refs}"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    source = BackstageSource("main", root, limits=FileLimits(max_entities=4, max_relations=20))
    report = sync_source(catalog.factory, source)
    assert report.ok, report.error
    errors = {p.file.rsplit("/", 1)[-1] if p.file else "": str(p) for p in report.problems if p.severity == "error"}
    assert "more than 4 entities" in errors["many.yaml"] and "many.yaml:" in errors["many.yaml"]
    assert "more than 20 references" in errors["refs.yaml"] and "refs.yaml:10:" in errors["refs.yaml"]  # the document that went over
    assert active_refs(catalog) == GOOD | {f"component:default/svc-{i}" for i in range(4)} | {"component:default/small"}
    assert related(catalog, "component:default/small", "ownedBy") == {"group:default/team-a"}


def test_symlink_loop_and_absolute_glob_locations_are_one_files_error(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "loop-a.yaml").symlink_to(root / "loop-b.yaml")
    (root / "loop-b.yaml").symlink_to(root / "loop-a.yaml")
    location = (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: odd\nspec:\n  targets: [loop-a.yaml, "
        "/etc/*.conf, /**/*.yaml]\n"
    )
    _, report = _sync(make_catalog, tmp_path, location, name="odd.yaml")
    messages = sorted(p.message for p in report.problems if p.severity == "error")
    assert len(messages) == 3 and all(p.line == 1 for p in report.problems if p.severity == "error")
    assert any("cannot be resolved (a symlink loop?)" in m for m in messages)
    assert sum("outside the catalog root" in m for m in messages) == 2
