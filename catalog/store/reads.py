"""Read queries over the catalog. Keyword-only `session`, never commit."""

from __future__ import annotations

import threading
from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from catalog.adoption.models import AdoptionAlias
from catalog.search.resolve import CatalogIndex, IndexedEntity
from catalog.store.engine import convert_rows
from catalog.store.facts import ENTITY_FACTS
from catalog.store.index_file import IndexFile
from catalog.store.merge import CatalogEntity, merge
from catalog.store.models import CatalogState, Entity, Relation, SourceState, SyncRun
from catalog.sync.sources.descriptor import ALIASES_ANNOTATION

_ACTIVE = Entity.retired_at.is_(None)  # type: ignore[union-attr]


# Hot-path statements are built once, over plain table columns, and run through `_rows`. A question
# issues a dozen of these, so each reads only the columns `merge.merge` uses (no timestamps to parse).
_E = Entity.__table__.c  # type: ignore[attr-defined]
_R = Relation.__table__.c  # type: ignore[attr-defined]
_S = SourceState.__table__.c  # type: ignore[attr-defined]
_A = AdoptionAlias.__table__.c  # type: ignore[attr-defined]
_MERGE_COLUMNS = (
    *ENTITY_FACTS, "source", "precedence",
    *("broken_since", "broken_reason"),  # an entity kept while its descriptor is broken (`catalog.sync.broken_files`)
)  # fmt: skip
_ENTITY_ROWS = select(*[_E[name] for name in dict.fromkeys(_MERGE_COLUMNS)])
_STATES = select(_S.name, _S.type, _S.last_success_at, _S.last_error, _S.last_error_at)
# An answer asks about several relation types of its subject (partOf, dependsOn, providesApi...):
# the first lookup reads all of them at once unless the entity is a hub with more than this many.
_ALL_RELATED_LIMIT = 100
_ALL_RELATED = (
    select(_R.type, _R.target_ref).where(_R.subject_ref == bindparam("ref")).order_by(_R.type, _R.target_ref).limit(_ALL_RELATED_LIMIT + 1)
)


class _StateRow(NamedTuple):
    """The `SourceState` columns `merge.merge` reads, without building an ORM instance per lookup."""

    name: str
    type: str
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


_GENERATION = select(CatalogState.__table__.c.generation).where(CatalogState.__table__.c.id == 1)  # type: ignore[attr-defined]
_EntityRow: Any = namedtuple("_EntityRow", list(dict.fromkeys(_MERGE_COLUMNS)))  # type: ignore[misc]  # what `merge.merge` reads
_COMPILED: dict[tuple[Any, Any], tuple[Any, str, tuple[str, ...] | None, list[Any]]] = {}


def _compile(dialect: Any, key: Any, build: Callable[[], Any]) -> tuple[Any, str, tuple[str, ...] | None, list[Any]]:
    found = _COMPILED.get((dialect, key))
    if found is None:
        stmt = build()
        compiled = stmt.compile(dialect=dialect)
        processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in stmt.selected_columns]
        found = _COMPILED[dialect, key] = (compiled, compiled.string, compiled.positiontup if compiled.positional else None, processors)
    return found


def _rows(session: Session, key: Any, build: Callable[[], Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a prebuilt SELECT on the session's own DB-API connection (so in its transaction).

    The statement is compiled by SQLAlchemy once per dialect, and parameters and results go
    through the same type conversions `Connection.execute` applies; what is skipped is the
    per-execution bookkeeping, which cost twice the database's time for these one-row lookups.
    """
    conn = session.connection()
    compiled, sql, order, processors = _compile(conn.dialect, key, build)
    values = compiled.construct_params(params)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, tuple(values[name] for name in order) if order is not None else values)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return convert_rows(rows, processors)


def _entities_by_ref(count: int) -> Any:
    """`_ENTITY_ROWS` for `count` refs, with one bind parameter per ref."""
    return _ENTITY_ROWS.where(_E.ref.in_([bindparam(f"ref{i}") for i in range(count)]), _E.retired_at.is_(None))


# IN lists are padded (by repeating their last value) to one of these lengths, so a handful of
# statements are compiled once, when a process first reads entities, not one per list length.
_IN_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def _padded(values: list[str]) -> list[str]:
    size = next(n for n in _IN_SIZES if n >= len(values))
    return values + [values[-1]] * (size - len(values))


def _select_entities(session: Session, refs: list[str]) -> list[tuple[Any, ...]]:
    dialect = session.connection().dialect
    if (dialect, ("entities", _IN_SIZES[-1])) not in _COMPILED:  # the first read in this process
        for n in _IN_SIZES:
            _compile(dialect, ("entities", n), lambda n=n: _entities_by_ref(n))  # type: ignore[misc]
    padded = _padded(refs)
    return _rows(session, ("entities", len(padded)), lambda: _entities_by_ref(len(padded)), {f"ref{j}": ref for j, ref in enumerate(padded)})


def _related_by_type(count: int) -> Any:
    return (
        select(_R.type, _R.target_ref)
        .where(_R.subject_ref == bindparam("ref"), _R.type.in_([bindparam(f"type{i}") for i in range(count)]))
        .order_by(_R.type, _R.target_ref)
    )


def _autoflush(session: Session) -> None:
    """What an ORM query would do first: Core statements see this session's pending objects too."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()


# Within one transaction, answers look up the same entities and relations several times (the
# subject, its owner twice, the owner's members twice...). Each session remembers what it read in
# `session.info` until it writes (flush, or INSERT/UPDATE/DELETE through `execute`) or its
# transaction ends, so what it returns is exactly what a fresh query would.
_MEMO = "wayfinder.queries.memo"


def _memo(session: Session) -> dict[Any, Any]:
    memo = session.info.get(_MEMO)
    if memo is None:
        memo = session.info[_MEMO] = {}
    return memo


def _forget(session: OrmSession, *_: Any) -> None:
    session.info.pop(_MEMO, None)


def _forget_on_write(state: ORMExecuteState) -> None:
    if not state.is_select and _MEMO in state.session.info:
        _forget(state.session)


event.listen(OrmSession, "after_flush", _forget)
event.listen(OrmSession, "after_transaction_end", _forget)
event.listen(OrmSession, "do_orm_execute", _forget_on_write)


def get_entities(session: Session, refs: Iterable[str]) -> dict[str, CatalogEntity]:
    """Merged views of the given refs that exist and are active."""
    wanted = list(dict.fromkeys(r.lower() for r in refs))
    _autoflush(session)
    memo = _memo(session)
    missing = [ref for ref in wanted if ("entity", ref) not in memo]
    rows_by_ref: dict[str, list[Any]] = defaultdict(list)
    for i in range(0, len(missing), 500):
        for values in _select_entities(session, missing[i : i + 500]):
            row: Any = _EntityRow(*values)
            rows_by_ref[row.ref].append(row)
    states: dict[str, Any] = {}
    if rows_by_ref:
        states = memo.get("states") or {}
        if "states" not in memo:
            states = memo["states"] = {row[0]: _StateRow(*row) for row in _rows(session, "states", lambda: _STATES, {})}
    for ref in missing:
        rows = rows_by_ref.get(ref)
        memo["entity", ref] = merge(rows, states) if rows else None
    return {ref: m for ref in wanted if (m := memo["entity", ref]) is not None}


def get_entity(session: Session, ref: str) -> CatalogEntity | None:
    return get_entities(session, [ref]).get(ref.lower())


def refs_named(session: Session, name: str) -> list[str]:
    """Active refs called `name` in any kind or namespace (case-insensitive), for links that carry only a name."""
    query = select(Entity.ref).where(func.lower(Entity.name) == name.lower(), _ACTIVE).distinct().order_by(Entity.ref)
    return list(session.scalars(query))


def related_refs(session: Session, ref: str, types: Iterable[str]) -> list[tuple[str, str]]:
    """`(relation type, target ref)` pairs from `ref`, de-duplicated across sources, in stable order."""
    types = tuple(types)
    _autoflush(session)
    memo = _memo(session)
    everything = memo.get(("related", ref))
    if everything is None and ("related-asked", ref) in memo and ("related", ref, types) not in memo:
        # A second kind of question about the same entity: read all its relations once.
        rows = _rows(session, "all-related", lambda: _ALL_RELATED, {"ref": ref})
        everything = memo["related", ref] = list(dict.fromkeys((t, target) for t, target in rows)) if len(rows) <= _ALL_RELATED_LIMIT else False
    if everything is not None and everything is not False:  # a sorted list filtered by type keeps the database's order
        wanted = set(types)
        return [pair for pair in everything if pair[0] in wanted]
    found = memo.get(("related", ref, types))
    if found is None:
        padded = _padded(list(types))
        n = len(padded)
        rows = _rows(session, ("related", n), lambda: _related_by_type(n), {"ref": ref} | {f"type{j}": t for j, t in enumerate(padded)})
        found = memo["related", ref, types] = list(dict.fromkeys((t, target) for t, target in rows))
        memo["related-asked", ref] = True
    return list(found)


def owned_refs(session: Session, owner_ref: str) -> list[str]:
    """Entities whose merged owner is `owner_ref` (a lower-precedence source's claim does not count)."""
    candidates = [target for _, target in related_refs(session, owner_ref, ["ownerOf"])]
    merged = get_entities(session, candidates)
    return [ref for ref in candidates if ref in merged and merged[ref].owner_ref == owner_ref]


def generation(session: Session) -> int:
    _autoflush(session)
    rows = _rows(session, "generation", lambda: _GENERATION, {})
    return (rows[0][0] if rows else 0) or 0


# Names people use besides name, title and aliases: a team's or person's display name, its PagerDuty
# service name, its Slack user-group handle and channel name, and a person's GitHub login.
OTHER_NAME_PATHS = (("profile", "displayName"), ("pagerduty", "service", "name"))
OTHER_NAME_ANNOTATIONS = ("slack.com/usergroup-handle", "github.com/user-login", "slack.com/channel")


def load_index(session: Session) -> CatalogIndex:
    """Build the resolution index from every active entity (highest precedence row per ref)."""
    gen = generation(session)
    # Only the aliases annotation is read (by the database), not every entity's annotations as JSON.
    other_names = [_E.spec[path].as_string() for path in OTHER_NAME_PATHS] + [_E.annotations[key].as_string() for key in OTHER_NAME_ANNOTATIONS]
    rows = session.execute(
        select(_E.ref, _E.kind, _E.name, _E.title, _E.owner_ref, _E.type, _E.annotations[ALIASES_ANNOTATION].as_string(), *other_names)
        .where(_E.retired_at.is_(None))
        .order_by(_E.precedence.desc())
    )
    learned = _learned_aliases(session)
    seen: dict[str, IndexedEntity] = {}
    for ref, kind, name, title, owner, typ, alias_text, *others in rows:
        if ref not in seen:
            aliases = tuple(a.strip() for a in (alias_text or "").split(",") if a.strip()) + learned.get(ref, ())
            other = tuple(dict.fromkeys(o.strip().lstrip("@#") for o in others if o and o.strip()))
            seen[ref] = IndexedEntity(ref=ref, kind=kind, name=name, title=title, owner_ref=owner, type=typ, aliases=aliases, other_names=other)
    return CatalogIndex(list(seen.values()), gen)


def _learned_aliases(session: Session) -> dict[str, tuple[str, ...]]:
    """Aliases approved in Wayfinder's own overlay (`catalog.adoption.aliases`), by ref."""
    rows = session.execute(select(_A.entity_ref, _A.alias).where(_A.status == "approved").order_by(_A.id))
    found: dict[str, tuple[str, ...]] = {}
    for ref, alias in rows:
        found[ref] = found.get(ref, ()) + (alias,)
    return found


class IndexCache:
    """Keeps one index per process and rebuilds it when the catalog generation moves.

    One thread rebuilds; answers meanwhile resolve names with the previous index (their entity
    rows are read fresh) rather than wait, or build a copy each: after a big sync every answer
    in flight did the latter, starving acks and health checks of the GIL and of pool connections.
    Only the very first build is waited for.

    With an `IndexFile` (the CLI: one process per question) a rebuilt index is also saved, and a
    new process loads the saved one while the catalog has not changed since.
    """

    def __init__(self, saved: IndexFile | None = None) -> None:
        self._index: CatalogIndex | None = None
        self._saved = saved
        self._rebuilding = threading.Lock()

    def get(self, session: Session) -> CatalogIndex:
        current = generation(session)
        index = self._index
        if index is not None and (index.generation >= current or not self._rebuilding.acquire(blocking=False)):
            return index
        if index is None:
            self._rebuilding.acquire()
        try:
            if self._index is None or self._index.generation < current:  # not built meanwhile by another thread
                self._index = self._load_saved(session, current) or self._rebuild(session)
            return self._index
        finally:
            self._rebuilding.release()

    def _load_saved(self, session: Session, gen: int) -> CatalogIndex | None:
        if self._saved is None or self._index is not None:
            return None
        index = self._saved.load(_catalog_key(session, gen))
        return index if index is not None and index.generation == gen else None

    def _rebuild(self, session: Session) -> CatalogIndex:
        index = load_index(session)
        if self._saved is not None:
            self._saved.save(_catalog_key(session, index.generation), index)
        return index


_FIRST_SYNC = select(SyncRun.__table__.c.started_at).order_by(SyncRun.__table__.c.id).limit(1)  # type: ignore[attr-defined]


def _catalog_key(session: Session, gen: int) -> tuple[Any, ...]:
    """Which catalog, at which version: a database recreated under the same URL had another first sync."""
    first = session.execute(_FIRST_SYNC).scalar()
    return ("catalog", first.isoformat() if first else None, gen)


def user_ref_by_email(session: Session, email: str) -> str | None:
    """The active catalog User whose `spec.profile.email` is `email` (case-insensitive), if exactly one."""
    wanted = email.strip().lower()
    rows = session.execute(select(Entity.ref, Entity.spec).where(Entity.kind == "user", _ACTIVE))
    found = {ref for ref, spec in rows if wanted and _profile_email(spec) == wanted}
    return found.pop() if len(found) == 1 else None


def _profile_email(spec: dict[str, object] | None) -> str:
    profile = (spec or {}).get("profile")
    return str(profile.get("email") or "").strip().lower() if isinstance(profile, dict) else ""
