"""Rankings: "which team owns the most services", "which team has the most members", "what is the most
depended-on service", "which system has the most components". The top five (or bottom five), each with
its count and up to five of what was counted, linked like any list answer."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from catalog.answers.gaps import OWNABLE, GapQuestion, describe_asked, looked_at, looking_at, merged
from catalog.answers.models import EntitySummary, Gap
from catalog.search.intents import KIND_WORDS, STOP_WORDS, is_cue
from catalog.search.resolve import CatalogIndex, IndexedEntity
from catalog.search.tags import tagged
from catalog.store.reads import relation_targets

RANKS = dict.fromkeys(("most", "biggest", "largest", "top"), "most") | dict.fromkeys(("fewest", "least", "smallest"), "fewest")
RANKED = 5  # entities shown in a ranking, each with up to RANKED_ITEMS of what was counted
RANKED_ITEMS = 5
# What a ranking counts, read from the relations stored for each ranked entity.
MEASURES = {
    "members": ("hasMember",),
    "dependents": ("dependencyOf", "apiConsumedBy"),
    "dependencies": ("dependsOn", "consumesApi"),
    "parts": ("hasPart",),
}
_MEASURE_WORDS = {
    "members": {"members", "member", "people", "engineers", "folks", "headcount", "persons", "users"},
    "dependents": {"dependents", "depended", "consumers", "callers", "used", "consumed"},
    "dependencies": {"dependencies", "deps", "upstreams"},
}
_SIZE = {"biggest", "largest", "smallest"}  # "the biggest team": its size is its members
_OWNERS_ASKED = {"who", "team", "teams", "squad", "squads", "group", "groups", "owner", "owners", "owns", "own"}
_RANKING_WORDS = RANKS.keys() | _OWNERS_ASKED | {"number", "count", "amount", "many", "per", "by", "has", "have", "on", "is", "are"}
_RANKING_WORDS |= {w for words in _MEASURE_WORDS.values() for w in words}


def ranking_order(words: list[str]) -> str | None:
    """"most" or "fewest" when `words` ask for a ranking: an order word, or a count per owner ("number of services per team")."""
    order = next((RANKS[w] for w in words if w in RANKS), None)
    if order is None and set(words) & {"per", "each"} and set(words) & {"count", "number", "many"}:
        order = "most"
    return order


def rank_question(words: list[str]) -> GapQuestion | None:
    """What a ranking question ranks, by what, in which order; None when it is not one."""
    words = [part for w in words for part in w.split("-") if part]  # "the most depended-on service", "most-used"
    present = set(words)
    order = ranking_order(words)
    if order is None:
        return None
    if any(w not in _RANKING_WORDS and w not in STOP_WORDS and w not in KIND_WORDS and not is_cue(w) and not w.isdigit() for w in words):
        return None  # "who owns the most popular service" ranks by something else
    kinds = [w for w in words if w in KIND_WORDS]
    by = next((measure for measure, cues in _MEASURE_WORDS.items() if present & cues), None)
    if by is None and present & _SIZE and kinds and all(KIND_WORDS[w] == "group" for w in kinds):
        by = "members"
    if by is None and len(kinds) >= 2 and KIND_WORDS[kinds[0]] in ("system", "domain"):
        by = "parts"  # "which system has the most components"
    if by is None:
        if not present & _OWNERS_ASKED:
            return None
        owned = [w for w in words if KIND_WORDS.get(w) not in ("group", "user")]  # "which team ... services": services are ranked
        return replace(looking_at(owned, ["all"]), ranked=order)
    ranked = replace(looking_at(words, ["all"]), ranked=order, by=by)
    return replace(ranked, parts_kind=KIND_WORDS[kinds[1]]) if by == "parts" else ranked


def find_ranked(session: Session, index: CatalogIndex, question: GapQuestion) -> tuple[str, list[Gap]]:
    """The description of what was ranked, and one listing per ranked entity, most (or fewest) first; ties by name."""
    counted = _owned(session, index, question) if question.by == "owned" else _related(session, index, question)
    sign = -1 if question.ranked == "most" else 1
    top = sorted(counted, key=lambda c: (sign * len(c[1]), c[0].ref))[:RANKED]
    gaps = []
    for entity, refs in top:
        shown = sorted(refs)[:RANKED_ITEMS]
        items = sorted((EntitySummary.of(m) for m in merged(session, shown)), key=lambda s: (s.kind, s.name))
        gaps.append(Gap(key="all", label="", scope=_heading(question, entity), total=len(refs), items=items))
    return describe_asked(None, question, None), gaps


def _owned(session: Session, index: CatalogIndex, question: GapQuestion) -> list[tuple[IndexedEntity, list[str]]]:
    tagged_refs = tagged(session, index, question.tag) if question.tag else None
    by_owner: dict[str, list[str]] = {}
    for e in index.entities:
        if e.owner_ref and looked_at("all", question, e) and e.kind in OWNABLE and (tagged_refs is None or e.ref in tagged_refs):
            by_owner.setdefault(e.owner_ref, []).append(e.ref)
    return [(owner, refs) for ref, refs in by_owner.items() if (owner := index.get(ref)) is not None]


def _related(session: Session, index: CatalogIndex, question: GapQuestion) -> list[tuple[IndexedEntity, list[str]]]:
    """Each entity of the ranked kind with what it relates to by the measure (none counts too: "the fewest")."""
    targets = relation_targets(session, MEASURES[question.by])
    kind = question.kind or ("group" if question.by == "members" else None)
    ranked = [e for e in index.entities if (e.is_a(kind, question.type) if kind else e.kind in OWNABLE)]
    parts_kind = question.parts_kind
    counted = [(e, [r for r in targets.get(e.ref, ()) if index.get(r) is not None]) for e in ranked]  # a retired entity no longer counts
    return [(e, [r for r in refs if r.startswith(f"{parts_kind}:")]) for e, refs in counted] if parts_kind else counted


def _heading(question: GapQuestion, entity: IndexedEntity) -> str:
    if question.by == "owned":
        return f"{describe_asked('all', question, None)} owned by {entity.name}"
    return {
        "members": f"Members of {entity.name}",
        "dependents": f"Depending on {entity.name}",
        "dependencies": f"Dependencies of {entity.name}",
        "parts": f"{_plural(question.parts_kind)} in {entity.name}",
    }[question.by]


def _plural(kind: str | None) -> str:
    return {"component": "Components", "api": "APIs", "resource": "Resources", "system": "Systems"}.get(kind or "", "Entities")
