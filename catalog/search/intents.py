"""What a question asks, from the words around its subject, wherever they stand.

The subject has already been found in the sentence (`catalog.search.understand`); here the other words
vote. Each intent has cue words; a few intents also look at which side of the subject a cue
stands on ("what depends on X" asks for dependents, "what does X depend on" for dependencies).
Words that belong to no intent (pls, right now, anyone know, quick q) are simply ignored.
"""

from __future__ import annotations

import re

from rapidfuzz import process
from rapidfuzz.distance import OSA

# Words that carry no meaning for the catalog: grammar, politeness, hedging, time.
STOP_WORDS = frozenset("""
a an the this that these those it its it's our my your their his her them they we i me you us he she
is are was were be been being am do does did doing done have has had having will would can could should
shall may might must to of for on in at about with by from into onto over under as than then so if or
and but also any some all every each whatever whichever
who whom whose what which where when why how whats whos wheres hows
s t d ll re ve m please pls plz plse thx ty kindly hey hi hello yo folks guys everyone anyone anybody
someone somebody know knows knew tell show give get got find look looking see quick q question
questions idea ideas wondering wonder curious sorry right now currently today still just really
actually here there again thing things stuff one ones wayfinder bot pl lemme let us need want like
list everything anything something vs versus plus both between
no not none nothing never without missing lacking lack lacks dont doesnt don doesn isn aren hasn haven cant
u ur rn atm asap fyi btw tbh imo idk lol lmao rly gonna wanna kinda hmm um uh ugh ah oh pretty
bother bothering apologies appreciate appreciated cheers much many
""".split())  # fmt: skip

# What a question is about: `KIND_WORDS` next to a name narrow it ("the checkout component").
KIND_WORDS: dict[str, str] = {
    "team": "group", "teams": "group", "group": "group", "groups": "group", "squad": "group", "squads": "group",
    "org": "group", "department": "group", "departments": "group",
    "person": "user", "people": "user", "user": "user", "users": "user", "engineer": "user", "engineers": "user",
    "service": "component", "services": "component", "svc": "component", "component": "component",
    "components": "component", "library": "component", "libraries": "component", "lib": "component",
    "website": "component", "websites": "component", "app": "component", "apps": "component",
    "api": "api", "apis": "api", "endpoint": "api", "endpoints": "api",
    "db": "resource", "dbs": "resource", "database": "resource", "databases": "resource", "resource": "resource",
    "resources": "resource", "bucket": "resource", "buckets": "resource", "queue": "resource", "queues": "resource",
    "cache": "resource", "topic": "resource", "topics": "resource", "table": "resource",
    "system": "system", "systems": "system", "domain": "domain", "domains": "domain",
}  # fmt: skip
# Kind words that also name a `spec.type` ("services" are components of type service).
TYPE_WORDS = {
    "service": "service", "services": "service", "svc": "service", "website": "website", "websites": "website",
    "library": "library", "libraries": "library", "lib": "library", "team": "team", "teams": "team", "squad": "team",
    "squads": "team", "department": "department", "departments": "department", "db": "database", "dbs": "database",
    "database": "database", "databases": "database", "app": "app", "apps": "app", "topic": "topic", "topics": "topic",
    "queue": "queue", "queues": "queue", "bucket": "bucket", "buckets": "bucket", "cache": "cache", "caches": "cache",
}  # fmt: skip
ABBREVIATIONS = {"svc": "service", "srv": "service", "dept": "department"}
# Verbs of keeping data, after a service: "where does checkout-api keep its data" asks for its stores.
KEEPS = {"store", "stores", "keep", "keeps", "persist", "persists", "save", "saves"}
# Kind words for where a service keeps its data: beside a service with no other question word, they ask for those dependencies.
STORE_WORDS = {word for word, kind in KIND_WORDS.items() if kind == "resource" and word not in ("resource", "resources")}


def expand(word: str) -> str:
    """`identity-svc` -> `identity-service`: abbreviations people type inside names."""
    return re.sub(r"[a-z]+", lambda m: ABBREVIATIONS.get(m.group(0), m.group(0)), word)

OUTAGE = {"down", "outage", "broken", "erroring", "crashing"}  # not "failing": "is X failing production readiness" is a scorecard
ONCALL = {"oncall", "on-call", "pager", "paged", "pagerduty", "page", "duty", "rota", "rotation", "escalation", "escalations"}
LIFECYCLE = {
    "deprecated", "deprecation", "deprecate", "lifecycle", "experimental", "sunset", "sunsetted", "sunsetting",
    "eol", "retired", "legacy", "obsolete", "replaced", "replacement", "successor",  # "what replaced X": is it retired
}  # fmt: skip
# Lifecycle words that are also ordinary words ("the production database"): they count only when nothing else does.
LIFECYCLE_WEAK = {"production", "prod", "maintained", "supported", "alive", "dead", "stable"}
OWNER = {
    "owns", "own", "owner", "owners", "ownership", "owning", "maintains", "maintain", "maintainer", "maintainers",
    "responsible", "accountable", "whose", "behind", "built", "wrote", "runs", "manages", "dri", "poc", "ask", "talk",
    "speak", "escalate", "blame", "handles", "handling", "charge", "supports", "looks", "bug", "bugs", "issue",
}  # fmt: skip
OWNER_NOUNS = {"owner", "owners", "ownership", "maintainer", "maintainers", "dri", "poc"}
CONTACT = {
    "reach", "contact", "contacts", "channel", "channels", "slack", "email", "mail", "ping", "dm", "usergroup", "handle", "touch", "hold",
    "hang",  # "where does the risk team hang out"
}  # fmt: skip
DEPENDS_ON = {"dependencies", "dependency", "deps", "upstream", "upstreams", "prerequisites"}
# "used" is passive ("is X still used?", "where is X used"): who uses X, not what X uses.
DEPENDENTS = {
    "dependents", "dependent", "consumers", "consumer", "callers", "caller", "downstream", "breaks", "break", "impact",
    "impacted", "affected", "affects", "blast", "used", "consumed",
    "delete", "decommission", "decommissioning", "retire",  # "can I delete X?": what would break
    "happens", "happen",  # "what happens if X is down?": what it takes down with it
}  # fmt: skip
CHANNEL_WORDS = {"channel", "channels", "slack", "email", "mail", "usergroup"}
WHO = {"who", "whom", "whose"}  # a question asking for a person ("who do I talk to about X"), not for things
# "what does X talk to" asks for its dependencies and "what connects to X" for its dependents; "who do I talk to about X" for a person.
TALK = {"talk", "talks", "talking", "connect", "connects", "connecting"}
DEPEND_VERBS = {
    "depend", "depends", "rely", "relies", "use", "uses", "using", "call", "calls", "calling", "consume", "consumes", "need", "needs",
    "require", "requires", "reads", "writes", "write",
}  # fmt: skip
# "what APIs does X provide", "which apis does X consume", "who provides payments-grpc": the API relations.
PROVIDES = {
    "provide", "provides", "provided", "providing", "expose", "exposes", "exposed", "exposing", "publish", "publishes",
    "implement", "implements", "offers",
}  # fmt: skip
API_WORDS = {"api", "apis", "endpoint", "endpoints"}
LINKS = {
    "runbook", "runbooks", "docs", "doc", "documentation", "readme", "wiki", "link", "links", "url", "urls", "repo",
    "repos", "repository", "source", "code", "github", "dashboard", "dashboards", "grafana", "playbook", "techdocs",
    "logs", "logging", "metrics", "traces", "tracing", "monitoring", "observability", "kibana", "datadog", "sentry",
    "slo", "slos", "sla", "slas", "reference", "openapi", "swagger", "spec", "specs",
}  # fmt: skip
# Asking about alerts Wayfinder received (`catalog.alerts`): "what's firing for checkout?"
# Only words that name an alert: "what breaks if X goes down" still asks for dependents.
INCIDENTS = {"incident", "incidents", "firing", "alert", "alerts", "alerting"}
# "what's wrong (with X)?" asks for alerts too, but "before I bother the wrong people: who owns X" does not.
WRONG = "wrong"
# Scorecards (`catalog.scorecards`): "how is payments-service doing?", "scorecard for team checkout",
# "how healthy is X": a service's health, as the catalog knows it, is its scorecard levels.
SCORECARD = {"scorecard", "scorecards", "doing", "score", "scores", "maturity", "readiness", "healthy", "health"}
# What a thing is: "what is X", "tell me about X", "describe X", "what language is X written in", "tags of X".
# Not cue words: they ask about a named subject and never stand for one, so they stay out of name matching's way.
ABOUT = {
    "describe", "description", "about", "info", "information", "details", "overview", "summary", "explain", "tags", "tagged",
    "language", "languages", "written", "purpose", "compare", "difference", "differ", "differs", "tier", "type",
}  # fmt: skip
# How fresh the catalog is, asked of no entity: "is the catalog up to date?", "when did the last sync run?".
FRESHNESS = {"sync", "synced", "syncs", "syncing", "fresh", "freshness", "updated", "sources", "source"}
MEMBERS = {"members", "member", "roster", "teammates", "headcount", "people", "engineers", "folks", "users"}
TEAM_OF = {"team", "teams", "squad", "group", "department", "org", "works", "work", "belong", "belongs", "member", "manager", "reports"}
WHERE = {"sit", "sits", "live", "lives", "located", "system", "domain", "part", "where"}
PAGE_KINDS = {"status", "wiki", "web", "home", "landing", "confluence", "notion", "docs", "doc"}  # "the status page": a link
HELP = {"help", "commands", "usage", "examples", "capabilities", "howto"}
GAPS = {"gaps", "gap", "incomplete", "unowned", "ownerless", "orphaned", "orphans", "failing", "stale", "broken"}
CUE_WORDS = (
    INCIDENTS
    | {WRONG}
    | SCORECARD
    | ONCALL
    | LIFECYCLE
    | LIFECYCLE_WEAK
    | OWNER
    | CONTACT
    | DEPENDS_ON
    | DEPENDENTS
    | DEPEND_VERBS
    | PROVIDES
    | LINKS
    | MEMBERS
    | HELP
    | GAPS
    | TALK
    | OUTAGE
    | {"goes", "went", "dies", "died"}  # "what breaks if redis goes down": not part of a name
    | {"call", "belongs", "belong", "works", "work", "working", "owned", "manager", "reports"}
)


_LONG_CUES = tuple(sorted(cue for cue in CUE_WORDS if len(cue) >= 4))  # sorted once, not for every word of every question
# Ordinary words one letter away from a cue: never read as its typo ("the last deploy" is not "blast",
# "who owns the store" is not "score", "the tech lead" is not "dead").
ORDINARY_WORDS = frozenset("""
line lines state stage style mode node read write scope scale stack last fail core main store stores task seed seeds
head lead whole subset black maps cell cells hooks come tail fall going contract fold live deal router peak walk loops
pink feed fork paper raster held pane reply heap ring wall gold tall locks told sold bold cold sink word words codes
build change hood sale users leads heads ready roads issues slow
""".split())  # fmt: skip


def is_cue(word: str) -> bool:
    return word in CUE_WORDS


def near_cue(word: str) -> str | None:
    """The cue word `word` is one typo away from ("onws" -> "owns"), for words of four letters or more."""
    if len(word) < 4 or word in ORDINARY_WORDS:
        return None
    found = process.extractOne(word, _LONG_CUES, scorer=OSA.distance, score_cutoff=1)  # the first closest, alphabetically
    return found[0] if found else None


def _going_on(words: list[str]) -> bool:
    """"what's going on with X": what is happening to it now (but "who is going on call" asks who is on call)."""
    i = _has_bigram(words, "going", "on")
    return i is not None and words[i + 2 : i + 3] not in (["call"], ["duty"])


def _page_as_noun(words: list[str]) -> set[str]:
    """{"page"} when every "page" is a thing read, not a person paged, in a question of who owns it ("who owns the
    sign in page" answered who was on call); "who do I page", "page the owner" still page."""
    pages = [i for i, w in enumerate(words) if w == "page"]
    if not pages or not set(words) & OWNER or any(i == 0 or words[i - 1] in _PAGERS for i in pages):
        return set()
    return {"page"}


_PAGERS = {"i", "we", "to", "should", "can", "who", "whom", "do", "please", "pls", "you"}


def _attribute_asked(words: list[str], subject: int | None) -> str | None:
    """"what port does X use", "what version of java does X use", "what language does X use": the word after "what"
    names something of X's, which the catalog may not know, not the things X uses ("what databases does X use")."""
    if subject is None or subject < 2 or words[0] not in ("what", "which"):
        return None
    asked = words[1]
    if asked in KIND_WORDS or asked in STOP_WORDS or asked in CUE_WORDS or asked in ("else", "other", "exactly"):
        return None
    return asked


def _wrong_with(words: list[str]) -> bool:
    """"what's wrong with X": its alerts, unless the question also asks whose it is or who answers
    ("what's wrong with X? who owns it", "wrong channel? who is on call for X")."""
    return _has_bigram(words, WRONG, "with") is not None and not set(words) & (OWNER | ONCALL)


def _has_bigram(words: list[str], first: str, second: str) -> int | None:
    """Position of `first second` in `words` (ignoring a hyphen: "on-call"), or None."""
    for i in range(len(words) - 1):
        if words[i] == first and words[i + 1] == second:
            return i
    return None


def _describing_stage(words: list[str], subject: int | None) -> bool:
    """Whether the question's only lifecycle word stands right before its subject, as a name's adjective ("the legacy X")."""
    stages = [i for i, w in enumerate(words) if w in LIFECYCLE]
    return subject is not None and stages == [subject - 1]


def intent_of(words: list[str], subject: int | None, subject_kind: str | None) -> str:
    """The intent of a question whose words are `words`, the subject standing at position `subject`.

    `words` are lower case with the subject's words replaced by one placeholder; `subject_kind`
    is the kind of what the subject resolved to (a person asks other questions than a service).
    """
    present = set(words)
    if "help" in present:  # "need help with X" asks who can help, not what X needs
        if subject is not None:
            subject -= sum(1 for w in words[:subject] if w in ("need", "needs"))
        words = [w for w in words if w not in ("need", "needs")]
        present = set(words)
    before = set(words[:subject]) if subject is not None else present
    after = set(words[subject + 1 :]) if subject is not None else set()
    if present & INCIDENTS or _going_on(words) or _wrong_with(words):  # "who is handling the payments incident", "what's going on with X"
        return "incidents"
    if _web_page(words):  # "the status page for X" is a link, not a page to someone (in place: positions stay)
        words = ["link" if w == "page" else w for w in words]
        present = set(words)
    if present & OUTAGE and not present & {"if", "when", "happens", "happen"}:  # not "what happens if X is down" (dependents)
        if "with" in present and (_has_bigram(words, "goes", "down") is not None or _has_bigram(words, "go", "down") is not None):
            return "dependents"  # "what goes down with orders-db"
        return "incidents" if words[:1] in (["is"], ["are"]) else "oncall"  # "is X down?": its alerts; "X is down": who answers now
    if present & ONCALL - _page_as_noun(words) or _has_bigram(words, "on", "call") is not None or _whom_to_call(words):
        return "oncall"
    if present & SCORECARD:
        return "scorecard"
    if present & LIFECYCLE and not (present & OWNER and _describing_stage(words, subject)):  # "whose is the legacy X": an owner
        return "lifecycle"
    if _owned_by(words, subject, before, after) or subject_kind in ("group", "user") and _in_charge_of(before, after):
        return "owned_by"
    if subject_kind == "user" and present & TEAM_OF:
        return "team_of"
    if present & CHANNEL_WORDS and not present & WHO:  # "which channel do I ask about X in"
        return "contact"
    if subject is not None and subject_kind not in ("group", "user", "resource") and before & STORE_WORDS and not present & WHO:
        return "depends_on"  # "the database behind pricing-service", "db for ledger-service": where it keeps its data
    if present & TALK and subject is not None and not present & (WHO | {"someone", "somebody", "anyone", "i", "we", "about"}):
        return "depends_on" if after & TALK else "dependents"
    if present & OWNER or _has_bigram(words, "maintained", "by") is not None:
        return "owner"
    if present & CONTACT:  # "who do I ping about X" asks for a who; "how do I reach X" for the ways
        return "owner" if "who" in present and subject_kind not in ("group", "user") else "contact"
    if subject_kind == "resource" and before & PROVIDES:  # "what publishes to order-events-topic": what uses it
        return "dependents"
    if subject_kind not in ("group", "user", "resource") and _asks_apis(present, subject_kind):
        return "apis"
    if subject_kind == "group" and present & {"someone", "somebody", "anyone", "anybody"}:  # "need someone from the search team"
        return "contact"
    if present & DEPENDENTS or _has_bigram(words, "in", "use") is not None:  # "is X still in use?" asks who uses it
        return "dependents"
    if "users" in present and subject_kind not in (None, "group", "user"):  # "users of ledger-db": what uses it, not people
        return "dependents"
    if present & DEPENDS_ON:
        return "depends_on"
    if present & DEPEND_VERBS:
        if (asked := _attribute_asked(words, subject)) is not None:  # "what port does X use": not what X uses
            return "about" if asked in ABOUT else "owner"
        return "depends_on" if after & DEPEND_VERBS else "dependents"
    if present & LINKS:
        return "links"
    if _members(words, subject, present, before) and (subject_kind in (None, "group", "user") or present & MEMBERS):
        return "team_of" if subject_kind == "user" else "members"  # "who is the tech lead for X": X's owner
    if subject is not None and subject_kind not in ("group", "user", "resource") and after & KEEPS:
        return "depends_on"  # "where does checkout-api store its data": its databases, not its system
    if present & WHERE:
        return "where"
    if present & LIFECYCLE_WEAK and not (_has_bigram(words, "maintained", "by") is not None):
        return "lifecycle"
    if subject is not None and subject_kind not in ("group", "user", "resource") and present & STORE_WORDS:
        return "depends_on"  # "pricing-service's db", "payments-service database?": where it keeps its data
    if subject is not None and subject_kind not in ("group", "user") and _asks_about(present, before, after):
        return "about"
    return "owner"


# The catalog itself, named by that word: "catalog health", "how is the catalog doing?" ask for its sources' state.
CATALOG_ITSELF = {"catalog", "catalogue"}
CATALOG_STATE = SCORECARD | {"status", "state", "ok", "okay", "working", "broken", "failing"}


def asks_freshness(words: list[str]) -> bool:
    """"is the catalog up to date?", "when did the catalog last sync?", "which sources are failing?": the sources' state
    ("what comes from a failing source" asks for entities, "who owns the data sync job" for an owner)."""
    if "from" in words or set(words) & (WHO | OWNER | CONTACT | ONCALL):
        return False
    return bool(set(words) & FRESHNESS) or _has_bigram(words, "to", "date") is not None


def _asks_about(present: set[str], before: set[str], after: set[str]) -> bool:
    """"what is X", "what's X", "tell me about X", "what does X do": what the thing is (a team or person has its own answer)."""
    before = before - {"the", "a", "an"}
    return bool(present & ABOUT) or (not after and before in ({"what", "is"}, {"whats"}, {"what", "s"})) or (after == {"do"} and {"what", "does"} <= before)


def _asks_apis(present: set[str], subject_kind: str | None) -> bool:
    """"what does X expose", "which APIs does X consume": an API verb, or API words with a use verb or in the plural.
    Of an API only "who provides it" asks this; who calls it asks for its dependents."""
    if subject_kind == "api":
        return bool(present & PROVIDES)
    return bool(present & PROVIDES or present & API_WORDS and present & (DEPEND_VERBS | DEPENDS_ON | {"apis", "endpoints", "consumed"}))


def _web_page(words: list[str]) -> bool:
    """"status page", "wiki page", "the checkout page" (right after the subject's placeholder): a page to read, not to send."""
    return any(w == "page" and i and (words[i - 1] in PAGE_KINDS or words[i - 1] == "§") for i, w in enumerate(words))


def _whom_to_call(words: list[str]) -> bool:
    """"who do I call", "who should we call", "who to call": whoever answers now (but "who does X call" asks for X's dependencies)."""
    return any(
        w == "call" and i >= 2 and words[i - 1] in ("i", "we", "to") and {"who", "whom"} & set(words[max(0, i - 4) : i]) for i, w in enumerate(words)
    )


def _owned_by(words: list[str], subject: int | None, before: set[str], after: set[str]) -> bool:
    """"what does X own", "X owns what", "owned by X", "what belongs to X", "list X's services"."""
    if (i := _has_bigram(words, "owned", "by")) is not None and (subject is None or i < subject):
        return True
    if after & {"own", "owns", "owning"} and not (before | after) & {"who", "whom"}:  # "X is slow, who owns it" asks for X's owner
        return True
    return bool(before & {"belongs", "belong"} and before & {"what", "everything", "which"} and "who" not in before)


def _in_charge_of(before: set[str], after: set[str]) -> bool:
    """"what is the risk team responsible for", "what does team risk do": a team's or person's things, not its owner
    ("payments owner", "the ledger team's dri": a person, whom the team's card names)."""
    return bool(after & (OWNER - OWNER_NOUNS | PROVIDES | {"do", "cover", "covers", "working"}) and not (before | after) & WHO)


def _members(words: list[str], subject: int | None, present: set[str], before: set[str]) -> bool:
    """"members of X", "who is in X", "who's on the X team", "who works on X", "who belongs to X"."""
    if present & MEMBERS:
        return True
    if "who" not in before or subject is None:
        return False
    prepositions = [w for w in words[:subject] if w not in ("the", "team", "squad", "group")]
    linking_verbs = {"is", "s", "are", "works", "work", "belongs", "belong", "part"}
    return bool(prepositions and prepositions[-1] in ("in", "on", "to", "of", "for") and before & linking_verbs)
