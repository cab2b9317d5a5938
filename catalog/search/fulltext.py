"""Full-text search over entity names, titles, descriptions and tags: "who handles chargebacks".

The database keeps the text index current by itself (migration 0008), so the sync engine knows
nothing about it: on SQLite an FTS5 external-content table `entity_fts` maintained by triggers
on `entity`; on PostgreSQL a generated `tsvector` column `entity.search_vector` with a GIN index.
Both stem English words, so "chargebacks" finds "chargeback-service" and "sends emails" finds
"email-sender" (query words of 4+ letters also match as prefixes).

Every significant word of the question must match (words that ask rather than describe, like
"who", "owns", "thing", are dropped first): a question that only shares a word with a
description finds nothing, rather than a confident wrong answer. Only when its own words find
nothing does a word also match its synonyms (`catalog.search.synonyms`: "k8s" finds
"Kubernetes"), and the answer says which reading it took; what only related words find
("billing" for "invoicing") is offered, never answered for sure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import text as sql
from sqlmodel import Session

from catalog.search.intents import KIND_WORDS
from catalog.search.resolve import CatalogIndex, Match, Resolution, answers_for
from catalog.search.synonyms import Strength, synonyms

Field = Literal["name", "title", "tags", "description"]
FIELDS: tuple[Field, ...] = ("name", "title", "tags", "description")  # strongest first
# bm25 column weights on SQLite, in `entity_fts` column order (name, title, description, tags);
# PostgreSQL gives name and title weight A, tags B, description C.
_SQLITE_WEIGHTS = "10.0, 10.0, 1.0, 4.0"
# One hit answers only when it scores at least this many times the runner-up; otherwise the
# best hits are offered as candidates. Ranks are relative, so a ratio works on both databases.
CLEAR_MARGIN = 1.5
UMBRELLAS = {"domain", "system"}
SPECIFIC_WORD = 6  # letters of a lone describing word specific enough to answer on a description alone ("settlements")
PREFIX_MIN = 4  # shorter words match whole ("go", "sms"), longer ones as prefixes too ("send" -> "sender")

# Words that ask rather than describe: question words, intent verbs, kind words, filler.
STOP_WORDS = frozenset(
    """
    a about all an and any anybody anyone are as ask at be behind but by can could do does for from get
    handle handles handling has have hello help hey hi how i if in is it its know look looking me my need
    of on or our own owned owner owners owns please pls run runs so some somebody someone something tell
    that the their them there these thing things this those to us we what whats where which who whom whos
    whose why with would you your responsible accountable maintain maintains maintained maintainer
    contact reach ping talk should team teams squad group service services svc component components api
    apis system systems app stuff deals deal takes take care not no per each count number many much most list show
    talks talking calls calling integrates integration integrations connects connected wraps via time today now
    """.split()
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class TextHit:
    """One entity the text matches: `score` is relative (higher is better), `fields` strongest first."""

    ref: str
    score: float
    fields: tuple[Field, ...]

    @property
    def field(self) -> Field:
        return self.fields[0] if self.fields else "description"


@dataclass(frozen=True)
class TextMatch(Match):
    """A resolution match found by full-text search, remembering which field matched and how words were read."""

    field: Field = "description"
    reading: str = ""  # "'k8s' as kubernetes" when synonyms found it


def terms(text: str) -> list[str]:
    """The describing words of `text`, lowercase ASCII alphanumerics (safe inside either query syntax)."""
    words = _WORD.findall(text.lower().replace("'", ""))
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS))


def search_text(session: Session, text: str, *, limit: int = 5, any_word: bool = False, expand: Strength | None = None) -> list[TextHit]:
    """Active entities whose text contains every describing word of `text` (or any, with `any_word`), best first, one per ref.

    With `expand`, a word also matches its synonyms of that strength; a text none of whose words has any finds nothing.
    """
    words = [(w, *synonyms(w, expand)) if expand else (w,) for w in terms(text)]
    if not words or (expand and all(len(w) == 1 for w in words)):
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = _postgres_rows(session, words, limit * 4, any_word)
    else:
        rows = _sqlite_rows(session, words, limit * 4, any_word)
    best: dict[str, TextHit] = {}
    for ref, score, *matched in rows:
        fields = tuple(f for f, hit in zip(FIELDS, matched, strict=True) if hit)
        if ref not in best or score > best[ref].score:
            best[ref] = TextHit(ref, float(score), fields)
    return sorted(best.values(), key=lambda h: (-h.score, h.ref))[:limit]


def _sqlite_rows(session: Session, words: list[tuple[str, ...]], limit: int, any_word: bool) -> list[Any]:
    def alternative(w: str) -> str:  # a quoted phrase of several words matches them in a row
        return f'"{w}"*' if len(w) >= PREFIX_MIN and " " not in w else f'"{w}"'

    def term(alternatives: tuple[str, ...]) -> str:
        return alternative(alternatives[0]) if len(alternatives) == 1 else f"({' OR '.join(map(alternative, alternatives))})"

    def marked(column: int) -> str:  # highlight() marks matched words of that column with char(1)
        return f"instr(highlight(entity_fts, {column}, char(1), ''), char(1)) > 0"

    statement = sql(
        f"SELECT e.ref, -bm25(entity_fts, {_SQLITE_WEIGHTS}) AS score, {marked(0)}, {marked(1)}, {marked(3)}, {marked(2)} "
        "FROM entity_fts JOIN entity e ON e.id = entity_fts.rowid "
        "WHERE entity_fts MATCH :all AND e.retired_at IS NULL ORDER BY score DESC LIMIT :limit"
    )
    joined = (" OR " if any_word else " AND ").join(term(w) for w in words)
    return list(session.execute(statement, {"all": joined, "limit": limit}))


def _postgres_rows(session: Session, words: list[tuple[str, ...]], limit: int, any_word: bool) -> list[Any]:
    def alternative(w: str) -> str:
        if " " in w:
            return f"({' <-> '.join(w.split())})"
        return f"{w}:*" if len(w) >= PREFIX_MIN else w

    def term(alternatives: tuple[str, ...]) -> str:
        return f"({' | '.join(map(alternative, alternatives))})"

    def marked(column: str) -> str:
        return f"to_tsvector('english', coalesce({column}, '')) @@ to_tsquery('english', :any)"

    statement = sql(
        f"SELECT ref, ts_rank(search_vector, q) AS score, {marked('name')}, {marked('title')}, {marked('tags::text')}, "
        f"{marked('description')} FROM entity, to_tsquery('english', :all) AS q "
        "WHERE search_vector @@ q AND retired_at IS NULL ORDER BY score DESC LIMIT :limit"
    )
    params = {"all": (" | " if any_word else " & ").join(term(w) for w in words), "any": " | ".join(term(w) for w in words), "limit": limit}
    return list(session.execute(statement, params))


def _says(session: Session, ref: str, words: list[str]) -> bool:
    """Whether `ref`'s text holds `words` as one phrase ("shopping experience"), not scattered ("shopping ... basket")."""
    if session.get_bind().dialect.name == "postgresql":
        statement = sql("SELECT 1 FROM entity WHERE ref = :ref AND search_vector @@ to_tsquery('english', :phrase)")
        phrase = " <-> ".join(words)
    else:
        statement = sql("SELECT 1 FROM entity_fts JOIN entity e ON e.id = entity_fts.rowid WHERE entity_fts MATCH :phrase AND e.ref = :ref")
        phrase = " + ".join(f'"{w}"' for w in words)
    return session.execute(statement, {"ref": ref, "phrase": phrase}).first() is not None


def writes(session: Session, ref: str, text: str) -> bool:
    """Whether `ref`'s name, title, description or tags hold the words of `text` in a row."""
    words = _WORD.findall(text.lower())
    return bool(words) and _says(session, ref, words)


def written_in(session: Session, text: str, index: CatalogIndex) -> Resolution | None:
    """The one entity whose text holds `text` word for word ("orders.v1" in "Kafka topic `orders.v1`"), or None.

    Typed exactly as a catalog entry writes it, such a phrase is better evidence than a name a typo or two away
    (orders-db for "orders.v1"), so a typo match gives way to it.
    """
    words = _WORD.findall(text.lower())
    if not words:
        return None
    if session.get_bind().dialect.name == "postgresql":  # parsed as the documents were: "payments.v1" is one token there
        statement = sql(
            "SELECT ref, ts_rank(search_vector, q), to_tsvector('english', coalesce(name, '')) @@ q, to_tsvector('english', coalesce(title, '')) @@ q, "
            "to_tsvector('english', coalesce(tags::text, '')) @@ q, to_tsvector('english', coalesce(description, '')) @@ q "
            "FROM entity, phraseto_tsquery('english', :text) AS q WHERE search_vector @@ q AND retired_at IS NULL LIMIT 2"
        )
        rows: list[Any] = list(session.execute(statement, {"text": text}))
    else:
        rows = _sqlite_rows(session, [(" ".join(words),)], 2, any_word=False)
    if len(rows) != 1 or (entity := index.get(rows[0][0])) is None:
        return None
    _, score, *matched = rows[0]
    field: Field = next((f for f, hit in zip(FIELDS, matched, strict=True) if hit), "description")
    return Resolution("found", [TextMatch(entity, float(score), "text", field)])


def clearly_best(hits: list[TextHit]) -> bool:
    """One hit stands out: it is alone, or scores `CLEAR_MARGIN` times the runner-up."""
    return len(hits) == 1 or (len(hits) > 1 and hits[0].score >= CLEAR_MARGIN * hits[1].score)


def resolve_by_description(session: Session, text: str, index: CatalogIndex, *, limit: int = 5) -> Resolution | None:
    """The subject of a question that names nothing, found by what it describes; None when nothing matches.

    Found when one entity clearly stands out (`clearly_best`), otherwise the best candidates. A kind
    word ("the service that resizes images") narrows candidates that stand out from none of the others.
    """
    expand: Strength | None = None
    found = [(h, e) for h in search_text(session, text, limit=limit) if (e := index.get(h.ref)) is not None]
    strengths: tuple[Strength, ...] = ("same", "related")
    for strength in strengths:  # its own words describe nothing: maybe other words for them do
        if not found:
            expand = strength
            found = [(h, e) for h in search_text(session, text, limit=limit, expand=strength) if (e := index.get(h.ref)) is not None]
    if not found:
        return None
    reading = _reading(text, expand) if expand else ""
    # "which team handles chargebacks": a team or person word asks who answers, it does not describe the subject
    kinds = {KIND_WORDS[w] for w in _WORD.findall(text.lower()) if w in KIND_WORDS} - {"group", "user"}
    if kinds and not clearly_best([h for h, _ in found]):
        found = [(h, e) for h, e in found if e.kind in kinds] or found
    words = terms(text)
    if all(e.kind in UMBRELLAS for _, e in found) and not kinds & UMBRELLAS and len(words) > 1 and not _says(session, found[0][0].ref, words):
        # A domain's or system's description sums up its parts ("Shopping experience end to end: ... basket"): when
        # its words are scattered there, the parts that some of them describe are offered first, none taken for sure.
        parts = [
            (h, e) for h in search_text(session, text, limit=limit, any_word=True, expand=expand) if (e := index.get(h.ref)) and e.kind not in UMBRELLAS
        ]
        if parts:
            return Resolution("ambiguous", [TextMatch(e, h.score, "text", h.field, reading) for h, e in [*parts, *found][:limit]])
    hits = [h for h, _ in found]
    matches: list[Match] = [TextMatch(e, h.score, "text", h.field, reading) for h, e in found]
    if expand == "related" or _passing_mention(words, hits):  # offered, never answered for sure
        return Resolution("not_found", matches)
    if not clearly_best(hits) and len({answers_for(m.entity) for m in matches}) == 1:  # one team answers for them all
        return Resolution("found", matches, close=len(matches))
    return Resolution("found" if clearly_best(hits) else "ambiguous", matches)


def _passing_mention(words: list[str], hits: list[TextHit]) -> bool:
    """One short word found only in descriptions ("part", "map", "k8s"): a passing mention, not what the entity is."""
    return len(words) == 1 and len(words[0]) < SPECIFIC_WORD and all(h.fields == ("description",) for h in hits)


def _reading(text: str, strength: Strength) -> str:
    """How the synonym search read the question: "'coupons' as voucher, discount, promo or promotion"."""
    read = []
    for word in terms(text):
        if others := synonyms(word, strength):
            read.append(f"{word!r} as {', '.join(others[:-1])} or {others[-1]}" if len(others) > 1 else f"{word!r} as {others[0]}")
    return "; ".join(read)


def text_match_notes(resolution: Resolution) -> list[str]:
    """Say that the answer rests on a description, not a name, so people can judge it."""
    found = [m for m in resolution.matches if isinstance(m, TextMatch)]
    if not found:
        return []
    reading = f", reading {found[0].reading}" if found[0].reading else ""
    if resolution.status == "found":
        best = found[0]
        return [f"Matched on the {best.field} of {best.entity.name}{reading} (nothing in the catalog has that name)."]
    fields = " or ".join(dict.fromkeys(m.field for m in found))
    if resolution.status == "not_found":  # offered below as "Did you mean"
        matching = f"{'one matches on its' if len(found) == 1 else f'{len(found)} match on their'} {fields}."
        return [f"Reading {found[0].reading}, {matching}" if found[0].reading else matching[0].upper() + matching[1:]]
    return [f"Nothing in the catalog has that name; these match on their {fields}{reading}."]


# Objects the database maintains beside the models (see migration 0008): autogenerate must not drop them.
DATABASE_SIDE_TABLES = ("entity_fts",)
DATABASE_SIDE_COLUMNS = ("search_vector",)
DATABASE_SIDE_INDEXES = ("ix_entity_search",)


def is_modelled(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic `include_object`: skip the full-text objects, which no model declares."""
    if type_ == "table" and name and name.startswith(DATABASE_SIDE_TABLES):
        return False
    if type_ == "column" and name in DATABASE_SIDE_COLUMNS:
        return False
    return not (type_ == "index" and name in DATABASE_SIDE_INDEXES)
