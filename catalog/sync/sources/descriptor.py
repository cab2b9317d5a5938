"""Backstage descriptors: validate one raw entity document and derive its relations.

`parse_entity` turns a YAML mapping into an `EntityDoc` (or a `Problem`), and
`relations_of` derives the relation pairs the way Backstage's catalog does (FORMATS.md §1).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.store.facts import EntityFacts
from catalog.store.models import Entity, column_length
from catalog.store.precedence import DESCRIPTOR
from catalog.store.refs import DEFAULT_NAMESPACE, make_ref, parse_ref
from catalog.sync.sources.fieldformat import OBJECT_NAME, api_version_problem, is_kind, metadata_problems, spec_problems

KIND_NAMES = {
    "component": "Component",
    "api": "API",
    "resource": "Resource",
    "system": "System",
    "domain": "Domain",
    "group": "Group",
    "user": "User",
    "location": "Location",
    "template": "Template",
}
NAME_RE = OBJECT_NAME  # Backstage accepts `a--b` and `a..b` too
ALIASES_ANNOTATION = "wayfinder.io/aliases"
REQUIRED_SPEC = {
    "component": ("type", "lifecycle", "owner"),
    "api": ("type", "lifecycle", "owner"),
    "resource": ("type", "owner"),
    "system": ("owner",),
    "domain": ("owner",),
    "group": ("type",),
}

# field -> (relation, inverse relation, default kind of the target)
_REF_FIELDS: dict[str, tuple[str, str, str | None]] = {
    "owner": ("ownedBy", "ownerOf", "group"),
    "providesApis": ("providesApi", "apiProvidedBy", "api"),
    "consumesApis": ("consumesApi", "apiConsumedBy", "api"),
    "dependsOn": ("dependsOn", "dependencyOf", None),
    "dependencyOf": ("dependencyOf", "dependsOn", None),
    "subcomponentOf": ("partOf", "hasPart", "component"),
    "memberOf": ("memberOf", "hasMember", "group"),
    "members": ("hasMember", "memberOf", "user"),
    "parent": ("childOf", "parentOf", "group"),
    "children": ("parentOf", "childOf", "group"),
}
_PART_OF = {"system": "system", "domain": "domain", "subdomainOf": "domain"}
_PEOPLE_FIELDS = ("members", "memberOf", "parent", "children")  # read on a Group or User only

# `EntityDoc` field -> where it is written in a descriptor. Their sizes come from the entity
# table: PostgreSQL enforces them (SQLite does not), and one value over a size would otherwise
# fail the whole source's sync transaction instead of this one entity.
_SIZED_FIELDS = {
    "namespace": "metadata.namespace",
    "name": "metadata.name",
    "api_version": "apiVersion",
    "type": "spec.type",
    "lifecycle": "spec.lifecycle",
    "owner_ref": "spec.owner",
    "system_ref": "spec.system",
    "ref": "the entity reference",
}
_COLUMN_SIZES = {field: column_length(Entity, field) for field in _SIZED_FIELDS}


# Built on first use (`defer_build`), not at import: the sync needs them, a question (`wayfinder ask`, a
# new process each) does not.
class Problem(BaseModel):
    """Something wrong with one file or entity; the rest of the catalog still loads."""

    model_config = ConfigDict(defer_build=True)

    severity: Literal["error", "warning"] = "error"
    file: str | None = None
    line: int | None = None
    entity: str | None = None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")
        who = f" {self.entity}" if self.entity else ""
        prefix = f"{where}:{who}" if where else (self.entity or "")
        return f"{prefix} {self.severity}: {self.message}".strip()


class Link(BaseModel):
    model_config = ConfigDict(defer_build=True)

    url: str
    title: str | None = None
    icon: str | None = None
    type: str | None = None


class EntityDoc(EntityFacts):
    """One entity as a source asserts it, normalised; `ref` is its canonical key."""

    namespace: str = DEFAULT_NAMESPACE
    api_version: str = "backstage.io/v1alpha1"
    links: list[Link] = Field(default_factory=list)
    precedence: int = DESCRIPTOR

    @property
    def aliases(self) -> list[str]:
        raw = self.annotations.get(ALIASES_ANNOTATION, "")
        return [a.strip() for a in raw.split(",") if a.strip()]

    def content_hash(self) -> str:
        """Stable hash of everything the entity says, so unchanged entities are never rewritten."""
        payload = self.model_dump(mode="json", exclude={"location"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def parse_entity(raw: Any, *, file: str | None = None, line: int | None = None) -> EntityDoc | Problem:
    """Validate a raw descriptor mapping; hard errors come back as a `Problem`."""

    def problem(message: str, entity: str | None = None) -> Problem:
        return Problem(file=file, line=line, entity=entity, message=message)

    if not isinstance(raw, dict):
        return problem(f"expected a mapping with apiVersion, kind and metadata, got {type(raw).__name__}")
    api_version = raw.get("apiVersion")
    kind_raw = raw.get("kind")
    metadata = raw.get("metadata")
    if not kind_raw or not isinstance(kind_raw, str):
        return problem("entity has no kind")
    if not is_kind(kind_raw):
        return problem(f"kind {kind_raw!r} is not valid: 1-63 letters and digits, starting with a letter")
    if not api_version or not isinstance(api_version, str):
        return problem(f"{kind_raw} has no apiVersion")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        return problem(f"{kind_raw} has no metadata.name")
    if not isinstance(metadata["name"], str):
        return problem(f"metadata.name: expected a string, got {type(metadata['name']).__name__} {metadata['name']!r}")
    name = metadata["name"]
    kind = kind_raw.lower()
    if kind not in KIND_NAMES and api_version.startswith("backstage.io/"):
        hint = _nearest_kind(kind)
        return problem(f"unknown kind {kind_raw!r} for {api_version}" + (f" (did you mean {hint}?)" if hint else ""))
    if len(name) > 63 or not NAME_RE.match(name):
        return problem(f"invalid metadata.name {name!r}: at most 63 characters, [a-zA-Z0-9] separated by -_.")
    namespace = str(metadata.get("namespace") or DEFAULT_NAMESPACE)
    ref = make_ref(kind, namespace, name)
    spec = raw.get("spec") or {}
    if not isinstance(spec, dict):
        return problem("spec must be a mapping", ref)
    if wrong := field_format_problems(api_version, kind, metadata, spec) or reference_problems(kind, namespace, spec):  # references once they are strings
        return problem("; ".join(wrong), ref)
    try:
        owner_ref = _ref_or_none(spec.get("owner"), "group", namespace)
        system_ref = _ref_or_none(spec.get("system"), "system", namespace)
        links = [Link.model_validate(link) for link in metadata.get("links") or []]
    except (ValueError, TypeError) as exc:
        return problem(str(exc).splitlines()[0], ref)
    tags = metadata.get("tags") or []
    doc = EntityDoc(
        ref=ref,
        kind=kind,
        namespace=namespace.lower(),
        name=name,
        api_version=api_version,
        title=_opt_str(metadata.get("title")),
        description=_opt_str(metadata.get("description")),
        type=_opt_str(spec.get("type")),
        lifecycle=_opt_str(spec.get("lifecycle")),
        owner_ref=owner_ref,
        system_ref=system_ref,
        labels=_str_map(metadata.get("labels")),
        annotations=_str_map(metadata.get("annotations")),
        tags=tags,
        links=links,
        spec=spec,
        location=f"{file}:{line}" if file and line else file,
    )
    too_long = _over_column_size(doc)
    return problem(too_long, ref if len(ref) <= 100 else ref[:99] + "…") if too_long else doc


def _over_column_size(doc: EntityDoc) -> str | None:
    """Why the database cannot store `doc`, if a value is longer than its column."""
    for field, written in _SIZED_FIELDS.items():
        value, size = getattr(doc, field), _COLUMN_SIZES[field]
        if value is not None and len(value) > size:
            return f"{written} is {len(value)} characters long, over the limit of {size}; entity skipped"
    return None


def declared_references(raw: Any) -> int:
    """How many references a raw descriptor's spec declares: what its relations would cost to store."""
    spec = raw.get("spec") if isinstance(raw, dict) else None
    if not isinstance(spec, dict):
        return 0
    return sum(len(_as_list(spec[field])) for field in (*_REF_FIELDS, *_PART_OF) if field in spec)


def field_format_problems(api_version: str, kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """What Backstage's field-format policy and schemas would reject, each naming its field."""
    version = api_version_problem(api_version)
    return ([version] if version else []) + metadata_problems(metadata) + spec_problems(kind, spec)


def reference_problems(kind: str, namespace: str, spec: dict[str, Any]) -> list[str]:
    """References Backstage's `parseEntityRef` refuses (an empty part, a `dependsOn` without a kind), by field.

    Backstage fails such an entity as it fails a bad `owner`, so the entity is rejected rather
    than loaded without the relation. `owner` and `system` are resolved, and checked, by `parse_entity`.
    """
    problems = []
    for field, _, _, default_kind in _reference_fields(kind, spec):
        value = spec[field]
        for index, item in enumerate(_as_list(value)):
            try:
                parse_ref(item, default_kind=default_kind, default_namespace=namespace)
            except ValueError as exc:
                problems.append(f"spec.{field}{f'[{index}]' if isinstance(value, list) else ''}: {exc}")
    return problems


def spec_warnings(doc: EntityDoc) -> list[str]:
    """Missing required spec fields: reported, but the entity still loads (people still ask about it)."""
    missing = [f for f in REQUIRED_SPEC.get(doc.kind, ()) if doc.spec.get(f) in (None, "")]
    return [f"spec.{f} is missing" for f in missing]


def _ref_or_none(value: Any, default_kind: str, namespace: str) -> str | None:
    if value in (None, ""):
        return None
    return str(parse_ref(str(value), default_kind=default_kind, default_namespace=namespace))


def _nearest_kind(kind: str) -> str | None:
    from rapidfuzz import process

    match = process.extractOne(kind, list(KIND_NAMES), score_cutoff=70)
    return KIND_NAMES[match[0]] if match else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _reference_fields(kind: str, spec: dict[str, Any]) -> Iterator[tuple[str, str, str, str | None]]:
    """`(field, relation, inverse, default kind of the target)` of each spec field but `owner` and `system`
    that an entity of `kind` relates by (`members`, `children`, ... only on a Group or User)."""
    for field, (rel, inverse, default_kind) in _REF_FIELDS.items():
        if field != "owner" and field in spec and (field not in _PEOPLE_FIELDS or kind in ("group", "user")):
            yield field, rel, inverse, default_kind
    for field, default_kind in _PART_OF.items():
        if field != "system" and field in spec:
            yield field, "partOf", "hasPart", default_kind


def relations_of(doc: EntityDoc) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Relation triples `(subject, type, target)` in both directions, plus bad-ref messages."""
    triples: list[tuple[str, str, str]] = []
    bad: list[str] = []

    def add(field: str, value: Any, rel: str, inverse: str, default_kind: str | None) -> None:
        for item in _as_list(value):
            if not isinstance(item, str):  # parse_entity rejects these and bad refs; other sources must not make them relations
                bad.append(f"spec.{field}: expected an entity reference (a string), got {item!r}")
                continue
            try:
                target = str(parse_ref(item, default_kind=default_kind, default_namespace=doc.namespace))
            except ValueError as exc:
                bad.append(f"spec.{field}: {exc}")
                continue
            triples.append((doc.ref, rel, target))
            triples.append((target, inverse, doc.ref))

    if doc.owner_ref:
        triples += [(doc.ref, "ownedBy", doc.owner_ref), (doc.owner_ref, "ownerOf", doc.ref)]
    if doc.system_ref:
        triples += [(doc.ref, "partOf", doc.system_ref), (doc.system_ref, "hasPart", doc.ref)]
    for field, rel, inverse, default_kind in _reference_fields(doc.kind, doc.spec):
        add(field, doc.spec[field], rel, inverse, default_kind)
    return _unique(triples), bad


def _unique(items: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys(items))


def snapshot_relations(entities: Iterable[EntityDoc]) -> tuple[dict[str, list[tuple[str, str, str]]], list[Problem]]:
    """Relations of every entity, keyed by the entity they come from, plus bad-reference problems."""
    by_origin: dict[str, list[tuple[str, str, str]]] = {}
    problems: list[Problem] = []
    for doc in entities:
        triples, bad = relations_of(doc)
        by_origin[doc.ref] = triples
        problems += [Problem(severity="warning", file=doc.location, entity=doc.ref, message=m) for m in bad]
    return by_origin, problems


def dangling_targets(
    docs: Iterable[EntityDoc], by_origin: dict[str, list[tuple[str, str, str]]], known: Callable[[str], bool]
) -> list[Problem]:
    """Forward references to entities that do not exist (reported, not fatal: Backstage does the same)."""
    problems = []
    for doc in docs:
        for subject, rel, target in by_origin.get(doc.ref, ()):
            if subject == doc.ref and not known(target):
                problems.append(
                    Problem(
                        severity="warning",
                        file=doc.location,
                        entity=doc.ref,
                        message=f"{rel} {target}, which does not exist in the catalog",
                    )
                )
    return problems
