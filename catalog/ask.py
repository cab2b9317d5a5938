"""Answer a question about the catalog: `ask(session, text, index=...) -> Answer`.

This is the one place questions are understood; Slack, the CLI and HTTP only render.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session

from catalog.answers import Answer, Contact, EntitySummary, LinkInfo, Person
from catalog.models import UnansweredQuestion
from catalog.questions import ParsedQuestion, parse
from catalog.queries import get_entities, get_entity, owned_refs, related_refs
from catalog.render_text import render_text
from catalog.search import CatalogIndex, Resolution
from catalog.views import CatalogEntity

SLACK_CHANNEL = "slack.com/channel"
SLACK_CHANNEL_ID = "slack.com/channel-id"
SLACK_USERGROUP_ID = "slack.com/usergroup-id"
SLACK_USERGROUP_HANDLE = "slack.com/usergroup-handle"
SLACK_USER_ID = "slack.com/user-id"

INTENT_KINDS: dict[str, set[str]] = {"members": {"group"}, "owned_by": {"group", "user"}}
LINK_ANNOTATIONS = {
    "github.com/project-slug": ("Repository", "repo", "https://github.com/{}"),
    "backstage.io/source-location": ("Source", "repo", "{}"),
    "backstage.io/view-url": ("View source", "repo", "{}"),
}


def ask(
    session: Session,
    text: str,
    *,
    index: CatalogIndex,
    transport: str = "cli",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Answer:
    """Understand `text`, resolve its subject and build the answer (recording what went unanswered)."""
    q = parse(text)
    answer = _answer(session, q, index)
    answer.text = render_text(answer, now=clock())
    if answer.status in ("unknown", "not_found"):
        session.add(UnansweredQuestion(question=text[:2000], reason=answer.status, transport=transport, asked_at=clock()))
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


def _answer(session: Session, q: ParsedQuestion, index: CatalogIndex) -> Answer:
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
    answer = Answer(**base, status="answered", subject=EntitySummary.of(entity), sources=list(entity.freshness.values()))
    BUILDERS[q.intent](session, entity, answer)
    return answer


def _owner(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    if entity.kind in ("group", "user") and not entity.owner_ref:
        answer.owner = contact(session, entity)  # "who owns team-a" means "who is team-a"
        return
    if not entity.owner_ref:
        answer.status = "no_data"
        where = f" Add spec.owner in {entity.location}." if entity.location else ""
        answer.notes.append(f"{entity.name} has no owner in the catalog.{where}")
        return
    owner = get_entity(session, entity.owner_ref)
    if owner is None:
        answer.owner = Contact(ref=entity.owner_ref, kind=entity.owner_ref.split(":")[0], name=entity.owner_ref.rpartition("/")[2])
        answer.notes.append(f"The owner {entity.owner_ref} is not in the catalog.")
        return
    answer.owner = contact(session, owner)
    _add_sources(answer, owner)


def contact(session: Session, e: CatalogEntity) -> Contact:
    members = _members(session, e) if e.kind == "group" else []
    return Contact(
        ref=e.ref, kind=e.kind, name=e.name, display_name=e.profile("displayName") or e.title, email=e.profile("email"),
        slack_channel=e.annotations.get(SLACK_CHANNEL), slack_channel_id=e.annotations.get(SLACK_CHANNEL_ID),
        slack_usergroup_id=e.annotations.get(SLACK_USERGROUP_ID),
        slack_usergroup_handle=e.annotations.get(SLACK_USERGROUP_HANDLE), members=members,
    )  # fmt: skip


def _members(session: Session, group: CatalogEntity) -> list[Person]:
    refs = [t for _, t in related_refs(session, group.ref, ["hasMember"])]
    return [_person(u) for u in get_entities(session, refs).values() if u.kind == "user"]


def _person(u: CatalogEntity) -> Person:
    return Person(
        ref=u.ref, name=u.name, display_name=u.profile("displayName") or u.title, email=u.profile("email"),
        slack_user_id=u.annotations.get(SLACK_USER_ID),
    )  # fmt: skip


def _members_answer(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.owner = contact(session, entity)
    answer.members = answer.owner.members
    if not answer.members:
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} has no members in the catalog.")


def _owned_by(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    refs = owned_refs(session, entity.ref)
    answer.items = _summaries(session, refs)
    if entity.kind == "user":
        teams = [t for _, t in related_refs(session, entity.ref, ["memberOf"])]
        if teams:
            answer.notes.append("Member of " + ", ".join(t.rpartition("/")[2] for t in teams) + ".")
    if not answer.items:
        answer.status = "no_data"
        answer.notes.append(f"Nothing in the catalog is owned by {entity.name}.")


def _summaries(session: Session, refs: list[str], relation: dict[str, str] | None = None, via: dict[str, str] | None = None) -> list[EntitySummary]:
    found = get_entities(session, refs)
    out = []
    for ref in refs:
        extra = {"relation": (relation or {}).get(ref), "via": (via or {}).get(ref)}
        e = found.get(ref)
        if e is not None:
            out.append(EntitySummary.of(e, **extra))
        else:  # a reference to something missing still tells the reader a lot
            kind, _, rest = ref.partition(":")
            out.append(EntitySummary(ref=ref, kind=kind, name=rest.rpartition("/")[2], **extra))
    return sorted(out, key=lambda s: (s.kind, s.name))


def _depends_on(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    pairs = related_refs(session, entity.ref, ["dependsOn", "consumesApi", "partOf"])
    pairs = [(t, r) for t, r in pairs if t != "partOf" or r.startswith("component:")]
    answer.items = _summaries(session, [r for _, r in pairs], relation={r: t for t, r in pairs})
    if not answer.items:
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} declares no dependencies.")


def _dependents(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    pairs = related_refs(session, entity.ref, ["dependencyOf", "apiConsumedBy"])
    relation = {r: t for t, r in pairs}
    via: dict[str, str] = {}
    for _, api in related_refs(session, entity.ref, ["providesApi"]):
        for _, consumer in related_refs(session, api, ["apiConsumedBy"]):
            if consumer != entity.ref and consumer not in relation:
                relation[consumer], via[consumer] = "consumesApi", api
    answer.items = _summaries(session, list(relation), relation=relation, via=via)
    if not answer.items:
        answer.status = "no_data"
        answer.notes.append(f"Nothing in the catalog depends on {entity.name}.")


def entity_links(entity: CatalogEntity) -> list[LinkInfo]:
    links = [LinkInfo(url=str(link["url"]), title=str(link.get("title") or link["url"]), type=link.get("type") or link.get("icon")) for link in entity.links if link.get("url")]
    for key, (title, kind, template) in LINK_ANNOTATIONS.items():
        value = entity.annotations.get(key)
        if value:
            url = template.format(value.removeprefix("url:"))
            if url.startswith(("http://", "https://")) and all(link.url.rstrip("/") != url.rstrip("/") for link in links):
                links.append(LinkInfo(url=url, title=title, type=kind))
    return links


def _links(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.links = entity_links(entity)
    wanted = {"runbook"} if "runbook" in answer.question.lower() else set()
    if wanted and not any((link.type or "").lower() in wanted or "runbook" in link.title.lower() for link in answer.links):
        answer.notes.append(f"{entity.name} has no runbook link in the catalog.")
    if not answer.links:
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} has no links in the catalog.")


def _where(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    parents = related_refs(session, entity.ref, ["partOf"])
    found = get_entities(session, [r for _, r in parents])
    for _, ref in parents:
        e = found.get(ref)
        if e is None:
            continue
        if e.kind == "system":
            answer.system = EntitySummary.of(e)
        elif e.kind == "domain":
            answer.domain = EntitySummary.of(e)
        else:
            answer.parent = EntitySummary.of(e)
    if answer.system and not answer.domain:
        domains = [r for _, r in related_refs(session, answer.system.ref, ["partOf"]) if r.startswith("domain:")]
        if domains and (d := get_entity(session, domains[0])):
            answer.domain = EntitySummary.of(d)
    if not (answer.system or answer.domain or answer.parent):
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} is not part of any system or domain in the catalog.")


def _oncall(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.status = "no_data"
    answer.notes.append("No on-call data is synced yet; add a PagerDuty source to answer this.")
    _owner(session, entity, answer)


def _add_sources(answer: Answer, e: CatalogEntity) -> None:
    for f in e.freshness.values():
        if all(s.source != f.source for s in answer.sources):
            answer.sources.append(f)


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


def example_questions(index: CatalogIndex) -> list[str]:
    """Examples drawn from the real catalog, so help never suggests something that fails."""
    by_kind: dict[str, str] = {}
    for e in index.entities:
        if e.kind not in by_kind and (e.kind != "component" or e.owner_ref):
            by_kind[e.kind] = e.name
        if len(by_kind) >= 5:
            break
    component = by_kind.get("component", "payments-service")
    team = by_kind.get("group", "team-a")
    examples = [f"who owns {component}?", f"what does {team} own?", f"who is in {team}?", f"what depends on {by_kind.get('resource', component)}?", f"docs for {component}"]
    return examples
