"""Answer a question about the catalog: `ask(session, text, index=...) -> Answer`.

This is the one place questions are understood; Slack, the CLI and HTTP only render.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session

from catalog.answers.card import build_card, contact, dependencies, dependents, entity_links, is_runbook, merge_sources, owner_contact, placement, summaries
from catalog.answers.models import Answer, EntitySummary
from catalog.answers.oncall import no_oncall_note, on_call, staleness_note
from catalog.answers.text import render_text
from catalog.search.resolve import CatalogIndex, Resolution, per_index
from catalog.search.understand import ParsedQuestion, parse
from catalog.store.merge import CatalogEntity
from catalog.store.models import UnansweredQuestion
from catalog.store.reads import get_entities, get_entity, owned_refs, related_refs

INTENT_KINDS: dict[str, set[str]] = {"members": {"group"}, "owned_by": {"group", "user"}}


def ask(
    session: Session,
    text: str,
    *,
    index: CatalogIndex,
    transport: str = "cli",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Answer:
    """Understand `text`, resolve its subject and build the answer (recording what went unanswered)."""
    return _finish(session, parse(text), index, transport, clock)


def ask_about(
    session: Session,
    question: str,
    *,
    ref: str,
    intent: str,
    index: CatalogIndex,
    transport: str = "cli",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Answer:
    """Answer `question`'s intent for one chosen entity, as when someone picks a "Did you mean" candidate."""
    q = ParsedQuestion(question, intent if intent in BUILDERS else "owner", subject=ref, stripped_subject=ref)
    return _finish(session, q, index, transport, clock)


def _finish(session: Session, q: ParsedQuestion, index: CatalogIndex, transport: str, clock: Callable[[], datetime]) -> Answer:
    now = clock()
    answer = _answer(session, q, index, now)
    answer.text = render_text(answer, now=now)
    if answer.status in ("unknown", "not_found"):
        session.add(UnansweredQuestion(question=q.text[:2000], reason=answer.status, transport=transport, asked_at=clock()))
    return answer


def resolve_subject(q: ParsedQuestion, index: CatalogIndex) -> Resolution:
    """Full subject first ("team b" is a name), then without kind words, narrowed by them."""
    kinds = q.kinds | INTENT_KINDS.get(q.intent, set())
    result = index.resolve(q.subject, kinds=kinds or None)
    if result.status == "not_found" and q.stripped_subject != q.subject:
        stripped = index.resolve(q.stripped_subject, kinds=kinds or None)
        if stripped.status != "not_found" or stripped.matches:
            result = stripped
    if result.status == "not_found" and q.kinds:  # the kind word may just be part of a name
        relaxed = index.resolve(q.subject, kinds=INTENT_KINDS.get(q.intent))
        if relaxed.status != "not_found":
            result = relaxed
    return result


def _answer(session: Session, q: ParsedQuestion, index: CatalogIndex, now: datetime) -> Answer:
    base = {"question": q.text, "intent": q.intent}
    if q.intent in ("help", "unknown"):
        return Answer(**base, status=q.intent, examples=example_questions(index))  # type: ignore[arg-type]
    resolution = resolve_subject(q, index)
    summaries = get_entities(session, [m.entity.ref for m in resolution.matches])
    candidates = [EntitySummary.of(summaries[m.entity.ref]) for m in resolution.matches if m.entity.ref in summaries]
    if resolution.status == "not_found":
        if q.bare and len(q.subject.split()) > 3:
            return Answer(**{**base, "intent": "unknown"}, status="unknown", candidates=candidates, examples=example_questions(index))
        return Answer(**base, status="not_found", candidates=candidates, notes=[f"Nothing in the catalog is called {q.subject!r}."])
    if resolution.status == "ambiguous":
        return Answer(**base, status="ambiguous", candidates=candidates)
    best = resolution.best
    assert best is not None
    entity = get_entity(session, best.ref)
    if entity is None:  # retired between index build and now
        return Answer(**base, status="not_found", candidates=candidates)
    answer = Answer(**base, status="answered", subject=EntitySummary.of(entity), sources=list(entity.freshness.values()), asked_at=now)
    BUILDERS[q.intent](session, entity, answer)
    answer.card = build_card(session, entity)
    return answer


def _owner(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    if not entity.owner_ref and entity.kind not in ("group", "user"):
        answer.status = "no_data"
        where = f" Add spec.owner in {entity.location}." if entity.location else ""
        answer.notes.append(f"{entity.name} has no owner in the catalog.{where}")
        return
    owner = get_entity(session, entity.owner_ref) if entity.owner_ref else None
    answer.owner = owner_contact(session, entity, owner)
    if entity.owner_ref and owner is None:
        answer.notes.append(f"The owner {entity.owner_ref} is not in the catalog.")
    answer.sources = merge_sources(entity, owner)


def _members_answer(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.owner = contact(session, entity)
    answer.members = answer.owner.members
    if not answer.members:
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} has no members in the catalog.")


def _owned_by(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    refs = owned_refs(session, entity.ref)
    answer.items = summaries(session, refs)
    if entity.kind == "user":
        teams = [t for _, t in related_refs(session, entity.ref, ["memberOf"])]
        if teams:
            answer.notes.append("Member of " + ", ".join(t.rpartition("/")[2] for t in teams) + ".")
    if not answer.items:
        answer.status = "no_data"
        answer.notes.append(f"Nothing in the catalog is owned by {entity.name}.")


def _depends_on(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.items = dependencies(session, entity)
    if not answer.items:
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} declares no dependencies.")


def _dependents(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.items = dependents(session, entity)
    if not answer.items:
        answer.status = "no_data"
        answer.notes.append(f"Nothing in the catalog depends on {entity.name}.")


def _links(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.links = entity_links(entity)
    if "runbook" in answer.question.lower() and not any(is_runbook(link) for link in answer.links):
        answer.notes.append(f"{entity.name} has no runbook link in the catalog.")
    if not answer.links:
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} has no links in the catalog.")


def _where(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.system, answer.domain, answer.parent = placement(session, entity)
    if not (answer.system or answer.domain or answer.parent):
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} is not part of any system or domain in the catalog.")


def _oncall(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """Who is on call now, from the PagerDuty facts merged into the entity.

    The owner always comes along: it is the way in when PagerDuty has nobody, has no link for
    the entity, or is stale; a stale answer says why before anything else.
    """
    assert answer.asked_at is not None
    _owner(session, entity, answer)
    answer.oncall = on_call(entity, answer.asked_at)
    if answer.oncall is not None and answer.oncall.shifts:
        answer.status = "answered"
        note = staleness_note(answer.oncall, answer.asked_at)
    else:
        answer.status = "no_data"
        note = no_oncall_note(entity, answer.oncall, answer.asked_at)
    if note:
        answer.notes.insert(0, note)


BUILDERS: dict[str, Callable[[Session, CatalogEntity, Answer], None]] = {
    "owner": _owner,
    "members": _members_answer,
    "owned_by": _owned_by,
    "depends_on": _depends_on,
    "dependents": _dependents,
    "links": _links,
    "where": _where,
    "oncall": _oncall,
}


@per_index  # scans the catalog: once per index, not once per help or unknown question
def example_questions(index: CatalogIndex) -> list[str]:
    """Examples drawn from the real catalog, so help suggests questions that have answers.

    The team is the one that owns the most; the component and resource are ones it owns.
    """
    owners = Counter(e.owner_ref for e in index.entities if e.owner_ref and e.owner_ref.startswith("group:"))
    team_ref = next((ref for ref, _ in owners.most_common() if index.get(ref)), None)
    team = index.get(team_ref) if team_ref else None
    owned = [e for e in index.entities if team_ref and e.owner_ref == team_ref]
    component = next((e.name for e in owned if e.kind == "component"), None) or next(
        (e.name for e in index.entities if e.kind == "component" and e.owner_ref), "payments-service"
    )
    resource = next((e.name for e in owned if e.kind == "resource"), component)
    team_name = team.name if team else "team-a"
    return [f"who owns {component}?", f"what does {team_name} own?", f"who is in {team_name}?", f"what depends on {resource}?", f"docs for {component}"]
