"""What the Backstage directory scan reads, and what it says about what it does not.

Why: a scaffolder Template's skeleton (`name: ${{ values.name }}`) failed every sync with exit 1;
a symlinked directory was skipped without a word; and `description: {$text: ./README.md}` was
stored as the text "{'$text': './README.md'}" instead of the README, as Backstage shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.config import Config
from catalog.core import Catalog
from catalog.sync.engine import sync_source
from catalog.sync.sources.backstage import BackstageSource, parse_documents
from catalog.sync.sources.descriptor import EntityDoc, Problem
from tests.helpers import backstage_config, component, rows

MakeCatalog = Callable[[Config], Catalog]
SKELETON = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name | dump }}\nspec:\n  type: service\n  owner: ${{ values.owner }}\n"
TEMPLATE = (
    "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: new-service\nspec:\n  owner: team-a\n  type: service\n"
    "  steps:\n    - id: fetch\n      action: fetch:template\n      input:\n        url: ./content\n        values:\n          name: ${{ parameters.name }}\n"
)


def _described(description: str) -> str:
    return component("svc").replace("metadata:\n", f"metadata:\n  description: {description}\n")


def test_a_template_skeleton_is_skipped_with_a_warning_and_the_template_loads(tmp_path: Path) -> None:
    (tmp_path / "template" / "content").mkdir(parents=True)
    (tmp_path / "template" / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "template" / "content" / "catalog-info.yaml").write_text(SKELETON, encoding="utf-8")
    snapshot = BackstageSource("main", tmp_path).fetch()
    assert [e.ref for e in snapshot.entities] == ["template:default/new-service"]
    [skipped] = snapshot.problems
    assert skipped.severity == "warning" and skipped.line == 1 and skipped.file is not None and skipped.file.endswith("content/catalog-info.yaml")
    assert "${{ values.name | dump }}" in skipped.message and "skeleton" in skipped.message


def test_symlinked_directories_and_broken_links_in_the_scan_are_named(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    (root / "real").mkdir(parents=True)
    (root / "real" / "a.yaml").write_text(component("a"), encoding="utf-8")
    (root / "linked").symlink_to(root / "real", target_is_directory=True)
    (root / "real" / "loop").symlink_to(root, target_is_directory=True)
    (root / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (root / ".hidden").symlink_to(root / "real", target_is_directory=True)  # hidden: skipped like any dot name
    snapshot = BackstageSource("main", root).fetch()
    assert [e.name for e in snapshot.entities] == ["a"]
    assert sorted((Path(p.file or "").name, p.severity) for p in snapshot.problems) == [("gone.yaml", "warning"), ("linked", "warning"), ("loop", "warning")]
    assert all("scan does not follow it" in p.message or "broken symlink" in p.message for p in snapshot.problems)


def test_a_text_placeholder_is_read_from_the_file_beside_the_descriptor(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text("Charges cards.\n", encoding="utf-8")
    (tmp_path / "catalog-info.yaml").write_text(_described("{$text: ./docs/README.md}"), encoding="utf-8")
    [doc] = BackstageSource("main", tmp_path).fetch().entities
    assert doc.description == "Charges cards.\n"


@pytest.mark.parametrize(
    ("placeholder", "reason"),
    [
        ("{$text: ./missing.md}", "does not exist"),
        ("{$text: ../outside.md}", "outside the catalog root"),
        ("{$text: 'https://example.com/README.md'}", "not a local file"),
    ],
)
def test_a_text_placeholder_that_cannot_be_read_rejects_the_entity(tmp_path: Path, placeholder: str, reason: str) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (tmp_path / "outside.md").write_text("secret", encoding="utf-8")
    (root / "catalog-info.yaml").write_text(_described(placeholder), encoding="utf-8")
    snapshot = BackstageSource("main", root).fetch()
    [problem] = snapshot.problems
    assert snapshot.entities == [] and problem.severity == "error" and problem.line == 1
    assert problem.message.startswith("metadata.description: $text ") and reason in problem.message


def test_a_placeholder_not_read_here_is_left_out_with_a_warning() -> None:
    # Where no file can be read (another source's parse) or the placeholder gives no text ($json, $yaml).
    for text, key in ((_described("{$text: ./README.md}"), "$text"), (_described("{$json: ./x.json}"), "$json")):
        doc, warning = sorted((parsed for _, parsed in parse_documents(text, "github:org/repo/catalog-info.yaml")), key=lambda p: isinstance(p, Problem))
        assert isinstance(doc, EntityDoc) and doc.description is None
        assert isinstance(warning, Problem) and warning.severity == "warning" and f"metadata.description: the placeholder {key}" in warning.message


def test_a_changed_text_file_is_read_again_though_its_descriptor_did_not_change(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "README.md").write_text("v1", encoding="utf-8")
    (root / "catalog-info.yaml").write_text(_described("{$text: ./README.md}"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert sync_source(catalog.factory, BackstageSource("main", root), clock=lambda: t0).added == 1
    (root / "README.md").write_text("v2", encoding="utf-8")
    report = sync_source(catalog.factory, BackstageSource("main", root), clock=lambda: t0 + timedelta(minutes=1))
    assert report.updated == 1 and rows(catalog, "main")["component:default/svc"].description == "v2"
