"""Catalog-wide gaps, overall, per team or per kind: "which services have no runbook?".

A gap question names what is missing (an owner, a runbook, a Slack channel, an on-call link, a
working source) and optionally what to look at (services, teams, APIs) and where (a team's
entities, a system or a domain). A lifecycle stage is listed the same way ("which services are
deprecated?", "what does team ledger own that is experimental?"), and so is a whole kind ("list
all teams"). A tag narrows any of them ("tier-1 services", "which pci services have no runbook").
Candidates come from the index; the facts from the merged entities, so a gap filled by any source
is not reported.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from sqlmodel import Session

from catalog.answers.card import DASHBOARD_WORDS, DOCS_WORDS, SLACK_CHANNEL, entity_links, expects_runbook, has_dashboard, has_docs, has_runbook
from catalog.answers.models import EntitySummary, Gap
from catalog.answers.oncall import is_paged
from catalog.search.intents import KIND_WORDS, ONCALL, SCORECARD, TYPE_WORDS
from catalog.search.resolve import CatalogIndex, IndexedEntity
from catalog.search.tags import tagged
from catalog.store.merge import CatalogEntity
from catalog.store.reads import get_entities, owned_refs, refs_at_stage, related_refs

LABELS = {
    "no_owner": "no owner",
    "owner_not_in_catalog": "an owner that is not in the catalog",
    "no_runbook": "no runbook link",
    "no_docs": "no docs (TechDocs or a docs link)",
    "no_dashboard": "no dashboard link",
    "no_slack_channel": "no Slack channel",
    "no_email": "no email address",
    "no_oncall": "no on-call (PagerDuty) link",
    "no_repo": "no repository or source link",
    "no_system": "no system",
    "no_description": "no description",
    "failing_source": "data from a source that is failing",
    "lifecycle_deprecated": "lifecycle deprecated",
    "lifecycle_experimental": "lifecycle experimental",
    "lifecycle_production": "lifecycle production",
    "all": "",  # "list all teams", "how many services are there": everything of a kind
}
MAX_LISTED = 100  # per gap; the total is always given
OWNABLE = {"component", "api", "resource", "system", "domain"}

_NEGATIONS = {
    "no", "without", "missing", "lack", "lacks", "lacking", "none", "dont", "doesnt", "don", "doesn", "haven", "hasn",
    "havent", "hasnt", "arent", "aren", "isnt", "isn", "not", "unowned", "ownerless", "orphan", "orphaned", "orphans", "failing", "stale", "broken",
    "erroring", "outdated", "gaps", "gap", "incomplete", "nobody", "noone", "dangling",
}  # fmt: skip
_GENERAL = {"gaps", "gap", "incomplete", "missing"}
_ORPHANED = {"unowned", "ownerless", "orphan", "orphaned", "orphans"}
_NOBODY = {"nobody", "noone", "anyone", "anybody", "no"}
_SOME = {"a", "an", "some", "any"}
_OWNER = {"owner", "owners", "owned", "ownership"} | _ORPHANED
_DANGLING = {"catalog", "dangling", "unknown", "nonexistent", "deleted", "exist", "exists"}
_RUNBOOK = {"runbook", "runbooks", "playbook", "playbooks"}
_SLACK = {"slack", "channel", "channels"}
_EMAIL = {"email", "emails", "mail", "e-mail"}
_REPO = {"repo", "repos", "repository", "repositories", "github", "code"}
_SYSTEM = {"system", "systems"}
_DESCRIPTION = {"description", "descriptions", "described"}
# Words naming a missing fact, wherever they stand ("which services have no runbook", "runbook missing for which services").
_MISSING_WORDS = [(_RUNBOOK, "no_runbook"), (DOCS_WORDS, "no_docs"), (DASHBOARD_WORDS, "no_dashboard"), (_SLACK, "no_slack_channel"), (_EMAIL, "no_email")]
# Words that name a missing fact only after the negation ("which services are not in any system"), and otherwise what to
# list ("which systems have no description").
_MISSING_AFTER_NEGATION = [(_REPO, "no_repo"), (_SYSTEM, "no_system"), (_DESCRIPTION, "no_description")]
_FAILING = {"failing", "stale", "broken", "erroring", "outdated", "error", "errors"}
_STALE = {"stale", "outdated"}  # said of data alone; "failing", "broken" of a source only when the question says so
_SOURCE_WORDS = {"source", "sources", "sync", "syncs", "synced", "syncing", "data", "feed", "feeds", "import", "imports"}
_STAGES = {"deprecated": "deprecated", "deprecation": "deprecated", "experimental": "experimental", "production": "production"}
_STAGES |= dict.fromkeys(("legacy", "obsolete", "sunset", "sunsetted", "eol"), "deprecated")  # Backstage's name for the stage
# A stage word lists only in a question that asks for a list: "is X deprecated?" asks about X.
# "are there deprecated apis?", "how many services are deprecated?"
_LISTING = {"which", "what", "whats", "list", "show", "any", "anything", "all", "everything", "there", "many", "count", "number"}
_ANYTHING = {"stuff", "things", "entities"}
_SCOPING = _ANYTHING | {"owned", "by", "in", "of", "from", "under", "within", "for", "the"}  # "... owned by payments": a scope, listed
_EVERY = {"list", "all", "every", "many", "count"}


@dataclass(frozen=True)
class GapQuestion:
    gaps: tuple[str, ...]
    kind: str | None = None
    type: str | None = None
    kind_word: str | None = None
    tag: str | None = None  # "tier-1 services": only entities carrying this tag (`catalog.search.tags`)
    ranked: str | None = None  # "which team owns the most services": "most" or "fewest", one list per ranked entity
    by: str = "owned"  # what a ranking counts (`catalog.answers.rankings.MEASURES`)
    parts_kind: str | None = None  # "which system has the most components": the kind of parts counted


def gap_question(words: list[str]) -> GapQuestion | None:
    """What a question asks to list, if it asks for a gap at all (`words` in lower case)."""
    present = set(words)
    if not present & _NEGATIONS:
        return _stage_question(words, present)
    gaps: list[str] = []
    # "owned by payments" names a scope; "owned by nobody" or "owned by a team not in the catalog" asks for a gap
    scoping = {w for w, by, who in zip(words, words[1:], [*words[2:], ""], strict=False) if by == "by" and who not in _NOBODY | _SOME}
    if present & _OWNER - scoping:  # "owned by nobody", not "owned by payments"
        gaps.append("owner_not_in_catalog" if present & _DANGLING and not present & _ORPHANED else "no_owner")
    gaps += [key for said, key in _MISSING_WORDS if present & said]
    if present & ONCALL or any(a == "on" and b == "call" for a, b in zip(words, words[1:], strict=False)):
        gaps.append("no_oncall")
    missing = set(words[next(i for i, w in enumerate(words) if w in _NEGATIONS) :])
    gaps += [key for said, key in _MISSING_AFTER_NEGATION if missing & said]
    if present & _STALE or present & _FAILING and present & _SOURCE_WORDS:  # not "login is broken": an outage
        gaps.append("failing_source")
    if not gaps and present & _GENERAL:  # "what gaps are there?": every missing fact (not the lifecycle stages, not everything)
        gaps = [key for key in LABELS if key != "all" and not key.startswith("lifecycle_")]
    if "no_system" in gaps:  # "what has no system": the missing thing, not what to list
        words = [w for w in words if w not in _SYSTEM]
    if "no_owner" in gaps:  # "what is owned by no team": the team word says who is missing, not what to list
        words = [w for i, w in enumerate(words) if not (i and words[i - 1] in _NOBODY | {"without"} and KIND_WORDS.get(w) in ("group", "user"))]
    return looking_at(words, gaps) if gaps else None


def _stage_question(words: list[str], present: set[str]) -> GapQuestion | None:
    """"which services are deprecated?": every entity at one lifecycle stage; "list all teams": every one."""
    stages = {_STAGES[w] for w in present if w in _STAGES}
    # "deprecated services", "experimental services owned by payments", "deprecated stuff in the payments platform"
    only_kinds = present & (KIND_WORDS.keys() | _ANYTHING) and not present - _STAGES.keys() - KIND_WORDS.keys() - _SCOPING
    if stages and (present & _LISTING or only_kinds) and not present & SCORECARD:  # "the production readiness scorecard" names a scorecard
        return looking_at(words, [f"lifecycle_{stage}" for stage in sorted(stages)])
    asked = looking_at(words, ["all"])
    if asked.kind_word is None or "who" in present or present & {"per", "each"}:  # "who owns all the payment services" asks for
        return None  # owners, "how many services does each team own" a count per owner (`rankings`)
    plural = asked.kind_word.endswith("s") or asked.kind_word in _PLURALS.values()
    exist = bool(present & {"which", "what", "whats"} and present & {"there", "exist"})  # "what teams are there"
    return asked if (plural and (present & _EVERY or exist)) or "every" in present else None


def contents_question(words: list[str]) -> GapQuestion:
    """Everything (of a kind, if one is named) in a system or domain: "what components are in general ledger"."""
    return looking_at(words, ["all"])


def looking_at(words: list[str], gaps: list[str]) -> GapQuestion:
    kind_word = next((w for w in words if w in KIND_WORDS), None)
    return GapQuestion(tuple(gaps), KIND_WORDS.get(kind_word or ""), TYPE_WORDS.get(kind_word or ""), kind_word)


def find_gaps(session: Session, index: CatalogIndex, question: GapQuestion, scope: IndexedEntity | None) -> tuple[str, list[Gap]]:
    """A description of what was looked at ("services owned by checkout") and each gap found in it."""
    within: AbstractSet[str] | None = _scope_refs(session, scope) if scope else None
    if question.tag is not None:
        tagged_refs = tagged(session, index, question.tag)
        within = tagged_refs if within is None else within & tagged_refs
    gaps = []
    for key in question.gaps:
        pool = [e for e in index.entities if (within is None or e.ref in within) and looked_at(key, question, e)]
        pool = [e for e in pool if _may_lack(key, e, index)]
        if key.startswith("lifecycle_"):  # merge only what some source puts at that stage, not every entity
            staged = refs_at_stage(session, key.removeprefix("lifecycle_"))
            pool = [e for e in pool if e.ref in staged]
        if key == "all":  # nothing to check: merge only the entities listed
            pool.sort(key=lambda e: (e.kind, e.name))
            total, lacking = len(pool), merged(session, [e.ref for e in pool[:MAX_LISTED]])
        else:
            lacking = [m for m in merged(session, [e.ref for e in pool]) if _CHECKS[key](m, session)]
            total = len(lacking)
        items = sorted((EntitySummary.of(m) for m in lacking), key=lambda s: (s.kind, s.name))
        gaps.append(Gap(key=key, label=LABELS[key], scope=describe_asked(key, question, scope), total=total, items=items[:MAX_LISTED]))
    return describe_asked(None, question, scope), gaps


def _scope_refs(session: Session, scope: IndexedEntity) -> set[str]:
    """What a team owns, or what a system or domain holds (through its systems)."""
    if scope.kind in ("group", "user"):
        return set(owned_refs(session, scope.ref))
    parts = {r for _, r in related_refs(session, scope.ref, ["hasPart"])}
    for system in [r for r in parts if r.startswith("system:")]:
        parts.update(r for _, r in related_refs(session, system, ["hasPart"]))
    return parts


def looked_at(key: str, q: GapQuestion, e: IndexedEntity) -> bool:
    if q.kind is not None:
        return e.is_a(q.kind, q.type) and (key not in ("no_owner", "owner_not_in_catalog") or e.kind in OWNABLE)
    if key in ("no_owner", "owner_not_in_catalog"):
        return e.kind in OWNABLE
    if key in ("no_runbook", "no_oncall", "no_docs", "no_dashboard"):
        return expects_runbook(e.kind, e.type)
    if key in ("no_slack_channel", "no_email"):
        return e.kind == "group" and (e.type or "").lower() == "team"
    if key == "no_repo":
        return e.kind == "component"
    if key == "no_system":
        return e.kind in ("component", "api", "resource")
    if key.startswith("lifecycle_"):
        return e.kind in OWNABLE
    return e.kind != "location"


def _may_lack(key: str, e: IndexedEntity, index: CatalogIndex) -> bool:
    """A cheap first look from the index; the merged entity decides."""
    if key == "no_owner":
        return e.owner_ref is None
    if key == "owner_not_in_catalog":
        return e.owner_ref is None or index.get(e.owner_ref) is None
    return True


def merged(session: Session, refs: list[str]) -> list[CatalogEntity]:
    found = get_entities(session, refs)
    return [found[r] for r in refs if r in found]


def _channel(e: CatalogEntity, session: Session) -> bool:
    """A team's own channel; anything else is reached through its owner's."""
    if e.annotations.get(SLACK_CHANNEL):
        return True
    if e.kind in ("group", "user") or not e.owner_ref:
        return False
    owner = get_entities(session, [e.owner_ref]).get(e.owner_ref)
    return bool(owner and owner.annotations.get(SLACK_CHANNEL))


def _at_stage(stage: str) -> Callable[[CatalogEntity, Session], bool]:
    return lambda e, s: (e.lifecycle or "").strip().lower() == stage


_CHECKS: dict[str, Callable[[CatalogEntity, Session], bool]] = {
    "no_owner": lambda e, s: not e.owner_ref,
    "owner_not_in_catalog": lambda e, s: bool(e.owner_ref and not get_entities(s, [e.owner_ref])),
    "no_runbook": lambda e, s: not has_runbook(e),
    "no_docs": lambda e, s: not has_docs(e),
    "no_dashboard": lambda e, s: not has_dashboard(e),
    "no_slack_channel": lambda e, s: not _channel(e, s),
    "no_email": lambda e, s: not e.profile("email"),
    "no_oncall": lambda e, s: not is_paged(e),
    "no_repo": lambda e, s: not any((link.type or "").lower() == "repo" for link in entity_links(e)),
    "no_system": lambda e, s: not e.system_ref,
    "no_description": lambda e, s: not (e.description or "").strip(),
    "failing_source": lambda e, s: any(f.stale for f in e.freshness.values()),
    **{key: _at_stage(key.removeprefix("lifecycle_")) for key in LABELS if key.startswith("lifecycle_")},
}


_PLURALS = {"library": "libraries", "api": "APIs", "apis": "APIs", "db": "databases", "dbs": "databases", "person": "people", "people": "people"}
_DEFAULT_SCOPE = {
    "no_runbook": "components", "no_oncall": "components", "no_docs": "components", "no_dashboard": "components", "no_slack_channel": "teams",
    "no_repo": "components", "no_email": "teams",
}  # fmt: skip


def describe_asked(key: str | None, q: GapQuestion, scope: IndexedEntity | None) -> str:
    """What one gap (or, with no key, the whole question) looked at: "services owned by checkout"."""
    defaults = {_DEFAULT_SCOPE.get(k, "entities") for k in ([key] if key else q.gaps)}
    what = defaults.pop() if len(defaults) == 1 else "entities"
    if q.kind_word:
        what = _PLURALS.get(q.kind_word) or (q.kind_word if q.kind_word.endswith("s") else f"{q.kind_word}s")
    if q.tag:
        what = f"{what} tagged {q.tag}"
    if scope is None:
        return what
    return f"{what} owned by {scope.name}" if scope.kind in ("group", "user") else f"{what} in {scope.name}"
