"""`wayfinder validate` for actions: the `actions:` section's errors (file and line), and a warning for
every team whose leads an action needs but whose Group has no `wayfinder.io/leads` annotation
(its approvals then fall back to all its members). Reads files only, like the rest of `validate`."""

from __future__ import annotations

from pathlib import Path

from actions.definitions import load_actions
from catalog.answers.card import LEADS_ANNOTATION
from catalog.config import load_config
from catalog.errors import ConfigError
from catalog.sync.sources.descriptor import Problem
from catalog.sync.validate import config_snapshot


def check_actions(path: Path) -> list[Problem]:
    try:
        config = load_config(path)
    except ConfigError:
        return []  # `validate_path` reports the config's own errors
    try:
        actions = load_actions(config)
    except ConfigError as exc:
        return [Problem(message=line) for line in str(exc).splitlines()]
    needing = [a for a in actions if a.target and "owner-leads" in {p for s in a.approval.stage_list() for p in s.approvers}]
    if not needing:
        return []
    snapshot, _ = config_snapshot(config)
    groups = {e.ref: e for e in snapshot.entities if e.kind == "group"}
    problems = []
    for action in needing:
        assert action.target is not None
        kind, type_ = (action.target.kind or "").lower(), (action.target.type or "").lower()
        owners = sorted({e.owner_ref for e in snapshot.entities if e.owner_ref and (not kind or e.kind == kind) and (not type_ or (e.type or "").lower() == type_)})
        for owner in owners:
            group = groups.get(owner)
            if group is not None and not group.annotations.get(LEADS_ANNOTATION):
                problems.append(Problem(
                    severity="warning", file=group.location, entity=group.ref,
                    message=f"no {LEADS_ANNOTATION} annotation: action {action.id!r} (owner-leads) falls back to all the team's members",
                ))  # fmt: skip
    return problems
