"""The Backstage source imports the real upstream example sets with every entity, owner and relation.

Why: Wayfinder promises to be Backstage-compatible; an organisation pointing it at its existing
`catalog-info.yaml` files must get the same entities and relations Backstage would show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.config import Config
from catalog.core import Catalog
from catalog.sync.sources.backstage import BackstageSource
from tests.conftest import FIXTURES
from tests.helpers import active_refs, backstage_config, kind_counts, related, relation_triples, rows

BACKSTAGE = FIXTURES / "backstage-examples"
CREATE_APP = FIXTURES / "backstage-create-app-examples"
ENTRY_POINTS = ["acme-corp.yaml", "all-apis.yaml", "all-components.yaml", "all-domains.yaml", "all-resources.yaml", "all-systems.yaml"]

# FORMATS.md §1 / PROVENANCE.md: 57 entities.
EXPECTED_KINDS = {"component": 13, "api": 7, "resource": 1, "system": 3, "domain": 2, "group": 8, "user": 16, "location": 7}

MakeCatalog = Callable[[Config], Catalog]


def test_whole_backstage_example_set_imports(backstage: Catalog) -> None:
    counts = kind_counts(backstage)
    assert dict(counts) == EXPECTED_KINDS
    assert sum(counts.values()) == 57
    report = backstage.sync()[0]  # nothing was skipped: a resync finds exactly the same 57
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 57)


@pytest.mark.usefixtures("third_party")
def test_first_sync_reports_no_errors_and_no_dangling_references(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    catalog = make_catalog(backstage_config(tmp_path, {"bs": BACKSTAGE}))
    [report] = catalog.sync()
    assert report.added == 57
    # Every reference in the upstream set resolves, and the directory scan plus the Locations
    # reach many files twice: neither may produce a complaint.
    assert [str(p) for p in report.problems] == []


@pytest.mark.parametrize(
    ("ref", "owner"),
    [
        ("component:default/artist-lookup", "group:default/team-a"),
        ("component:default/playback-order", "user:default/guest"),
        ("component:default/wayback-archive-ingestion", "group:default/team-d"),
        ("api:default/starwars-graphql", "group:default/team-b"),
        ("api:default/petstore", "group:default/team-c"),
        ("resource:default/artists-db", "group:default/team-a"),
        ("system:default/audio-playback", "group:default/team-c"),
        ("domain:default/playback", "user:default/frank.tiernan"),
    ],
)
def test_owners_are_resolved_with_default_kind_and_namespace(backstage: Catalog, ref: str, owner: str) -> None:
    entity = rows(backstage, "backstage-examples")[ref]
    assert entity.owner_ref == owner
    assert related(backstage, ref, "ownedBy") == {owner}
    assert ref in related(backstage, owner, "ownerOf")
    answer = backstage.ask(f"who owns {ref}?")
    assert answer.subject is not None and answer.subject.ref == ref
    assert answer.owner is not None and answer.owner.ref == owner


def test_every_owned_entity_has_an_owner_relation_pointing_at_an_existing_entity(backstage: Catalog) -> None:
    triples = relation_triples(backstage)
    owned_by = {(s, o) for s, t, o in triples if t == "ownedBy"}
    # 13 components + 7 APIs + 1 resource + 3 systems + 2 domains declare spec.owner.
    assert len(owned_by) == 26
    known = active_refs(backstage)
    assert {o for _, o in owned_by} <= known


@pytest.mark.parametrize(
    ("subject", "rel", "targets"),
    [
        # system -> partOf / hasPart
        ("component:default/artist-lookup", "partOf", {"system:default/artist-engagement-portal"}),
        (
            "system:default/artist-engagement-portal",
            "hasPart",
            {"component:default/artist-lookup", "component:default/www-artist", "resource:default/artists-db"},
        ),
        # domain -> partOf / hasPart
        ("system:default/podcast", "partOf", {"domain:default/playback"}),
        ("domain:default/playback", "hasPart", {"system:default/podcast", "system:default/audio-playback"}),
        # dependsOn / dependencyOf
        ("component:default/artist-lookup", "dependsOn", {"resource:default/artists-db"}),
        ("resource:default/artists-db", "dependencyOf", {"component:default/artist-lookup"}),
        # providesApis
        ("component:default/petstore", "providesApi", {"api:default/petstore", "api:default/streetlights", "api:default/hello-world"}),
        ("api:default/streetlights", "apiProvidedBy", {"component:default/petstore"}),
        # consumesApis
        ("component:default/wayback-search", "consumesApi", {"api:default/wayback-archive"}),
        ("api:default/wayback-archive", "apiConsumedBy", {"component:default/wayback-search"}),
        # memberOf / hasMember
        ("user:default/breanna.davison", "memberOf", {"group:default/team-a"}),
        (
            "group:default/team-a",
            "hasMember",
            {"user:default/breanna.davison", "user:default/janelle.dawe", "user:default/nigel.manning", "user:default/guest"},
        ),
        # parent / children
        ("group:default/backstage", "parentOf", {"group:default/team-a", "group:default/team-b"}),
        ("group:default/team-a", "childOf", {"group:default/backstage"}),
        ("group:default/acme-corp", "parentOf", {"group:default/infrastructure"}),
        ("group:default/infrastructure", "childOf", {"group:default/acme-corp"}),
        # subcomponentOf -> partOf / hasPart
        ("component:default/wayback-archive-ingestion", "partOf", {"component:default/wayback-archive"}),
        (
            "component:default/wayback-archive",
            "hasPart",
            {"component:default/wayback-archive-ingestion", "component:default/wayback-archive-storage"},
        ),
    ],
)
def test_relations_in_both_directions(backstage: Catalog, subject: str, rel: str, targets: set[str]) -> None:
    assert related(backstage, subject, rel) == targets


def test_every_relation_has_its_inverse_and_points_at_real_entities(backstage: Catalog) -> None:
    inverse = {
        "ownedBy": "ownerOf", "providesApi": "apiProvidedBy", "consumesApi": "apiConsumedBy",
        "dependsOn": "dependencyOf", "parentOf": "childOf", "memberOf": "hasMember", "partOf": "hasPart",
    }  # fmt: skip
    inverse |= {v: k for k, v in inverse.items()}
    triples = relation_triples(backstage)
    missing = [(s, t, o) for s, t, o in triples if (o, inverse[t], s) not in triples]
    assert missing == []
    known = active_refs(backstage)
    assert {s for s, _, _ in triples} | {o for _, _, o in triples} <= known
    assert {t for _, t, _ in triples} == set(inverse)  # every Backstage relation type occurs


def test_team_questions_work_on_the_upstream_org(backstage: Catalog) -> None:
    members = backstage.ask("who is in team-a?")
    assert {m.name for m in members.members} == {"breanna.davison", "janelle.dawe", "nigel.manning", "guest"}
    owned = backstage.ask("what does team-c own?")
    assert {i.ref for i in owned.items} >= {"component:default/petstore", "api:default/petstore", "system:default/audio-playback"}


@pytest.mark.usefixtures("third_party")
def test_location_files_and_directory_scan_give_the_same_entities(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    # A root Location (in tmp, pointing at the fixture's own entry points) versus a plain directory scan.
    targets = "".join(f"    - {BACKSTAGE / name}\n" for name in ENTRY_POINTS)
    root = tmp_path / "root-location.yaml"
    root.write_text(
        f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets:\n{targets}", encoding="utf-8"
    )
    catalog = make_catalog(backstage_config(tmp_path, {"scan": BACKSTAGE, "via-locations": root}, allowed_roots=(BACKSTAGE,)))
    reports = catalog.sync()
    assert all(r.ok for r in reports), [r.error for r in reports]
    scanned = active_refs(catalog, "scan")
    via_locations = active_refs(catalog, "via-locations") - {"location:default/root"}
    assert len(scanned) == 57
    assert via_locations == scanned


@pytest.mark.usefixtures("third_party")
def test_each_location_file_loads_exactly_what_it_points_at(tmp_path: Path) -> None:
    snapshot = BackstageSource("acme", BACKSTAGE / "acme-corp.yaml").fetch()
    kinds = sorted(e.kind for e in snapshot.entities)
    # acme-corp.yaml -> acme/org.yaml (a Group and a Location) -> the seven group files.
    assert kinds.count("group") == 8 and kinds.count("user") == 16 and kinds.count("location") == 2
    assert len(kinds) == 26
    assert snapshot.problems == []
    apis = BackstageSource("apis", BACKSTAGE / "all-apis.yaml").fetch()
    assert sorted(e.name for e in apis.entities if e.kind == "api") == [
        "hello-world", "petstore", "spotify", "starwars-graphql", "streetlights", "wayback-archive", "wayback-search",
    ]  # fmt: skip


@pytest.mark.usefixtures("third_party")
def test_same_entity_reached_twice_is_one_entity(tmp_path: Path) -> None:
    # org.yaml is reached directly and through acme-corp.yaml; team-a-group.yaml directly and through org.yaml.
    root = tmp_path / "twice.yaml"
    root.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: twice\nspec:\n  targets:\n"
        f"    - {BACKSTAGE / 'acme-corp.yaml'}\n    - {BACKSTAGE / 'acme' / 'org.yaml'}\n    - "
        f"{BACKSTAGE / 'acme' / 'team-a-group.yaml'}\n",
        encoding="utf-8",
    )
    snapshot = BackstageSource("twice", root, allowed_roots=[BACKSTAGE]).fetch()
    refs = [e.ref for e in snapshot.entities]
    assert len(refs) == len(set(refs)) == 27  # 26 from acme-corp.yaml plus the root Location
    assert not [p for p in snapshot.problems if "duplicate" in p.message]


@pytest.mark.usefixtures("third_party")
def test_create_app_examples_import_including_the_template(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    catalog = make_catalog(backstage_config(tmp_path, {"create-app": CREATE_APP}))
    [report] = catalog.sync()
    assert report.ok
    assert active_refs(catalog) == {
        "system:default/examples",
        "component:default/example-website",
        "api:default/example-grpc-api",
        "user:default/guest",
        "group:default/guests",
        "template:default/example-nodejs-template",
    }
    template = rows(catalog, "create-app")["template:default/example-nodejs-template"]
    assert template.api_version == "scaffolder.backstage.io/v1beta3"
    assert template.owner_ref == "user:default/guest"
    assert template.title == "Example Node.js Template"
    assert [s["id"] for s in template.spec["steps"]] == ["fetch-base", "publish", "register", "notify"]
    assert "template:default/example-nodejs-template" in related(catalog, "user:default/guest", "ownerOf")
    assert related(catalog, "component:default/example-website", "providesApi") == {"api:default/example-grpc-api"}
    assert related(catalog, "component:default/example-website", "partOf") == {"system:default/examples"}
    assert related(catalog, "group:default/guests", "hasMember") == {"user:default/guest"}
    # The template's skeleton (`name: ${{ values.name | dump }}`) is not an entity: a warning with its file, skipped.
    skeleton = [p for p in report.problems if p.file and p.file.endswith("template/content/catalog-info.yaml")]
    assert len(skeleton) == 1 and skeleton[0].severity == "warning" and "a Template's skeleton" in skeleton[0].message
    assert not [p for p in report.problems if p.severity == "error"]
    answer = catalog.ask("who owns example-nodejs-template?")
    assert answer.owner is not None and answer.owner.ref == "user:default/guest"


def test_cross_namespace_references(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    # The newer upstream example: a User in namespace `development` that is a member of group:default/team-a.
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "org.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: guest\n  namespace: development\n"
        "spec:\n  memberOf: [group:default/team-a]\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: dev-team\n  namespace: development\nspec:\n  type: "
        "team\n  children: []\n---\n"
        # An unqualified owner resolves in the referencing entity's namespace, not in `default`.
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: sandbox\n  namespace: development\n"
        "spec:\n  type: service\n  lifecycle: experimental\n  owner: dev-team\n",
        encoding="utf-8",
    )
    catalog = make_catalog(backstage_config(tmp_path, {"ns": tmp_path / "cat"}))
    [report] = catalog.sync()
    assert report.ok and report.problems == []
    assert related(catalog, "user:development/guest", "memberOf") == {"group:default/team-a"}
    assert related(catalog, "group:default/team-a", "hasMember") == {"user:development/guest"}
    assert rows(catalog, "ns")["component:development/sandbox"].owner_ref == "group:development/dev-team"
    answer = catalog.ask("who owns sandbox")
    assert answer.owner is not None and answer.owner.ref == "group:development/dev-team"
