"""A rule's check as a plain function over one entity's facts, compiled once per evaluation.

The entity is anything with the catalog's fact attributes: a merged `CatalogEntity`, or the single
stored row of an entity only one source describes (most of them), so evaluating a large catalog
does not build a pydantic model per entity.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalog.scorecards.config import FIELDS, Check, ScorecardConfig, duration


@dataclass(frozen=True, slots=True)
class Facts:
    entity: Any  # `CatalogEntity` or a stored row with the same attributes
    relations: Mapping[str, int]  # relation type -> number of distinct targets
    synced_at: datetime | None  # the least recent successful sync of its sources; None when one is failing or its file is broken


Predicate = Callable[[Facts], bool]


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(op: str, expected: Any) -> Callable[[Any], bool]:
    """The operator applied to one value (a missing value passes only `exists`... never)."""
    if op == "exists":
        return _present
    if op == "equals":
        want = str(expected).lower()
        return lambda v: v is not None and str(v).lower() == want
    if op == "in":
        wanted = {str(x).lower() for x in expected}
        return lambda v: v is not None and str(v).lower() in wanted
    if op == "matches":
        pattern = re.compile(str(expected))
        return lambda v: v is not None and pattern.search(str(v)) is not None
    bound = float(expected)
    if op == ">=":
        return lambda v: (n := _number(v)) is not None and n >= bound
    return lambda v: (n := _number(v)) is not None and n <= bound


def _spec_value(spec: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = spec
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def compile_check(check: Check, *, now: datetime) -> Predicate:
    """`check` as a predicate over `Facts`; `now` fixes what `synced_within` is measured from."""
    subject = check.subject
    if subject == "synced_within":
        oldest = now - duration(check.synced_within or "")
        return lambda f: f.synced_at is not None and f.synced_at >= oldest
    if subject == "relation":
        rel, op = check.relation or "", check.op
        count = _compare(op if op != "exists" else ">=", 1 if op == "exists" else check.value)
        if op == "equals":
            want = int(check.value)
            return lambda f: f.relations.get(rel, 0) == want
        return lambda f: count(f.relations.get(rel, 0))
    test = _compare(check.op, check.value)
    if subject == "field":
        column = FIELDS[check.field or ""]
        return lambda f: test(getattr(f.entity, column))
    if subject == "label":
        key = check.label
        return lambda f: test(f.entity.labels.get(key))
    if subject == "annotation":
        key = check.annotation
        return lambda f: test(f.entity.annotations.get(key))
    if subject == "spec":
        path = tuple((check.spec or "").split("."))
        return lambda f: test(_spec_value(f.entity.spec, path))
    if subject == "tag":
        tag = (check.tag or "").lower()
        return lambda f: any(str(t).lower() == tag for t in f.entity.tags)
    link_type = (check.link_type or "").lower()
    # A link of that type exists; with another operator, one of them has a URL that passes it.
    return lambda f: any(str(link.get("type") or "").lower() == link_type and (check.op == "exists" or test(link.get("url"))) for link in f.entity.links)


@dataclass(frozen=True)
class CompiledScorecard:
    """A scorecard ready to run: which entities it applies to, and its rules as indexes into a shared list of checks."""

    config: ScorecardConfig
    rules: tuple[tuple[str, int, int], ...]  # (rule id, level index, index of its check in `Compiled.checks`)
    kinds: frozenset[str] | None
    types: frozenset[str] | None
    lifecycles: frozenset[str] | None
    _outcomes: dict[tuple[bool, ...], tuple[int, str]] = field(default_factory=dict)

    def applies(self, entity: Any) -> bool:
        return (
            (self.kinds is None or (entity.kind or "").lower() in self.kinds)
            and (self.types is None or (entity.type or "").lower() in self.types)
            and (self.lifecycles is None or (entity.lifecycle or "").lower() in self.lifecycles)
        )

    def evaluate(self, passed: tuple[bool, ...], exempt: frozenset[str] | None = None) -> tuple[int, str]:
        """(level reached, failing rule ids comma-separated) from the checks' outcomes: a level needs
        every rule of it and below to pass; exempt rules pass. Without exemptions the answer depends
        on the outcomes alone, and the few patterns a catalog has are remembered."""
        if exempt is None and (known := self._outcomes.get(passed)) is not None:
            return known
        level = len(self.config.levels)
        failing = []
        for rule_id, rule_level, check in self.rules:
            if not passed[check] and (exempt is None or rule_id not in exempt):
                failing.append(rule_id)
                level = min(level, rule_level - 1)
        outcome = level, ",".join(failing)
        if exempt is None:
            self._outcomes[passed] = outcome
        return outcome


@dataclass(frozen=True)
class Compiled:
    """Every scorecard, compiled together: a check several rules share (has an owner) runs once per entity."""

    cards: tuple[CompiledScorecard, ...]
    checks: tuple[Predicate, ...]
    _applying: dict[tuple[str, str | None, str | None], tuple[CompiledScorecard, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, configs: list[ScorecardConfig], *, now: datetime) -> Compiled:
        index: dict[str, int] = {}
        checks: list[Predicate] = []
        cards = []
        for config in configs:
            rules = []
            for rule in config.rules:
                key = rule.check.model_dump_json()
                if key not in index:
                    index[key] = len(checks)
                    checks.append(compile_check(rule.check, now=now))
                rules.append((rule.id, config.level_index(rule.level), index[key]))
            applies = config.applies_to
            cards.append(CompiledScorecard(config, tuple(rules), applies.allowed("kind"), applies.allowed("type"), applies.allowed("lifecycle")))
        return cls(tuple(cards), tuple(checks))

    def applying(self, entity: Any) -> tuple[CompiledScorecard, ...]:
        """The scorecards that apply to `entity` (remembered per kind, type and lifecycle)."""
        key = (entity.kind, entity.type, entity.lifecycle)
        found = self._applying.get(key)
        if found is None:
            found = self._applying[key] = tuple(card for card in self.cards if card.applies(entity))
        return found

    def run_checks(self, facts: Facts) -> tuple[bool, ...]:
        return tuple([check(facts) for check in self.checks])
