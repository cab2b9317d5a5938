"""Backstage descriptors read as Backstage reads them (issue 10, point 8).

Why: a catalog that loads in Backstage must load here, and one Backstage rejects must be
reported here, naming the field. References split as `parseEntityRef` splits them (so
`a:b/c/d` is not silently another entity), names Backstage accepts (`a--b`) load, and values of
the wrong type (`owner: 7`, `providesApis: [~]`) are reported instead of becoming the string
"7" or a relation to `api:default/none`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from catalog.config import Config
from catalog.core import Catalog
from catalog.store.refs import EntityRef, parse_ref
from catalog.sync.sources.backstage import BackstageSource, parse_documents
from catalog.sync.sources.descriptor import EntityDoc, Problem, parse_entity, relations_of
from tests.helpers import active_refs, backstage_config, relation_triples


@pytest.mark.parametrize(
    ("text", "default_kind", "expected"),
    [
        ("a:b/c/d", None, EntityRef("a", "b", "c/d")),
        ("component:default/foo:bar", None, EntityRef("component", "default", "foo:bar")),
        ("foo:bar", "group", EntityRef("foo", "default", "bar")),
        ("ns/name:with-colon", "group", EntityRef("group", "ns", "name:with-colon")),  # `:` after the `/` is the name's
        ("Team-A", "group", EntityRef("group", "default", "team-a")),
        ("API:Payments/Charges", None, EntityRef("api", "payments", "charges")),
    ],
)
def test_references_split_like_parse_entity_ref(text: str, default_kind: str | None, expected: EntityRef) -> None:
    assert parse_ref(text, default_kind=default_kind) == expected


@pytest.mark.parametrize("text", [":name", "component:/name", "component:ns/", "/name", "ns/", "", "   "])
def test_empty_parts_are_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ref(text, default_kind="component")


def _entity(body: str) -> EntityDoc | Problem:
    return parse_entity(yaml.safe_load(body), file="catalog-info.yaml", line=1)


def _component(metadata: str = "", spec: str = "", *, name: str = "svc", api_version: str = "backstage.io/v1alpha1") -> str:
    return (
        f"apiVersion: {api_version}\nkind: Component\nmetadata:\n  name: '{name}'\n{metadata}"
        f"spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n{spec}"
    )


@pytest.mark.parametrize("name", ["a--b", "a..b", "a_-.b", "x", "A1"])
def test_names_backstage_accepts_load(name: str) -> None:
    doc = _entity(_component(name=name))
    assert isinstance(doc, EntityDoc), doc
    assert doc.ref == f"component:default/{name.lower()}"


@pytest.mark.parametrize(
    ("metadata", "spec", "api_version", "field"),
    [
        ("", "", "backstage.io/v2", "apiVersion: unknown version 'backstage.io/v2'"),
        ("", "", "not a version", "apiVersion: 'not a version'"),
        ("  namespace: Payments\n", "", "backstage.io/v1alpha1", "metadata.namespace: 'Payments'"),
        ("  namespace: pay_ments\n", "", "backstage.io/v1alpha1", "metadata.namespace: 'pay_ments'"),
        ("  labels:\n    'bad key!': x\n", "", "backstage.io/v1alpha1", "metadata.labels: key 'bad key!'"),
        ("  labels:\n    example.com/tier: has space\n", "", "backstage.io/v1alpha1", "metadata.labels.example.com/tier: expected"),
        ("  labels:\n    tier: ~\n", "", "backstage.io/v1alpha1", "metadata.labels.tier: expected empty or [a-zA-Z0-9]"),
        ("  annotations:\n    Bad_Prefix.com/x: y\n", "", "backstage.io/v1alpha1", "metadata.annotations: key 'Bad_Prefix.com/x'"),
        (
            "  annotations:\n    pagerduty.com/service-id: 7\n",
            "",
            "backstage.io/v1alpha1",
            "metadata.annotations.pagerduty.com/service-id: expected a string, got int 7",
        ),
        ("", "  system: 7\n", "backstage.io/v1alpha1", "spec.system: expected an entity reference (a string), got int 7"),
        ("", "  providesApis: [~]\n", "backstage.io/v1alpha1", "spec.providesApis[0]: expected an entity reference (a string), got null"),
        ("", "  dependsOn: [ok, {kind: x}]\n", "backstage.io/v1alpha1", "spec.dependsOn[1]: expected an entity reference"),
        ("", "  consumesApis: {a: b}\n", "backstage.io/v1alpha1", "spec.consumesApis: expected a list of entity references"),
    ],
)
def test_field_formats_are_reported_with_the_field(metadata: str, spec: str, api_version: str, field: str) -> None:
    problem = _entity(_component(metadata, spec, api_version=api_version))
    assert isinstance(problem, Problem), problem
    assert field in problem.message
    assert problem.entity is not None and problem.entity.endswith("/svc") and problem.file == "catalog-info.yaml"


def test_wrong_typed_owner_and_name_are_reported_not_stringified() -> None:
    owner = _entity(_component().replace("owner: team-a", "owner: 7"))
    assert isinstance(owner, Problem) and "spec.owner: expected an entity reference (a string), got int 7" in owner.message
    name = _entity("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: 42\n")
    assert isinstance(name, Problem) and "metadata.name: expected a string, got int 42" in name.message


def test_valid_formats_load() -> None:
    doc = _entity(
        _component(
            "  namespace: payments-eu\n  labels:\n    example.com/tier: gold\n    empty: ''\n"
            "  annotations:\n    github.com/project-slug: 'org/repo'\n    note: 'free text: anything, even spaces'\n",
            "  providesApis: [charges]\n  dependsOn: component:ledger\n",
            api_version="backstage.io/v1beta1",
        )
    )
    assert isinstance(doc, EntityDoc), doc
    assert doc.ref == "component:payments-eu/svc" and doc.labels == {"example.com/tier": "gold", "empty": ""}
    triples, bad = relations_of(doc)
    assert bad == [] and ("component:payments-eu/svc", "providesApi", "api:payments-eu/charges") in triples
    custom = _entity("apiVersion: example.com/v1\nkind: FeatureFlag\nmetadata:\n  name: dark-mode\n")
    assert isinstance(custom, EntityDoc)


def test_a_null_list_item_is_reported_by_the_sync_and_makes_no_relation(
    make_catalog: Callable[[Config], Catalog], tmp_path: Path
) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "a.yaml").write_text(
        _component(spec="  providesApis: [~]\n", name="broken") + "---\n" + _component(name="fine"), encoding="utf-8"
    )
    catalog = make_catalog(backstage_config(tmp_path, {"files": root}))
    [report] = catalog.sync()
    assert [p.message for p in report.problems if p.entity == "component:default/broken"] == [
        "spec.providesApis[0]: expected an entity reference (a string), got null"
    ]
    assert active_refs(catalog) == {"component:default/fine"}
    assert not any("none" in target for _, _, target in relation_triples(catalog))


@pytest.mark.parametrize("kind", ["a/b", "Foo:Bar", "has space", "1Component", "x" * 64, "Com-ponent"])
def test_a_kind_backstage_rejects_is_reported_not_made_into_a_ref(kind: str) -> None:
    # Why: `kind: a/b` became the ref `a/b:default/x`, which no reference can name (it does not parse back).
    problem = _entity(f"apiVersion: example.com/v1\nkind: '{kind}'\nmetadata:\n  name: x\n")
    assert isinstance(problem, Problem), problem
    assert f"kind {kind!r} is not valid" in problem.message and problem.line == 1


@pytest.mark.parametrize("kind", ["FeatureFlag", "x", "K8sCluster", "A" * 63])
def test_kinds_backstage_accepts_load(kind: str) -> None:
    doc = _entity(f"apiVersion: example.com/v1\nkind: {kind}\nmetadata:\n  name: x\n")
    assert isinstance(doc, EntityDoc) and doc.ref == f"{kind.lower()}:default/x"


@pytest.mark.parametrize(
    ("metadata", "spec", "field"),
    [
        ("  description: [a, b]\n", "", "metadata.description: expected a string, got list ['a', 'b']"),
        ("  title: 12\n", "", "metadata.title: expected a string, got int 12"),
        ("", "  lifecycle: {a: 1}\n", "spec.lifecycle: expected a string, got dict {'a': 1}"),
        ("", "  type: 5\n", "spec.type: expected a string, got int 5"),
        ("  tags: java\n", "", "metadata.tags: expected a list of tags, got 'java'"),
        ("  tags: [java, UPPER]\n", "", "metadata.tags[1]: 'UPPER' is not a valid tag"),
        ("  tags: ['has space']\n", "", "metadata.tags[0]: 'has space' is not a valid tag"),
        ("  tags: [7]\n", "", "metadata.tags[0]: 7 is not a valid tag"),
        ("  tags: [a--b]\n", "", "metadata.tags[0]: 'a--b' is not a valid tag"),
        ("", "  profile: {email: [a]}\n", "spec.profile.email: expected a string, got list ['a']"),
        ("", "  profile: me@example.com\n", "spec.profile: expected a mapping, got 'me@example.com'"),
    ],
)
def test_values_of_the_wrong_type_reject_the_entity_naming_the_field(metadata: str, spec: str, field: str) -> None:
    body = _component(metadata, spec)
    problem = _entity(body.replace("kind: Component", "kind: Group") if "profile" in spec else body)
    assert isinstance(problem, Problem), problem
    assert field in problem.message


def test_tags_backstage_accepts_load() -> None:
    doc = _entity(_component("  tags: [java, c++, 'c#', 'team:payments', go-1-22]\n"))
    assert isinstance(doc, EntityDoc), doc
    assert doc.tags == ["java", "c++", "c#", "team:payments", "go-1-22"]


@pytest.mark.parametrize(
    ("value", "shown"), [("!!binary aGVsbG8=", "a YAML !!binary value"), ("!!set {a, b}", "a YAML !!set value"), ("-.inf", "the number -.inf")]
)
def test_yaml_values_that_are_not_json_reject_the_entity_with_their_line(tmp_path: Path, value: str, shown: str) -> None:
    # Why: `!!binary` became the description "b'hello'" and `!!set` "{'a', 'b'}"; PostgreSQL refused an infinity.
    (tmp_path / "a.yaml").write_text(_component(spec=f"  notes: {value}\n") + "---\n" + _component(name="fine"), encoding="utf-8")
    snapshot = BackstageSource("main", tmp_path).fetch()
    assert [e.name for e in snapshot.entities] == ["fine"]
    [problem] = snapshot.problems
    assert problem.line == 9 and f"contains {shown}" in problem.message and "which the catalog cannot store" in problem.message


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ('  dependsOn: ["component:"]\n', "spec.dependsOn[0]: reference 'component:' is not of the form"),
        ('  consumesApis: [ok, "a:/x"]\n', "spec.consumesApis[1]: reference 'a:/x' is not of the form"),
        ("  dependsOn: [artists-db]\n", "spec.dependsOn[0]: reference 'artists-db' needs a kind"),  # Backstage gives dependsOn no default kind
        ('  subcomponentOf: "ns/"\n', "spec.subcomponentOf: reference 'ns/' is not of the form"),
        (f"  dependsOn: [component:{'d' * 400}]\n", "over the limit of 400"),
    ],
)
def test_a_malformed_reference_in_any_field_rejects_the_entity(spec: str, field: str) -> None:
    # Why: only `owner` rejected the entity; in a list field the reference was dropped with a warning and the
    # entity loaded without the relation, though the README makes an empty kind, namespace or name an error.
    problem = _entity(_component(spec=spec))
    assert isinstance(problem, Problem) and problem.severity == "error", problem
    assert field in problem.message and problem.line == 1


def test_reference_fields_a_kind_does_not_relate_by_are_not_read() -> None:
    # Backstage reads `members` and `children` of a Group only; on a Component they are free-form spec.
    doc = _entity(_component(spec="  members: [':odd']\n"))
    assert isinstance(doc, EntityDoc), doc
    assert relations_of(doc)[1] == []


def _parsed(text: str) -> list[EntityDoc | Problem]:
    return [parsed for _, parsed in parse_documents(text, "catalog-info.yaml")]


def test_yaml_is_read_as_yaml_1_2_as_backstage_reads_it() -> None:
    # Why: YAML 1.1 made `name: on` and `owner: off` booleans (entity rejected) and `yes` a boolean label value;
    # Backstage's parser reads YAML 1.2, where they are strings, as are dates.
    text = (
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: on}\nspec: {type: team, children: []}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  labels: {enabled: yes}\n"
        "  description: 2024-01-01\n  annotations: {example.com/since: 2024-01-01T10:00:00Z}\n"
        "spec: {type: service, lifecycle: production, owner: off, replicas: 017, port: 0x1F, ratio: 1e3, up: True, gone: ~}\n"
    )
    group, svc = _parsed(text)
    assert isinstance(group, EntityDoc) and group.ref == "group:default/on"
    assert isinstance(svc, EntityDoc), svc
    assert (svc.labels, svc.description, svc.annotations) == ({"enabled": "yes"}, "2024-01-01", {"example.com/since": "2024-01-01T10:00:00Z"})
    assert svc.owner_ref == "group:default/off"
    assert {k: svc.spec[k] for k in ("replicas", "port", "ratio", "up", "gone")} == {"replicas": 17, "port": 31, "ratio": 1000.0, "up": True, "gone": None}


def test_a_key_given_twice_in_one_mapping_rejects_the_entity() -> None:
    # Why: the second `name` silently won; Backstage's parser reports "Map keys must be unique".
    text = _component(name="first").replace("  name: 'first'\n", "  name: first\n  name: second\n") + "---\n" + _component(name="fine")
    problem, fine = _parsed(text)
    assert isinstance(problem, Problem) and problem.line == 5 and "key 'name' appears twice" in problem.message
    assert isinstance(fine, EntityDoc) and fine.name == "fine"
    [complex_keys] = _parsed(_component(spec="  ? [a, b]\n  : x\n  ? [a, c]\n  : y\n"))  # keys that are collections are not compared
    assert isinstance(complex_keys, Problem) and "appears twice" not in complex_keys.message


def test_merge_keys_still_merge() -> None:
    text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  labels: &base {tier: gold}\nspec:\n  <<: *base\n  owner: team-a\n"
    [doc] = _parsed(text)
    assert isinstance(doc, EntityDoc) and doc.spec == {"tier": "gold", "owner": "team-a"}
