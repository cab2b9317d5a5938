"""Small read helpers for catalog tests: what is in the database, as a user of the catalog sees it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlmodel import col

from catalog.config import Config, load_config
from catalog.core import Catalog
from catalog.store.models import CatalogState, Entity, Relation, SyncRun
from catalog.store.reads import related_refs
from catalog.sync.sources.base import Snapshot


def read_only_url(url: str) -> str:
    """The same database, opened so that it refuses writes: a read-only SQLite file (as root can
    still write a chmod 444 file, SQLite's read-only mode stands in), or a read-only PostgreSQL session."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database
        Path(parsed.database).chmod(0o444)
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    return parsed.update_query_dict({"options": "-c default_transaction_read_only=on"}).render_as_string(hide_password=False)


def backstage_config(tmp_dir: Path, sources: dict[str, Path], name: str = "wayfinder.yaml", allowed_roots: tuple[Path, ...] = ()) -> Config:
    """A config file with one Backstage source per entry (name -> path), written into `tmp_dir`."""
    roots = f"    allowed_roots: [{', '.join(str(r) for r in allowed_roots)}]\n" if allowed_roots else ""
    body = "sources:\n" + "".join(f"  - name: {n}\n    type: backstage\n    path: {p}\n{roots}" for n, p in sources.items())
    path = tmp_dir / name
    path.write_text(body, encoding="utf-8")
    return load_config(path)


def folder_sources(tmp_dir: Path, docs: dict[str, str]) -> tuple[Config, dict[str, Path]]:
    """One Backstage source per entry (name -> YAML documents), each a folder of its own in `tmp_dir`."""
    folders = {name: tmp_dir / name for name in docs}
    for name, doc in docs.items():
        folders[name].mkdir()
        (folders[name] / f"{name}.yaml").write_text(doc, encoding="utf-8")
    return backstage_config(tmp_dir, folders), folders


def active_refs(catalog: Catalog, source: str | None = None) -> set[str]:
    with catalog.session() as s:
        q = select(col(Entity.ref)).where(col(Entity.retired_at).is_(None))
        if source:
            q = q.where(col(Entity.source) == source)
        return set(s.scalars(q))


def owner_of(catalog: Catalog, name: str) -> str | None:
    """The owner ref the catalog answers for "who owns <name>", None when it names none."""
    owner = catalog.ask(f"who owns {name}").owner
    return owner.ref if owner else None


def kind_counts(catalog: Catalog) -> Counter[str]:
    with catalog.session() as s:
        return Counter(s.scalars(select(col(Entity.kind)).where(col(Entity.retired_at).is_(None))))


def rows(catalog: Catalog, source: str | None = None) -> dict[str, Entity]:
    """Every entity row (retired too), keyed by ref (or `source|ref` when no source is given)."""
    with catalog.session() as s:
        q = select(Entity)
        if source:
            q = q.where(col(Entity.source) == source)
        found = list(s.scalars(q))
    return {e.ref if source else f"{e.source}|{e.ref}": e for e in found}


def related(catalog: Catalog, ref: str, rel: str) -> set[str]:
    with catalog.session() as s:
        return {target for _, target in related_refs(s, ref, [rel])}


def relation_triples(catalog: Catalog) -> set[tuple[str, str, str]]:
    with catalog.session() as s:
        triples: Iterable[tuple[str, str, str]] = s.execute(select(col(Relation.subject_ref), col(Relation.type), col(Relation.target_ref)))
        return set(triples)


def generation(catalog: Catalog) -> int:
    with catalog.session() as s:
        return s.scalar(select(col(CatalogState.generation)).where(col(CatalogState.id) == 1)) or 0


def sync_runs(catalog: Catalog, source: str | None = None) -> list[SyncRun]:
    with catalog.session() as s:
        q = select(SyncRun).order_by(col(SyncRun.id))
        if source:
            q = q.where(col(SyncRun.source) == source)
        return list(s.scalars(q))


ENTITY = """\
apiVersion: backstage.io/v1alpha1
kind: {kind}
metadata:
  name: {name}
spec:
{spec}
"""


def component(name: str, owner: str = "team-a", extra: str = "") -> str:
    """One Component document (YAML), owned by `owner`, with optional extra spec lines."""
    spec = f"  type: service\n  lifecycle: production\n  owner: {owner}\n" + extra
    return ENTITY.format(kind="Component", name=name, spec=spec.rstrip("\n"))


def group(name: str, extra: str = "") -> str:
    return ENTITY.format(kind="Group", name=name, spec=("  type: team\n  children: []\n" + extra).rstrip("\n"))


class FixedSource:
    """A source that is not file-based: its snapshot goes through the full diff."""

    type = "backstage"

    def __init__(self, name: str, snapshot: Snapshot) -> None:
        self.name, self.snapshot = name, snapshot

    def fetch(self) -> Snapshot:
        return self.snapshot
