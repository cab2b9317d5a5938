"""Server-side validation of a request's inputs: the modal checks nothing the server does not check again.

`validate_inputs` returns JSON-ready values or raises `InvalidInputs` with one message per input
id, which Slack shows on the field (`response_action: errors`) and the CLI prints.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlmodel import Session

from actions.definitions import (
    ActionDefinition,
    BooleanInput,
    ChoiceInput,
    DateInput,
    DurationInput,
    EntityInput,
    NumberInput,
    TextInput,
    UserInput,
    format_duration,
    parse_duration,
)
from actions.errors import InvalidInputs
from catalog.store.reads import get_entity

TARGET = "target"  # the id under which a target error is reported


def validate_inputs(
    session: Session, action: ActionDefinition, raw: dict[str, Any], *, target: str | None, requester_teams: list[str]
) -> tuple[dict[str, Any], str | None]:
    """(values, target ref) for `raw`; every problem at once in `InvalidInputs.errors`."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    target_ref = None
    if action.target:
        target_ref, problem = _entity(session, target, kind=action.target.kind, entity_type=action.target.type, owners=None)
        if problem:
            errors[TARGET] = problem
    for spec in action.inputs:
        value = raw.get(spec.id)
        if value in (None, "", []):
            default = getattr(spec, "default", None)
            if default is not None and not isinstance(spec, BooleanInput):
                value = format_duration(default) if isinstance(spec, DurationInput) else default
            elif isinstance(spec, BooleanInput):
                value = spec.default
            elif spec.optional:
                continue
            else:
                errors[spec.id] = "Required."
                continue
        try:
            values[spec.id] = _check(session, spec, value, requester_teams)
        except ValueError as exc:
            errors[spec.id] = str(exc)
    if errors:
        raise InvalidInputs(errors)
    return values, target_ref


def _check(session: Session, spec: Any, value: Any, teams: list[str]) -> Any:
    if isinstance(spec, TextInput):
        text = str(value).strip()
        if len(text) < spec.min_length:
            raise ValueError(f"At least {spec.min_length} characters, please.")
        if len(text) > spec.max_length:
            raise ValueError(f"At most {spec.max_length} characters, please.")
        if spec.pattern and not re.fullmatch(spec.pattern, text):
            raise ValueError("This does not have the expected format.")
        return text
    if isinstance(spec, NumberInput):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("A number, please.") from None
        if spec.integer and not number.is_integer():
            raise ValueError("A whole number, please.")
        if (spec.min is not None and number < spec.min) or (spec.max is not None and number > spec.max):
            raise ValueError(f"Between {spec.min if spec.min is not None else '-∞'} and {spec.max if spec.max is not None else '∞'}.")
        return int(number) if spec.integer else number
    if isinstance(spec, BooleanInput):
        return value in (True, "true", "1", 1, "yes", "on")
    if isinstance(spec, ChoiceInput):
        picked = value if isinstance(value, list) else [value] if spec.type == "choice" else str(value).split(",")
        picked = [str(p).strip() for p in picked if str(p).strip()]
        unknown = [p for p in picked if p not in spec.options]
        if unknown or not picked:
            raise ValueError(f"Pick from: {', '.join(spec.options)}.")
        if spec.type == "choice":
            if len(picked) != 1:
                raise ValueError("Pick one.")
            return picked[0]
        return picked
    if isinstance(spec, DurationInput):
        duration = parse_duration(value)
        if spec.max and duration > spec.max:
            raise ValueError(f"At most {format_duration(spec.max)}.")
        return format_duration(duration)
    if isinstance(spec, DateInput):
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("A date like 2026-12-31, please.") from None
    if isinstance(spec, UserInput):
        text = str(value).strip()
        if not re.fullmatch(r"[UW][A-Z0-9]{2,20}|user:[\w.-]+/[\w.-]+", text):
            raise ValueError("Pick a person.")
        return text
    if isinstance(spec, EntityInput):
        ref, problem = _entity(session, str(value), kind=spec.kind, entity_type=spec.entity_type, owners=teams if spec.owner == "mine" else None)
        if problem:
            raise ValueError(problem)
        return ref
    raise ValueError(f"unsupported input type {spec.type}")


def _entity(session: Session, value: str | None, *, kind: str | None, entity_type: str | None, owners: list[str] | None) -> tuple[str | None, str | None]:
    """(ref, None) when `value` names an active entity matching the filter, else (None, why not)."""
    if not value:
        return None, "Pick one."
    entity = get_entity(session, value)
    if entity is None:
        return None, f"{value} is not in the catalog."
    if kind and entity.kind != kind.lower():
        return None, f"{entity.name} is a {entity.kind}, not a {kind.lower()}."
    if entity_type and (entity.type or "").lower() != entity_type.lower():
        return None, f"{entity.name} is not a {entity_type}."
    if owners is not None and entity.owner_ref not in owners:
        return None, f"{entity.name} is not owned by one of your teams."
    return entity.ref, None
