"""Learned aliases: names people use that the catalog lacks, proposed from confirmed answers.

A question whose subject resolved only by fuzzy matching, confirmed by a 👍, or a "Did you
mean" click, proposes the typed name as an alias of the entity (`propose`: one row per spelling
and entity, counting confirmations). A catalog admin approves or rejects it once (`decide`: a
conditional update, so a retried run changes nothing). A proposal whose request expired or was
cancelled is closed the same way (`close`) and proposed again by the next confirmation. Approved aliases live
here, in Wayfinder's own overlay, and join the resolution index (`catalog.store.reads.load_index`);
`export_patch` turns them into a change to each entity's descriptor.

This table is the domain record; the admins' approval is a built-in action (`actions/builtin.py`),
whose executor calls `decide`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from catalog.adoption.models import AdoptionAlias
from catalog.search.resolve import CatalogIndex, compact
from catalog.search.understand import understand
from catalog.store.models import CatalogState
from catalog.sync.sources.descriptor import ALIASES_ANNOTATION

MAX_ALIAS = 100
_LOCATION = re.compile(r"^(?:file:)?(.+?)(?::(\d+))?$")  # an entity's location: the descriptor file and the document's line
# How a subject resolved when the typed words are already one of the entity's names.
_NAMED = ("exact", "title", "alias")
# Nobody decided these (the request expired, or was cancelled): the next confirmation proposes them again.
_UNDECIDED = ("expired", "cancelled")


def learnable_name(session: Session, index: CatalogIndex, question: str, ref: str) -> str | None:
    """The name typed in `question` that `ref` was confirmed for, when it is not already one of its names."""
    u = understand(session, index, question)
    subject = u.subjects[0] if len(u.subjects) == 1 else u.unresolved if not u.subjects else None
    if subject is None or subject.start < 0:  # several subjects, or a URL
        return None
    if any(m.how in _NAMED for m in subject.resolution.matches):
        return None
    name = subject.text.strip()
    entity = index.get(ref)
    if entity is None or not compact(name) or len(name) > MAX_ALIAS or compact(name) in {compact(entity.name), compact(entity.ref)}:
        return None
    return name


@dataclass(frozen=True)
class Proposal:
    alias: AdoptionAlias
    new: bool  # first proposed now: the admins are to be asked


def propose(session: Session, *, alias: str, ref: str, now: datetime) -> Proposal:
    """Count one more confirmation of `alias` for `ref`, creating the proposal the first time (safe under races)."""
    key = compact(alias)
    for _ in range(2):
        bumped = session.execute(
            update(AdoptionAlias)
            .where(col(AdoptionAlias.alias_key) == key, col(AdoptionAlias.entity_ref) == ref)
            .values(confirmations=AdoptionAlias.confirmations + 1)
        )
        if getattr(bumped, "rowcount", 0):
            return Proposal(_one(session, key, ref), new=_reopened(session, key, ref, now))
        try:
            with session.begin_nested():
                session.add(AdoptionAlias(alias=alias[:MAX_ALIAS], alias_key=key, entity_ref=ref, proposed_at=now))
            return Proposal(_one(session, key, ref), new=True)
        except IntegrityError:  # another replica proposed it meanwhile: count on its row
            continue
    raise RuntimeError("alias proposal kept conflicting")  # pragma: no cover - two conflicts in a row


def _one(session: Session, key: str, ref: str) -> AdoptionAlias:
    return session.scalars(select(AdoptionAlias).where(col(AdoptionAlias.alias_key) == key, col(AdoptionAlias.entity_ref) == ref)).one()


def _reopened(session: Session, key: str, ref: str, now: datetime) -> bool:
    """Propose again a proposal nobody decided (True for the one caller that did: it asks the admins)."""
    reopened = session.execute(
        update(AdoptionAlias)
        .where(col(AdoptionAlias.alias_key) == key, col(AdoptionAlias.entity_ref) == ref, col(AdoptionAlias.status).in_(_UNDECIDED))
        .values(status="proposed", proposed_at=now, decided_at=None, decided_by=None)
    )
    return bool(getattr(reopened, "rowcount", 0))


def decide(session: Session, alias_id: int, *, approve: bool, admin: str, now: datetime) -> AdoptionAlias | None:
    """Approve or reject a proposal once; None when it was already decided (or does not exist).

    An approval moves the catalog generation, so every process rebuilds its resolution index.
    """
    if not close(session, alias_id, "approved" if approve else "rejected", by=admin, now=now):
        return None
    if approve:
        session.execute(update(CatalogState).where(col(CatalogState.id) == 1).values(generation=CatalogState.generation + 1))
    return session.get(AdoptionAlias, alias_id)


def close(session: Session, alias_id: int, status: Literal["approved", "rejected", "expired", "cancelled"], *, by: str, now: datetime) -> bool:
    """Move a proposal to `status`, once; False when it was no longer proposed."""
    closed = session.execute(
        update(AdoptionAlias)
        .where(col(AdoptionAlias.id) == alias_id, col(AdoptionAlias.status) == "proposed")
        .values(status=status, decided_at=now, decided_by=by[:200])
    )
    return bool(getattr(closed, "rowcount", 0))


def approved_by_ref(session: Session) -> dict[str, list[str]]:
    """ref -> its approved learned aliases (what the resolution index adds)."""
    rows = session.execute(
        select(col(AdoptionAlias.entity_ref), col(AdoptionAlias.alias)).where(col(AdoptionAlias.status) == "approved").order_by(col(AdoptionAlias.id))
    )
    found: dict[str, list[str]] = {}
    for ref, alias in rows:
        found.setdefault(str(ref), []).append(str(alias))
    return found


def listed(session: Session, *, status: str | None = None) -> list[AdoptionAlias]:
    query = select(AdoptionAlias).order_by(col(AdoptionAlias.entity_ref), col(AdoptionAlias.alias_key))
    if status:
        query = query.where(col(AdoptionAlias.status) == status)
    return list(session.scalars(query))


def provenance(alias: AdoptionAlias) -> str:
    """"alias learned from 4 questions, approved by U123 on 2026-12-02"."""
    questions = f"{alias.confirmations} question{'s' if alias.confirmations != 1 else ''}"
    if alias.status == "proposed":
        return f"alias learned from {questions}, waiting for approval"
    when = f" on {alias.decided_at:%Y-%m-%d}" if alias.decided_at else ""
    if alias.status in _UNDECIDED:
        return f"alias learned from {questions}, not decided (its request {alias.status}{when}); proposed again when confirmed"
    return f"alias learned from {questions}, {alias.status} by {alias.decided_by}{when}"


def export_patch(location: str | None, name: str, aliases: list[str]) -> str:
    """A unified diff adding `aliases` to the descriptor of the entity `name` (or a YAML snippet when the file cannot be read)."""
    found = _LOCATION.match(location or "")
    path = Path(found.group(1)) if found and location else None
    wanted = ", ".join(aliases)
    if path is None or not path.is_file():
        return f"# {name} ({location or 'no descriptor file'}): add under metadata.annotations\n{ALIASES_ANNOTATION}: {wanted}\n"
    before = path.read_text(encoding="utf-8").splitlines(keepends=True)
    after = _with_aliases(before, name, aliases, start=int(found.group(2) or 1) - 1 if found else 0)
    if after is None:
        return f"# {path}: entity {name} not found; add under its metadata.annotations\n{ALIASES_ANNOTATION}: {wanted}\n"
    return "".join(difflib.unified_diff(before, after, fromfile=f"a/{path}", tofile=f"b/{path}"))


def _with_aliases(lines: list[str], name: str, aliases: list[str], *, start: int) -> list[str] | None:
    """The file's lines with the aliases annotation of the document (from line `start`) whose metadata names `name`, added or extended."""
    names = (f"name: {name}", f'name: "{name}"', f"name: '{name}'")
    at = next((i for i in range(start, len(lines)) if lines[i].strip() in names), None)
    if at is None:
        return None
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    end = next((i for i in range(at + 1, len(lines)) if lines[i].strip() and not lines[i].startswith(indent) or lines[i].startswith("---")), len(lines))
    block = range(at - 1 if at else 0, end)
    existing = next((i for i in block if lines[i].strip().startswith(f"{ALIASES_ANNOTATION}:")), None)
    if existing is not None:
        current = [a.strip() for a in lines[existing].split(":", 1)[1].strip().strip("'\"").split(",") if a.strip()]
        merged = ", ".join(dict.fromkeys(current + aliases))
        return [*lines[:existing], f"{lines[existing].split(ALIASES_ANNOTATION)[0]}{ALIASES_ANNOTATION}: {merged}\n", *lines[existing + 1 :]]
    annotations = next((i for i in block if lines[i].strip() == "annotations:" and lines[i].startswith(indent)), None)
    line = f"{ALIASES_ANNOTATION}: {', '.join(aliases)}\n"
    if annotations is not None:
        return [*lines[: annotations + 1], indent + "  " + line, *lines[annotations + 1 :]]
    return [*lines[: at + 1], indent + "annotations:\n", indent + "  " + line, *lines[at + 1 :]]
