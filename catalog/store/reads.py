"""Read queries over the catalog. Keyword-only `session`, never commit.

Answers read a small neighbourhood of their subject: the subject, its owner and the owner's
members, what it is part of, depends on and is depended on by. On PostgreSQL every statement is
a network round trip, so `load_neighbourhood` reads all of it in one statement, and the other
functions here find it in the session's memo instead of asking again. Only the subject and its
owner are read whole and merged (`get_entities`); what a card lists (members, dependencies,
dependents, system and domain) is read as its `Headline`, a few plain columns (`headlines`). The reads an answer makes
run on the session's connection (Core), not through the ORM's `execute`, whose bookkeeping (events,
compile state) a plain SELECT does not need: they flush pending objects first themselves (`_autoflush`).
"""

from __future__ import annotations

import functools
import gc
import logging
import operator
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, BindParameter, Result, Row, Select, String, bindparam, case, cast, event, func, literal_column, null, select, true, type_coerce, union, union_all
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from catalog.adoption.models import AdoptionAlias
from catalog.pacing import Pacer
from catalog.search.resolve import CatalogIndex, IndexedEntity
from catalog.store.facts import ENTITY_FACTS, IDENTITY_FIELDS
from catalog.store.index_file import IndexFile
from catalog.store.merge import CatalogEntity, merge, profile_value
from catalog.store.models import CatalogState, Entity, Relation, SourceState, SyncRun
from catalog.store.raw import CursorRead, row_type
from catalog.sync.sources.descriptor import ALIASES_ANNOTATION

log = logging.getLogger(__name__)
_E = Entity.__table__.c  # type: ignore[attr-defined]
_R = Relation.__table__.c  # type: ignore[attr-defined]
_S = SourceState.__table__.c  # type: ignore[attr-defined]
_A = AdoptionAlias.__table__.c  # type: ignore[attr-defined]
_ACTIVE = _E.retired_at.is_(None)

# Each entity row comes with its source's state (freshness), so no separate read of the states.
_MERGE_COLUMNS = tuple(dict.fromkeys((
    *ENTITY_FACTS, "source", "precedence",
    *("broken_since", "broken_reason"),  # an entity kept while its descriptor is broken (`catalog.sync.broken_files`)
)))  # fmt: skip
_STATE_COLUMNS = ("type", "last_success_at", "last_error", "last_error_at", "last_error_status")
_ENTITY_COLUMNS = (*[_E[name] for name in _MERGE_COLUMNS], *[_S[name].label(f"state_{name}") for name in _STATE_COLUMNS])
_WITH_STATE = Entity.__table__.outerjoin(SourceState.__table__, _S.name == _E.source)  # type: ignore[attr-defined]
_ENTITY_ROWS = select(*_ENTITY_COLUMNS).select_from(_WITH_STATE).where(_ACTIVE)

SLACK_USER_ID = "slack.com/user-id"  # the annotation naming a person's Slack user


class Headline(NamedTuple):
    """An entity as a page or an answer lists it: `EntityHeadline`'s facts, and how to reach it when it is a person (kind user).

    Merged by `merge`'s rule (per fact, the highest-precedence source that has it) from a few plain
    columns, the profile and one annotation: no JSON maps decoded, no pydantic model built. A card
    lists a dozen of these and is about only one or two merged entities.
    """

    ref: str
    kind: str
    name: str
    title: str | None
    description: str | None
    type: str | None
    lifecycle: str | None
    owner_ref: str | None
    display_name: str | None  # a person's spec.profile.displayName, else the title
    email: str | None  # a person's spec.profile.email
    slack_user_id: str | None  # a person's slack.com/user-id


_HEADLINE_FACTS = ("ref", "kind", "name", "title", "description", "type", "lifecycle", "owner_ref")
# A person's profile and Slack id, NULL for other kinds: the database parses no other entity's JSON. `profile`
# is one key of `spec` and merges as one, so it is read whole.
_IS_USER = _E.kind == literal_column("'user'")
_HEADLINE_COLUMNS = {
    **{name: _E[name] for name in (*_HEADLINE_FACTS, "source", "precedence")},
    "profile": case((_IS_USER, _E.spec["profile"])).label("profile"),
    "slack_user_id": case((_IS_USER, _E.annotations[SLACK_USER_ID].as_string())).label("slack_user_id"),
}
_HEADLINE_ROWS = select(*_HEADLINE_COLUMNS.values()).where(_ACTIVE)


def headline_of(entity: CatalogEntity) -> Headline:
    person = entity.kind == "user"
    return Headline(
        **{name: getattr(entity, name) for name in _HEADLINE_FACTS},
        **_contact(entity.title, entity.spec.get("profile") if person else None, entity.annotations.get(SLACK_USER_ID) if person else None),
    )


def _contact(title: str | None, profile: Any, slack_user_id: str | None) -> dict[str, Any]:
    return {"display_name": profile_value(profile, "displayName") or title, "email": profile_value(profile, "email"), "slack_user_id": slack_user_id}


# A headline row's merged columns, read in one call; all but the identity are filled from the next source when empty.
_MERGED_COLUMNS = (*_HEADLINE_FACTS, "profile", "slack_user_id")
_read_merged = operator.attrgetter(*_MERGED_COLUMNS)
_FILLED = tuple(i for i, name in enumerate(_MERGED_COLUMNS) if name not in IDENTITY_FIELDS)
_TITLE = _MERGED_COLUMNS.index("title")


def _headline(rows: list[Any]) -> Headline:
    """One ref's headline rows merged as `merge` merges its full rows: each fact from the highest-precedence source that has it.

    A page merges a dozen of these, almost all from one source: read in one call, not fact by fact.
    """
    ordered = rows if len(rows) == 1 else sorted(rows, key=lambda r: (-r.precedence, r.source))
    values = list(_read_merged(ordered[0]))
    for i in _FILLED:
        if values[i] == "":
            values[i] = None
    for row in ordered[1:]:
        lower = _read_merged(row)
        for i in _FILLED:
            if values[i] is None and lower[i] is not None and lower[i] != "":
                values[i] = lower[i]
    *facts, profile, slack_user_id = values
    return Headline(*facts, **_contact(facts[_TITLE], profile, slack_user_id))


class _StateRow(NamedTuple):
    """The `SourceState` columns `merge.merge` reads."""

    name: str
    type: str
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    last_error_status: str | None


def _plain_rows(result: Result[Any]) -> list[Any]:
    """`result`'s rows as named tuples: the same attributes, read about five times faster.

    `merge` reads some 40 columns of every row by name, at about 0.5 µs each from a SQLAlchemy
    `Row`; an ownership page merges a dozen entities, and that alone was half a millisecond.
    """
    make = row_type(tuple(result.keys()))._make
    return [make(row) for row in result.all()]


def _merged(rows: Iterable[Row[Any]]) -> dict[str, CatalogEntity]:
    """Entity rows (with their state columns) grouped by ref and merged."""
    by_ref: dict[str, list[Row[Any]]] = defaultdict(list)
    states: dict[str, _StateRow] = {}
    for row in rows:
        by_ref[row.ref].append(row)
        if row.state_type is not None:
            states[row.source] = _StateRow(
                row.source, row.state_type, row.state_last_success_at, row.state_last_error, row.state_last_error_at, row.state_last_error_status
            )
    return {ref: entity for ref, group in by_ref.items() if (entity := merge(group, states)) is not None}


# Within one transaction, answers look up the same entities and relations several times (the
# subject, its owner twice, the owner's members twice...). Each session remembers what it read in
# `session.info` until it writes (flush, or INSERT/UPDATE/DELETE through `execute`) or its
# transaction ends, so what it returns is exactly what a fresh query would.
_MEMO = "wayfinder.queries.memo"


def _memo(session: Session) -> dict[Any, Any]:
    memo: dict[Any, Any] | None = session.info.get(_MEMO)
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


def _autoflush(session: Session) -> None:
    """What an ORM query would do first: these Core statements see this session's pending objects too.

    `flush` returns at once when nothing is pending; asking `session.dirty` first cost more than that.
    """
    if session.autoflush:
        session.flush()


def _remember_entities(memo: dict[Any, Any], wanted: Iterable[str], rows: Iterable[Row[Any]]) -> None:
    found = _merged(rows)
    for ref in wanted:
        memo["entity", ref] = found.get(ref)


def _remember_relations(memo: dict[Any, Any], asked: Iterable[tuple[str, str]], rows: Iterable[tuple[str, str, str]]) -> None:
    """`asked` are the (subject, type) pairs the rows answer in full, including those with no row."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for subject, type_, target in rows:
        found[subject, type_].add(target)
    for subject, type_ in asked:
        memo["related", subject, type_] = sorted(found.get((subject, type_), ()))


def refs_at_stage(session: Session, stage: str) -> set[str]:
    """Active entities with a row (from any source) at lifecycle `stage`: the only ones whose merged lifecycle can be it."""
    return set(session.scalars(select(_E.ref).where(_ACTIVE, func.lower(func.trim(_E.lifecycle)) == stage).distinct()))


def get_entities(session: Session, refs: Iterable[str]) -> dict[str, CatalogEntity]:
    """Merged views of the given refs that exist and are active."""
    wanted = list(dict.fromkeys(r.lower() for r in refs))
    _autoflush(session)
    memo = _memo(session)
    missing = [ref for ref in wanted if ("entity", ref) not in memo]
    for i in range(0, len(missing), 500):
        chunk = missing[i : i + 500]
        _remember_entities(memo, chunk, _plain_rows(session.connection().execute(_ENTITY_ROWS.where(_E.ref.in_(chunk)))))
    return {ref: m for ref in wanted if (m := memo["entity", ref]) is not None}


def get_entity(session: Session, ref: str) -> CatalogEntity | None:
    return get_entities(session, [ref]).get(ref.lower())


def _remember_headlines(memo: dict[Any, Any], wanted: Iterable[str], rows: Iterable[Any]) -> None:
    by_ref: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_ref[row.ref].append(row)
    for ref in wanted:
        memo["headline", ref] = _headline(by_ref[ref]) if ref in by_ref else None


def headlines(session: Session, refs: Iterable[str]) -> dict[str, Headline]:
    """Headlines of the given refs that exist and are active, in the order asked; from a merged entity when the session has one."""
    wanted = list(dict.fromkeys(r.lower() for r in refs))
    _autoflush(session)
    memo = _memo(session)
    missing = [ref for ref in wanted if ("entity", ref) not in memo and ("headline", ref) not in memo]
    for i in range(0, len(missing), 500):
        chunk = missing[i : i + 500]
        _remember_headlines(memo, chunk, _plain_rows(session.connection().execute(_HEADLINE_ROWS.where(_E.ref.in_(chunk)))))
    found: dict[str, Headline] = {}
    for ref in wanted:
        if ("entity", ref) in memo:
            if (entity := memo["entity", ref]) is not None:
                found[ref] = headline_of(entity)
        elif (headline := memo["headline", ref]) is not None:
            found[ref] = headline
    return found


@functools.cache
def _active_among(count: int) -> CursorRead:
    """Which of `count` refs are active, read on the cursor; one statement per power of two, so a few are ever compiled."""
    return CursorRead(select(_E.ref).where(_E.ref.in_([bindparam(f"ref{i}", type_=String()) for i in range(count)]), _ACTIVE).distinct())


def active_refs(conn: Connection, refs: Iterable[str]) -> set[str]:
    """Which of `refs` exist and are active, on a plain connection: every page asks it of the owners it names.

    Refs only, not headlines, no ORM session, and on the cursor: SQLAlchemy's handling of an
    expanding IN cost three times the query itself.
    """
    wanted = list(dict.fromkeys(r.lower() for r in refs))
    found: set[str] = set()
    for i in range(0, len(wanted), 512):
        chunk = wanted[i : i + 512]
        count = 1 << (len(chunk) - 1).bit_length()  # padded with "", which no ref is
        found.update(row.ref for row in _active_among(count).rows_on(conn, {f"ref{j}": ref for j, ref in enumerate(chunk + [""] * (count - len(chunk)))}))
    return found


def refs_named(session: Session, name: str) -> list[str]:
    """Active refs called `name` in any kind or namespace (case-insensitive), for links that carry only a name."""
    query = select(_E.ref).where(func.lower(_E.name) == name.lower(), _ACTIVE).distinct().order_by(_E.ref)
    return list(session.scalars(query))


def related_refs(session: Session, ref: str, types: Iterable[str]) -> list[tuple[str, str]]:
    """`(relation type, target ref)` pairs from `ref`, de-duplicated across sources, sorted by type then target."""
    wanted = sorted(set(types))
    _autoflush(session)
    memo = _memo(session)
    missing = [t for t in wanted if ("related", ref, t) not in memo]
    if missing:
        rows = session.execute(select(_R.subject_ref, _R.type, _R.target_ref).where(_R.subject_ref == ref, _R.type.in_(missing)))
        _remember_relations(memo, [(ref, t) for t in missing], [(str(subject), str(type_), str(target)) for subject, type_, target in rows])
    return [(t, target) for t in wanted for target in memo["related", ref, t]]


# What an answer card reads about its subject (`catalog.answers.card`): the relations from the
# subject, and a second hop from the owner (members), from what it is part of (a system's domain)
# and from the APIs it provides (their consumers).
NEIGHBOURHOOD_RELATIONS = ("partOf", "dependsOn", "consumesApi", "dependencyOf", "apiConsumedBy", "providesApi", "hasMember", "memberOf")
SECOND_HOP = {"partOf": "partOf", "providesApi": "apiConsumedBy"}
OWNER_HOP = "hasMember"


def _constant(word: str) -> Any:
    """`word` as an SQL string constant, not a bind parameter: the statement stays short enough for psycopg's cache of
    parsed queries (4,096 bytes; above it every execution parsed the text again, 0.2 ms)."""
    return literal_column(f"'{word}'")


def _neighbourhood_statement() -> Any:
    """Entity, headline and relation rows of a subject's neighbourhood, in one result (one round trip).

    The subject and its owner come as entity rows ("e"), everything the relations point at as
    headline rows ("h"), which fill only the headline columns. All rows share the entity rows'
    columns plus the headline's `profile` and `slack_user_id`, `row` ("e", "h" or "r"), `subject`
    and `rel_type`; a relation row puts its target in `ref` and leaves the other columns empty.
    """
    ref: BindParameter[str] = bindparam("ref", type_=String())
    owners = select(_E.owner_ref).where(_E.ref == ref, _ACTIVE, _E.owner_ref.is_not(None))
    relation = select(_R.subject_ref, _R.type, _R.target_ref)
    relations = union_all(
        relation.where(_R.subject_ref == ref, _R.type.in_([_constant(t) for t in NEIGHBOURHOOD_RELATIONS])),
        relation.where(_R.subject_ref.in_(owners), _R.type == _constant(OWNER_HOP)),
        *[
            relation.where(_R.subject_ref.in_(select(_R.target_ref).where(_R.subject_ref == ref, _R.type == _constant(first))), _R.type == _constant(then))
            for first, then in SECOND_HOP.items()
        ],
    ).cte("neighbourhood")
    whole = union(select(ref), owners).cte("neighbourhood_refs")
    # typed NULLs: the result's column types (what `CursorRead` decodes) are this first SELECT's
    headline_only = (type_coerce(null(), JSON).label("profile"), null().label("slack_user_id"))
    # the catalog's generation, in the same snapshot: the index's check (`IndexCache.confirm`) costs no round trip of its own
    state = CatalogState.__table__.c  # type: ignore[attr-defined]
    current = select(state.generation).where(state.id == literal_column("1")).scalar_subquery().label("generation")
    entities = (
        select(*_ENTITY_COLUMNS, *headline_only, _constant("e").label("row"), null().label("subject"), null().label("rel_type"), current)
        .select_from(whole.join(_WITH_STATE, _E.ref == whole.c.ref))
        .where(_ACTIVE)
    )
    as_headline = [_HEADLINE_COLUMNS.get(c.name, null()) for c in _ENTITY_COLUMNS] + [_HEADLINE_COLUMNS["profile"], _HEADLINE_COLUMNS["slack_user_id"]]
    listed = select(*as_headline, _constant("h"), null(), null(), null()).where(_E.ref.in_(select(relations.c.target_ref)), _ACTIVE)
    as_relation = [relations.c.target_ref if c.name == "ref" else null() for c in _ENTITY_COLUMNS] + [null(), null()]
    return union_all(entities, listed, select(*as_relation, _constant("r"), relations.c.subject_ref, relations.c.type, null()))


_NEIGHBOURHOOD = CursorRead(_neighbourhood_statement())  # read on every page view and answer


def load_neighbourhood(session: Session, ref: str) -> None:
    """Read what an answer about `ref` will read into the session's memo, in one statement."""
    ref = ref.lower()
    _autoflush(session)
    memo = _memo(session)
    if ("neighbourhood", ref) in memo:
        return
    entity_rows, headline_rows, relation_rows = [], [], []
    for row in _NEIGHBOURHOOD.rows(session, {"ref": ref}):
        if row.row == "e":
            entity_rows.append(row)
        elif row.row == "h":
            headline_rows.append(row)
        else:
            relation_rows.append((row.subject, row.rel_type, row.ref))
    if entity_rows:  # else (a subject retired since the index was built) `IndexCache.confirm` reads the generation itself
        seen = entity_rows[0].generation or 0  # no catalog_state row: generation 0, as `generation` reads it
        session.info[_GENERATION_SEEN] = max(seen, session.info.get(_GENERATION_SEEN, seen))
    owners = {row.owner_ref for row in entity_rows if row.ref == ref and row.owner_ref}
    firsts = {(t, target) for s, t, target in relation_rows if s == ref and t in SECOND_HOP}
    asked = [(ref, t) for t in NEIGHBOURHOOD_RELATIONS] + [(o, OWNER_HOP) for o in owners] + [(target, SECOND_HOP[t]) for t, target in firsts]
    _remember_relations(memo, asked, relation_rows)
    _remember_entities(memo, {ref, *owners}, entity_rows)
    _remember_headlines(memo, {target for _, _, target in relation_rows}, headline_rows)
    memo["neighbourhood", ref] = True


def owned_refs(session: Session, owner_ref: str) -> list[str]:
    """Entities whose merged owner is `owner_ref` (a lower-precedence source's claim does not count)."""
    candidates = [target for _, target in related_refs(session, owner_ref, ["ownerOf"])]
    merged = get_entities(session, candidates)
    return [ref for ref in candidates if ref in merged and merged[ref].owner_ref == owner_ref]


def relation_targets(session: Session, types: Iterable[str]) -> dict[str, set[str]]:
    """For every entity, the targets of its relations of `types` (de-duplicated across sources): what rankings count."""
    targets: dict[str, set[str]] = {}
    for subject, target in session.execute(select(_R.subject_ref, _R.target_ref).where(_R.type.in_(sorted(set(types))))):
        targets.setdefault(str(subject), set()).add(str(target))
    return targets


# Read before every answer and page (is the index current?): on the cursor, SQLAlchemy's execution cost more than the query.
_GENERATION = CursorRead(select(CatalogState.__table__.c.generation).where(CatalogState.__table__.c.id == 1))  # type: ignore[attr-defined]


def generation(session: Session) -> int:
    _autoflush(session)
    rows = _GENERATION.rows(session, {})
    return rows[0].generation if rows else 0


# The newest catalog generation this session's neighbourhood reads saw (`IndexCache.confirm`). Kept across its
# writes, unlike the memo: a generation read stays what it was.
_GENERATION_SEEN = "wayfinder.generation.seen"


def generation_seen(session: Session) -> int | None:
    """The catalog generation this session's neighbourhood reads saw (None: it made none)."""
    seen: int | None = session.info.get(_GENERATION_SEEN)
    return seen


# Names people use besides name, title and aliases: a team's or person's display name, its PagerDuty
# service name, its Slack user-group handle and channel name, and a person's GitHub login.
OTHER_NAME_PATHS = (("profile", "displayName"), ("pagerduty", "service", "name"))
OTHER_NAME_ANNOTATIONS = (
    "slack.com/usergroup-handle", "github.com/user-login", "slack.com/channel",
    # Slack ids: a person, user group or channel mentioned in a question arrives as its id (`catalog.search.markup`)
    "slack.com/user-id", "slack.com/usergroup-id", "slack.com/channel-id",
    "pagerduty.com/service-id",  # pasted from an alert or a PagerDuty URL: "who is on call for PFRAUD1"
)  # fmt: skip


def load_index(session: Session, *, pace: Callable[[], None] | None = None) -> CatalogIndex:
    """Build the resolution index from every active entity (highest precedence row per ref); `pace`,
    when given, is called once per row and once per entity indexed (`catalog.pacing.Pacer.tick`)."""
    gen = generation(session)
    rows: Iterable[Sequence[Any]] = session.execute(_index_rows(session.get_bind().dialect.name))
    learned = _learned_aliases(session)
    seen: dict[str, IndexedEntity] = {}
    ranks: dict[str, int] = {}
    for ref, precedence, kind, name, title, owner, typ, alias_text, *others in rows:
        if pace is not None:
            pace()
        kept = ranks.get(ref)
        if kept is not None and kept >= precedence:
            continue  # the row kept has a higher (or, first come, the same) precedence
        ranks[ref] = precedence
        # Most entities have neither aliases nor other names: skipping the split and strip for them saves
        # about 50 ms of a 50k-entity rebuild's 600.
        aliases = tuple(a.strip() for a in alias_text.split(",") if a.strip()) if alias_text else ()
        aliases += learned.get(ref, ())
        other = tuple(dict.fromkeys(o.strip().lstrip("@#") for o in others if o and o.strip())) if any(others) else ()
        seen[ref] = IndexedEntity(ref=ref, kind=kind, name=name, title=title, owner_ref=owner, type=typ, aliases=aliases, other_names=other)
    return CatalogIndex(list(seen.values()), gen, pace=pace)


@functools.cache
def _index_rows(dialect: str) -> Select[Any]:
    """Every active entity row with the names `load_index` reads: of its JSON columns only the aliases
    annotation and the other names, extracted by the database.

    Every replica runs this when a sync changes the catalog, all at once. On PostgreSQL the `json`
    columns are parsed once per row (a lateral cast to `jsonb`), not once per extracted name, and
    the rows come unsorted (`load_index` keeps each ref's highest precedence row): at 50k entities
    102 ms of the server's CPU instead of 367 ms (and three processes, as sorting that much went
    parallel and spilled to disk).
    """
    table = Entity.__table__  # type: ignore[attr-defined]
    annotations, spec, rows = _E.annotations, _E.spec, table
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB  # here: a question asked of SQLite never loads PostgreSQL's dialect

        parsed = select(cast(_E.annotations, JSONB).label("a"), cast(_E.spec, JSONB).label("s")).correlate(table).offset(0).lateral("parsed")
        annotations, spec, rows = parsed.c.a, parsed.c.s, rows.join(parsed, true())
    other_names = [spec[path].as_string() for path in OTHER_NAME_PATHS] + [annotations[key].as_string() for key in OTHER_NAME_ANNOTATIONS]
    columns = (_E.ref, _E.precedence, _E.kind, _E.name, _E.title, _E.owner_ref, _E.type, annotations[ALIASES_ANNOTATION].as_string(), *other_names)
    return select(*columns).select_from(rows).where(_E.retired_at.is_(None))


def _learned_aliases(session: Session) -> dict[str, tuple[str, ...]]:
    """Aliases approved in Wayfinder's own overlay (`catalog.adoption.aliases`), by ref."""
    rows = session.execute(select(_A.entity_ref, _A.alias).where(_A.status == "approved").order_by(_A.id))
    found: dict[str, tuple[str, ...]] = {}
    for ref, alias in rows:
        found[str(ref)] = found.get(str(ref), ()) + (str(alias),)
    return found


# The share of a core a server's index rebuild (after the first build) holds itself to. After a big
# sync every replica rebuilds at once, on machines that also run the others and the database: at
# full speed each took a core for a second, and every Slack ack meanwhile waited for one.
REBUILD_SHARE = 0.25

# The replicas of one catalog see a sync's new generation within milliseconds of each other (each
# at its next answer). Each waits a random part of this many seconds before its background rebuild:
# started together, they read every entity row from the database at the same instant, and all their
# rebuilds overlapped, in the seconds the sync was finishing its own work.
REBUILD_SPREAD_SECONDS = 2.0

# Rebuilding the index of this many entities costs an answer a few milliseconds: up to this size
# the answer that sees a new generation waits for it, so a question right after a sync sees the
# sync. A bigger index (about 0.6 s of CPU at 50k entities) is rebuilt in the background.
BACKGROUND_REBUILD_ENTITIES = 5_000


class IndexCache:
    """Keeps one index per process and rebuilds it when the catalog generation moves.

    One thread rebuilds; answers meanwhile resolve names with the previous index (their entity
    rows are read fresh) rather than wait, or build a copy each: after a big sync every answer
    in flight did the latter, starving acks and health checks of the GIL and of pool connections.
    Above `background_above` entities (in the index, or in the catalog now: a first big sync into
    a small catalog) not even the answer that noticed the change waits: the rebuild runs on a
    thread of its own. Only the very first build is waited for.

    With an `IndexFile` (the CLI: one process per question) a rebuilt index is also saved, and a
    new process loads the saved one while the catalog has not changed since.
    """

    def __init__(self, saved: IndexFile | None = None, *, background_above: int = BACKGROUND_REBUILD_ENTITIES) -> None:
        self._index: CatalogIndex | None = None
        self._saved = saved
        self._background_above = background_above
        self._rebuilding = threading.Lock()
        self.after_rebuild: Callable[[], None] | None = None  # the server's `bot.http.app.freeze_heap`
        self.rebuild_share = 1.0  # of a core, for rebuilds after the first: the server's is `REBUILD_SHARE`
        self.rebuild_spread = 0.0  # seconds a background rebuild may wait to start: the server's is `REBUILD_SPREAD_SECONDS`
        self.wait: Callable[[float], object] = threading.Event().wait  # for how long, picked by `self.pick`
        self.pick: Callable[[float, float], float] = random.uniform

    def cached(self) -> CatalogIndex | None:
        """The index built last, without asking the database whether it is current: `confirm` asks afterwards."""
        return self._index

    def confirm(self, session: Session, used: CatalogIndex) -> CatalogIndex:
        """The index an answer built with `used` should have used: `used` while the catalog's generation is still its own.

        The generation comes from the answer's own neighbourhood reads when it made any (the same
        statement: an exact-name answer costs one round trip), else it is read now. Read after the
        answer's reads, it covers them: generations only grow, so an unchanged one was unchanged
        throughout. When it moved, the answer is stale: `get`'s index (rebuilt, or while a big one is
        being rebuilt in the background, `used` again) answers anew, with the session's memo dropped.
        """
        seen = session.info.pop(_GENERATION_SEEN, None)
        current = generation(session) if seen is None else seen
        if current == used.generation:
            return used
        _forget(session)
        return self.get(session, current=current)

    def get(self, session: Session, *, current: int | None = None) -> CatalogIndex:
        """The index of the catalog's `current` generation (read when not given), rebuilt when it moved."""
        current = generation(session) if current is None else current
        index = self._index
        if index is not None and (index.generation >= current or not self._rebuilding.acquire(blocking=False)):
            return index
        if index is None:
            self._rebuilding.acquire()
        elif len(index) > self._background_above or _active_rows(session) > self._background_above:
            threading.Thread(target=self._rebuild_in_background, args=(session.get_bind(),), name="wayfinder-index", daemon=True).start()
            return index  # the thread releases `_rebuilding` when it is done
        try:
            if self._index is None or self._index.generation < current:  # not built meanwhile by another thread
                self._index = self._load_saved(session, current) or self._rebuild(session)
            return self._index
        finally:
            self._rebuilding.release()

    def _rebuild_in_background(self, bind: Engine | Connection) -> None:
        """Build in a session of its own, the cyclic garbage collector paused; a failure leaves the previous
        index, and the next question tries again.

        A 50k-entity index was about 170k objects the collector tracks (65k with its postings as
        `catalog.search.resolve.Postings`). Allocated while requests ran, they set off two or three
        full collections during each build, each walking them with the GIL held (22-54 ms on an idle
        machine) while every request in flight waited. Paused, the collector runs once, after the build
        (the server's `after_rebuild`), and the request garbage of those few seconds waits for it. The
        build starts a random part of `rebuild_spread` seconds late (`REBUILD_SPREAD_SECONDS`).
        """
        collecting = gc.isenabled()
        try:
            if self.rebuild_spread > 0:
                self.wait(self.pick(0.0, self.rebuild_spread))
            gc.disable()
            with Session(bind) as session:
                self._index = self._rebuild(session, background=True)
        except SQLAlchemyError:
            log.exception("rebuilding the resolution index failed; answers keep the previous one")
        finally:
            if collecting:
                gc.enable()
            self._rebuilding.release()

    def _load_saved(self, session: Session, gen: int) -> CatalogIndex | None:
        if self._saved is None or self._index is not None:
            return None
        index = self._saved.load(_catalog_key(session, gen))
        return index if index is not None and index.generation == gen else None

    def _rebuild(self, session: Session, *, background: bool = False) -> CatalogIndex:
        """A new index; one built in the `background` comes with the trigram postings when the one it replaces
        had needed them: else a server's first typo after each big sync built them in its answer (about 270 ms
        of CPU at 50k names, with the GIL mostly held), on every replica."""
        paced = self._index is not None and self.rebuild_share < 1  # the first build is waited for: at full speed
        pace = Pacer(self.rebuild_share).tick if paced else None
        index = load_index(session, pace=pace)
        if background and self._index is not None and self._index.lazy_parts_built:
            index.build_lazy_parts(pace)
        if self._saved is not None:
            self._saved.save(_catalog_key(session, index.generation), index)
        if self.after_rebuild is not None:
            self.after_rebuild()
        return index


def _active_rows(session: Session) -> int:
    """How many active entity rows the next index reads. In the replica drill, once the big sync filled
    a small catalog, one answer per replica rebuilt the 50k entities' index itself, paced, and waited."""
    return int(session.execute(select(func.count()).where(_ACTIVE)).scalar_one())


_FIRST_SYNC = select(SyncRun.__table__.c.started_at).order_by(SyncRun.__table__.c.id).limit(1)  # type: ignore[attr-defined]


def _catalog_key(session: Session, gen: int) -> tuple[Any, ...]:
    """Which catalog, at which version, indexed under which names (a database recreated under the same URL had another first sync)."""
    first = session.execute(_FIRST_SYNC).scalar()
    return ("catalog", first.isoformat() if first else None, gen, OTHER_NAME_PATHS, OTHER_NAME_ANNOTATIONS)


def user_ref_by_email(session: Session, email: str) -> str | None:
    """The active catalog User whose `spec.profile.email` is `email` (case-insensitive), if exactly one."""
    wanted = email.strip().lower()
    rows: Iterable[Sequence[Any]] = session.execute(select(_E.ref, _E.spec).where(_E.kind == "user", _ACTIVE))
    found = {ref for ref, spec in rows if wanted and _profile_email(spec) == wanted}
    return found.pop() if len(found) == 1 else None


def users_by_login(session: Session, logins: Iterable[str]) -> dict[str, str]:
    """lower-cased GitHub login -> the active catalog User annotated `github.com/user-login` with it, else the User of that name."""
    wanted = {login.lower() for login in logins}
    annotated: dict[str, str] = {}
    named: dict[str, str] = {}
    rows: Iterable[Sequence[Any]] = session.execute(select(_E.ref, _E.name, _E.annotations).where(_E.kind == "user", _ACTIVE).order_by(_E.ref))
    for ref, name, notes in rows:
        if (login := str((notes or {}).get("github.com/user-login", "")).strip().lower()) in wanted:
            annotated.setdefault(login, ref)
        if name.lower() in wanted:
            named.setdefault(name.lower(), ref)
    return named | annotated


def _profile_email(spec: dict[str, object] | None) -> str:
    profile = (spec or {}).get("profile")
    return str(profile.get("email") or "").strip().lower() if isinstance(profile, dict) else ""
