"""What the catalog knows about one entity: owner, placement, links, dependencies, freshness.

Questions (catalog.answers.ask), answer cards, unfurls and App Home all read these functions, so every
surface shows the same facts computed the same way.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from catalog.answers.models import Contact, EntityCard, EntitySummary, LinkInfo, Person
from catalog.store.merge import CatalogEntity, Freshness
from catalog.store.reads import SLACK_USER_ID, Headline, get_entity, headlines, load_neighbourhood, refs_named, related_refs
from catalog.store.refs import parse_ref

SLACK_CHANNEL = "slack.com/channel"
LEADS_ANNOTATION = "wayfinder.io/leads"  # a Group's leads, asked first (and the approvers of `owner-leads` actions)
SLACK_CHANNEL_ID = "slack.com/channel-id"
SLACK_USERGROUP_ID = "slack.com/usergroup-id"
SLACK_USERGROUP_HANDLE = "slack.com/usergroup-handle"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,20}$")  # a public (C…) or private (G…) Slack channel id

# EntityCard is defined next to Answer (which embeds it) and re-exported as part of this module's API.
__all__ = [
    "SLACK_USER_ID", "EntityCard", "build_card", "contact", "dependencies", "dependents", "entity_card", "entity_links", "expects_runbook", "is_runbook",
    "merge_sources", "owner_contact", "person", "placement", "summaries",
]  # fmt: skip

NO_RUNBOOK_TYPES = {"library", "mobile-app", "documentation", "template"}
LINK_ANNOTATIONS = {
    "github.com/project-slug": ("Repository", "repo", "https://github.com/{}"),
    "backstage.io/source-location": ("Source", "repo", "{}"),
    "backstage.io/view-url": ("View source", "repo", "{}"),
}


def is_channel_id(value: str | None) -> bool:
    """Whether an annotation holds something Slack could take as a channel id, not `<!here>` or a name."""
    return bool(value and _CHANNEL_ID.match(value))


def entity_card(session: Session, ref: str) -> EntityCard | None:
    """The card for `ref` (or a bare name that only one entity has); None when it is not in the catalog."""
    if ":" not in ref:
        named = refs_named(session, ref)
        if len(named) != 1:
            return None
        ref = named[0]
    load_neighbourhood(session, ref)
    entity = get_entity(session, ref)
    return build_card(session, entity) if entity else None


def build_card(session: Session, entity: CatalogEntity) -> EntityCard:
    """The card for an entity already loaded, as `ask` has it in hand."""
    load_neighbourhood(session, entity.ref)
    owner_entity = get_entity(session, entity.owner_ref) if entity.owner_ref else None
    system, domain, parent = placement(session, entity)
    return EntityCard(
        entity=EntitySummary.of(entity),
        owner=owner_contact(session, entity, owner_entity),
        system=system,
        domain=domain,
        parent=parent,
        links=entity_links(entity),
        depends_on=dependencies(session, entity),
        dependents=dependents(session, entity),
        tags=entity.tags,
        sources=merge_sources(entity, owner_entity),
    )


def owner_contact(session: Session, entity: CatalogEntity, owner: CatalogEntity | None) -> Contact | None:
    """Who to talk to about `entity`; `owner` is its owner entity as already looked up (None if missing)."""
    if entity.kind in ("group", "user") and not entity.owner_ref:
        return contact(session, entity)  # "who owns team-a" means "who is team-a"
    if not entity.owner_ref:
        return None
    if owner is None:  # a dangling reference still names someone
        return Contact(ref=entity.owner_ref, kind=entity.owner_ref.split(":")[0], name=entity.owner_ref.rpartition("/")[2])
    return contact(session, owner)


def contact(session: Session, e: CatalogEntity) -> Contact:
    members = _members(session, e) if e.kind == "group" else []
    leads = _leads(session, e, members) if e.kind == "group" else []
    return Contact(
        ref=e.ref, kind=e.kind, name=e.name, display_name=e.profile("displayName") or e.title, email=e.profile("email"),
        slack_channel=e.annotations.get(SLACK_CHANNEL), slack_channel_id=e.annotations.get(SLACK_CHANNEL_ID),
        slack_usergroup_id=e.annotations.get(SLACK_USERGROUP_ID),
        slack_usergroup_handle=e.annotations.get(SLACK_USERGROUP_HANDLE),
        slack_user_id=e.annotations.get(SLACK_USER_ID) if e.kind == "user" else None, members=members, leads=leads,
    )  # fmt: skip


def _members(session: Session, group: CatalogEntity) -> list[Person]:
    refs = [t for _, t in related_refs(session, group.ref, ["hasMember"])]
    return [person(u) for u in headlines(session, refs).values() if u.kind == "user"]


def lead_refs(group: CatalogEntity) -> list[str] | None:
    """The user refs a Group's `wayfinder.io/leads` names (user names or refs, comma-separated); None without it.
    Raises ValueError for a name that is no ref (`wayfinder validate` reports it)."""
    names = [n.strip() for n in group.annotations.get(LEADS_ANNOTATION, "").split(",") if n.strip()]
    return [str(parse_ref(n, default_kind="user")) for n in names] if names else None


def _leads(session: Session, group: CatalogEntity, members: list[Person]) -> list[Person]:
    """The team's leads, in the annotation's order: mostly among its members already read, else read now."""
    try:
        refs = lead_refs(group) or []
    except ValueError:  # a malformed name: the card still answers, without leads
        return []
    if not refs:  # most teams: no read at all on an owner answer's path
        return []
    known = {m.ref: m for m in members}
    found = headlines(session, [r for r in refs if r not in known])
    return [p for r in refs if (p := known.get(r) or (person(found[r]) if r in found and found[r].kind == "user" else None))]


def person(u: Headline) -> Person:
    return Person(ref=u.ref, name=u.name, display_name=u.display_name, email=u.email, slack_user_id=u.slack_user_id)


def summaries(
    session: Session, refs: list[str], relation: dict[str, str] | None = None, via: dict[str, str] | None = None
) -> list[EntitySummary]:
    """Summaries of `refs`, sorted by kind and name; missing entities keep their ref and name."""
    found = headlines(session, refs)
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


def dependencies(session: Session, entity: CatalogEntity) -> list[EntitySummary]:
    """What `entity` needs: declared dependencies, consumed APIs and the component it is part of."""
    pairs = related_refs(session, entity.ref, ["dependsOn", "consumesApi", "partOf"])
    pairs = [(t, r) for t, r in pairs if t != "partOf" or r.startswith("component:")]
    return summaries(session, [r for _, r in pairs], relation={r: t for t, r in pairs})


def dependents(session: Session, entity: CatalogEntity) -> list[EntitySummary]:
    """What needs `entity`: direct dependents, and consumers of the APIs it provides (`via` names the API)."""
    pairs = related_refs(session, entity.ref, ["dependencyOf", "apiConsumedBy"])
    relation = {r: t for t, r in pairs}
    via: dict[str, str] = {}
    for _, api in related_refs(session, entity.ref, ["providesApi"]):
        for _, consumer in related_refs(session, api, ["apiConsumedBy"]):
            if consumer != entity.ref and consumer not in relation:
                relation[consumer], via[consumer] = "consumesApi", api
    return summaries(session, list(relation), relation=relation, via=via)


# Which way an API question looks: from a component to the APIs, from an API to the components.
API_RELATIONS = {"provided": ("providesApi", "apiProvidedBy"), "consumed": ("consumesApi", "apiConsumedBy")}


def apis(session: Session, entity: CatalogEntity, directions: list[str]) -> list[EntitySummary]:
    """The APIs `entity` provides or consumes, or for an API the components providing or consuming it."""
    side = 1 if entity.kind == "api" else 0
    pairs = related_refs(session, entity.ref, [API_RELATIONS[d][side] for d in directions])
    return summaries(session, [r for _, r in pairs], relation={r: t for t, r in pairs})


def placement(session: Session, entity: CatalogEntity) -> tuple[EntitySummary | None, EntitySummary | None, EntitySummary | None]:
    """`(system, domain, parent)` of `entity`; the domain may come through its system."""
    system = domain = parent = None
    parents = related_refs(session, entity.ref, ["partOf"])
    found = headlines(session, [r for _, r in parents])
    for _, ref in parents:
        e = found.get(ref)
        if e is None:
            continue
        if e.kind == "system":
            system = EntitySummary.of(e)
        elif e.kind == "domain":
            domain = EntitySummary.of(e)
        else:
            parent = EntitySummary.of(e)
    if system and not domain:
        domains = [r for _, r in related_refs(session, system.ref, ["partOf"]) if r.startswith("domain:")]
        if domains and (d := headlines(session, domains[:1]).get(domains[0])):
            domain = EntitySummary.of(d)
    return system, domain, parent


def entity_links(entity: CatalogEntity) -> list[LinkInfo]:
    """Declared links plus links implied by well-known annotations (repo slugs, source locations)."""
    links = [
        LinkInfo(url=str(link["url"]), title=str(link.get("title") or link["url"]), type=link.get("type") or link.get("icon"))
        for link in entity.links
        if link.get("url")
    ]
    for key, (title, kind, template) in LINK_ANNOTATIONS.items():
        value = entity.annotations.get(key)
        if value:
            url = template.format(value.removeprefix("url:"))
            if url.startswith(("http://", "https://")) and all(link.url.rstrip("/") != url.rstrip("/") for link in links):
                links.append(LinkInfo(url=url, title=title, type=kind))
    return links


def is_runbook(link: LinkInfo) -> bool:
    return (link.type or "").lower() == "runbook" or "runbook" in link.title.lower()


DOCS_WORDS = {"docs", "doc", "documentation", "techdocs", "readme", "wiki"}
DASHBOARD_WORDS = {"dashboard", "dashboards", "grafana"}
TECHDOCS = "backstage.io/techdocs-ref"


def has_docs(entity: CatalogEntity) -> bool:
    """Published TechDocs, or a link whose type or title says it is documentation."""
    return bool(entity.annotations.get(TECHDOCS)) or any(_link_of(link, DOCS_WORDS, DOCS_WORDS) for link in entity_links(entity))


def has_runbook(entity: CatalogEntity) -> bool:
    return any(is_runbook(link) for link in entity_links(entity))


def has_dashboard(entity: CatalogEntity) -> bool:
    """A link of type dashboard, or whose title names one ("Grafana: checkout")."""
    return any(_link_of(link, {"dashboard"}, DASHBOARD_WORDS) for link in entity_links(entity))


def _link_of(link: LinkInfo, types: set[str], words: set[str]) -> bool:
    return (link.type or "").lower() in types or bool(words & set(link.title.lower().split()))


def expects_runbook(kind: str, type_: str | None) -> bool:
    """Components that run somewhere get paged about, so they need a runbook; libraries and apps do not."""
    return kind == "component" and (type_ or "").lower() not in NO_RUNBOOK_TYPES


def merge_sources(*entities: CatalogEntity | None) -> list[Freshness]:
    """Freshness of every source behind `entities`, one entry per source, in order of appearance."""
    seen: dict[str, Freshness] = {}
    for e in entities:
        for f in e.freshness.values() if e else ():
            seen.setdefault(f.source, f)
    return list(seen.values())
