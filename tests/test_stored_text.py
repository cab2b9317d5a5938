"""What a descriptor says is stored exactly as it says it, on SQLite and on PostgreSQL.

Why: on PostgreSQL the sync inserts with COPY (`catalog.sync.writes`), a text format in which a
tab ends a column, a newline a row and a backslash starts an escape; a value must arrive whole
however many of them it holds, and so must JSON that holds them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from catalog.config import Config
from catalog.core import Catalog
from catalog.store.reads import get_entity
from tests.helpers import backstage_config

AWKWARD = 'tab\there, new\nline, back\\slash, \\N, \\t, "quoted", é, 🚀, \u202e, end'


def test_text_with_copy_delimiters_and_escapes_is_stored_as_written(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    document = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "awkward",
            "title": AWKWARD,
            "description": AWKWARD,
            "annotations": {"example.com/note": AWKWARD},
            "links": [{"url": "https://example.com/a\\b", "title": AWKWARD}],
        },
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "note": AWKWARD},
    }
    (root / "awkward.yaml").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert catalog.sync()[0].ok

    with catalog.session() as session:
        stored = get_entity(session, "component:default/awkward")
    assert stored is not None
    assert stored.title == AWKWARD and stored.description == AWKWARD
    assert stored.annotations["example.com/note"] == AWKWARD and stored.spec["note"] == AWKWARD
    assert [(link["url"], link["title"]) for link in stored.links] == [("https://example.com/a\\b", AWKWARD)]
