"""Field formats of a Backstage descriptor, checked as Backstage's catalog checks them.

The rules follow `FieldFormatEntityPolicy`, the Kubernetes-style validators and the entity
schemas of `@backstage/catalog-model` (FORMATS.md §1): kinds, names, namespaces, tags, label and
annotation keys and values, the apiVersion, and the types of the fields Wayfinder reads (entity
references, text, a profile, a Location's targets). Every message names the field, so people can
find it; a value of the wrong type is reported rather than turned into a string.
"""

from __future__ import annotations

import re
from typing import Any

# An object name: 1-63 characters, alphanumerics at both ends, `-`, `_` and `.` in between (`a--b` too).
OBJECT_NAME = re.compile(r"^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_LABEL = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VERSION = re.compile(r"^[a-zA-Z0-9]+$")
_KIND = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*$")
_TAG = re.compile(r"^[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*$")
BACKSTAGE_API_VERSIONS = ("backstage.io/v1alpha1", "backstage.io/v1beta1")

# spec fields holding one entity reference, and those holding a list of them
REF_FIELDS = ("owner", "system", "domain", "subcomponentOf", "subdomainOf", "parent")
REF_LIST_FIELDS = ("providesApis", "consumesApis", "dependsOn", "dependencyOf", "memberOf", "members", "children")
# fields read as text: a number, list or mapping there is a mistake to report, not a value to turn into a string
METADATA_TEXT = ("title", "description")
SPEC_TEXT = ("type", "lifecycle")
PROFILE_TEXT = ("displayName", "email", "picture")
PRESENCE = ("required", "optional")  # of a Location's targets: an optional one may be absent


def is_object_name(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 63 and OBJECT_NAME.match(value) is not None


def is_kind(value: Any) -> bool:
    """1-63 letters and digits, starting with a letter: anything else makes a ref no reference can name (`a/b`, `Foo:Bar`)."""
    return isinstance(value, str) and len(value) <= 63 and _KIND.match(value) is not None


def is_tag(value: Any) -> bool:
    """Lowercase `[a-z0-9:+#]` words joined by single `-`, at most 63 characters (`java`, `c++`, `team:payments`)."""
    return isinstance(value, str) and len(value) <= 63 and _TAG.match(value) is not None


def is_dns_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 63 and _DNS_LABEL.match(value) is not None


def is_dns_subdomain(value: str) -> bool:
    return 1 <= len(value) <= 253 and all(is_dns_label(part) for part in value.split("."))


def is_prefixed_key(value: Any) -> bool:
    """`name` or `dns.subdomain/name`, as label and annotation keys are written."""
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) == 1:
        return is_object_name(parts[0])
    return len(parts) == 2 and is_dns_subdomain(parts[0]) and is_object_name(parts[1])


def api_version_problem(api_version: str) -> str | None:
    """Backstage's own group knows two versions; other groups only need the `group/version` shape."""
    if api_version.startswith("backstage.io/"):
        if api_version in BACKSTAGE_API_VERSIONS:
            return None
        return f"apiVersion: unknown version {api_version!r} (Backstage knows {' and '.join(BACKSTAGE_API_VERSIONS)})"
    group, slash, version = api_version.rpartition("/")
    if slash and is_dns_subdomain(group) and _VERSION.match(version) and len(version) <= 63:
        return None
    return f"apiVersion: {api_version!r} is not a valid group/version like example.com/v1"


def metadata_problems(metadata: dict[str, Any]) -> list[str]:
    """metadata.namespace, labels, annotations, tags and text fields, each message naming its field."""
    problems = text_problems("metadata", metadata, METADATA_TEXT) + tag_problems(metadata.get("tags"))
    namespace = metadata.get("namespace")
    if namespace is not None and not is_dns_label(namespace):
        problems.append(f"metadata.namespace: {namespace!r} must be lowercase [a-z0-9] separated by -, at most 63 characters")
    for field, check_value, expected in (
        ("labels", lambda v: v == "" or is_object_name(v), "empty or [a-zA-Z0-9] separated by -_., at most 63 characters"),
        ("annotations", lambda v: isinstance(v, str), "a string"),
    ):
        entries = metadata.get(field)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            problems.append(f"metadata.{field} must be a mapping, got {_type(entries)}")
            continue
        for key, value in entries.items():
            if not is_prefixed_key(key):
                problems.append(f"metadata.{field}: key {key!r} must be a name, optionally prefixed by a DNS subdomain and /")
            elif not check_value(value):
                problems.append(f"metadata.{field}.{key}: expected {expected}, got {_shown(value)}")
    return problems


def text_problems(where: str, values: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    """`fields` of `values` (at `where`) that are set but not strings."""
    wrong = [(f, values[f]) for f in fields if values.get(f) is not None and not isinstance(values[f], str)]
    return [f"{where}.{f}: expected a string, got {_shown(value)}" for f, value in wrong]


def tag_problems(tags: Any) -> list[str]:
    """Backstage rejects an entity with a tag it does not accept, so this does too."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        return [f"metadata.tags: expected a list of tags, got {_shown(tags)}"]
    bad = [(i, tag) for i, tag in enumerate(tags) if not is_tag(tag)]
    rule = "lowercase [a-z0-9:+#] words separated by -, at most 63 characters"
    return [f"metadata.tags[{i}]: {tag!r} is not a valid tag ({rule})" for i, tag in bad]


def spec_problems(kind: str, spec: dict[str, Any]) -> list[str]:
    """spec values of the wrong type: references, text fields, a person's or team's profile, a Location's targets."""
    problems = spec_ref_problems(spec) + text_problems("spec", spec, SPEC_TEXT)
    profile = spec.get("profile") if kind in ("group", "user") else None
    if isinstance(profile, dict):
        problems += text_problems("spec.profile", profile, PROFILE_TEXT)
    elif profile is not None:
        problems.append(f"spec.profile: expected a mapping, got {_shown(profile)}")
    return problems + (location_problems(spec) if kind == "location" else [])


def location_problems(spec: dict[str, Any]) -> list[str]:
    """`target`, `targets` and `presence` as Backstage's Location schema types them: a string `targets` is a mistake, not one target per character."""
    problems = text_problems("spec", spec, ("target",))
    targets = spec.get("targets")
    if targets is not None and not isinstance(targets, list):
        problems.append(f"spec.targets: expected a list of targets, got {_shown(targets)}")
    elif targets:
        problems += [f"spec.targets[{i}]: expected a target (a string), got {_shown(t)}" for i, t in enumerate(targets) if not isinstance(t, str)]
    presence = spec.get("presence")
    if presence is not None and presence not in PRESENCE:
        problems.append(f"spec.presence: expected {' or '.join(PRESENCE)}, got {_shown(presence)}")
    return problems


def spec_ref_problems(spec: dict[str, Any]) -> list[str]:
    """Entity references of the wrong type: `owner: 7`, `providesApis: [~]`, a mapping for a list."""
    problems = []
    for field in REF_FIELDS:
        value = spec.get(field)
        if value is not None and not isinstance(value, str):
            problems.append(f"spec.{field}: expected an entity reference (a string), got {_shown(value)}")
    for field in REF_LIST_FIELDS:
        items = spec.get(field)
        if items is None:
            continue
        if isinstance(items, str):  # one reference where a list is expected: meant the same
            continue
        if not isinstance(items, list):
            problems.append(f"spec.{field}: expected a list of entity references, got {_shown(items)}")
            continue
        problems += [
            f"spec.{field}[{i}]: expected an entity reference (a string), got {_shown(item)}"
            for i, item in enumerate(items)
            if not isinstance(item, str)
        ]
    return problems


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    return f"{_type(value)} {value!r}" if not isinstance(value, str) else repr(value)
