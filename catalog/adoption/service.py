"""`Adoption`: the adoption capability over a `Catalog`, what adapters (and the actions) call.

Every method is one short transaction. People are pseudonymised exactly like the question log
(`questions.pseudonymise_askers`), so a person's events, questions and survey line up without
their id being stored.
"""

from __future__ import annotations

import logging
import random
import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from catalog.adoption import aliases, metrics, pulse, rollup
from catalog.adoption.events import EVENT_TABLE, Kind, day_number, event_values, record_event, record_followup
from catalog.adoption.models import AdoptionAlias
from catalog.adoption.report import AdoptionReport, AskedGap, EngineersFrom, Fix, UnansweredQuestion
from catalog.answers.card import entity_links, expects_runbook, is_runbook
from catalog.answers.questionlog import asker_id
from catalog.core import Catalog
from catalog.search.understand import understand
from catalog.store.database_errors import driver_reason
from catalog.store.models import ChatIdentity
from catalog.store.reads import get_entities

log = logging.getLogger(__name__)

SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
TOP = 10
# An unanswered name this close to an entity's is probably what people call it: offer "add alias", else "create entity".
ALIAS_FIX_SCORE = 75.0


class NotAnAdmin(PermissionError):
    """Only the people in `adoption.admins` decide on learned aliases."""


class Adoption:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.config = catalog.config.adoption

    def stored_id(self, who: str | None) -> str | None:
        """What is stored for `who`: the id, or its keyed hash when configured."""
        return asker_id(who, self.catalog.config.questions)

    def record_event(
        self, *, surface: str, kind: str, outcome: str, now: datetime, who: str | None = None, intent: str | None = None,
        entity_ref: str | None = None, latency_ms: float | None = None, thread: str | None = None,
    ) -> None:  # fmt: skip
        """Record one interaction (`catalog.adoption.events.Surface` and `Kind`); the actions call it for requests and decisions."""
        with self.catalog.session() as session:
            record_event(
                session, at=now, surface=surface, kind=kind, outcome=outcome, who=self.stored_id(who), intent=intent,
                entity_ref=entity_ref, latency_ms=latency_ms, thread=thread,
            )  # fmt: skip

    def record_view(self, *, surface: str, found: bool, now: datetime, entity_ref: str | None = None, intent: str | None = None) -> None:
        """A page or API read, by nobody in particular (a bearer token names no person): batched, so the read never waits
        for a write (`catalog.store.write_behind.RowBuffer`); the row is in the table within a second."""
        self.catalog.records.add(
            (EVENT_TABLE, event_values(at=now, surface=surface, kind=Kind.PAGE_VIEW, outcome="found" if found else "not_found", intent=intent, entity_ref=entity_ref))
        )

    def record_followup(self, *, thread: str, author: str, now: datetime) -> bool:
        """`author` wrote in the Slack thread `thread` (`channel:ts`); see `catalog.adoption.events.record_followup`."""
        with self.catalog.session() as session:
            return record_followup(session, thread=thread, author=self.stored_id(author), at=now)

    # -- the report

    def refresh_rollups(self) -> list[int]:
        """Bring the daily rollups up to date with the events (`catalog.adoption.rollup`); returns the days rebuilt."""
        with self.catalog.session() as session:
            return rollup.refresh(session)

    def _source(self, rollups: bool) -> metrics.Source:
        """The rollups, refreshed; the events themselves when asked, or when the rollups cannot be written (a read-only database)."""
        if not rollups:
            return metrics.EVENTS
        try:
            self.refresh_rollups()
        except SQLAlchemyError as exc:
            log.warning("adoption rollups not refreshed, the report reads the events: %s", driver_reason(exc))
            return metrics.EVENTS
        return metrics.ROLLUPS

    def _engineers(self, session: Session) -> tuple[int, EngineersFrom]:
        """What the shares are of: the configured number, else the engineers the Slack source counted, else catalog Users."""
        if self.config.engineers:
            return self.config.engineers, "config"
        slack = [source.name for source in self.catalog.config.sources if source.type == "slack"]
        return metrics.slack_engineers(session, slack) or (metrics.catalog_users(session), "catalog users")

    def report(self, *, since: datetime, until: datetime, rollups: bool = True) -> AdoptionReport:
        """Every metric over `[since, until)`, from the daily rollups unless `rollups` is False (the same numbers, slower)."""
        first, last = day_number(since), day_number(until - timedelta(microseconds=1))
        source = self._source(rollups)
        with self.catalog.session() as session:
            engineers, engineers_from = self._engineers(session)
            daily, weekly = metrics.active_by_day(session, first, last, source), metrics.active_by_week(session, first, last, source)
            new_users, ttfv = metrics.time_to_first_value(session, first, last, source)
            usage = metrics.usage(session, first, last, source)
            daily_avg = sum(daily) / len(daily)
            weekly_avg = sum(weekly) / len(weekly)
            return AdoptionReport(
                since=since, until=until, days=last - first + 1, engineers=engineers or None,
                engineers_from=engineers_from if engineers else "unknown", daily_active_bar=self.config.daily_active_bar,
                active_users=metrics.active_users(session, first, last, source), daily_active=daily, weekly_active=weekly,
                daily_active_avg=round(daily_avg, 2), daily_active_share=round(daily_avg / engineers, 4) if engineers else None,
                weekly_active_avg=round(weekly_avg, 2), weekly_active_share=round(weekly_avg / engineers, 4) if engineers else None,
                return_rate=metrics.return_rate(session, first, last, source), new_users=new_users,
                time_to_first_value_minutes=None if ttfv is None else round(ttfv, 1),
                answer_rate=usage.answer_rate, self_service_rate=metrics.self_service_rate(session, first, last, answered=usage.answer_rate.hits),
                actions_self_service=usage.actions_self_service,
                approval_median_minutes=metrics.approval_median_minutes(session, first, last),
                satisfaction=metrics.satisfaction(session, since, until),
                owner_answers_per_week=usage.owner_answers_by_week, surfaces=usage.surfaces,
                unanswered=self._unanswered(session, since, until), gaps=self._gaps(session, first, last),
                pulse=metrics.pulse(session, since, until),
            )  # fmt: skip

    def _unanswered(self, session: Session, since: datetime, until: datetime) -> list[UnansweredQuestion]:
        """The most asked unanswered questions, each with its fix when the answer is a missing name."""
        index = self.catalog.index(session)
        found = []
        for question, asked in metrics.top_unanswered(session, since, until, limit=TOP):
            u = understand(session, index, question)
            fix = None
            if u.unresolved is not None and u.unresolved.start >= 0 and not u.subjects:
                near = [m for m in u.unresolved.resolution.matches if m.score >= ALIAS_FIX_SCORE]
                name = u.unresolved.text.strip()
                fix = Fix(action="add_alias", name=name, ref=near[0].entity.ref) if near else Fix(action="create_entity", name=name)
            found.append(UnansweredQuestion(question=question, asked=asked, fix=fix))
        return found

    def _gaps(self, session: Session, first: int, last: int) -> list[AskedGap]:
        """Entities people asked about that have no owner or no runbook, most asked first."""
        asked = metrics.most_asked_entities(session, first, last)
        entities = get_entities(session, [ref for ref, _ in asked])
        gaps = []
        for ref, n in asked:
            e = entities.get(ref)
            if e is None:
                continue
            missing = [] if e.owner_ref or e.kind in ("group", "user") else ["owner"]
            if expects_runbook(e.kind, e.type) and not any(is_runbook(link) for link in entity_links(e)):
                missing.append("runbook")
            if missing:
                gaps.append(AskedGap(ref=ref, name=e.name, asked=n, missing=missing))
        return gaps[:TOP]

    # -- the satisfaction pulse

    def invite_to_pulse(self, *, now: datetime, rng: random.Random | None = None) -> list[str]:
        """The Slack user ids to survey now (claimed: none of them is asked again this quarter); [] when disabled."""
        if not self.config.pulse.enabled:
            return []
        with self.catalog.session() as session:
            active = pulse.active_people(session, now=now, days=self.config.pulse.active_days)
            if self.catalog.config.questions.pseudonymise_askers:  # the raw ids are only in the identity cache
                known: list[str] = list(session.execute(select(col(ChatIdentity.slack_user_id))).scalars())
                candidates = [(uid, stored) for uid in known if (stored := self.stored_id(uid)) in active]
            else:
                candidates = [(who, who) for who in active if SLACK_USER.match(who)]
            return pulse.invite(session, candidates, now=now, sample_size=self.config.pulse.sample_size, rng=rng or random.Random())

    def answer_pulse(self, *, user: str, score: int, comment: str | None, now: datetime) -> bool:
        with self.catalog.session() as session:
            return pulse.answer(session, who=self.stored_id(user) or user, score=score, comment=comment, now=now)

    # -- learned aliases

    def confirm_answer(self, *, question: str, ref: str, now: datetime) -> aliases.Proposal | None:
        """A 👍 or "Did you mean" click confirmed `ref` for `question`: propose the typed name when the catalog lacks it."""
        with self.catalog.session() as session:
            name = aliases.learnable_name(session, self.catalog.index(session), question, ref)
            if name is None:
                return None
            proposal = aliases.propose(session, alias=name, ref=ref, now=now)
            session.expunge(proposal.alias)
            return proposal

    def is_admin(self, user: str) -> bool:
        return user in self.config.admins

    def decide_alias(self, alias_id: int, *, approve: bool, admin: str, now: datetime) -> AdoptionAlias | None:
        """Record the approval action's decision once (`actions/builtin.py` asked the admins); None when already decided."""
        with self.catalog.session() as session:
            decided = aliases.decide(session, alias_id, approve=approve, admin=admin, now=now)
            if decided is not None:
                session.expunge(decided)
            return decided

    def add_alias(self, *, name: str, ref: str, admin: str, now: datetime) -> AdoptionAlias | None:
        """The digest's one-click fix: an admin makes `name` an alias of `ref` at once (None if it was already decided)."""
        if not self.is_admin(admin):
            raise NotAnAdmin(f"only a catalog admin (adoption.admins) can add aliases; {admin} is not one")
        with self.catalog.session() as session:
            proposal = aliases.propose(session, alias=name, ref=ref, now=now)
            decided = aliases.decide(session, proposal.alias.id or 0, approve=True, admin=admin, now=now)
            if decided is not None:
                session.expunge(decided)
            return decided

    def aliases(self, *, status: str | None = None) -> list[tuple[AdoptionAlias, str]]:
        """Learned aliases with their provenance text."""
        with self.catalog.session() as session:
            rows = aliases.listed(session, status=status)
            session.expunge_all()
        return [(row, aliases.provenance(row)) for row in rows]

    def export_aliases(self) -> str:
        """Approved aliases as a patch to each entity's descriptor file."""
        with self.catalog.session() as session:
            learned = aliases.approved_by_ref(session)
            entities = get_entities(session, list(learned))
        patches = [aliases.export_patch(e.location, e.name, learned[ref]) for ref in sorted(learned) if (e := entities.get(ref))]
        return "".join(patches)
