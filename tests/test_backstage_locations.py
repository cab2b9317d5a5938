"""Location entities are followed as Backstage's LocationEntityProcessor follows them.

Why: `presence: optional` was ignored, so a target that may legitimately be absent failed every
sync with exit 1; a string `targets: "*.yml"` was read character by character, giving four
errors about targets `*`, `.`, `y` and `m`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.sync.sources.backstage import BackstageSource
from tests.helpers import component


def _location(spec: str, name: str = "root") -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n{spec}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text(component("comp-a"), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("presence", ["optional", "required", None])
def test_a_missing_target_is_an_error_unless_the_location_says_it_is_optional(root: Path, presence: str | None) -> None:
    said = f"  presence: {presence}\n" if presence else ""
    (root / "root.yaml").write_text(_location(f"{said}  targets: [./maybe.yaml, ./sub/a.yaml]\n"), encoding="utf-8")
    snapshot = BackstageSource("main", root / "root.yaml").fetch()
    assert {e.ref for e in snapshot.entities} == {"location:default/root", "component:default/comp-a"}
    missing = [p for p in snapshot.problems if "does not exist" in p.message]
    if presence == "optional":
        assert snapshot.problems == []
    else:
        assert [(p.severity, p.line) for p in missing] == [("error", 1)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('  targets: "*.yml"\n', "spec.targets: expected a list of targets, got '*.yml'"),
        ("  targets: [./a.yaml, 7]\n", "spec.targets[1]: expected a target (a string), got int 7"),
        ("  target: [./a.yaml]\n", "spec.target: expected a string, got list ['./a.yaml']"),
        ("  presence: maybe\n  target: ./a.yaml\n", "spec.presence: expected required or optional, got 'maybe'"),
    ],
)
def test_a_malformed_location_is_one_clear_error(root: Path, spec: str, message: str) -> None:
    (root / "root.yaml").write_text(_location(spec), encoding="utf-8")
    snapshot = BackstageSource("main", root / "root.yaml").fetch()
    [problem] = snapshot.problems
    assert message in problem.message and problem.line == 1 and problem.entity == "location:default/root"
    assert snapshot.entities == []
