"""Answer a question about the catalog: `ask(session, text, index=...) -> Answer`.

This is the one place questions are understood; Slack, the CLI and HTTP only render.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session

from catalog.answers.card import (
    apis,
    build_card,
    contact,
    dependencies,
    dependents,
    entity_links,
    is_runbook,
    merge_sources,
    owner_contact,
    placement,
    summaries,
)
from catalog.answers.gaps import find_gaps
from catalog.answers.incidents import incidents, incidents_everywhere
from catalog.answers.lifecycle import lifecycle
from catalog.answers.models import Answer, EntitySummary
from catalog.answers.oncall import no_oncall_note, on_call, staleness_note
from catalog.answers.people import HAS_LINK, add_teams, asked_link, linked_things, paged_refs, reach, team_of
from catalog.answers.rankings import find_ranked
from catalog.answers.text import render_all, render_text
from catalog.search.fulltext import resolve_by_description, text_match_notes
from catalog.search.intents import DEPEND_VERBS, DEPENDS_ON, KIND_WORDS, PROVIDES, STOP_WORDS, TYPE_WORDS
from catalog.search.resolve import AMBIGUITY_MARGIN, FUZZY_CUTOFF, CatalogIndex, IndexedEntity, Match, Resolution, per_index, tokens, type_matches
from catalog.search.smalltalk import REPLIES
from catalog.search.understand import Understanding, understand
from catalog.store.merge import CatalogEntity, source_freshness, source_states
from catalog.store.reads import get_entities, get_entity, load_neighbourhood, owned_refs

MAX_CHOICES = 10  # "which API did you mean?": more than this is named, not picked
EMPTY_CATALOG = "The catalog is empty: no source has been synced yet. Run `wayfinder sync` to fill it."


def ask(
    session: Session,
    text: str,
    *,
    index: CatalogIndex,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Answer:
    """Understand `text`, resolve its subjects and build the answer; `Catalog.ask` logs it (`adoption.asked`)."""
    now = clock()
    if not len(index):
        answer = _empty_catalog(text)
    else:
        answer = _one_by_one(session, text, index, now) or _respond(session, understand(session, index, text), index, now)
    render_all(answer, now=now)
    return answer


_QUESTIONS = re.compile(r"[^?\n]+(?:\?+|$)", re.MULTILINE)  # "who owns X? who is on call for Y", or one question a line
# How a question starts when no question mark ends it ("who owns X\nlist its dependencies"); "also", "and" ahead are let be.
_QUESTION_STARTS = {
    "who", "whom", "whose", "what", "which", "where", "when", "how", "is", "are", "does", "do", "did", "can", "could",
    "any", "anyone", "list", "show", "tell", "give", "find", "link", "runbook", "docs",
}  # fmt: skip
_LEADING = {"also", "and", "then", "plus", "oh", "btw", "ps"}
_STATEMENT_STARTS = {"it", "its", "they", "their", "this", "that", "we", "i"}
_PRONOUN = re.compile(r"\b(it|them|they|this one|that one)\b|\b(its|their)\b", re.IGNORECASE)


def _one_by_one(session: Session, text: str, index: CatalogIndex, now: datetime) -> Answer | None:
    """"who's on call for payments-service? also who owns ledger-db": each question answered, one after the other,
    where read whole the second was dropped. Only when every piece is a question of its own (a question mark, or a
    question word first) that names something and asks something; "it" in a later one is the name before it
    ("who owns checkout-api? what does it depend on?"). "checkout-api is down? who is on call?" stays one question,
    and so does a question followed by a statement ("who owns X? it calls Y")."""
    pieces = [m.group(0).strip() for m in _QUESTIONS.finditer(text) if m.group(0).strip(" ?\t")]
    if len(pieces) < 2 or not all(map(_is_question, pieces)):
        return None
    understood: list[Understanding] = []
    for piece in pieces:
        u = understand(session, index, piece)
        if not u.subjects and understood:  # "...? is it deprecated?", "...? who is on call?": the name asked about before
            u = understand(session, index, _about_the_last(piece, understood[-1].subjects[0].text))
        if not u.subjects or u.bare and u.intent == "owner" or u.intent not in BUILDERS and u.intent != "gaps":
            return None  # a lone name on a line, or a piece that asks nothing
        if all((u.intent, u.subjects[0].text) != (v.intent, v.subjects[0].text) for v in understood):  # asked twice: once
            understood.append(u)
    if len(understood) < 2:
        return None
    answers = [_respond(session, u, index, now) for u in understood]
    return _several(text, answers[0].intent, [part for a in answers for part in a.parts or [a]], now)


def _about_the_last(piece: str, named: str) -> str:
    """`piece` about `named`: in place of its first "it" ("its"), or after it ("who is on call?" -> "... checkout-api")."""
    if _PRONOUN.search(piece):
        return _PRONOUN.sub(lambda m: named if m.group(1) else f"{named}'s", piece, count=1)
    return f"{piece.rstrip(' ?')} {named}"


def _is_question(piece: str) -> bool:
    """A question word first ("who", "what's", "list"), or a question mark at the end of anything but a statement
    about what came before ("it calls payments-service?")."""
    words = [w for w in re.findall(r"[a-z]+", piece.lower()) if w not in _LEADING]
    if not words:
        return False
    return words[0] in _QUESTION_STARTS or piece.endswith("?") and words[0] not in _STATEMENT_STARTS


def _several(question: str, intent: str, parts: list[Answer], now: datetime) -> Answer:
    """One answer a subject (or question), one after the other: asking back if any asks back."""
    statuses = {p.status for p in parts}
    status = "ambiguous" if "ambiguous" in statuses else "not_found" if "not_found" in statuses else "answered"
    return Answer(question=question, intent=intent, status=status, parts=parts, asked_at=now)


def ask_about(
    session: Session,
    question: str,
    *,
    ref: str,
    intent: str,
    index: CatalogIndex,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Answer:
    """Answer `question`'s intent for one chosen entity, as when someone picks a "Did you mean" candidate."""
    now = clock()
    chosen = index.get(ref)
    resolution = Resolution("found", [Match(chosen, 100.0, "exact")]) if chosen else Resolution("not_found")
    answer = _about(session, question, intent if intent in BUILDERS else "owner", resolution, ref, now)
    render_all(answer, now=now)
    return answer


def empty_catalog_answer(text: str, *, now: datetime) -> Answer:
    """The answer before anything was synced (even before the tables exist)."""
    answer = _empty_catalog(text)
    answer.text = render_text(answer, now=now)
    return answer


def _empty_catalog(text: str) -> Answer:
    # "Nothing is called X" would send a first-time user looking for a typo; say what fills the catalog.
    return Answer(question=text, intent="unknown", status="not_found", notes=[EMPTY_CATALOG])


def _respond(session: Session, u: Understanding, index: CatalogIndex, now: datetime) -> Answer:
    """The answer to what `understand` made of the question."""
    base = {"question": u.text, "intent": u.intent}
    if u.intent == "smalltalk" and u.smalltalk:
        return Answer(**base, status="help", message=REPLIES[u.smalltalk], examples=example_questions(index))
    if u.intent == "unknown" and not u.subjects and (described := resolve_by_description(session, u.text, index)):
        return _about(session, u.text, "owner", described, u.text, now)  # "who deals with settlements?": asked about what it does
    if u.intent in ("help", "unknown"):
        return Answer(**base, status=u.intent, examples=example_questions(index))
    if u.intent == "incidents" and not u.subjects and u.unresolved is None:
        everywhere = Answer(**base, status="answered", asked_at=now)
        incidents_everywhere(session, everywhere)
        return everywhere
    if u.intent == "sources":
        states = source_states(session)
        sources = [source_freshness(name, state) for name, state in sorted(states.items())]
        return Answer(**base, status="answered", sources=sources, asked_at=now)  # a catalog with entities has synced a source
    if u.intent == "gaps" and u.gap:
        scope = u.subjects[0].resolution.best if u.subjects else None
        scope_summary, gaps = find_ranked(session, index, u.gap) if u.gap.ranked else find_gaps(session, index, u.gap, scope)
        return Answer(**base, status="answered", scope=scope_summary, gaps=gaps, asked_at=now)
    if not u.subjects and u.unresolved is None and u.intent in BUILDERS:
        return _which_one(session, index, u, now)
    if u.unresolved is not None and not u.subjects:
        candidates = _summaries(session, u.unresolved.resolution)
        described = _by_description(session, u, index) if not u.bare or u.asks else None  # named nothing: maybe described something
        if u.bare and described is None:
            near = {m.entity.ref for m in u.unresolved.resolution.matches if m.score >= FUZZY_CUTOFF}
            candidates = [c for c in candidates if c.ref in near]  # a word that is neither a name nor a question: ask what was meant
            message = f"I don't know “{_echo(u.unresolved.text)}”: it is not a name in the catalog, and not a question I understand."
            return Answer(
                **{**base, "intent": "unknown"}, status="unknown", message=message, candidates=candidates, examples=example_questions(index)
            )
        if described is not None:
            return _about(session, u.text, u.intent, described, u.unresolved.text, now)
        if u.unresolved.start < 0:
            return Answer(
                **base,
                status="not_found",
                notes=[f"Nothing in the catalog has the link {_echo(u.unresolved.text)}: no repository slug, source location or link matches it."],
            )
        not_called = f"Nothing in the catalog is called {_echo(u.unresolved.text)!r}."
        if u.intent == "owner" and (owner := _one_owner_of_all(index, u.unresolved.text, u.unresolved.resolution)) is not None:
            answer = _about(session, u.text, "owner", Resolution("found", [Match(owner, 100.0, "exact")]), owner.name, now)
            team = (answer.owner.display_name if answer.owner else None) or owner.title or owner.name
            answer.notes.insert(0, f"{not_called} Everything named like it is owned by {team}: {', '.join(c.name for c in candidates)}.")
            answer.candidates = candidates
            return answer
        return Answer(**base, status="not_found", candidates=candidates, notes=[not_called])
    if u.intent == "team_of" and [s.resolution.best.kind if s.resolution.best else None for s in u.subjects] == ["user", "group"]:
        return _is_member(session, u, now)  # "is samuel on payments?" (not "what team are nadia and yuki on": one answer each)
    parts = [_only_kinds(_about(session, u.text, u.intent, s.resolution, s.text, now), u.item_words) for s in u.subjects]
    for part in parts if u.unexplained else ():  # "what port does checkout-api run on": the owner, by default
        if part.status == "answered" and part.subject is not None and part.subject.kind not in ("group", "user"):  # those answer for themselves
            part.notes.insert(0, f"The catalog has no answer to the rest of the question: ask {part.subject.name}'s owner.")
    return parts[0] if len(parts) == 1 else _several(u.text, u.intent, parts, now)


def _is_member(session: Session, u: Understanding, now: datetime) -> Answer:
    """"is samuel on payments?": yes or no first, then the person's teams, as "what team is samuel on" answers."""
    person, team = u.subjects
    answer = _about(session, u.text, "team_of", person.resolution, person.text, now)
    asked = team.resolution.best
    if answer.subject is None or asked is None:
        return answer
    team_name = asked.title or asked.name
    if set(tokens(u.text)) & _LEAD_WORDS and (group := get_entity(session, asked.ref)) is not None:  # "is elena a lead on payments?"
        leads = contact(session, group).leads
        lead = any(p.ref == answer.subject.ref for p in leads)
        named = f" (its leads: {', '.join(p.display_name or p.name for p in leads)})" if leads and not lead else ""
        said = "" if leads else f" ({team_name} names no leads: `wayfinder.io/leads`)"
        answer.message = f"{'Yes' if lead else 'No'}: {answer.subject.name} is {'' if lead else 'not '}a lead of {team_name}{named}{said}."
        return answer
    on = any(t.ref == asked.ref for t in answer.teams)
    answer.message = f"{'Yes' if on else 'No'}: {answer.subject.name} is {'' if on else 'not '}on {team_name}."
    return answer


_LEAD_WORDS = {"lead", "leads", "manager", "managers", "manages", "head", "heads"}  # "is elena a lead on payments?": its leads, not its members


def _only_kinds(answer: Answer, words: list[str]) -> Answer:
    """"which services depend on ledger-db", "what databases does X use": the listed items of the kinds (and types) asked for."""
    if not words or answer.status != "answered" or answer.subject is None:
        return answer
    answer.items = [i for i in answer.items if any(i.kind == KIND_WORDS[w] and (w not in TYPE_WORDS or type_matches(i.type, TYPE_WORDS[w])) for w in words)]
    if not answer.items:
        answer.status = "no_data"
        answer.notes.append(f"No {' or '.join(dict.fromkeys(words))} among them.")
    return answer


def _one_owner_of_all(index: CatalogIndex, named: str, near: Resolution) -> IndexedEntity | None:
    """"who owns fraud detection": when every near name shares a word with it and one team owns them all, that team answers."""
    words = set(tokens(named)) - STOP_WORDS
    entities = [m.entity for m in near.matches]
    owners = {e.owner_ref for e in entities}
    if len(entities) < 2 or len(owners) != 1 or None in owners or not all(words & set(tokens(f"{e.name} {e.title or ''}")) for e in entities):
        return None
    return index.get(owners.pop() or "")


def _which_one(session: Session, index: CatalogIndex, u: Understanding, now: datetime) -> Answer:
    """"who is on call?", "who owns the api?": a question about nothing named asks which one, never guesses.

    A kind word offers that kind's entities to pick from (each pick answers the question asked).
    """
    base = {"question": u.text, "intent": u.intent}
    kind_word = next((w for w in u.item_words if w in KIND_WORDS), None)
    if kind_word is None:
        message = "Which service or team do you mean? Put its name in the question."
        return Answer(**base, status="unknown", message=message, examples=example_questions(index))
    kind, type_ = KIND_WORDS[kind_word], TYPE_WORDS.get(kind_word)
    pool = sorted((e for e in index.entities if e.is_a(kind, type_)), key=lambda e: e.name)
    if len(pool) == 1:
        return _about(session, u.text, u.intent, Resolution("found", [Match(pool[0], 100.0, "exact")]), pool[0].name, now)
    candidates = _summaries(session, Resolution("ambiguous", [Match(e, 100.0, "exact") for e in pool[:MAX_CHOICES]]))
    more = [f"The catalog has {len(pool)} of them; name the one you mean."] if len(pool) > MAX_CHOICES else []
    return Answer(**base, status="ambiguous" if pool else "not_found", candidates=candidates, notes=more or ([] if pool else [f"The catalog has no {kind_word}."]))


def _by_description(session: Session, u: Understanding, index: CatalogIndex) -> Resolution | None:
    """What the question describes, by all its words ("who handles chargebacks"), else by the words of its subject
    alone ("what writes to the data lake": the verbs ask, "data lake" describes)."""
    assert u.unresolved is not None
    found = resolve_by_description(session, u.text, index)
    if found is None and u.unresolved.start >= 0 and u.unresolved.text.lower() != u.text.lower():
        found = resolve_by_description(session, u.unresolved.text, index)
    return found


def _summaries(session: Session, resolution: Resolution) -> list[EntitySummary]:
    found = get_entities(session, [m.entity.ref for m in resolution.matches])
    return [EntitySummary.of(found[m.entity.ref]) for m in resolution.matches if m.entity.ref in found]


# Intents whose answer is the owner: equally good matches with one owner answer them alike (`resolve._settle`).
SHARED_OWNER_ANSWERS = {"owner", "contact"}


def _about(session: Session, question: str, intent: str, resolution: Resolution, named: str, now: datetime) -> Answer:
    """The answer about one subject: the entity it resolved to, or the candidates to choose from."""
    base = {"question": question, "intent": intent}
    tied = _tied(resolution)
    if intent not in SHARED_OWNER_ANSWERS and tied:
        resolution = Resolution("ambiguous", [resolution.matches[0], *tied])
    if resolution.status == "found" and resolution.best is not None:  # the subject and what its card shows, in one read
        load_neighbourhood(session, resolution.best.ref)
    candidates = _summaries(session, resolution)
    if resolution.status == "not_found":
        notes = [f"Nothing in the catalog is called {_echo(named)!r}.", *text_match_notes(resolution)]
        return Answer(**base, status="not_found", candidates=candidates, notes=notes)
    if resolution.status == "ambiguous":
        return Answer(**base, status="ambiguous", candidates=candidates, notes=text_match_notes(resolution))
    best = resolution.best
    assert best is not None
    entity = get_entity(session, best.ref)
    if entity is None:  # retired between index build and now
        return Answer(**base, status="not_found", candidates=candidates)
    notes = text_match_notes(resolution)
    if tied:  # "who owns inventory": the answer holds for each, so say which others it covers
        also = ", ".join(m.entity.ref.replace(":default/", ":") for m in tied[:MAX_CHOICES])
        notes.append(f"{_echo(named)!r} also matches {also}, with the same owner.")
    return _entity_answer(session, question, intent, entity, now, notes)


def _entity_answer(session: Session, question: str, intent: str, entity: CatalogEntity, now: datetime, notes: list[str]) -> Answer:
    """The answer to `intent` about `entity`, with its card; `notes` say how the question's name led to it."""
    answer = Answer(
        question=question, intent=intent, status="answered", subject=EntitySummary.of(entity), sources=list(entity.freshness.values()),
        asked_at=now, notes=notes,
    )  # fmt: skip
    BUILDERS[intent](session, entity, answer)
    answer.card = build_card(session, entity)
    return answer


def _tied(resolution: Resolution) -> list[Match]:
    """Partial, fuzzy or text matches as good as the best one, which the resolver let stand because they share its owner.

    "who owns order": order-service, order-events and orders-db share an owner, which answers it (saying so);
    "what depends on order" it does not answer, so there they make it a question back. A name or title said in
    full stays what it names: "the ledger" is the service titled "Ledger", not team ledger."""
    if resolution.status != "found" or len(resolution.matches) < 2 or resolution.matches[0].how not in ("partial", "fuzzy", "text"):
        return []
    best = resolution.matches[0]
    scored = best.how != "text"  # text ranks are relative: only the resolver's equally close ones tie there

    def tied(i: int, m: Match) -> bool:
        return i < resolution.close or scored and best.score - m.score <= AMBIGUITY_MARGIN

    return [m for i, m in enumerate(resolution.matches[1:], 1) if tied(i, m) and m.entity.ref != best.entity.ref]


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
    if entity.kind == "user":  # "who is erik johansson": how to reach them, and the teams they work in
        add_teams(session, entity, answer)


def _described(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """"what is X": what the card says it is, and its owner; a missing owner is a note, not a missing answer."""
    _owner(session, entity, answer)
    answer.status = "answered"


def _members_answer(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.owner = contact(session, entity)
    answer.members = answer.owner.members
    if not answer.members:
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} has no members in the catalog.")


def _owned_by(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    refs = owned_refs(session, entity.ref)
    answer.items = summaries(session, refs)
    if entity.kind == "user":  # what a person owns is often nothing: the teams they are in own it
        add_teams(session, entity, answer)
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


def _apis(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """Provided, consumed or both, as the question's verbs say ("what does X expose", "which apis does X call")."""
    words = set(tokens(answer.question))
    asked = [d for d, verbs in (("provided", PROVIDES), ("consumed", DEPEND_VERBS | DEPENDS_ON | {"consumed", "used"})) if words & verbs]
    answer.items = apis(session, entity, asked if len(asked) == 1 else ["provided", "consumed"])
    if not answer.items:
        answer.status = "no_data"
        what = {"provided": "provides", "consumed": "consumes"}.get(asked[0] if len(asked) == 1 else "", "provides or consumes")
        answer.notes.append(f"Nothing in the catalog says {entity.name} {what} an API." if entity.kind != "api" else f"No component {what} {entity.name}.")


def _links(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    answer.links = entity_links(entity)
    asked = asked_link(answer.question)
    if entity.kind in ("group", "user") and not HAS_LINK[asked](entity):
        if choices := linked_things(session, entity, asked):  # "runbook for payments": the team's services have them
            answer.status, answer.candidates = "ambiguous", choices[:MAX_CHOICES]
            what = f"{asked} link" if asked else "links"
            answer.message = f"{entity.name} has no {what} of its own, but these things it owns have: which one do you mean?"
            return
    if asked == "runbook" and not any(is_runbook(link) for link in answer.links):
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
    if entity.kind == "group" and (paged := paged_refs(session, entity)):
        _oncall_per_service(session, entity, answer, paged)
        return
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


def _oncall_per_service(session: Session, team: CatalogEntity, answer: Answer, paged: list[str]) -> None:
    """"who is on call for payments": PagerDuty pages per service, so one on-call answer for each that the team owns."""
    assert answer.asked_at is not None
    found = get_entities(session, paged[:MAX_CHOICES])
    answer.parts = [_entity_answer(session, answer.question, "oncall", e, answer.asked_at, []) for e in found.values()]
    more = f" (here the first {MAX_CHOICES} of {len(paged)})" if len(paged) > MAX_CHOICES else ""
    if answer.parts:
        answer.parts[0].notes.insert(0, f"{team.name} is a team: PagerDuty pages for each service it owns{more}.")
    answer.status = "answered" if any(p.status == "answered" for p in answer.parts) else "no_data"


def _incidents(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """Open alerts; the owner comes along, as the way in when nobody has acknowledged."""
    _owner(session, entity, answer)
    incidents(session, entity, answer)


def _scorecard(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """The levels come from the scorecards' config, which `Catalog.ask` holds: it fills `answer.scoreboard` in."""


BUILDERS: dict[str, Callable[[Session, CatalogEntity, Answer], None]] = {
    "owner": _owner,
    "about": _described,
    "members": _members_answer,
    "owned_by": _owned_by,
    "depends_on": _depends_on,
    "apis": _apis,
    "dependents": _dependents,
    "links": _links,
    "where": _where,
    "oncall": _oncall,
    "team_of": team_of,
    "contact": reach,
    "lifecycle": lifecycle,
    "incidents": _incidents,
    "scorecard": _scorecard,
}


@per_index  # scans the catalog: once per index, not once per help or unknown question
def example_questions(index: CatalogIndex) -> list[str]:
    """Examples drawn from the real catalog, so help suggests questions that have answers.

    The team is the one that owns the most; the component and resource are ones it owns.
    """
    team, found_component, found_resource = index.busiest_team()
    component = found_component or "payments-service"
    resource = found_resource or component
    team_name = team or "team-a"
    return [
        f"who owns {component}?",
        f"what does {team_name} own?",
        f"who is in {team_name}?",
        f"what depends on {resource}?",
        f"docs for {component}",
    ]


ECHOED = 80


def _echo(said: str) -> str:
    """What the asker typed, said back: a pasted log line or a 20 kB paste is clipped, not repeated in full."""
    return said if len(said) <= ECHOED else said[: ECHOED - 1] + "…"
