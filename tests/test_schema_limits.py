"""A descriptor the database cannot store is one entity's error, alike on SQLite and PostgreSQL.

Why: SQLite stores anything, PostgreSQL refuses a NUL in text and values longer than a column.
One such entity made every sync of its source crash on PostgreSQL, so good changes in other files
were never applied. Run this file with `WAYFINDER_TEST_DATABASE_URL` set to cover PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.config import Config
from catalog.core import Catalog
from catalog.store.models import Entity, Relation, column_length
from catalog.store.refs import MAX_REF_LENGTH
from tests.helpers import active_refs, backstage_config, component, group

MakeCatalog = Callable[[Config], Catalog]
LONG = "x" * 101


def _doc(metadata: str = "", spec: str = "") -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad\n"
        f"{metadata}spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n{spec}"
    )


BAD = {
    "nul in description": (_doc(metadata='  description: "before\\0after"\n'), "NUL character"),
    "nul in an annotation": (_doc(metadata='  annotations:\n    acme.io/tier: "a\\0"\n'), "NUL character"),
    "nul in a nested spec value": (_doc(spec='  profile:\n    notes: ["\\0"]\n'), "NUL character"),
    "not a number in spec": (_doc(spec="  replicas: .nan\n"), "NaN"),
    "long namespace": (_doc(metadata=f"  namespace: {LONG}\n"), "metadata.namespace"),
    "long spec.type": (_doc().replace("type: service", f"type: {LONG}"), "spec.type is 101 characters long"),
    "long spec.lifecycle": (_doc().replace("lifecycle: production", f"lifecycle: {LONG}"), "spec.lifecycle is 101 characters long"),
    "long owner": (_doc().replace("owner: team-a", f"owner: {'o' * 400}"), f"over the limit of {MAX_REF_LENGTH}"),
    "long dependsOn ref": (_doc(spec=f"  dependsOn:\n    - component:{'d' * MAX_REF_LENGTH}\n    - component:billing\n"), f"over the limit of {MAX_REF_LENGTH}"),
    "long custom kind": (
        _doc().replace("kind: Component", f"kind: K{LONG[1:]}").replace("backstage.io/", "acme.io/"),
        "is not valid: 1-63 letters",
    ),
}


def _sync_dir(make_catalog: MakeCatalog, tmp_path: Path, bad: str) -> Catalog:
    root = tmp_path / "catalog"
    root.mkdir(exist_ok=True)
    (root / "a-good.yaml").write_text(group("team-a") + "---\n" + component("billing"), encoding="utf-8")
    (root / "b-bad.yaml").write_text(component("first") + "---\n" + bad, encoding="utf-8")
    return make_catalog(backstage_config(tmp_path, {"main": root}))


@pytest.mark.parametrize("case", list(BAD))
def test_entity_over_the_schema_limits_is_reported_and_skipped_and_the_rest_syncs(
    make_catalog: MakeCatalog, tmp_path: Path, case: str
) -> None:
    bad, words = BAD[case]
    catalog = _sync_dir(make_catalog, tmp_path, bad)
    [report] = catalog.sync()
    assert report.ok, report.error
    [error] = [p for p in report.problems if p.severity == "error"]
    assert words in error.message
    assert error.file is not None and error.file.endswith("b-bad.yaml") and error.line is not None and error.line >= 9
    assert active_refs(catalog) == {"group:default/team-a", "component:default/billing", "component:default/first"}
    # Later good changes in other files are applied.
    (tmp_path / "catalog" / "c-new.yaml").write_text(component("new"), encoding="utf-8")
    [again] = catalog.sync()
    assert again.ok and again.added == 1
    assert "component:default/new" in active_refs(catalog)


def test_limits_follow_the_schema() -> None:
    # The checks read the column sizes from the models; refs have their own constant, kept in step here.
    assert column_length(Entity, "ref") == column_length(Entity, "owner_ref") == MAX_REF_LENGTH
    assert column_length(Relation, "target_ref") == MAX_REF_LENGTH
