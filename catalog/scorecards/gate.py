"""The deployment gate: is this entity at least at this level on this scorecard, right now?

Evaluated live from the catalog as it is (not from the recorded results, which may be from
before the last sync), with the same checks as the scheduled evaluation and its exemptions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlmodel import Session

from catalog.config import Config
from catalog.errors import ConfigError, InvalidInput
from catalog.scorecards.checks import Compiled, Facts
from catalog.scorecards.evaluate import COLUMNS, exemptions_on, synced_at, today
from catalog.scorecards.report import rule_result
from catalog.scorecards.scores import RuleResult
from catalog.store.merge import merge, source_states
from catalog.store.models import Entity, Relation, table_of
from catalog.store.reads import refs_named


class GateResult(BaseModel):
    # This module's models are built on first use, not at import (`defer_build`): a server starts without them.
    model_config = ConfigDict(defer_build=True)

    status: Literal["passed", "failed", "not_found", "not_applicable"]
    entity: str | None = None  # the ref the name resolved to
    scorecard: str
    min_level: str
    level: str | None = None
    failing: list[RuleResult] = Field(default_factory=list)  # the rules to fix to reach `min_level`
    message: str = ""


def gate(session: Session, config: Config, name: str, scorecard: str, min_level: str, *, now: datetime) -> GateResult:
    """`name` (a ref, or a name only one entity has) against `min_level` of `scorecard`; InvalidInput for an unknown scorecard or level."""
    try:
        card = config.scorecard(scorecard)
        wanted = card.level_index(min_level)
    except (ConfigError, ValueError) as exc:
        raise InvalidInput(str(exc)) from None
    base = {"scorecard": card.id, "min_level": card.levels[wanted - 1]}
    refs = [name.lower()] if ":" in name else refs_named(session, name)
    e = table_of(Entity).c
    rows: list[Any] = list(session.execute(select(*COLUMNS).where(e.retired_at.is_(None), e.ref.in_(refs)).order_by(e.ref, e.precedence.desc(), e.source)))
    found = sorted({r.ref for r in rows})
    if len(found) != 1:
        what = "is not in the catalog" if not found else f"names {len(found)} entities ({', '.join(found)}): give the full ref"
        return GateResult(status="not_found", message=f"{name} {what}.", **base)
    ref = found[0]
    states = source_states(session)
    entity: Any = rows[0] if len(rows) == 1 else merge(rows, states)  # a lone row has every fact a merged entity has
    compiled = Compiled.of([card], now=now)
    if not compiled.applying(entity):
        return GateResult(status="not_applicable", entity=ref, message=f"{card.title} does not apply to {ref}.", **base)
    r = table_of(Relation).c
    counts: Any = session.execute(select(r.type, func.count(func.distinct(r.target_ref))).where(r.subject_ref == ref).group_by(r.type))
    passed = compiled.run_checks(Facts(entity, {t: int(n) for t, n in counts}, synced_at(rows, states)))
    level, failing = compiled.cards[0].evaluate(passed, exemptions_on(session, today(config, now)).get((card.id, ref)))
    blocking = [rule for rule_id in failing.split(",") if (rule := card.rule(rule_id)) and card.level_index(rule.level) <= wanted]
    status: Literal["passed", "failed"] = "passed" if level >= wanted else "failed"
    return GateResult(
        status=status, entity=ref, level=card.level_name(level), message=f"{ref} is at {card.level_name(level) or 'no level'} on {card.title}.",
        failing=[rule_result(x) for x in blocking], **base,
    )  # fmt: skip
