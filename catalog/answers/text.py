"""Plain-text rendering of an `Answer`, for the terminal and the JSON `text` field.

The result is neutralised (`catalog.safe_text`): catalog text cannot send escape sequences or
bidi overrides to a terminal through `wayfinder ask`.
"""

from __future__ import annotations

from datetime import datetime

from catalog.answers.freshness import clock_time, describe, describe_all
from catalog.answers.models import Answer, Contact, EntitySummary
from catalog.answers.oncall import OnCallShift
from catalog.safe_text import neutralise
from catalog.scorecards.scores import Scoreboard

RELATION_WORDS = {
    "dependsOn": "depends on",
    "consumesApi": "consumes API",
    "partOf": "is part of",
    "dependencyOf": "depends on it",
    "apiConsumedBy": "consumes its API",
    "providesApi": "provides",
    "apiProvidedBy": "provides it",
}


def relation_word(relation: str | None) -> str | None:
    """How a listed entity relates to the subject, in words ("consumes API"); an unknown relation as it is."""
    return RELATION_WORDS.get(relation or "", relation)


def _entity(e: EntitySummary) -> str:
    title = f" ({e.title})" if e.title and e.title != e.name else ""
    return f"{e.kind}:{e.name}{title}"


def _contact(c: Contact) -> list[str]:
    name = c.display_name or c.name
    lines = [f"{name} [{c.kind}:{c.name}]"]
    if c.slack_channel:
        lines.append(f"  Slack: {c.slack_channel}")
    if c.slack_usergroup_handle:
        lines.append(f"  Slack group: @{c.slack_usergroup_handle.lstrip('@')}")  # annotations write it with or without its @
    if c.email:
        lines.append(f"  Email: {c.email}")
    if c.leads:
        lines.append("  Leads: " + ", ".join(m.display_name or m.name for m in c.leads))
    if c.members:
        shown = ", ".join(m.display_name or m.name for m in c.members[:10])
        more = f" and {len(c.members) - 10} more" if len(c.members) > 10 else ""
        lines.append(f"  Members: {shown}{more}")
    return lines


def render_all(a: Answer, *, now: datetime) -> None:
    """Set the text of the answer and of each of its parts (one per subject)."""
    for part in a.parts:
        part.text = render_text(part, now=now)
    a.text = "\n\n".join(p.text for p in a.parts) if a.parts else render_text(a, now=now)


ITEM_INTENTS = ("owned_by", "depends_on", "dependents", "apis", "lifecycle")


def render_text(a: Answer, *, now: datetime, listed_apart: bool = False) -> str:
    """The answer as plain text. `listed_apart`: the caller shows the answer's entities, candidates and
    example questions as lists of its own (the search page links each), so the text keeps only their heads."""
    body = _oncall(a, now) if a.intent == "oncall" and a.subject else _body(a)
    if listed_apart and (a.items and a.intent in ITEM_INTENTS or a.candidates or a.examples):
        body = [line for line in body if not line.startswith(("  ", "Did you mean: ")) and line != "Try:"]
    if a.message and a.status != "not_found":
        body = [a.message, *body]
    # "Nothing is called X" reads before the suggestions; elsewhere notes qualify the answer.
    lines = a.notes + body if a.status == "not_found" else body + a.notes
    if a.intent == "sources":
        lines += [f"  {describe(f, now).removeprefix('from ')}" for f in a.sources]
    elif a.sources:
        lines.append(f"({describe_all(a.sources, now)})")
    return neutralise("\n".join(lines))


def _body(a: Answer) -> list[str]:
    if a.status in ("help", "unknown"):
        intro = (
            []
            if a.message
            else ["I can answer questions about the software catalog." if a.status == "help" else "Sorry, I didn't understand that."]
        )
        near = ["Did you mean: " + ", ".join(_entity(c) for c in a.candidates) + "?"] if a.candidates else []
        return intro + near + ["Try:"] + [f"  {q}" for q in a.examples]
    if a.intent == "gaps":
        return _gaps(a)
    if a.intent == "sources":  # each source's line is written with the others' freshness lines
        return [f"The catalog's sources ({len(a.sources)}):"]
    if a.intent == "scorecard" and a.scoreboard is not None:
        return scoreboard_lines(a.scoreboard)
    if a.status == "not_found":
        lines = []
        if a.candidates:
            lines.append("Did you mean: " + ", ".join(_entity(c) for c in a.candidates) + "?")
        return lines
    if a.status == "ambiguous":
        lines = [] if a.message else ["Several entities match; which one did you mean?"]  # a question back says it itself
        lines += [f"  {_entity(c)}, owned by {c.owner_ref or 'nobody'}" for c in a.candidates]
        return lines
    if a.intent == "incidents" and a.subject is None:
        return _incidents(a, "the whole catalog")
    s = a.subject
    assert s is not None
    name = _entity(s)
    if a.intent == "owner":
        if a.owner is None:
            return []
        if a.owner.ref == s.ref:
            teams = ["  Teams: " + ", ".join(f"{t.display_name or t.name} [{t.kind}:{t.name}]" for t in a.teams)] if a.teams else []
            return [f"{name} is a {s.kind}:"] + _contact(a.owner)[1:] + teams
        return [f"{name} is owned by:"] + _contact(a.owner)
    if a.intent == "about":
        return _described(a, name)
    if a.intent == "members":
        leads = [f"Leads: {', '.join(m.display_name or m.name for m in a.owner.leads)}"] if a.owner and a.owner.leads else []
        return [f"Members of {name}:"] + [f"  {m.display_name or m.name}" + (f" <{m.email}>" if m.email else "") for m in a.members] + leads
    if a.intent == "owned_by":
        teams = ["Member of " + ", ".join(t.name for t in a.teams) + "."] if a.teams else []
        return [f"{name} owns {len(a.items)}:"] + [f"  {_entity(i)}" for i in a.items] + teams
    if a.intent in ("depends_on", "dependents"):
        head = f"{name} depends on:" if a.intent == "depends_on" else f"Depending on {name}:"
        return [head] + [
            f"  {_entity(i)}"
            + (f" ({relation_word(i.relation)}" + (f" via {i.via}" if i.via else "") + ")" if i.relation else "")
            for i in a.items
        ]
    if a.intent == "apis":
        head = f"Providing or using {name}:" if s.kind == "api" else f"APIs of {name}:"
        return [head] + [f"  {_entity(i)} ({relation_word(i.relation)})" for i in a.items]
    if a.intent == "links":
        return [f"Links for {name}:"] + [f"  {link.title}: {link.url}" for link in a.links]
    if a.intent == "where":
        parts = [f"  {label}: {_entity(e)}" for label, e in (("system", a.system), ("domain", a.domain), ("part of", a.parent)) if e]
        return [f"{name} sits in:"] + parts
    if a.intent == "team_of":
        return [f"{name} is on:"] + [f"  {line}" for t in a.teams for line in _contact(t)]
    if a.intent == "contact":
        return _reach(a, name)
    if a.intent == "incidents":
        return _incidents(a, name)
    if a.intent == "lifecycle":
        owner = (
            [f"Owner: {a.owner.display_name or a.owner.name} [{a.owner.kind}:{a.owner.name}]"] if a.owner and a.owner.ref != s.ref else []
        )
        return owner + ([f"Still used by {len(a.items)}:"] + [f"  {_entity(i)}" for i in a.items] if a.items else [])
    return [name]


def _described(a: Answer, name: str) -> list[str]:
    """What the entity is, then what it is known by, where it sits and who owns it."""
    s = a.subject
    assert s is not None
    lines = [f"{name}: {s.description}" if s.description else f"{name}: no description in the catalog."]
    facts = [f"{label}: {value}" for label, value in (("Type", s.type), ("Lifecycle", s.lifecycle)) if value]
    if a.card is not None and a.card.tags:
        facts.append("Tags: " + ", ".join(a.card.tags))
    lines += [f"  {' · '.join(facts)}"] if facts else []
    if a.card is not None:
        lines += [f"  {label}: {_entity(e)}" for label, e in (("System", a.card.system), ("Domain", a.card.domain)) if e]
    if a.owner is not None and a.owner.ref != s.ref:
        lines += ["Owned by:"] + _contact(a.owner)
    return lines


def scoreboard_lines(board: Scoreboard) -> list[str]:
    """Per scorecard, each entity's level (and its change since last week) and the fixes to its next level."""
    if not board.scores:
        return [f"No scorecard results for {board.scope}."]
    lines = [f"Scorecard levels of {board.scope}:"]
    title = None
    for score in board.scores:
        if score.scorecard_title != title:
            title = score.scorecard_title
            lines.append(f"{title}:")
        change = f" ({'+' if score.change > 0 else ''}{score.change} since last week)" if score.change else ""
        lines.append(f"  {score.name}: {score.level or 'no level'}{change}")
        if score.next_level:
            lines += [f"    to reach {score.next_level}: {rule.fix}" for rule in score.next_fixes]
    return lines


def _reach(a: Answer, name: str) -> list[str]:
    """Every way to reach the team: its contact details, then what pages it."""
    if a.owner is None:
        return []
    head = f"To reach {name}:" if a.subject and a.owner.ref == a.subject.ref else f"To reach the owner of {name}:"
    lines = [head] + _contact(a.owner)
    if a.oncall is not None and a.oncall.shifts:
        lines.append(f"  On call now: {a.oncall.shifts[0].user.name} (PagerDuty {a.oncall.service.name})")
    if a.paged_via:
        lines.append("  On call through PagerDuty for: " + ", ".join(i.name for i in a.paged_via))
    return lines


def _incidents(a: Answer, name: str) -> list[str]:
    """`Open alerts for X:` and, for each, its state and who acknowledged it."""
    if not a.incidents:
        return []
    lines = [f"Open alerts for {name}:"]
    for i in a.incidents:
        who = f", acknowledged by {i.acknowledged_by}" if i.acknowledged_by else ", not acknowledged"
        lines.append(
            f"  {i.title} ({i.status}{who if i.status != 'triggered' or not i.acknowledged_by else ''}, {i.provider})"
            + (f" on {i.entity_ref}" if a.subject is None and i.entity_ref else "")
            + (f" {i.url}" if i.url else "")
        )
    if a.owner:
        lines.append(f"Owner: {a.owner.display_name or a.owner.name} [{a.owner.kind}:{a.owner.name}]")
    return lines


def gap_heading(scope: str | None, label: str) -> str:
    """`Services owned by checkout with no runbook link`: what was looked at, and what it lacks."""
    scope = scope or "entities"
    return f"{scope[:1].upper()}{scope[1:]}" + (f" with {label}" if label else "")


def _gaps(a: Answer) -> list[str]:
    """`3 services with no runbook link:` and the list, for each gap asked about."""
    lines: list[str] = []
    for gap in a.gaps:
        lines.append(f"{gap_heading(gap.scope, gap.label)}: " + (str(gap.total) if gap.total else "none"))
        lines += [f"  {_entity(i)}" + (f", owned by {i.owner_ref}" if i.owner_ref else "") for i in gap.items]
        if gap.total > len(gap.items):
            lines.append(f"  ... and {gap.total - len(gap.items)} more")
    return lines


_WHO_ANSWERS = {"group": "the team", "user": "the person"}  # without anyone on call, a team or person answers for itself


def _oncall(a: Answer, now: datetime) -> list[str]:
    """Who is on call, level 1 first, then the owner in one line; without shifts, the owner in full."""
    assert a.subject is not None
    name, oc = _entity(a.subject), a.oncall
    if oc is None or not oc.shifts:
        return (
            [f"Nobody to name as on call for {name}; {_WHO_ANSWERS.get(a.subject.kind, 'its owner')}:", *_contact(a.owner)]
            if a.owner
            else [f"Nobody to name as on call for {name}."]
        )
    policy = f" (escalation policy {oc.escalation_policy.name})" if oc.escalation_policy else ""
    lines = [f"On call for {name}, from PagerDuty service {oc.service.name}{policy}:"]
    lines += [f"  {_shift(shift, now)}" for shift in oc.shifts]
    if a.owner:
        channel = f", Slack {a.owner.slack_channel}" if a.owner.slack_channel else ""
        lines.append(f"Owner: {a.owner.display_name or a.owner.name} [{a.owner.kind}:{a.owner.name}]{channel}")
    return lines


def _shift(s: OnCallShift, now: datetime) -> str:
    email = f" <{s.user.email}>" if s.user.email else ""
    schedule = f" ({s.schedule.name})" if s.schedule else ""
    if s.end is None:
        until = ", always (not on a schedule)"
    else:
        until = f", until {clock_time(s.end, now)}" + (" (ended)" if s.end <= now else "")
    return f"Level {s.level}: {s.user.name}{email}{schedule}{until}"
