"""Catalog files read only inside their source's root, unless the operator allows another root.

Why: whoever can edit the catalog directory must not be able to import (and so publish in Slack)
files from elsewhere on the server: a Location's `../` target, an absolute path, a glob or a
symlink each did so silently. A refused target is named with the file and line that asked for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.config import BackstageSourceConfig, Config
from catalog.core import Catalog
from catalog.sync.sources.backstage import BackstageSource
from catalog.sync.sources.descriptor import Problem
from tests.helpers import active_refs, backstage_config, component, group

MakeCatalog = Callable[[Config], Catalog]
SECRET = "component:default/secret"


def _location(*targets: str) -> str:
    listed = "".join(f"    - {t}\n" for t in targets)
    return f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more\nspec:\n  targets:\n{listed}"


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """`catalog/` (the source's root, with one team and one service) and `outside/` beside it."""
    root, outside = tmp_path / "catalog", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "team.yaml").write_text(group("team-a") + "---\n" + component("billing"), encoding="utf-8")
    (outside / "secret.yaml").write_text(component("secret"), encoding="utf-8")
    return root, outside


def _refusals(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error" and "outside the catalog root" in p.message]


@pytest.mark.parametrize(
    "target",
    [
        "../outside/secret.yaml",
        "{outside}/secret.yaml",
        "../outside/*.yaml",
        "{outside}/*.yaml",
        "file:../outside/secret.yaml",
        "sub/../../outside/*.y*ml",
    ],
)
def test_location_targets_outside_the_root_are_refused_with_file_and_line(
    make_catalog: MakeCatalog, tmp_path: Path, layout: tuple[Path, Path], target: str
) -> None:
    root, outside = layout
    (root / "sub").mkdir()
    (root / "locations.yaml").write_text(group("team-b") + "---\n" + _location(target.format(outside=outside)), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    [report] = catalog.sync()
    assert report.ok, report.error
    assert SECRET not in active_refs(catalog)
    [refused] = _refusals(report.problems)
    assert refused.file == str((root / "locations.yaml").resolve()) and refused.line == 9  # the Location's document
    assert "locations.yaml:9: error: location target" in str(refused)
    # The rest of the source synced.
    assert {"component:default/billing", "group:default/team-b", "location:default/more"} <= active_refs(catalog)


def test_symlinked_file_or_directory_pointing_outside_is_refused(
    make_catalog: MakeCatalog, tmp_path: Path, layout: tuple[Path, Path]
) -> None:
    root, outside = layout
    (root / "linked.yaml").symlink_to(outside / "secret.yaml")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    (root / "via-dir.yaml").write_text(_location("linked-dir/*.yaml", "linked-dir/secret.yaml"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    [report] = catalog.sync()
    assert report.ok, report.error
    assert SECRET not in active_refs(catalog)
    refused = _refusals(report.problems)
    assert len(refused) == 3  # the scanned symlink, and the Location's glob and plain target
    assert any(p.file == str(root / "linked.yaml") and p.line is None for p in refused)
    assert sum(1 for p in refused if p.file == str(root / "via-dir.yaml") and p.line == 1) == 2
    assert "component:default/billing" in active_refs(catalog)


def test_targets_inside_the_root_still_follow_symlinks_and_absolute_globs(tmp_path: Path, layout: tuple[Path, Path]) -> None:
    root, _ = layout
    (root / "services").mkdir()
    (root / "services" / "one.yaml").write_text(component("one"), encoding="utf-8")
    (root / "services" / "two.yaml").write_text(component("two"), encoding="utf-8")
    (root / "alias.yaml").symlink_to(root / "services" / "one.yaml")
    entry = tmp_path / "entry.yaml"  # a file source: its root is its own directory
    entry.write_text(_location(f"{root}/services/*.yaml", "catalog/alias.yaml"), encoding="utf-8")
    snapshot = BackstageSource("file", entry).fetch()
    assert {e.ref for e in snapshot.entities} == {"location:default/more", "component:default/one", "component:default/two"}
    assert snapshot.problems == []


def test_operator_may_allow_more_roots_in_the_config(make_catalog: MakeCatalog, tmp_path: Path, layout: tuple[Path, Path]) -> None:
    root, outside = layout
    (root / "locations.yaml").write_text(_location("../outside/*.yaml"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}, allowed_roots=(Path("outside"),)))
    [source] = catalog.config.sources
    assert isinstance(source, BackstageSourceConfig)
    assert source.allowed_roots == [outside.resolve()]  # relative to the config file
    [report] = catalog.sync()
    assert report.ok and not _refusals(report.problems)
    assert SECRET in active_refs(catalog)


def test_a_root_inside_a_dot_directory_is_read_and_only_dot_parts_below_it_are_skipped(tmp_path: Path) -> None:
    # Why: `~/.wayfinder/catalog` read nothing and reported ok (every part of the absolute path was checked),
    # and `B.YAML` was skipped without a word.
    root = tmp_path / ".wayfinder" / "catalog"
    (root / ".git").mkdir(parents=True)
    (root / "a.yaml").write_text(group("team-a"), encoding="utf-8")
    (root / "b.YAML").write_text(component("b"), encoding="utf-8")
    (root / "c.Yml").write_text(component("c"), encoding="utf-8")
    (root / ".git" / "skipped.yaml").write_text(component("skipped"), encoding="utf-8")
    (root / ".hidden.yaml").write_text(component("hidden"), encoding="utf-8")
    snapshot = BackstageSource("main", root).fetch()
    assert {e.ref for e in snapshot.entities} == {"group:default/team-a", "component:default/b", "component:default/c"}
    assert snapshot.problems == []
