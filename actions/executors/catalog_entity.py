"""The `catalog` executor: an entity in Wayfinder's own store, for as long as its run lives.

Entities are kept in `action_entity` and reach the catalog through the sync engine as the source
`actions` (`ActionsSource`), like any other source: relations, search and answers follow, and
retiring the row at teardown retires the entity.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from string import Formatter
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from actions.definitions import CatalogExecutor
from actions.executors.base import Outcome, Run
from actions.models import ActionEntity
from catalog.store.engine import SessionFactory, session_scope
from catalog.store.models import SyncRun
from catalog.store.reads import get_entity
from catalog.store.refs import make_ref, parse_ref
from catalog.sync.engine import sync_source
from catalog.sync.sources.base import Snapshot
from catalog.sync.sources.descriptor import EntityDoc

SOURCE = "actions"  # also in `catalog.sync.status.BUILT_IN_SOURCES`: a source no config names
ORIGIN = "wayfinder.io/action-request"


class ActionsSource:
    """Every live entity action runs registered, as one source's snapshot."""

    name = SOURCE
    type = "actions"

    def __init__(self, factory: SessionFactory) -> None:
        self.factory = factory

    def fetch(self) -> Snapshot:
        with session_scope(self.factory) as session:
            rows = session.exec(select(ActionEntity).where(col(ActionEntity.retired_at).is_(None)))
            return Snapshot(entities=[EntityDoc.model_validate(row.doc) for row in rows])


def fill(template: str, values: dict[str, Any]) -> str:
    """`{name}` placeholders from the run's values; an unknown one is an error, not an empty string."""
    missing = [field for _, field, _, _ in Formatter().parse(template) if field and field not in values]
    if missing:
        raise ValueError(f"unknown placeholder {{{missing[0]}}}")
    return template.format(**{k: v if isinstance(v, str) else str(v) for k, v in values.items()})


def register_entity(session: Session, spec: CatalogExecutor, run: Run, *, owner: str | None, now: datetime) -> Outcome:
    """Write (or update) the run's entity row; the caller syncs `ActionsSource` after the commit."""
    requester = (run.requester_ref or "").rpartition("/")[2] or "someone"
    values = {**run.inputs, "id": str(run.request_id), "requester": requester, "target": (run.target_ref or "").rpartition("/")[2]}
    try:
        name = fill(spec.name, values).strip().lower()
        ref = parse_ref(name, default_kind=spec.kind)
        owner_ref = str(parse_ref(fill(spec.owner, values), default_kind="group")) if spec.owner else owner
    except ValueError as exc:
        return Outcome.failed(f"cannot name the entity: {exc}")
    existing = session.get(ActionEntity, str(ref))
    if existing is None and get_entity(session, str(ref)) is not None:
        return Outcome.failed(f"{ref} is already in the catalog, registered by another source")
    doc = EntityDoc(
        ref=make_ref(ref.kind, ref.namespace, ref.name), kind=ref.kind, namespace=ref.namespace, name=ref.name,
        type=spec.entity_type, owner_ref=owner_ref, lifecycle=spec.lifecycle,
        description=fill(spec.description, values) if spec.description else None,
        annotations={ORIGIN: str(run.request_id)}, location=f"wayfinder-action:{run.request_id}",
    )  # fmt: skip
    row = existing or ActionEntity(ref=doc.ref, request_id=run.request_id, created_at=now)
    row.doc, row.request_id, row.retired_at = doc.model_dump(mode="json"), run.request_id, None
    session.add(row)
    return Outcome("succeeded", f"{doc.ref} is in the catalog", entity_ref=doc.ref)


def retire_entity(session: Session, ref: str, *, now: datetime) -> bool:
    result = session.execute(update(ActionEntity).where(col(ActionEntity.ref) == ref, col(ActionEntity.retired_at).is_(None)).values(retired_at=now))
    return bool(getattr(result, "rowcount", 0))


def publish(factory: SessionFactory, *, clock: Callable[[], datetime]) -> bool:
    """Sync the `actions` source now; False when another run of it holds the lease (`publish_if_behind` catches up)."""
    report = sync_source(factory, ActionsSource(factory), allow_large_delete=True, clock=clock)
    return report.ok


def publish_if_behind(factory: SessionFactory, *, clock: Callable[[], datetime]) -> bool:
    """Sync again when an entity was registered or retired after the last good sync started (that publish was skipped)."""
    with session_scope(factory) as session:
        changed = session.exec(select(func.max(func.coalesce(col(ActionEntity.retired_at), col(ActionEntity.created_at))))).one()
        synced = session.exec(select(func.max(col(SyncRun.started_at))).where(SyncRun.source == SOURCE, SyncRun.status == "ok")).one()
    return changed is not None and (synced is None or synced < changed) and publish(factory, clock=clock)
