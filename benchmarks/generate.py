"""Deterministic synthetic Backstage catalogs for benchmarks.

Real catalogs are private and small, but the catalog has to be measured at 10k-100k entities. The
generated ones have names, refs and shapes like a real organisation's, so lookups, fuzzy search and
graph walks do realistic work. Each ``(n_entities, seed)`` pair always gives the same catalog.

    python -m benchmarks.generate --entities 10000 --out /tmp/cat10k
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "backstage.io/v1alpha1"
MIN_ENTITIES = 5  # one department, one team, one domain, one system and one component

# Share of the total per kind, in output order. Components take the rest.
SHARES = {"Group": 0.02, "User": 0.10, "Domain": 0.005, "System": 0.03, "Resource": 0.10, "API": 0.10}

# Names are `<area>-<noun>-<suffix>`. The lists are disjoint, so names of different kinds cannot
# look alike by accident, and large enough that 100k entities rarely need a region suffix.
AREAS = (
    "payments", "billing", "checkout", "orders", "inventory", "catalog", "search", "pricing", "fraud",
    "identity", "accounts", "shipping", "fulfillment", "logistics", "returns", "loyalty", "marketing",
    "ads", "analytics", "reporting", "notifications", "messaging", "support", "reviews",
    "recommendations", "media", "video", "music", "podcasts", "content", "localization", "compliance",
    "risk", "treasury", "tax", "invoicing", "subscriptions", "onboarding", "social", "chat", "growth",
    "partners", "merchants", "sellers", "procurement", "payroll", "recruiting", "security",
    "observability", "deploy", "build", "infra", "network", "storage", "data", "ml", "geo", "maps",
    "travel", "booking", "ticketing", "calendar", "insurance", "claims", "lending", "credit", "wallet",
    "trading", "banking", "crm", "sales", "legal", "finance", "hr", "devices", "iot", "gaming",
    "health", "learning", "delivery",
)
NOUNS = (
    "ledger", "indexer", "scoring", "cart", "router", "scheduler", "dispatcher", "aggregator",
    "resolver", "validator", "tokenizer", "matcher", "ranker", "crawler", "importer", "exporter", "sync",
    "reconciler", "settlement", "refunds", "disputes", "quotes", "rates", "limits", "quota", "sessions",
    "tokens", "keys", "secrets", "consent", "preferences", "profiles", "contacts", "addresses",
    "receipts", "statements", "wishlist", "coupons", "promotions", "discounts", "vouchers", "offers",
    "bids", "auctions", "listings", "products", "variants", "stock", "reservations", "allocations",
    "shipments", "parcels", "labels", "tracking", "carriers", "routes", "slots", "availability",
    "schedules", "reminders", "alerts", "digests", "templates", "campaigns", "segments", "audiences",
    "cohorts", "metrics", "signals", "features", "models", "embeddings", "thumbnails", "transcoder",
    "uploads", "assets", "documents", "attachments", "archives", "snapshots", "backups", "audit",
    "history", "timeline", "activity", "comments", "ratings", "votes", "taxonomy", "categories", "fx",
    "currency", "balances", "transfers", "payouts", "deposits", "withdrawals", "cards", "mandates",
    "chargebacks", "kyc", "screening", "sanctions", "rules", "policies", "permissions", "roles",
    "entitlements", "licenses", "plans", "usage", "metering", "config", "flags", "registry",
    "directory", "lookup", "geocoder", "locator", "translator", "renderer", "composer", "publisher",
    "notifier", "mailer", "ingest", "pipeline", "lineage", "schema", "orchestrator", "estimator",
    "forecaster", "planner", "allocator",
)
# suffix -> (Component type, description opener)
COMPONENT_SUFFIXES = {
    "service": ("service", "Backend service"), "worker": ("service", "Background worker"),
    "consumer": ("service", "Event consumer"), "job": ("service", "Scheduled job"),
    "gateway": ("service", "Edge gateway"), "proxy": ("service", "Proxy"),
    "adapter": ("service", "Integration adapter"), "engine": ("service", "Processing engine"),
    "daemon": ("service", "Long-running daemon"), "bff": ("service", "Backend-for-frontend"),
    "ui": ("website", "Web UI"), "web": ("website", "Customer-facing web app"),
    "portal": ("website", "Internal portal"), "lib": ("library", "Shared library"),
    "sdk": ("library", "Client SDK"), "client": ("library", "Client library"),
}
# suffix -> API type
API_SUFFIXES = {"api": "openapi", "webhooks": "openapi", "events": "asyncapi", "graphql": "graphql",
                "grpc": "grpc", "rpc": "grpc"}
# suffix -> (Resource type, technology tags)
RESOURCE_SUFFIXES = {
    "db": ("database", ("postgres", "mysql")), "cache": ("cache", ("redis", "memcached")),
    "bucket": ("s3-bucket", ("s3",)), "queue": ("queue", ("sqs", "rabbitmq")),
    "topic": ("kafka-topic", ("kafka",)), "index": ("search-index", ("elasticsearch", "opensearch")),
    "stream": ("stream", ("kinesis",)), "warehouse": ("data-warehouse", ("snowflake", "bigquery")),
}
TEAM_SUFFIXES = ("team", "squad")
DEPARTMENT_SUFFIXES = ("engineering", "division", "org", "unit")
DOMAIN_QUALIFIERS = ("core", "experience", "operations", "insights", "platform", "foundation",
                     "enablement", "infrastructure", "intelligence", "commerce", "services", "excellence")
REGIONS = ("eu", "us", "uk", "de", "fr", "jp", "au", "ca", "in", "br", "sg", "apac", "emea", "latam")
FIRST_NAMES = (
    "aaron", "abigail", "adam", "aisha", "alan", "alejandro", "alex", "alice", "amara", "amelia", "amir",
    "ana", "andrea", "anna", "arjun", "ava", "ben", "bianca", "carlos", "carmen", "charlotte", "chen",
    "chloe", "daniel", "david", "diana", "diego", "dmitri", "elena", "eli", "emily", "emma", "erik",
    "fatima", "felix", "fiona", "gabriel", "grace", "hana", "hannah", "hassan", "hiro", "ian", "ines",
    "isaac", "isabel", "ivan", "jack", "james", "jana", "jasmine", "javier", "jin", "john", "jonas",
    "julia", "kai", "karen", "kenji", "kofi", "lars", "laura", "leila", "leo", "liam", "lina", "lucas",
    "lucia", "maya", "mei", "mia", "miguel", "mohammed", "nadia", "naomi", "nathan", "nina", "noah",
    "nora", "olga", "oliver", "omar", "oscar", "paula", "pedro", "priya", "rafael", "rahul", "ravi",
    "rebecca", "rosa", "ryan", "sam", "sara", "sebastian", "sofia", "sophie", "stefan", "tariq",
    "thomas", "tom", "uma", "valentina", "victor", "wei", "william", "yara", "yuki", "yusuf", "zara",
    "zoe", "ahmed", "bruno", "clara", "dev", "ella", "farah", "george", "helena",
)
LAST_NAMES = (
    "adams", "ahmed", "ali", "allen", "alvarez", "andersen", "bailey", "baker", "banerjee", "bauer",
    "becker", "bell", "bennett", "berg", "brown", "campbell", "carter", "castro", "chen", "clark",
    "cohen", "collins", "cooper", "costa", "cruz", "davies", "dubois", "edwards", "evans", "fischer",
    "fernandez", "ferreira", "fong", "garcia", "gomez", "gonzalez", "gray", "green", "gupta",
    "hall", "hansen", "harris", "hernandez", "hill", "hoffmann", "huang", "hughes", "ibrahim", "ito",
    "jackson", "jensen", "johnson", "jones", "kato", "khan", "kim", "king", "klein", "kowalski",
    "kumar", "larsen", "lee", "lewis", "li", "lopez", "martin", "martinez", "mehta", "meyer", "miller",
    "mitchell", "moore", "morales", "moreau", "morris", "murphy", "nakamura", "nguyen", "nielsen",
    "novak", "obi", "okafor", "oliveira", "olsen", "ortiz", "park", "patel", "perez", "peters",
    "petrov", "phillips", "popescu", "ramirez", "rao", "reed", "reyes", "richter", "rivera", "roberts",
    "robinson", "rodriguez", "rossi", "russo", "sanchez", "santos", "sato", "schmidt", "schneider",
    "scott", "shah", "silva", "singh", "smith", "suzuki", "tanaka", "taylor", "thomas", "thompson",
    "torres", "turner", "wagner", "walker", "wang", "watanabe", "weber", "white", "williams", "wilson",
    "wong", "wright", "wu", "yamamoto", "yang", "young", "zhang", "zhou", "zimmermann", "abbott",
    "bishop", "brooks", "fox", "hayes", "lambert", "marsh", "novotny", "quinn", "sharma", "varga",
)
LANGUAGES = ("java", "kotlin", "go", "python", "typescript", "rust", "scala", "ruby")
EXTRA_TAGS = ("tier-1", "tier-2", "tier-3", "pci", "gdpr", "customer-facing", "internal", "legacy")
VERBS = ("manages", "processes", "serves", "reconciles", "tracks", "validates", "publishes",
         "aggregates", "exposes", "stores")
LIFECYCLES = ("production",) * 7 + ("experimental",) * 2 + ("deprecated",)
ACRONYMS = {"api": "API", "db": "DB", "ui": "UI", "sdk": "SDK", "bff": "BFF", "grpc": "gRPC",
            "rpc": "RPC", "graphql": "GraphQL", "ml": "ML", "hr": "HR", "crm": "CRM", "iot": "IoT",
            "fx": "FX", "kyc": "KYC", "openapi": "OpenAPI", "asyncapi": "AsyncAPI",
            **{region: region.upper() for region in REGIONS}}
DEFINITIONS = {
    "openapi": "openapi: 3.0.3\ninfo:\n  title: {title}\n  version: 1.{minor}.0\npaths: {{}}\n",
    "asyncapi": "asyncapi: 2.6.0\ninfo:\n  title: {title}\n  version: 1.{minor}.0\nchannels: {{}}\n",
    "graphql": "type Query {{\n  {noun}(id: ID!): String\n}}\n",
    "grpc": 'syntax = "proto3";\npackage {area}.{noun};\nservice {camel} {{}}\n',
}
# Project codenames teams give their services; an alias is `<codename> <area>` ("Falcon Payments").
CODENAMES = (
    "falcon", "atlas", "hermes", "phoenix", "orion", "nebula", "titan", "aurora", "zephyr", "comet",
    "kestrel", "osprey", "juniper", "sequoia", "cobalt", "quartz", "onyx", "ember", "glacier", "tundra",
    "mistral", "sirocco", "halcyon", "lighthouse", "compass", "beacon", "anchor", "harbor", "meridian",
    "polaris", "vega", "lyra", "draco", "pegasus", "gemini", "apollo", "artemis", "mercury", "saturn",
)
ALIAS_SHARE = 0.2
ALIASES_ANNOTATION = "wayfinder.io/aliases"
ORG = "acme"
MAIL_DOMAIN = "acme.example"

_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

Entity = dict[str, Any]


def kind_counts(n_entities: int) -> dict[str, int]:
    """Entities per kind, in output order. The CLI reports these, and tests can assert on them."""
    if n_entities < MIN_ENTITIES:
        raise ValueError(f"n_entities must be at least {MIN_ENTITIES}, got {n_entities}")
    counts = {kind: int(n_entities * share) for kind, share in SHARES.items()}
    counts["Group"] = max(2, counts["Group"])
    counts["Domain"] = max(1, counts["Domain"])
    counts["System"] = max(1, counts["System"])
    counts["Component"] = n_entities - sum(counts.values())
    return counts


def title_case(name: str) -> str:
    """Display form of a name, keeping acronyms such as API and DB upright."""
    return " ".join(ACRONYMS.get(word, word.capitalize()) for word in name.split("-"))


class _Namer:
    """Hands out globally unique names, so a bare name is unambiguous in benchmark lookups.

    Random word combinations are retried a few times; only then is a region (or, for people, a
    number) appended, so large catalogs stay realistic instead of becoming `foo-123`.
    """

    def __init__(self, rng: random.Random, used: set[str] | None = None) -> None:
        self.rng = rng
        self.used: set[str] = set() if used is None else used

    def claim(self, make: Callable[[], str], *, numbered: bool = False) -> str:
        for _ in range(8):
            name = make()
            if name not in self.used:
                break
        else:
            name = self._disambiguate(name, numbered)
        self.used.add(name)
        return name

    def _disambiguate(self, base: str, numbered: bool) -> str:
        if not numbered:
            start = self.rng.randrange(len(REGIONS))
            for region in REGIONS[start:] + REGIONS[:start]:
                if f"{base}-{region}" not in self.used:
                    return f"{base}-{region}"
        number = 2
        while f"{base}-{number}" in self.used:
            number += 1
        return f"{base}-{number}"


def _area(name: str) -> str:
    return name.split("-", 1)[0]


def _three_words(rng: random.Random, suffixes: tuple[str, ...], area: str | None = None) -> Callable[[], str]:
    """A maker of `<area>-<noun>-<suffix>` candidates for `_Namer.claim`."""
    return lambda: f"{area or rng.choice(AREAS)}-{rng.choice(NOUNS)}-{rng.choice(suffixes)}"


def _person(rng: random.Random) -> str:
    """`nadia-okafor`, or with a middle initial as people have (`nadia-k-okafor`): 10k+ people without `sara-chen-2`."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first}-{rng.choice('abcdefghijklmnoprstvw')}-{last}" if rng.random() < 0.4 else f"{first}-{last}"


def _tags(*candidates: str) -> list[str]:
    """Non-empty candidates, without duplicates, in order."""
    return list(dict.fromkeys(tag for tag in candidates if tag))


def _by_area(names: list[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        index[_area(name)].append(i)
    return index


def _pick(rng: random.Random, same_area: list[int] | None, n: int) -> int:
    """Mostly keep related entities in one area, as real orgs do, but leave some cross-area links."""
    return rng.choice(same_area) if same_area and rng.random() < 0.8 else rng.randrange(n)


@dataclass
class _Plan:
    """Names and cross-entity assignments fixed before any entity is built, so every ref resolves."""

    departments: list[str]
    teams: list[str]
    team_department: list[int]
    users: list[str]
    user_teams: list[list[int]]
    team_members: list[list[int]]
    domains: list[str]
    systems: list[str]
    resources: list[str]
    apis: list[str]
    components: list[str]
    component_owner: list[int]
    component_system: list[int]
    api_provider: list[int]
    component_apis: dict[int, list[int]]
    component_alias: dict[int, str]
    names: set[str]


def _plan(n_entities: int, seed: int) -> _Plan:
    counts = kind_counts(n_entities)
    rng = random.Random(seed)
    namer = _Namer(rng)

    n_departments = max(1, counts["Group"] // 10)
    departments = [namer.claim(lambda: f"{rng.choice(AREAS)}-{rng.choice(DEPARTMENT_SUFFIXES)}")
                   for _ in range(n_departments)]
    team_department = [rng.randrange(n_departments) for _ in range(counts["Group"] - n_departments)]
    teams = [namer.claim(_three_words(rng, TEAM_SUFFIXES, _area(departments[d]) if rng.random() < 0.8 else None))
             for d in team_department]

    users = [namer.claim(lambda: _person(rng), numbered=True)
             for _ in range(counts["User"])]
    user_teams: list[list[int]] = []
    team_members: list[list[int]] = [[] for _ in teams]
    for user in range(len(users)):
        memberships = {rng.randrange(len(teams)) for _ in range(1 if rng.random() < 0.85 else 2)}
        user_teams.append(sorted(memberships))
        for team in memberships:
            team_members[team].append(user)

    domains = [namer.claim(lambda: rng.choice(AREAS) if rng.random() < 0.5
                           else f"{rng.choice(AREAS)}-{rng.choice(DOMAIN_QUALIFIERS)}")
               for _ in range(counts["Domain"])]
    systems = [namer.claim(lambda: f"{rng.choice(AREAS)}-{rng.choice(NOUNS)}") for _ in range(counts["System"])]
    resources, apis, components = (
        [namer.claim(make) for _ in range(counts[kind])]
        for kind, make in (("Resource", _three_words(rng, tuple(RESOURCE_SUFFIXES))),
                           ("API", _three_words(rng, tuple(API_SUFFIXES))),
                           ("Component", _three_words(rng, tuple(COMPONENT_SUFFIXES)))))

    teams_by_area, systems_by_area = _by_area(teams), _by_area(systems)
    component_owner: list[int] = []
    component_system: list[int] = []
    for name in components:
        area = _area(name)
        component_owner.append(_pick(rng, teams_by_area.get(area), len(teams)))
        component_system.append(_pick(rng, systems_by_area.get(area), len(systems)))
    components_by_area = _by_area(components)
    api_provider = [_pick(rng, components_by_area.get(_area(api)), len(components)) for api in apis]
    component_apis: dict[int, list[int]] = defaultdict(list)
    for api, component in enumerate(api_provider):
        component_apis[component].append(api)

    alias_rng = random.Random(f"{seed}:aliases")  # a stream of its own: aliases leave the names as they were
    component_alias: dict[int, str] = {}
    for i, name in enumerate(components):  # only while codename and area pairs last: no `falcon payments-2`
        if alias_rng.random() < ALIAS_SHARE and (alias := f"{alias_rng.choice(CODENAMES)} {_area(name)}") not in namer.used:
            namer.used.add(alias)
            component_alias[i] = alias
    return _Plan(departments, teams, team_department, users, user_teams, team_members, domains, systems,
                 resources, apis, components, component_owner, component_system, api_provider,
                 component_apis, component_alias, namer.used)


class _Builder:
    """Turns a plan into entity dicts one at a time, so a catalog of any size streams."""

    def __init__(self, plan: _Plan, seed: int) -> None:
        self.plan = plan
        # A separate stream from the plan's, so `sample_names` can rebuild the plan without the bodies.
        self.rng = random.Random(f"{seed}:entities")
        self.teams_by_area = _by_area(plan.teams)
        self.departments_by_area = _by_area(plan.departments)
        self.domains_by_area = _by_area(plan.domains)
        self.systems_by_area = _by_area(plan.systems)

    def entities(self) -> Iterator[Entity]:
        yield from self.departments()
        yield from self.teams()
        yield from self.users()
        yield from self.domains()
        yield from self.systems()
        yield from self.resources()
        yield from self.apis()
        yield from self.components()

    def _ref(self, kind: str, name: str) -> str:
        """A ref for a field that implies its kind: mostly bare, sometimes qualified, as people write them."""
        roll = self.rng.random()
        return name if roll < 0.8 else f"{kind}:{name}" if roll < 0.95 else f"{kind}:default/{name}"

    def _kind_ref(self, kind: str, name: str) -> str:
        """A ref for `dependsOn`, where the kind is mandatory."""
        return f"{kind}:{name}" if self.rng.random() < 0.9 else f"{kind}:default/{name}"

    def _owner(self, area: str) -> str:
        team = _pick(self.rng, self.teams_by_area.get(area), len(self.plan.teams))
        return self._ref("group", self.plan.teams[team])

    def _system(self, area: str) -> str:
        system = _pick(self.rng, self.systems_by_area.get(area), len(self.plan.systems))
        return self._ref("system", self.plan.systems[system])

    def _metadata(self, name: str, description: str, tags: list[str] | None = None,
                  links: list[dict[str, str]] | None = None,
                  annotations: dict[str, str] | None = None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": name}
        if self.rng.random() < 0.3:
            metadata["title"] = title_case(name)
        metadata["description"] = description
        if annotations:
            metadata["annotations"] = annotations
        if tags:
            metadata["tags"] = tags
        if links:
            metadata["links"] = links
        return metadata

    def departments(self) -> Iterator[Entity]:
        children: list[list[str]] = [[] for _ in self.plan.departments]
        for team, department in zip(self.plan.teams, self.plan.team_department, strict=True):
            children[department].append(team)
        for name, teams in zip(self.plan.departments, children, strict=True):
            area = _area(name)
            yield {"apiVersion": API_VERSION, "kind": "Group",
                   "metadata": self._metadata(name, f"The {area} department: {len(teams)} teams.", [area]),
                   "spec": {"type": "department",
                            "profile": {"displayName": title_case(name), "email": f"{name}@{MAIL_DOMAIN}"},
                            "children": teams}}

    def teams(self) -> Iterator[Entity]:
        plan = self.plan
        for name, department, members in zip(plan.teams, plan.team_department, plan.team_members, strict=True):
            words = name.split("-")
            yield {"apiVersion": API_VERSION, "kind": "Group",
                   "metadata": self._metadata(
                       name, f"Owns {words[1]} for {words[0]}; part of {plan.departments[department]}.",
                       [words[0]], annotations={"github.com/team-slug": f"{ORG}/{name}"}),
                   "spec": {"type": "team",
                            "profile": {"displayName": title_case(name), "email": f"{name}@{MAIL_DOMAIN}"},
                            "parent": plan.departments[department],
                            "children": [],
                            "members": [plan.users[user] for user in members]}}

    def users(self) -> Iterator[Entity]:
        plan = self.plan
        for name, teams in zip(plan.users, plan.user_teams, strict=True):
            profile = {"displayName": title_case(name),
                       "email": f"{name.replace('-', '.')}@{MAIL_DOMAIN}"}
            yield {"apiVersion": API_VERSION, "kind": "User",
                   "metadata": self._metadata(name, f"Engineer in {plan.teams[teams[0]]}."),
                   "spec": {"profile": profile,
                            "memberOf": [plan.teams[team] for team in teams]}}

    def domains(self) -> Iterator[Entity]:
        departments = self.plan.departments
        for name in self.plan.domains:
            area = _area(name)
            owner = departments[_pick(self.rng, self.departments_by_area.get(area), len(departments))]
            yield {"apiVersion": API_VERSION, "kind": "Domain",
                   "metadata": self._metadata(name, f"Everything {area}: {title_case(name)} systems.", [area]),
                   "spec": {"owner": self._ref("group", owner)}}

    def systems(self) -> Iterator[Entity]:
        domains = self.plan.domains
        for name in self.plan.systems:
            area, noun = name.split("-")[:2]
            domain = domains[_pick(self.rng, self.domains_by_area.get(area), len(domains))]
            yield {"apiVersion": API_VERSION, "kind": "System",
                   "metadata": self._metadata(name, f"The {noun} system of {area}.", [area]),
                   "spec": {"owner": self._owner(area), "domain": self._ref("domain", domain)}}

    def resources(self) -> Iterator[Entity]:
        rng = self.rng
        for name in self.plan.resources:
            area, noun, suffix = name.split("-")[:3]
            resource_type, technologies = RESOURCE_SUFFIXES[suffix]
            links = [{"url": f"https://runbooks.{MAIL_DOMAIN}/{area}/{name}", "title": "Runbook", "icon": "help"}]
            yield {"apiVersion": API_VERSION, "kind": "Resource",
                   "metadata": self._metadata(
                       name, f"{resource_type.capitalize()} that {rng.choice(VERBS)} {noun} for {area}.",
                       _tags(rng.choice(technologies), area), links),
                   "spec": {"type": resource_type, "owner": self._owner(area), "system": self._system(area)}}

    def apis(self) -> Iterator[Entity]:
        plan, rng = self.plan, self.rng
        for name, provider in zip(plan.apis, plan.api_provider, strict=True):
            area, noun, suffix = name.split("-")[:3]
            api_type = API_SUFFIXES[suffix]
            definition = DEFINITIONS[api_type].format(title=title_case(name), minor=rng.randrange(20), area=area,
                                                      noun=noun, camel=noun.capitalize())
            links = [{"url": f"https://docs.{MAIL_DOMAIN}/apis/{name}", "title": "API docs", "icon": "docs"}]
            yield {"apiVersion": API_VERSION, "kind": "API",
                   "metadata": self._metadata(
                       name, f"{ACRONYMS[api_type]} API for {noun}, provided by {plan.components[provider]}.",
                       _tags(area, api_type), links),
                   "spec": {"type": api_type, "lifecycle": rng.choice(LIFECYCLES),
                            "owner": self._ref("group", plan.teams[plan.component_owner[provider]]),
                            "system": self._ref("system", plan.systems[plan.component_system[provider]]),
                            "definition": definition}}

    def components(self) -> Iterator[Entity]:
        plan, rng = self.plan, self.rng
        n_components, n_resources, n_apis = len(plan.components), len(plan.resources), len(plan.apis)
        for i, name in enumerate(plan.components):
            area, noun, suffix = name.split("-")[:3]
            component_type, opener = COMPONENT_SUFFIXES[suffix]
            targets: dict[tuple[str, str], None] = {}  # an ordered set, keyed by target, not by ref form
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
                if n_resources and rng.random() < 0.55:
                    targets[("resource", plan.resources[rng.randrange(n_resources)])] = None
                elif (other := rng.randrange(n_components)) != i:
                    targets[("component", plan.components[other])] = None
            depends_on = [self._kind_ref(kind, target) for kind, target in targets]
            consumes = {rng.randrange(n_apis) for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))} if n_apis else set()

            spec: dict[str, Any] = {
                "type": component_type, "lifecycle": rng.choice(LIFECYCLES),
                "owner": self._ref("group", plan.teams[plan.component_owner[i]]),
                "system": self._ref("system", plan.systems[plan.component_system[i]]),
            }
            if i in plan.component_apis:
                spec["providesApis"] = [self._ref("api", plan.apis[api]) for api in plan.component_apis[i]]
            if consumes:
                spec["consumesApis"] = [self._ref("api", plan.apis[api]) for api in sorted(consumes)]
            if depends_on:
                spec["dependsOn"] = depends_on

            annotations = {"github.com/project-slug": f"{ORG}/{name}"}
            if i in plan.component_alias:
                annotations[ALIASES_ANNOTATION] = plan.component_alias[i]
            if rng.random() < 0.6:
                annotations["backstage.io/techdocs-ref"] = "dir:."
            if component_type == "service" and rng.random() < 0.4:
                annotations["pagerduty.com/service-id"] = _pagerduty_id(i)
            links = [{"url": f"https://github.com/{ORG}/{name}", "title": "Repository", "icon": "github"}]
            if rng.random() < 0.7:
                links.append({"url": f"https://docs.{MAIL_DOMAIN}/{name}", "title": "Docs", "icon": "docs"})
            if component_type == "service" and rng.random() < 0.5:
                links.append({"url": f"https://runbooks.{MAIL_DOMAIN}/{area}/{name}", "title": "Runbook",
                              "icon": "help"})
            tags = _tags(rng.choice(LANGUAGES), area if rng.random() < 0.5 else "",
                         rng.choice(EXTRA_TAGS) if rng.random() < 0.3 else "")
            description = f"{opener} that {rng.choice(VERBS)} {noun} for the {area} domain."
            yield {"apiVersion": API_VERSION, "kind": "Component",
                   "metadata": self._metadata(name, description, tags, links, annotations),
                   "spec": spec}


def _pagerduty_id(index: int) -> str:
    """A unique PagerDuty-looking service ID (`P` + 6 base-36 characters) for annotation lookups."""
    value = (index + 1) * 1_000_003 % 36**6  # 1_000_003 is prime, so this is a bijection
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(6):
        value, digit = divmod(value, 36)
        out = digits[digit] + out
    return "P" + out


def generate(n_entities: int, *, seed: int = 7) -> Iterator[Entity]:
    """Yield exactly `n_entities` Backstage entity dicts; all refs resolve within the catalog.

    Only names and relation indices are held in memory; the dicts are built as they are consumed.
    Raises ValueError at once (not on first `next`) if `n_entities` is too small for the kinds.
    """
    return _Builder(_plan(n_entities, seed), seed).entities()


def write_catalog(directory: Path, n_entities: int, *, seed: int = 7, per_file: int = 500) -> list[Path]:
    """Write the catalog as multi-document YAML files of `per_file` entities, named `catalog-NNNNN.yaml`.

    Files from an earlier, larger run in the same directory are not removed, so use a fresh directory.
    """
    if per_file < 1:
        raise ValueError(f"per_file must be positive, got {per_file}")
    entities = generate(n_entities, seed=seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    while batch := list(islice(entities, per_file)):
        path = directory / f"catalog-{len(paths):05d}.yaml"
        with path.open("w", encoding="utf-8") as stream:
            yaml.dump_all(batch, stream, Dumper=_DUMPER, sort_keys=False, explicit_start=True)
        paths.append(path)
    return paths


def _typo(name: str, rng: random.Random) -> str:
    """One deleted, transposed or substituted letter; hyphens are kept so the word structure stays."""
    letters = [i for i, char in enumerate(name) if char != "-"]
    i = rng.choice(letters)
    operation = rng.randrange(3)
    if operation == 0:
        return name[:i] + name[i + 1:]
    if operation == 1 and i + 1 < len(name) and name[i + 1] not in ("-", name[i]):
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    replacement = rng.choice([char for char in "abcdefghijklmnopqrstuvwxyz" if char != name[i]])
    return name[:i] + replacement + name[i + 1:]


def sample_names(n_entities: int, seed: int = 7, *, k: int = 100) -> dict[str, list[str]]:
    """Query strings for lookup benchmarks, taken from the same plan as `generate(n_entities, seed=seed)`.

    Keys, each a list of `k`:
    - `exact`: existing Component names.
    - `typo` and `typo_target`, aligned: the name with one letter deleted, transposed or substituted
      (never itself an entity name), and the name it came from.
    - `partial` and `partial_target`, aligned: a prefix of the name (`payments-ledg`) or two of its
      three words (`ledger service`), and the name.
    - `absent`: plausible component names that no entity has.
    """
    plan = _plan(n_entities, seed)
    rng = random.Random(f"{seed}:samples")
    components = plan.components
    samples: dict[str, list[str]] = {key: [] for key in
                                     ("exact", "typo", "typo_target", "partial", "partial_target", "absent")}
    samples["exact"] = [rng.choice(components) for _ in range(k)]
    while len(samples["typo"]) < k:
        target = rng.choice(components)
        variant = _typo(target, rng)
        if variant not in plan.names:
            samples["typo"].append(variant)
            samples["typo_target"].append(target)
    while len(samples["partial"]) < k:
        target = rng.choice(components)
        if rng.random() < 0.5:
            partial = target[:rng.randint(len(target) // 2, len(target) - 2)].rstrip("-")
        else:
            drop = rng.randrange(3)
            partial = " ".join(word for j, word in enumerate(target.split("-")[:3]) if j != drop)
        if partial not in plan.names:  # `payments-ledger` may be a System: that would be an exact hit
            samples["partial"].append(partial)
            samples["partial_target"].append(target)
    absent = _Namer(rng, set(plan.names))
    make = _three_words(rng, tuple(COMPONENT_SUFFIXES))
    samples["absent"] = [absent.claim(make) for _ in range(k)]
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic Backstage catalog for benchmarks.")
    parser.add_argument("--entities", type=int, default=10_000, help="total entities (default 10000)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the YAML files")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-file", type=int, default=500, help="entities per YAML file (default 500)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        paths = write_catalog(args.out, args.entities, seed=args.seed, per_file=args.per_file)
    except ValueError as error:
        parser.error(str(error))
    elapsed = time.perf_counter() - start
    for kind, count in kind_counts(args.entities).items():
        print(f"{kind:<10} {count:>9,}")
    print(f"{'total':<10} {args.entities:>9,}")
    print(f"wrote {len(paths)} files to {args.out} in {elapsed:.2f}s")


if __name__ == "__main__":
    main()
