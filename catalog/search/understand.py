"""Understand a question: find its subjects in the sentence, then take the intent from the rest.

1. Links resolve to entities (`catalog.search.urls`); Slack markup is cleaned away.
2. Exact catalog names are spotted anywhere in the sentence, longest first (`catalog.search.spot`):
   "who owns the API Gateway" names `component:api-gateway` by its title, so "api" is not
   taken as a kind word.
3. What is left is split into runs of words that are neither grammar (the, pls, anyone know,
   right now), intent cues (owns, runbook, on call) nor kind words; a run is resolved with
   typos and partial names allowed ("refund worker", "nadia"). Kind words next to a name
   narrow it only when it is ambiguous or of another kind ("the checkout component").
4. The intent comes from the cue words around the subject (`catalog.search.intents`), wherever they
   stand; several subjects joined by "and" get one answer each.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlmodel import Session

from catalog.answers.gaps import GapQuestion, contents_question, gap_question
from catalog.answers.rankings import RANKS, rank_question, ranking_order
from catalog.search.fulltext import writes, written_in
from catalog.search.intents import (
    CATALOG_ITSELF,
    CATALOG_STATE,
    DEPEND_VERBS,
    HELP,
    INCIDENTS,
    KEEPS,
    KIND_WORDS,
    STOP_WORDS,
    WRONG,
    asks_freshness,
    expand,
    intent_of,
    is_cue,
    near_cue,
)
from catalog.search.markup import clean
from catalog.search.resolve import CatalogIndex, Match, Resolution
from catalog.search.smalltalk import small_talk
from catalog.search.spot import WORD, spot_spans
from catalog.search.synonyms import respellings
from catalog.search.tags import MAX_WORDS as MAX_TAG_WORDS
from catalog.search.tags import tag_of, tagged
from catalog.search.urls import URL, find_urls, looks_like_slug, resolve_slug, resolve_url

# Kinds an intent implies for its subject ("who is in X": X is a team), used to narrow, never to exclude.
# Dependencies are between things, never teams: "who depends on payments" asks about payments-service, not the team.
THINGS = {"component", "resource", "api", "system"}
INTENT_KINDS: dict[str, set[str]] = {
    "members": {"group"}, "owned_by": {"group", "user"}, "team_of": {"user"}, "contact": {"group", "user"}, "depends_on": THINGS, "dependents": THINGS,
}  # fmt: skip
CONJUNCTIONS = {"and", "or", "vs", "versus", "plus", "also", "as", "well", "the", "both", "between"}
HOW_TO_USE = {"use", "using", "work", "works", "ask"}  # "how do I use this?"
MAX_BARE_WORDS = 3  # a longer phrase without any question word is a sentence, not a name
_MENTION = re.compile(r"<[@#!][^>]*>")
SCOPE_KINDS = {"group", "user", "system", "domain"}
# Words of a question that asks for a list, where a tag may narrow it: "which services use kafka", "anything tagged pci".
TAGGED = {"tagged", "tag", "tags", "labelled", "labeled"}
LISTS = TAGGED | {"which", "what", "whats", "list", "show", "all", "any", "anything", "everything", "every", "use", "uses", "using", "used", "written"}
ALERT_STATES = {"open", "active", "ongoing", "current", "live", "unresolved", "unacknowledged"}  # "any open incidents?"
ASKING = {"what", "whats", "which", "who", "whos", "whose"}
_IDENTIFIER = re.compile(r"[0-9._/]")  # a topic, queue or version name: "orders.v1", "payments_v2"
LINK_MARK = "wayfinderlinkmark"  # a link's place among the words, which it is not part of
_ARTICLES = {"the", "a", "an", "our", "your", "this", "that", "their", "its"}
_LEADS_TO_SUBJECT = {"the", "a", "an", "about", "for", "of", "on", "with", "to", "at", "in", "is", "our", "your", "this", "that"}
# Idioms read as the one cue they mean, so that their words are not taken for names ("point" is in loyalty-points-rest).
_IDIOMS = re.compile(r"\b(?:single\s+)?points?\s+of\s+contacts?\b", re.IGNORECASE)


@dataclass
class Subject:
    """One thing the question is about: the words that name it and what they resolve to."""

    text: str
    start: int
    end: int
    resolution: Resolution
    exact: bool = False


@dataclass
class Understanding:
    text: str
    intent: str  # an answer intent, or help, smalltalk, gaps, unknown
    subjects: list[Subject] = field(default_factory=list)
    smalltalk: str | None = None
    gap: GapQuestion | None = None
    unresolved: Subject | None = None  # the phrase that looked like a name but names nothing (with near names)
    bare: bool = False  # no question words at all: a name, or noise
    item_words: list[str] = field(default_factory=list)  # "which services depend on ledger-db": the kind words of the items asked for
    asks: bool = False  # a question word without a cue: "which service resizes images" may describe what it asks about
    unexplained: list[str] = field(default_factory=list)  # "what port does X run on": the owner is answered, "port run" is not


def understand(session: Session, index: CatalogIndex, text: str) -> Understanding:
    """What `text` asks and about what, resolved against the catalog."""
    talk = small_talk([w.lower() for w in WORD.findall(_MENTION.sub(" ", text))])
    if talk:
        return Understanding(text, "smalltalk", smalltalk=talk)
    urls = find_urls(text)
    link_subjects = [s for url in urls if (s := _link_subject(session, index, url))]
    words = _listed_names(session, index, WORD.findall(_IDIOMS.sub("poc", URL.sub(f" {LINK_MARK} ", clean(text)))))
    lower = [_cue_or_word(w.lower(), index) for w in words]
    links_at = [i for i, w in enumerate(lower) if w == LINK_MARK]  # where each link stood: "what does <url> depend on"
    if len(links_at) == len(words) and not link_subjects:
        return Understanding(text, "help")
    spans = [s for s in spot_spans(index, words, ordinary=_ordinary) if not _is_link_word(s.text)]
    taken = {i for s in spans for i in range(s.start, s.end)} | set(links_at)
    cue_named = _cue_names(index, words, lower, taken)
    taken |= {i for s in cue_named for i in range(s.start, s.end)}
    runs = _runs(lower, taken)
    tag, runs = _asked_tag(session, index, words, lower, runs)
    first = min([s.start for s in spans] + [s.start for s in cue_named] + links_at[:1] or [r[0] for r in runs], default=None)
    draft = intent_of(_skeleton(lower, first, first + 1 if first is not None else None), first, None)
    named = link_subjects + [_span_subject(index, s.text, s.start, s.end, lower, draft) for s in spans] + cue_named
    subjects, unresolved = _subjects(session, index, words, lower, named, runs, draft)
    cues = [w for i, w in enumerate(lower) if i not in taken and is_cue(w)]
    content = [w for i, w in enumerate(lower) if i not in taken and w not in STOP_WORDS and not is_cue(w)]
    if not cues and len(content) > MAX_BARE_WORDS and not any(s.exact for s in subjects) and not (tag or ranking_order(lower)):
        return Understanding(text, "unknown", bare=True)
    if member := _membership(subjects, lower):
        return Understanding(text, "team_of", subjects=member)  # "is samuel on payments?": yes or no, with their teams
    if len(subjects) > 1 and not all(_joined(lower, subjects[:i], s) for i, s in enumerate(subjects) if i):
        subjects = [_primary(subjects, _asking_at(lower))]
    near_spans = {i for s in spans for i in (s.start - 1, s.end) if 0 <= i < len(lower) and lower[i] in KIND_WORDS}
    gap_words = [w for i, w in enumerate(lower) if i not in taken and i not in near_spans]
    gap = gap_question(gap_words) or rank_question([w for w in gap_words if not (tag and w in TAGGED | {tag, *tag.split("-")})])
    if gap and tag:  # "which tier-1 services have no runbook", "top teams by tier-1 services"
        gap = replace(gap, tag=tag)
    scope = subjects[0] if len(subjects) == 1 else None
    bounds = _as_scope(scope) if scope else None  # the team a listing is bounded by, where the name is also a service's title
    if tag and (scope is None or _scopes(scope, lower)) and len(subjects) <= 1:  # "tier-1 services (owned by payments)"
        # "which teams own tier-1 services": the services, with their owners
        # "what team owns KYC": what is tagged kyc, with its owners (not the teams tagged kyc)
        by_owner = _listed_kinds(gap_words, []) or set(gap_words) & {"own", "owns", "maintain", "maintains", "runs", "handles"}
        listed = [w for w in gap_words if KIND_WORDS.get(w) not in ("group", "user")] if by_owner else gap_words
        return Understanding(text, "gaps", subjects=subjects, gap=gap or replace(contents_question(listed), tag=tag))
    if not gap and not cues and bounds and _holds(bounds, lower):  # "what's in the payments platform", "identity's services"
        gap = contents_question([*gap_words, *filter(_listed_kind, lower[bounds.end : bounds.end + 2])])  # "payments team services"
        if bounds.resolution.best and bounds.resolution.best.kind == "component":  # "subcomponents of X": bounded by X itself
            return Understanding(text, "gaps", subjects=[bounds], gap=gap)
    if not subjects and asks_freshness(lower) and not set(lower) & KIND_WORDS.keys() or _about_the_catalog(subjects, unresolved, lower):
        return Understanding(text, "sources")  # "is the catalog up to date?": each source's last sync, not an entity's
    if gap and not any(s.exact for s in subjects):  # "what gaps are there in the catalog": not catalog-db
        return Understanding(text, "gaps", gap=gap)
    if gap and bounds and _scopes(bounds, lower):
        if gap.gaps == ("all",) and gap.kind == "user" and bounds.resolution.best and bounds.resolution.best.kind == "group":
            return Understanding(text, "members", subjects=[bounds])  # "how many people does payments have": its members
        return Understanding(text, "gaps", subjects=[bounds], gap=gap)
    if scope and (team := _scope_before_kind(index, scope, lower)) and (listing := gap_question([*gap_words, lower[team.end]])):
        return Understanding(text, "gaps", subjects=[team], gap=listing)  # "which payments services have no dashboard"
    if not subjects:
        if urls and not link_subjects:  # a link nothing in the catalog claims
            return Understanding(text, draft, unresolved=Subject(urls[0], -1, -1, Resolution("not_found")), bare=not cues)
        if set(lower) & (INCIDENTS | {WRONG}) and not set(content) - ALERT_STATES:  # "what's firing?", "any open incidents?": across the catalog
            return Understanding(text, "incidents")
        if unresolved and (unnamed := _unnamed_tag(session, index, unresolved, bare=not cues)):
            return Understanding(text, "gaps", gap=replace(contents_question(gap_words), tag=unnamed))
        if unresolved and not set(lower) & HELP:
            return Understanding(text, draft, unresolved=unresolved, bare=not cues, asks=bool(set(lower) & ASKING))
        asks_help = set(lower) & HELP or all(w in STOP_WORDS or w in HOW_TO_USE for w in lower)
        if cues and all(w in KIND_WORDS for w in content) and not asks_help and not link_subjects and draft not in ("help", "unknown"):
            # "who is on call?", "who owns the api?": nothing else said, so nothing to search descriptions for
            return Understanding(text, draft, item_words=[w for w in lower if w in KIND_WORDS])
        return Understanding(text, "help" if asks_help and not link_subjects else "unknown", bare=not cues)
    lead = subjects[0]
    best = lead.resolution.best
    at, end = (lead.start, lead.end) if lead.start >= 0 else (links_at[0], links_at[0] + 1) if links_at else (None, None)  # a link: at its mark
    intent = intent_of(_skeleton(lower, at, end), at, best.kind if best else None)
    if intent != draft and INTENT_KINDS.get(intent) != INTENT_KINDS.get(draft):  # the subject's kind changed the intent
        subjects = [_rescope(index, s, intent) for s in subjects]
    listed = _listed_kinds(lower, subjects) if intent in ("owned_by", "depends_on", "dependents") else []
    if intent == "depends_on" and not listed and at is not None and set(lower[lead.end :]) & KEEPS:
        listed = ["resources"]  # "where does checkout-api keep its data": its stores
    if intent == "owned_by" and listed and subjects[0].resolution.best and subjects[0].resolution.best.kind in ("group", "user"):
        return Understanding(text, "gaps", subjects=subjects, gap=contents_question(listed))  # "what services does payments own"
    if intent == "owner" and not cues and best is not None and best.kind == "resource" and _asks_contents(lower):
        intent = "about"  # "what data is in ledger-db", "what's inside orders-db": its description says
    # a question without a cue, or one whose only cue was a verb of use ("what port does X use"), answered by X's owner
    unexplained = _unexplained(text, lower, taken, subjects) if intent == "owner" and set(cues) <= DEPEND_VERBS else []
    return Understanding(text, intent, subjects=subjects, bare=not cues, item_words=listed, unexplained=unexplained)


def _asks_contents(lower: list[str]) -> bool:
    """"what data is in ledger-db", "what does orders-db hold": a question of what a store keeps, not of who."""
    return "who" not in lower and bool(set(lower) & {"data", "inside", "in", "hold", "holds", "stored", "stores", "keep", "keeps", "contain", "contains"})


def _unexplained(text: str, lower: list[str], taken: set[int], subjects: list[Subject]) -> list[str]:
    """Words of a question with no cue that name neither its subject nor a kind ("what port does checkout-api run on"):
    it is answered with the subject's owner, by default, and the answer should say it cannot answer the rest.
    Only English words count: another language's grammar ("¿quién es el dueño de X?") is not a question about something else."""
    if not text.isascii():
        return []
    named = taken | {i for s in subjects for i in range(s.start, s.end)}
    words = [w for i, w in enumerate(lower) if i not in named and w not in _NOT_ASKED and w.isalpha()]
    return words if any(len(w) >= 3 for w in words) else []


# Words that ask nothing beside a name: grammar, kinds, and ways to ask for a person ("the tech lead for X": its owner).
_NOT_ASKED = STOP_WORDS | KIND_WORDS.keys() | {"lead", "leads", "tech", "manager", "guy", "gal", "person", "contact", "point", "expert", "experts"}


def _membership(subjects: list[Subject], lower: list[str]) -> list[Subject]:
    """"is samuel on payments?", "does nadia belong to team ledger": the person, then the team, when a yes-or-no
    question names one of each; otherwise nothing."""
    kinds = [s.resolution.best.kind if s.resolution.status == "found" and s.resolution.best else None for s in subjects]
    if sorted(map(str, kinds)) != ["group", "user"] or lower[:1] not in (["is"], ["are"], ["does"], ["do"]):
        return []
    if not set(lower) & {"on", "in", "member", "part", "belong", "belongs", "lead", "leads", "manager", "head"}:  # "is nadia a lead of payments?"
        return []
    return subjects if kinds[0] == "user" else subjects[::-1]


def _about_the_catalog(subjects: list[Subject], unresolved: Subject | None, lower: list[str]) -> bool:
    """"catalog health", "how is the catalog doing?", "catalog status": the catalog itself, not catalog-db."""
    named = subjects[0] if len(subjects) == 1 else unresolved if not subjects else None
    if named is None or named.exact:
        return False
    words = set(named.text.lower().split())
    return bool(words & CATALOG_ITSELF and words <= CATALOG_ITSELF | CATALOG_STATE and set(lower) & CATALOG_STATE)


def _listed_kinds(lower: list[str], subjects: list[Subject]) -> list[str]:
    """Kind words asking which things to list ("which services depend on X", "what queues does X use"), not the words
    naming a subject ("team payments", "the payments service") nor who answers (team, person)."""
    beside = {i for s in subjects if s.start >= 0 for i in range(s.start - 1, s.end + 1)}
    return [w for i, w in enumerate(lower) if w in KIND_WORDS and KIND_WORDS[w] not in ("group", "user") and i not in beside]


def _subjects(
    session: Session,
    index: CatalogIndex,
    words: list[str],
    lower: list[str],
    named: list[Subject],
    runs: list[tuple[int, int]],
    intent: str,
) -> tuple[list[Subject], Subject | None]:
    """Named subjects plus the runs that resolve and are listed with them; or the one run that names nothing."""
    named, runs = _extend_names(session, index, words, lower, named, runs, intent)
    resolved = [_run_subject(session, index, words, lower, a, b, intent) for a, b in runs]
    found = [r for r in resolved if r.resolution.status != "not_found"]
    unresolved = None
    if named:  # a stray word next to real names ("deploy") is not a subject unless listed with them, or a person beside a team
        subjects = named + [r for r in found if _joined(lower, named, r) or _membership([*named, r], lower)]
    elif len(resolved) == 1:
        subjects, unresolved = found, (None if found else resolved[0])
    elif all(_joined(lower, resolved[:i], r) for i, r in enumerate(resolved) if i):
        subjects = found
    elif len(found) == 1 and _after_cue(lower, found[0].start):  # "sorry to bother, who owns refund worker": chatter names nothing
        subjects = found
    else:  # unrelated word groups, none or several of them a name: not a question about the catalog
        subjects = []
    return _distinct(sorted(subjects, key=lambda s: s.start)), unresolved


def _after_cue(lower: list[str], start: int) -> bool:
    """Whether the words at `start` follow the question's cue ("owns", "ask about", "runbook for the"), as its subject does."""
    i = start - 1
    while i >= 0 and (lower[i] in _LEADS_TO_SUBJECT or lower[i] in KIND_WORDS):
        i -= 1
    return i >= 0 and is_cue(lower[i])


def resolve_phrase(index: CatalogIndex, full: str, core: str, kinds: set[str], intent: str) -> Resolution:
    """Full phrase first ("team b" is a name), then without kind words, narrowed by them; never excluded by them.

    What names nothing, or only a typo, is tried again spelt another way ("the catalogue service": product-catalog-service).
    """
    result = _resolve_spelt(index, full, core, kinds, intent)
    if result.status == "found" and result.matches[0].how != "fuzzy":
        return result
    for word, other in respellings(full):
        again = _resolve_spelt(index, _swapped(full, word, other), _swapped(core, word, other), kinds, intent)
        if again.status != "not_found" and (again.matches[0].how != "fuzzy" or result.status == "not_found"):
            return again
    return result


def _swapped(text: str, word: str, other: str) -> str:
    return " ".join(other if w.lower() == word else w for w in text.split())


def _resolve_spelt(index: CatalogIndex, full: str, core: str, kinds: set[str], intent: str) -> Resolution:
    implied = INTENT_KINDS.get(intent, set())
    narrowed = kinds | implied
    result = index.resolve(full, kinds=narrowed or None)
    if result.status == "not_found" and core != full:
        stripped = index.resolve(core, kinds=narrowed or None)
        if stripped.status != "not_found" or stripped.matches:
            result = stripped
    for fallback in (implied, set()):  # the kind words may be part of the name, or the intent guessed wrong
        if result.status == "not_found" and narrowed != fallback:
            relaxed = index.resolve(core, kinds=fallback or None)
            # but a typo of another kind does not outweigh near names of the kind asked for: "the catalogue service"
            # is not resource catalog-db (two letters off) when product-catalog-service is near
            typo = relaxed.status == "found" and relaxed.matches[0].how == "fuzzy" and bool(result.matches)
            if relaxed.status != "not_found" and not typo:
                result = relaxed
    return result


def _asked_tag(
    session: Session, index: CatalogIndex, words: list[str], lower: list[str], runs: list[tuple[int, int]]
) -> tuple[str | None, list[tuple[int, int]]]:
    """In a question that asks for a list ("tier-1 services", "which services use kafka", "pci services owned by
    payments"), the run of words spelling one of the catalog's tags and naming nothing exactly, and the other runs,
    still candidate names: there a tag beats a partial name ("python services"). Other questions never read the tags
    here (`_unnamed_tag` looks once nothing else was found), so "who owns refund worker" never pays for them."""
    if not (set(lower) & LISTS or any(w in KIND_WORDS and w.endswith("s") for w in lower)):
        return None, runs
    for a, b in runs:
        core_start, core_end = _core(lower, a, b, TAGGED | RANKS.keys())  # "tagged pci", "most pci"
        core = words[core_start:core_end]
        if 0 < len(core) <= MAX_TAG_WORDS and not index.named(" ".join(core)) and tagged(session, index, tag := tag_of(core)):
            return tag, [r for r in runs if r != (a, b)]
    return None, runs


def _unnamed_tag(session: Session, index: CatalogIndex, unresolved: Subject, *, bare: bool) -> str | None:
    """The tag that words naming nothing spell ("who owns kafka", a bare "redis"). One entity tagged kyc is rather the
    one "who do I ask about KYC?" describes (full-text search finds it), unless the tag is all that was typed."""
    core = unresolved.text.split()
    if not 0 < len(core) <= MAX_TAG_WORDS:
        return None
    refs = tagged(session, index, tag := tag_of(core))
    return tag if len(refs) > 1 or refs and bare else None


def _core(lower: list[str], a: int, b: int, leading: AbstractSet[str] = frozenset()) -> tuple[int, int]:
    """Words a..b without the kind words around them ("the checkout service": "checkout"), nor `leading` words before."""
    while a < b and (lower[a] in KIND_WORDS or lower[a] in leading):
        a += 1
    while b > a and lower[b - 1] in KIND_WORDS:
        b -= 1
    return a, b


def _ordinary(word: str) -> bool:
    return word in STOP_WORDS or is_cue(word) or word in KIND_WORDS


_ARTICLE_TYPOS = {"teh": "the", "hte": "the"}  # "who is in teh risk team": grammar reads the article


def _cue_or_word(word: str, index: CatalogIndex) -> str:
    """A typo'd cue word ("onws") counts as the cue, unless it may begin a catalog name."""
    if word in STOP_WORDS or is_cue(word) or word in KIND_WORDS:
        return word
    if word in _ARTICLE_TYPOS:
        return _ARTICLE_TYPOS[word]
    cue = near_cue(word)
    if cue is None or (index.starts_a_word(word) and not cue.startswith(word)):
        return word
    return cue


def _listed_names(session: Session, index: CatalogIndex, words: list[str]) -> list[str]:
    """ "checkout-api/cart-service": names written with a slash between them are listed, as with "and";
    a repository slug (`northwind/checkout-api`) stays one word."""
    out: list[str] = []
    for word in words:
        parts = word.split("/")
        if len(parts) > 1 and not index.named(word) and all(index.named(p) for p in parts) and not resolve_slug(session, index, word):
            out += [w for p in parts for w in ("and", p)][1:]
        else:
            out.append(word)
    return out


def _is_link_word(text: str) -> bool:
    return "/" in text and looks_like_slug(text)


def _link_subject(session: Session, index: CatalogIndex, url: str) -> Subject | None:
    refs = resolve_url(session, index, url)
    return _ref_subject(index, url, refs, -1)


def _ref_subject(index: CatalogIndex, text: str, refs: list[str], at: int) -> Subject | None:
    entities = [e for r in refs if (e := index.get(r))]
    if not entities:
        return None
    matches = [Match(e, 100.0, "exact") for e in entities]
    status: Literal["found", "ambiguous"] = "found" if len(entities) == 1 or len({e.owner_ref for e in entities}) == 1 else "ambiguous"
    return Subject(text, at, at + 1 if at >= 0 else -1, Resolution(status, matches), exact=True)


def _adjacent_kinds(lower: list[str], start: int, end: int) -> set[str]:
    """Kind words right before or after a name ("team payments", "the checkout component"), or one thing's before "for"."""
    around = [lower[start - 1] if start > 0 else "", lower[end] if end < len(lower) else ""]
    if start >= 2 and lower[start - 1] in ("for", "of") and not lower[start - 2].endswith("s"):  # "the database for payments"
        around.append(lower[start - 2])
    return {KIND_WORDS[w] for w in around if w in KIND_WORDS}


def _cue_names(index: CatalogIndex, words: list[str], lower: list[str], taken: set[int]) -> list[Subject]:
    """"the email service": a question word between an article and a kind word names a thing, when one is called so."""
    found = []
    for i in range(1, len(lower) - 1):
        if {i, i + 1} & taken or lower[i - 1] not in _ARTICLES or lower[i + 1] not in KIND_WORDS or not is_cue(lower[i]):
            continue
        resolution = resolve_phrase(index, f"{lower[i]} {lower[i + 1]}", lower[i], {KIND_WORDS[lower[i + 1]]}, "owner")
        if resolution.status != "not_found":
            found.append(Subject(words[i], i, i + 2, resolution))
    return found


def _span_subject(index: CatalogIndex, text: str, start: int, end: int, lower: list[str], intent: str) -> Subject:
    """An exact name, with the kind word after it read as part of a longer name first ("the payments topic": payment-events-topic)."""
    kinds = _adjacent_kinds(lower, start, end)
    after = lower[end] if end < len(lower) and lower[end] in KIND_WORDS else None
    return Subject(text, start, end, resolve_phrase(index, f"{text} {after}" if after else text, text, kinds, intent), exact=True)


def _extend_names(
    session: Session, index: CatalogIndex, words: list[str], lower: list[str], subjects: list[Subject], runs: list[tuple[int, int]], intent: str
) -> tuple[list[Subject], list[tuple[int, int]]]:
    """"payment gateway sim": an exact name followed at once by more name words may be the start of a longer name;
    "the points ledger": one with name words before it, a phrase some entry writes word for word (loyalty-service's
    "Points ledger and tier logic"), rather than the service titled "Ledger"."""
    kept_runs = []
    for a, b in runs:
        at = next((i for i, s in enumerate(subjects) if s.end == a and s.start >= 0), None)
        if at is not None and (longer := _longer(session, index, words, lower, subjects[at], b, intent)):
            subjects[at] = longer
            continue
        before = next((s for s in subjects if s.start == b), None)
        if before is not None and not _explains(session, before, " ".join(words[a:b])):
            if (said := written_in(session, text := " ".join(words[a : before.end]), index)) and said.best != before.resolution.best:
                subjects[subjects.index(before)] = Subject(text, a, before.end, said)
                continue
        kept_runs.append((a, b))
    return subjects, kept_runs


def _longer(session: Session, index: CatalogIndex, words: list[str], lower: list[str], subject: Subject, b: int, intent: str) -> Subject | None:
    """`subject` with the words after it up to `b`, when together they name something else: a longer name (kind words
    narrowing it: "the loyalty points api"), or a phrase one entry writes ("the search box": autocomplete-service)."""
    start, a, end = subject.start, subject.end, b
    while end > a and lower[end - 1] in KIND_WORDS:
        end -= 1
    kinds, text = {KIND_WORDS[w] for w in lower[end:b]}, " ".join(words[start:b])
    longer = resolve_phrase(index, " ".join(expand(w) for w in lower[start:b]), " ".join(lower[start:end]), kinds, intent)
    if longer.status != "found" and end > a and not _explains(session, subject, " ".join(words[a:end])):
        longer = written_in(session, " ".join(words[start:end]), index) or longer
    return Subject(text, start, b, longer) if longer.status == "found" and longer.best != subject.resolution.best else None


def _explains(session: Session, subject: Subject, words: str) -> bool:
    """Whether the entity `subject` found writes `words` itself ("real time" fraud-scoring: "Real-time fraud risk scoring")."""
    best = subject.resolution.best
    return best is not None and writes(session, best.ref, words)


def _runs(lower: list[str], taken: set[int]) -> list[tuple[int, int]]:
    """Stretches of words that may name something: not grammar, not a cue, not only kind words."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, w in enumerate([*lower, ""]):
        name_word = i < len(lower) and i not in taken and w not in STOP_WORDS and not is_cue(w)
        if name_word and start is None:
            start = i
        elif not name_word and start is not None:
            a, b = start, i
            while a < b and lower[a] in KIND_WORDS:
                a += 1
            while b > a and lower[b - 1] in KIND_WORDS:
                b -= 1
            if a < b:
                runs.append((start, i))
            start = None
    return runs


def _run_subject(session: Session, index: CatalogIndex, words: list[str], lower: list[str], a: int, b: int, intent: str) -> Subject:
    full = " ".join(expand(w) for w in lower[a:b])
    core_start, core_end = _core(lower, a, b)
    core = " ".join(lower[core_start:core_end])
    if core_end - core_start == 1 and looks_like_slug(words[core_start]):
        found = _ref_subject(index, words[core_start], resolve_slug(session, index, words[core_start]), a)
        if found:
            return found
    kinds = {KIND_WORDS[w] for w in lower[a:core_start] + lower[core_end:b]}
    kinds |= _adjacent_kinds(lower, a, b)
    resolution = resolve_phrase(index, full, core, kinds, intent)
    # a typo, or nothing for what looks like an identifier ("orders.v1"): unless some entry writes it word for word
    if resolution.status == "not_found" and _IDENTIFIER.search(core) or resolution.status == "found" and resolution.matches[0].how == "fuzzy":
        resolution = written_in(session, core, index) or resolution
    subject = Subject(" ".join(words[core_start:core_end]), a, b, resolution)
    return _with_ordinary_words(index, words, lower, subject, intent)


def _with_ordinary_words(index: CatalogIndex, words: list[str], lower: list[str], subject: Subject, intent: str) -> Subject:
    """"artist look": a name may go on with a word that is usually grammar; keep it when the longer name is found."""
    end = subject.end
    while (
        end < len(lower) and end - subject.end < 2 and lower[end] in STOP_WORDS and len(lower[end]) >= 3 and index.starts_a_word(lower[end])
    ):
        end += 1
        text = " ".join(words[subject.start : end])
        longer = resolve_phrase(index, text.lower(), text, set(), intent)
        if longer.status == "found":  # it explains more of what was typed
            return Subject(text, subject.start, end, longer)
    return subject


def _skeleton(lower: list[str], start: int | None, end: int | None) -> list[str]:
    """The words with the subject replaced by one placeholder, so cues can be read relative to it."""
    if start is None or start < 0 or end is None:
        return lower
    return lower[:start] + ["§"] + lower[end:]


def _joined(lower: list[str], before: list[Subject], subject: Subject) -> bool:
    """Whether `subject` is listed with an earlier one: only "and", "or", commas... between them."""
    for other in before:
        a, b = sorted([(other.start, other.end), (subject.start, subject.end)])
        if a[0] < 0 or b[0] < 0:
            continue
        between = lower[a[1] : b[0]]
        if (between or other.exact and subject.exact) and all(w in CONJUNCTIONS for w in between):
            return True
    return False


def _distinct(subjects: list[Subject]) -> list[Subject]:
    """One subject per entity, in their order: a link and its label name the same thing, and the label, which has a
    place among the words ("what does <url|payouts-service> depend on"), is kept."""

    def key(s: Subject) -> str:
        return s.resolution.best.ref if s.resolution.best else f"?{s.text.lower()}"

    kept: dict[str, Subject] = {}
    for s in sorted(subjects, key=lambda s: s.start < 0):
        kept.setdefault(key(s), s)
    return [s for s in subjects if kept[key(s)] is s]


def _primary(subjects: list[Subject], asking: int | None) -> Subject:
    """The one a sentence is about when its names are not listed together: a link, then the first name after its
    question word (`asking`; else the nearest before it), then the first. "who owns refunds-worker, which calls
    payment-gateway" asks about refunds-worker, and "there is an issue with checkout, who owns checkout-api?" about
    checkout-api; the longest name won, and the first answer named payment-gateway's owner."""

    def distance(s: Subject) -> int:
        if asking is None or s.start < 0:
            return 0
        return s.start - asking if s.start >= asking else 1000 + asking - s.start

    return max(subjects, key=lambda s: (s.start < 0, s.exact, s.resolution.status == "found", -distance(s), -s.start))


_ASKING = {"who", "whos", "whom", "whose", "what", "whats", "which", "where", "wheres", "how"}
_ASKING_FIRST = {"is", "are", "does", "do", "did", "can"}  # a question word only where a question starts


def _asking_at(lower: list[str]) -> int | None:
    """Where the question itself starts: its first question word ("in the payments platform, who owns ledger-db")."""
    return next((i for i, w in enumerate(lower) if w in _ASKING or i == 0 and w in _ASKING_FIRST), None)


def _scopes(subject: Subject, lower: list[str]) -> bool:
    """"what does team checkout own that has no runbook": a team, system or domain bounding a gap question."""
    best = subject.resolution.best
    if best is None or best.kind not in SCOPE_KINDS:
        return False
    bounding = {"own", "owns", "owned", "in", "under", "within", "contain", "contains", "include", "includes", "for", "of"}
    return bool(set(lower) & bounding or any(w in KIND_WORDS and w.endswith("s") for w in lower))


def _as_scope(subject: Subject) -> Subject:
    """The team, system or domain a gap question is bounded by: "what does ledger own that is deprecated" means team
    ledger, not the service titled "Ledger" that the name alone would answer."""
    best = subject.resolution.best
    if best is None or best.kind in SCOPE_KINDS or subject.start < 0:
        return subject
    scope = next((m for m in subject.resolution.matches if m.entity.kind in SCOPE_KINDS and m.how == "exact"), None)
    return Subject(subject.text, subject.start, subject.end, Resolution("found", [scope]), exact=True) if scope else subject


def _scope_before_kind(index: CatalogIndex, subject: Subject, lower: list[str]) -> Subject | None:
    """In a list question, "payments services" asks for the team payments' services, not for the entity titled
    "Payments Service": the team (system, domain) its words name exactly, when a plural kind word follows them."""
    after = lower[subject.end] if 0 <= subject.start and subject.end < len(lower) else ""
    if not _listed_kind(after):
        return None
    words = " ".join(lower[subject.start : subject.end])
    found = index.resolve(words, kinds=SCOPE_KINDS - {"user"})
    if found.status != "found" or found.best is None or found.best.name != words.replace(" ", "-"):
        return None
    return Subject(words, subject.start, subject.end, found, exact=True)


def _holds(subject: Subject, lower: list[str]) -> bool:
    """"what's in the payments platform", "which components does domain commerce include": a system's or domain's parts;
    "show me services of team identity", "identity's services", "what's in team ledger": what a team owns;
    "subcomponents of X", "what's inside X": a component's own (its `subcomponentOf` children), asked in so many words."""
    best = subject.resolution.best
    if best is None or subject.start < 0:
        return False
    before = set(lower[: subject.start])
    if best.kind == "component":  # "what's in payments-service" is not asked of its parts: only these words say so
        return bool(before & _PART_WORDS or set(lower) & _MADE_OF) or _makes_up(lower)
    if best.kind not in ("system", "domain", "group"):
        return False
    asks = before & {"what", "whats", "which", "list", "show", *_PART_WORDS} or any(w in KIND_WORDS and w.endswith("s") for w in before)  # "services in X"
    people = "who" in before or any(KIND_WORDS.get(w) == "user" for w in lower)  # "who is in team ledger", "which users are in payments"
    if asks and (before & {"in", "inside", "part", "parts"} or set(lower) & _MADE_OF or _makes_up(lower)):  # "what's part of X"
        return best.kind != "group" or not people
    # a plural kind word before the team ("apis of payments") or just after it ("identity's services", "payments team services")
    near = lower[: subject.start] + lower[subject.end : subject.end + 2]
    return best.kind == "group" and "who" not in lower and any(map(_listed_kind, near))


_MADE_OF = {"contain", "contains", "include", "includes", "comprise", "comprises", "consist", "consists"}
_PART_WORDS = {"parts", "inside", "subcomponents", "subcomponent", "children", "child"}


def _makes_up(lower: list[str]) -> bool:
    """"what components make up X", "what is X made of"."""
    pairs = set(zip(lower, lower[1:], strict=False))
    return bool(pairs & {("make", "up"), ("makes", "up"), ("made", "of"), ("made", "up")})


def _listed_kind(word: str) -> bool:
    """A plural kind word naming things to list ("services", "apis"), not who answers (teams, people)."""
    return word.endswith("s") and KIND_WORDS.get(word) not in (None, "group", "user")


def _rescope(index: CatalogIndex, s: Subject, intent: str) -> Subject:
    """Resolve again under the final intent's implied kinds (a link stays what it names)."""
    if s.start < 0:
        return s
    again = resolve_phrase(index, s.text, s.text, set(), intent)
    return s if again.status == "not_found" else Subject(s.text, s.start, s.end, again, s.exact)
