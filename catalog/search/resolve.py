"""Entity resolution: turn what someone typed into catalog entities.

Order of attempts, cheapest first: exact name/ref/title/alias (case- and separator-
insensitive), then every-word prefix matches ("ledger service"), then typo-tolerant
fuzzy matching over compact names. The index lives in memory and is rebuilt when the
catalog generation changes. Fuzzy matching scores only the names that share a trigram
with the query (an inverted index, never a scan of every name), and answers only a name
a few typos away: `catalog-config-rpc` is not a misspelt `catalog-config`.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from catalog.search.intents import KIND_WORDS
from catalog.store.refs import parse_ref

_SEPARATORS = re.compile(r"[^a-z0-9]+")  # "Identity Verification (KYC)" has the word "kyc"
_NON_ALNUM = re.compile(r"[^a-z0-9]")
# Kinds most people mean when they name something without saying what it is.
KIND_ORDER = ["component", "api", "resource", "system", "domain", "group", "user", "template", "location"]
FUZZY_CUTOFF = 80.0
# Typos (letters added, dropped, replaced or swapped) a name of at least this many letters may carry
# and still be answered: three in `payments-ledger-service`, none in `ui`. Anything further is a
# suggestion ("checkout-worker" vs checkout-web), never an answer.
TYPOS_BY_LENGTH = ((14, 3), (8, 2), (4, 1))
# Typos allowed in a name's own words once its generic ones are set aside: none in "cart", "tax" or "card".
CORE_TYPOS_BY_LENGTH = ((14, 3), (8, 2), (5, 1))
# Words many names end with, which say little about which thing is meant.
GENERIC_WORDS = frozenset(KIND_WORDS) | {"server", "worker", "client", "web", "ui", "job", "jobs", "bot", "sdk", "store", "rest", "grpc"}
# A generic word this long is recognised with two typos ("revice", "sevpce" for service), a shorter one with one.
LONG_GENERIC_WORD = 7
MAX_TYPOS = TYPOS_BY_LENGTH[0][1]
# A name within k typos of the query holds one of k+1 pieces of it unchanged; a query too short for
# pieces of a trigram or more is looked up by its trigrams instead. "Did you mean"s also come from
# names sharing its rarest trigrams, about this many.
SUGGESTION_CANDIDATES = 1000
# Typos the pieces are cut for: a third typo in a long name is still answered when its name is found.
MAX_INDEXED_TYPOS = 2
# Postings of more than NUMPY_ABOVE entities in all are intersected with numpy (`_in_all`) in a catalog of more than
# NUMPY_CATALOG names; a smaller one never imports it (60 ms a CLI question would pay, for no gain: its postings are short).
NUMPY_ABOVE = 8000
NUMPY_CATALOG = 200_000
# Checking one name for a piece costs about as much as reading this many postings into a set (estimated from profiles at 1M names).
READ_OVER_CHECK = 8
# Fuzzy candidates scored per query, and the lowest score kept as a "did you mean". Sharing trigrams is
# not enough to be suggested: the name must be one typo past an answer, or share a word (`_shares_a_word`).
FUZZY_CANDIDATES = 64
SUGGEST_CUTOFF = 50.0
MIN_SHARED_WORD = 3  # "api" is a word people mean; "db" in "redis db" says nothing
# A kind word shared with a name ("services" and tax-service) says nothing about which one was meant: `KIND_WORDS` are not shared words.
MIN_ABBREVIATION = 4  # "srvc" abbreviates "service"; "api" would abbreviate "application"
# Candidates closer than this to the best one count as "just as likely".
AMBIGUITY_MARGIN = 4.0
MIN_PREFIX_ALONE = 4  # a shorter word typed alone names only a name word it spells in full
# Fuzzy scans remembered per index (distinct query strings) before the memory is cleared.
NEAREST_CACHE_SIZE = 1024
_NONE = array("i")  # the postings of a trigram no name holds
T = TypeVar("T")


def compact(text: str) -> str:
    """`Artist Lookup`, `artist-lookup` and `artistlookup` all become `artistlookup`."""
    return _NON_ALNUM.sub("", text.lower())


def tokens(text: str) -> list[str]:
    return [t for t in _SEPARATORS.split(text.lower()) if t]


class IndexedEntity(NamedTuple):
    """One entity as resolution sees it. A named tuple: made in 0.6 µs against 1.5 for a frozen
    dataclass, 45 ms of the 50k-entity rebuild every replica runs at once after a big sync."""

    ref: str
    kind: str
    name: str
    title: str | None
    owner_ref: str | None
    type: str | None = None
    aliases: tuple[str, ...] = ()
    # What people also call it: a display name, a Slack or GitHub handle, its PagerDuty service name.
    other_names: tuple[str, ...] = ()

    def is_a(self, kind: str, type_: str | None = None) -> bool:
        """Of `kind` and, when given, of `type_` (a lowercase type word: a "Service" typed entity is a "service", a
        "kafka-topic" one a "topic")."""
        return self.kind == kind and (type_ is None or type_matches(self.type, type_))


@dataclass(frozen=True)
class Match:
    entity: IndexedEntity
    score: float
    how: Literal["exact", "title", "alias", "partial", "fuzzy", "text"]  # text: catalog.search.fulltext


@dataclass
class Resolution:
    status: Literal["found", "ambiguous", "not_found"]
    matches: list[Match] = field(default_factory=list)
    close: int = 1  # how many leading matches are equally likely (found: they share an owner, which answers for all)

    @property
    def best(self) -> IndexedEntity | None:
        return self.matches[0].entity if self.status == "found" and self.matches else None


class CatalogIndex:
    """In-memory lookup structures over every active entity."""

    def __init__(self, entities: list[IndexedEntity], generation: int = 0, *, pace: Callable[[], None] | None = None) -> None:
        """`pace`, when given, is called once per entity (`catalog.pacing.Pacer.tick`)."""
        self.generation = generation
        self.entities = entities
        self._exact: Postings = {}
        self._by_ref: dict[str, int] = {}
        self._token_postings: Postings = {}
        self._memo: dict[str, Any] = {}
        self._nearest_cache: dict[tuple[str, float, int], list[tuple[str, float, int]]] = {}
        self._trigram_postings: dict[str, array[int]] | None = None  # built by the first fuzzy question
        self._busiest: tuple[str | None, str | None, str | None] | None = None  # built by the first help
        # Built first, so the strings the fuzzy scan reads lie together in memory: interleaved with
        # the other index objects, the scan takes twice as long.
        self._compact_names = [compact(e.name) for e in entities]
        for i, e in enumerate(entities):
            self._by_ref[e.ref] = i
            keys = {self._compact_names[i], compact(e.ref), *(compact(a) for a in e.aliases + e.other_names)}
            if e.title:
                keys.add(compact(e.title))
            keys.discard("")
            for key in keys:
                _post(self._exact, key, i)
            for tok in _words(e):
                _post(self._token_postings, tok, i)
            if pace is not None:
                pace()
        self._sorted_tokens = sorted(self._token_postings)

    def __len__(self) -> int:
        return len(self.entities)

    def get(self, ref: str) -> IndexedEntity | None:
        i = self._by_ref.get(ref.lower())
        return None if i is None else self.entities[i]

    def names(self) -> list[str]:
        return [e.name for e in self.entities]

    def named(self, text: str) -> list[IndexedEntity]:
        """Entities whose name, ref, title, alias or other name is exactly `text` (case and separators aside)."""
        return [self.entities[i] for i in _held(self._exact, compact(text))]

    def written_ref(self, text: str) -> IndexedEntity | None:
        """The entity `text` names as a reference (`component:payments-service`), if any."""
        return self._by_written_ref(text)

    def starts_a_word(self, prefix: str) -> bool:
        """Whether some name or title has a word starting with `prefix` (a partial name, not a typo'd verb)."""
        return next(self._tokens_starting(prefix.lower()), None) is not None

    def resolve(self, query: str, *, kinds: set[str] | None = None, limit: int = 5) -> Resolution:
        """Find what `query` names, restricted to `kinds` when the question said which."""
        q = compact(query)
        if not q:
            return Resolution("not_found")
        allowed = (lambda e: e.kind in kinds) if kinds else (lambda e: True)
        written_ref = self._by_written_ref(query)  # `component:payments-service`, as answers print it
        if written_ref is not None and allowed(written_ref):
            return Resolution("found", [Match(written_ref, 100.0, "exact")])
        exact = [self.entities[i] for i in _held(self._exact, q) if allowed(self.entities[i])]
        if exact:
            return self._decide([Match(e, 100.0, self._how(e, q)) for e in exact], limit, exact=True)
        partial = self._partial(query, allowed)
        if partial:
            least = partial[0][1]
            return _settle([m for m, extra in partial if extra == least], [m for m, extra in partial if extra != least], limit)
        near = self._fuzzy(q, allowed)
        typos = [
            (m, n) for m, n in near if n <= _typos_allowed(m.entity.name) and _typo_in_reason(query, m.entity.name) and not _extends(query, q, m.entity.name)
        ]
        if typos:  # a name one typo further is just as likely (`biling-gateway`: billing-gateway(s))
            fewest = typos[0][1]
            close = [m for m, n in near if n <= fewest + 1]
            return _settle(close, [m for m, _ in near if m not in close], limit)
        typed, one_more = [w for w in tokens(query) if len(w) >= MIN_SHARED_WORD and w not in KIND_WORDS], _typos_allowed(q) + 1
        suggested = (m for m, n in sorted(near, key=lambda mn: -mn[0].score) if n <= one_more or _shares_a_word(typed, m.entity))
        return Resolution("not_found", list(itertools.islice(suggested, limit)))

    def _by_written_ref(self, query: str) -> IndexedEntity | None:
        """`kind:[namespace/]name` with the namespace left out means `default` (FORMATS.md §1)."""
        if ":" not in query:
            return None
        try:
            return self.get(str(parse_ref(query)))
        except ValueError:
            return None

    @staticmethod
    def _how(e: IndexedEntity, q: str) -> Literal["exact", "title", "alias"]:
        if compact(e.name) == q or compact(e.ref) == q:
            return "exact"
        return "title" if e.title and compact(e.title) == q else "alias"

    def complete(self, typed: str, *, allowed: Callable[[IndexedEntity], bool], limit: int) -> list[IndexedEntity]:
        """What someone typing `typed` into a picker may mean, among the `allowed`, best first: a written ref
        or exact name, then names with a word starting with each typed word (fewest words left out, then
        shortest), then names a few typos away. Only postings are read, never every name."""
        q = compact(typed)
        if not q:
            return []
        found: dict[str, IndexedEntity] = {}
        written = self._by_written_ref(typed)
        exact = [self.entities[i] for i in _held(self._exact, q)]
        words = tokens(typed)
        candidates: set[int] | None = None
        for w in sorted(words, key=len, reverse=True):
            posting = self._postings_for_prefix(w, cap=None)
            candidates = posting if candidates is None else candidates & posting
        # The shortest names first, cheaply, then ranked by the words left out: a two-letter prefix holds thousands.
        shortest = heapq.nsmallest(limit * 3, (e for e in map(self.entities.__getitem__, candidates or ()) if allowed(e)), key=lambda e: (len(e.name), e.name))
        prefixed = heapq.nsmallest(limit, shortest, key=lambda e: (_not_typed_in_full(words, e), len(e.name), e.name))
        for e in itertools.chain([written] if written else [], exact, prefixed):
            if allowed(e):
                found.setdefault(e.ref, e)
        if len(found) < limit:
            for m, _ in self._fuzzy(q, allowed):
                found.setdefault(m.entity.ref, m.entity)
        return list(found.values())[:limit]

    def _postings_for_prefix(self, prefix: str, cap: int | None = 5000, among: set[int] | None = None) -> set[int]:
        """Entities with a word starting with `prefix`, only those `among` when given (cheaper than collecting
        them all to intersect after); past `cap` postings read, stop (a prefix this common says nothing to resolution)."""
        found: set[int] = set()
        read = 0
        for tok in self._tokens_starting(prefix):
            posting = _held(self._token_postings, tok)
            found.update(posting if among is None else among.intersection(posting))
            read += len(posting)
            if cap is not None and read > cap:  # let fuzzy matching decide
                return found
        return found

    def _prefix_size(self, word: str, cap: int = 50_000) -> int:
        """How many entities `_partial_words` reads for `word` (a word starting with it, or its singular); past `cap`, `cap + 1`."""
        singular = _singular(word)
        size = len(_held(self._token_postings, singular)) if singular and self._is_word(singular) else 0
        for tok in self._tokens_starting(word):
            if size > cap:
                break
            size += len(_held(self._token_postings, tok))
        return min(size, cap + 1)

    def _tokens_starting(self, prefix: str) -> Iterator[str]:
        """The words of names, titles and other names that start with `prefix`, in order; read by position, so a saved index loads only these."""
        sorted_tokens = self._sorted_tokens
        for at in range(bisect.bisect_left(sorted_tokens, prefix), len(sorted_tokens)):
            if not sorted_tokens[at].startswith(prefix):
                return
            yield sorted_tokens[at]

    def _is_word(self, word: str) -> bool:
        """Whether some name, title or other name has the word `word` (a lookup that adds no key to the postings)."""
        at = bisect.bisect_left(self._sorted_tokens, word)
        return at < len(self._sorted_tokens) and self._sorted_tokens[at] == word

    def _postings_for_word(self, word: str, among: set[int] | None = None) -> set[int]:
        """Entities with the word `word` itself, only those `among` when given."""
        if not self._is_word(word):
            return set()
        posting = _held(self._token_postings, word)
        return set(posting) if among is None else among.intersection(posting)

    def _partial(self, query: str, allowed: object) -> list[tuple[Match, tuple[int, int]]]:
        """Every word of the query starts a word of the name: "ledger service", "artist look".

        Each with how many words of its name the query left out or cut short: `payments ledg` names
        `payments-ledger-service` and `payments-ledger-worker` alike, however their lengths differ;
        then how many query words are cut short: "cart" is cart-service's word, and only the start of ben.carter's.
        """
        words = tokens(query)
        if not any(len(w) >= 2 for w in words):  # one letter is a word cut short only after a real word
            return []
        distinctive = [w for w in words if w not in KIND_WORDS]
        if len(distinctive) == 1 and len(distinctive[0]) < MIN_PREFIX_ALONE:  # "ses", "the cat service": not "session", "catalog" cut short
            return [(m, extra) for m, extra in self._partial_words(words, allowed) if distinctive[0] in _words(m.entity)]
        return self._partial_words(words, allowed)

    def _partial_words(self, words: list[str], allowed: object) -> list[tuple[Match, tuple[int, int]]]:
        candidates: set[int] | None = None
        # The rarest first: a typo'd word, held by none, ends it at once, and a common one (`adapter`) is only looked up among the few.
        for w in sorted(words, key=lambda w: (self._prefix_size(w), -len(w))):
            singular = _singular(w)
            if candidates is not None and len(candidates) <= 200:  # cheaper than a short word's postings, and exact
                candidates = {i for i in candidates if any(t.startswith(w) or t == singular for t in _words(self.entities[i]))}
            else:
                candidates = self._postings_for_prefix(w, among=candidates) | (self._postings_for_word(singular, candidates) if singular else set())
            if not candidates:
                return []
        assert candidates is not None
        if len(candidates) > 200:
            return []
        spaced = " ".join(words)
        scored = [
            (Match(e, fuzz.WRatio(spaced, " ".join(tokens(e.name))), "partial"), (_not_typed_in_full(words, e), _cut_short(words, e)))
            for e in (self.entities[i] for i in candidates)
            if allowed(e)  # type: ignore[operator]
        ]
        return sorted(scored, key=lambda me: (me[1], -me[0].score, len(me[0].entity.name)))

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per index (so once per catalog generation), e.g. help examples."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def _nearest(self, q: str, cutoff: float, limit: int) -> list[tuple[str, float, int]]:
        """Compact names scoring at least `cutoff` against `q`, best first, among those sharing its rarest trigrams.

        A question resolves its subject up to three times (as typed, without kind words, without
        the kind filter), and people repeat questions; results are kept per index, bounded.
        """
        key = (q, cutoff, limit)
        hits = self._nearest_cache.get(key)
        if hits is None:
            names = self._compact_names
            candidates = list(self._holding_a_piece(q) | self._sharing_rare_trigrams(q))  # the latter for "did you mean"s
            found = process.extract(q, [names[i] for i in candidates], scorer=fuzz.ratio, score_cutoff=cutoff, limit=limit)
            hits = [(name, score, candidates[at]) for name, score, at in found]
            if len(self._nearest_cache) >= NEAREST_CACHE_SIZE:
                self._nearest_cache.clear()
            self._nearest_cache[key] = hits
        return hits

    def _holding_a_piece(self, q: str) -> set[int]:
        """Names holding enough of `q`'s pieces unchanged to be within its allowed typos (the pigeonhole).

        Cut into k+2 pieces, a name k typos away keeps two of them: asking for two keeps out the
        thousands of names that merely share a common word (`consumer`, `gateway`) with the query.
        A query too short for pieces of four letters is cut into k+1 pieces, of which one must be kept. The cuts are
        placed where the pieces are rarest (`paymen|tsledge|rservice`, not `...|service`), and made
        k+1 times, each one letter later than the last: a swap across a cut changes both pieces, and
        one of k+1 cuts has none of k swaps across it.
        """
        typos = min(_typos_allowed(q), MAX_INDEXED_TYPOS)
        pieces, kept = (typos + 2, 2) if len(q) >= 4 * (typos + 2) + 1 else (typos + 1, 1)  # pieces of a trigram are too common
        if len(q) < 3 * pieces + 2:  # one typo changes at most 4 trigrams: any 4k+1 of them hold one unchanged
            return self._sharing_rare_trigrams(q, 4 * pieces - 3)
        postings, names = self._trigram_index(), self._compact_names
        shortest, longest = len(q) - MAX_TYPOS - 1, len(q) + MAX_TYPOS + 1  # OSA distance is at least the length difference
        length: Callable[[int], int] = lambda i: len(names[i])  # noqa: E731

        def within(found: array[int]) -> array[int]:
            """The names of `found` whose length could be few enough typos away (postings run shortest name first)."""
            return found[bisect.bisect_left(found, shortest, key=length) : bisect.bisect_right(found, longest, key=length)]

        @functools.cache
        def rarest(piece: str) -> tuple[str, ...]:
            """The piece's two rarest trigrams."""
            return tuple(sorted({piece[i : i + 3] for i in range(len(piece) - 2)}, key=lambda g: len(postings.get(g, _NONE)))[:2])

        def cut(shift: int) -> list[str]:
            cuts = [0, *(j * len(q) // pieces + shift for j in range(1, pieces)), len(q)]
            return [q[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]

        def rarity(piece: str) -> int:
            return len(postings.get(rarest(piece)[0], _NONE))

        def cost(shift: int) -> int:
            return sum(map(rarity, cut(shift)))

        @functools.cache
        def holding_grams(grams: tuple[str, ...]) -> set[int]:
            """Names holding all of `grams`; pieces cut one letter apart often share their rarest ones."""
            first, *rest = (within(postings.get(g, _NONE)) for g in grams)
            return _in_all(first, rest, numpy=len(names) > NUMPY_CATALOG)

        def holding(piece: str) -> set[int]:
            """Names holding the piece's two rarest trigrams: nearly the piece itself, and a few more that rapidfuzz rules out."""
            return holding_grams(rarest(piece))

        def cuts(first: int) -> list[list[str]]:
            return [cut(first + shift) for shift in range(typos + 1)]

        starts = [s for s in range(-2, 2) if all(len(p) >= 3 for parts in cuts(s) for p in parts)]
        best = min(starts, key=lambda s: sum(cost(s + shift) for shift in range(typos + 1)), default=None)
        if best is None:
            return self._sharing_rare_trigrams(q, 4 * pieces - 3)
        found: set[int] = set()
        for parts in cuts(best):
            if kept == 1:
                near = set().union(*(holding(piece) for piece in parts))
            else:  # two pieces kept: two of the rarer ones, or one of them and the most common (`consumer`)
                *rarer, common = sorted(parts, key=rarity)
                held = [holding(piece) for piece in rarer]
                two = set().union(*(a & b for a, b in itertools.combinations(held, 2)))
                rest = set().union(*held).difference(two)
                if len(rest) * READ_OVER_CHECK > rarity(common):  # reading the common piece's postings is cheaper than checking each name for it
                    near = two | rest.intersection(holding(common))
                else:
                    near = two.union(i for i in rest if common in names[i])
            found.update(near)
        return found

    def _sharing_rare_trigrams(self, q: str, probed: int = 0) -> set[int]:
        """Names holding one of the `probed` rarest trigrams of `q`; without `probed`, rarest first until
        SUGGESTION_CANDIDATES names are found (every name of a catalog that small), from a trigram held by
        more only the names nearest the query's length (at 1M names one trigram can hold 7,000, and scoring them
        was a third of a typo's time)."""
        if not probed and len(self._compact_names) <= SUGGESTION_CANDIDATES:  # so few that scoring them all is cheap
            return set(range(len(self._compact_names)))
        postings, compact_names = self._trigram_index(), self._compact_names
        held = sorted((found for g in _trigrams(q) if (found := postings.get(g))), key=len)
        if probed:
            return set().union(*held[:probed])
        names: set[int] = set()
        for found in held:
            room = SUGGESTION_CANDIDATES - len(names)
            if room <= 0:
                break
            if len(found) > room:  # postings run shortest name first
                at = bisect.bisect_left(found, len(q), key=lambda i: len(compact_names[i]))
                start = max(0, min(at - room // 2, len(found) - room))
                found = found[start : start + room]
            names.update(found)
        return names

    def build_lazy_parts(self, pace: Callable[[], None] | None = None) -> None:
        """Build now what the first typo or help would build, `pace` called once per name: an index saved for
        other processes carries it (at 100k names, loading the trigram postings costs a tenth of building
        them), and so does a server's next index once this one's were needed (`catalog.store.reads.IndexCache`)."""
        self._trigram_index(pace)
        self.busiest_team()

    @property
    def lazy_parts_built(self) -> bool:
        """Whether a typo (or `build_lazy_parts`) built the trigram postings."""
        return self._trigram_postings is not None

    def busiest_team(self) -> tuple[str | None, str | None, str | None]:
        """The names of the group owning the most entities, of one component (its own if it has one) and
        of one resource of its own: what help's examples name. Reading every entity of a saved index
        for them took a CLI "hi" 0.4 s at 100k."""
        if self._busiest is None:
            owners = Counter(e.owner_ref for e in self.entities if e.owner_ref and e.owner_ref.startswith("group:"))
            team = next((found for ref, _ in owners.most_common() if (found := self.get(ref))), None)
            owned = [e for e in self.entities if team and e.owner_ref == team.ref]
            component = next((e.name for e in owned if e.kind == "component"), None) or next(
                (e.name for e in self.entities if e.kind == "component" and e.owner_ref), None
            )
            resource = next((e.name for e in owned if e.kind == "resource"), None)
            self._busiest = (team.name if team else None, component, resource)
        return self._busiest

    def _trigram_index(self, pace: Callable[[], None] | None = None) -> dict[str, array[int]]:
        """Trigram -> entities whose compact name holds it, shortest name first; built on first use, as most questions name things exactly.

        Arrays, not lists: half the memory, and a fifth faster to intersect at 1M names (a list's
        integers lie scattered in memory; an array's are read in order)."""
        if self._trigram_postings is None:
            postings: dict[str, array[int]] = defaultdict(lambda: array("i"))
            names = self._compact_names
            for i in sorted(range(len(names)), key=lambda i: len(names[i])):  # shortest first: a length range is a slice
                for gram in _trigrams(names[i]):
                    postings[gram].append(i)
                if pace is not None:
                    pace()
            self._trigram_postings = dict(postings)
        return self._trigram_postings

    def _fuzzy(self, q: str, allowed: object) -> list[tuple[Match, int]]:
        """Near names with their typo count from `q` (MAX_TYPOS + 1 meaning "more"), fewest typos first."""
        hits = self._nearest(q, SUGGEST_CUTOFF, FUZZY_CANDIDATES)
        matches = [
            (Match(self.entities[i], score, "fuzzy"), OSA.distance(q, name, score_cutoff=MAX_TYPOS + 1))
            for name, score, i in hits
            if allowed(self.entities[i])  # type: ignore[operator]
        ]
        return sorted(matches, key=lambda mn: (mn[1], -mn[0].score, _kind_rank(mn[0].entity.kind)))

    @staticmethod
    def _decide(matches: list[Match], limit: int, *, exact: bool = False) -> Resolution:
        """Answer when one entity (or one owner) clearly wins; otherwise ask."""
        matches = sorted(matches, key=lambda m: (-m.score, _kind_rank(m.entity.kind), m.entity.ref))
        best = matches[0]
        close = [m for m in matches if best.score - m.score <= (0 if exact else AMBIGUITY_MARGIN)]
        return _settle(close, matches[len(close):], limit)


def per_index(fn: Callable[[CatalogIndex], T]) -> Callable[[CatalogIndex], T]:
    """Decorate a function of the index alone so it runs once per index, not once per question."""

    @functools.wraps(fn)
    def once(index: CatalogIndex) -> T:
        found = index.memo(f"{fn.__module__}.{fn.__qualname__}", lambda: fn(index))
        return list(found) if isinstance(found, list) else found  # type: ignore[return-value]  # callers may modify lists

    return once


def _settle(close: list[Match], others: list[Match], limit: int) -> Resolution:
    """Answer when the equally likely `close` matches are one entity or share an owner; otherwise ask."""
    if len(close) == 1 or len({answers_for(m.entity) for m in close}) == 1:
        return Resolution("found", (close + others)[:limit], close=len(close))
    return Resolution("ambiguous", close[:limit], close=len(close))


def _singular(word: str) -> str | None:
    """"orders" -> "order": a plural typed for a name word in the singular (order-events-topic), or None."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else None


# The entities holding each key (a compact name, a word): a key only one entity holds, as most names
# are, maps to its bare position, not to a one-item list. A server's collection after each rebuild
# (`bot.http.app.freeze_heap`) walks what the index made, with the GIL held: at 50k entities 65k
# objects instead of 181k, 20-25 ms instead of 34-41.
Postings = dict[str, "int | list[int]"]


def _post(postings: Postings, key: str, i: int) -> None:
    """File entity `i` under `key`; an entity files each key once."""
    held = postings.setdefault(key, i)
    if isinstance(held, list):
        held.append(i)
    elif held != i:
        postings[key] = [held, i]


def _held(postings: Mapping[str, int | list[int]], key: str) -> Sequence[int]:
    """The entities filed under `key`: `postings` is the index's or a saved index's (`catalog.store.index_file.Shards`)."""
    held = postings.get(key, ())
    return (held,) if isinstance(held, int) else held


def _words(e: IndexedEntity) -> set[str]:
    """The words a partial name is matched against: of its name, title and other names."""
    return {w for text in (e.name, e.title or "", *e.other_names) for w in tokens(text)}


def _in_all(first: array[int], rest: list[array[int]], *, numpy: bool) -> set[int]:
    """The entities in all of the postings. With `numpy`, past NUMPY_ABOVE of them, numpy marks them in a
    table: 2.5 to 5 times faster than a set for two postings of 5,000 to 40,000 entities (1M names have such)."""
    if not numpy or len(first) + sum(map(len, rest)) <= NUMPY_ABOVE:
        return set(first).intersection(*rest)
    import numpy as np

    found = np.frombuffer(first, dtype=np.intc)
    for other in rest:
        ids = np.frombuffer(other, dtype=np.intc)
        found = ids[np.isin(ids, found, assume_unique=True, kind="table")]
    return set(found.tolist())


def _trigrams(compact_text: str) -> set[str]:
    """The trigrams of a compact name, padded so two-letter names (`ui`) have some and ends weigh more."""
    padded = f"^{compact_text}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def type_matches(own: str | None, type_: str) -> bool:
    """Whether an entity of type `own` is a `type_` (a lowercase type word): "Service" is a "service", "kafka-topic" a "topic"."""
    lowered = (own or "").lower()
    return lowered == type_ or type_ in lowered.split("-")


def _typo_in_reason(query: str, name: str) -> bool:
    """Whether the name's own words, its generic ones ("service", "db") set aside, are within typos of what was typed
    for them: "cart servce" is cart-service, "the card service" and "the vat service" are not (a short word with a
    letter changed is another word)."""
    words = tokens(name)
    core, typed = [t for t in words if t not in GENERIC_WORDS], tokens(query)
    for generic in (t for t in words if t in GENERIC_WORDS):  # what was typed for it, typo and all ("servce", "apu")
        near = min(typed, key=lambda t: OSA.distance(t, generic), default=None)
        if near is not None and OSA.distance(near, generic) <= (2 if len(generic) >= LONG_GENERIC_WORD else 1):
            typed.remove(near)
    typed = [t for t in typed if t not in GENERIC_WORDS]
    if not core or not typed:
        return True
    own = "".join(core)
    return OSA.distance("".join(typed), own) <= next((typos for min_length, typos in CORE_TYPOS_BY_LENGTH if len(own) >= min_length), 0)


def _typos_allowed(name: str) -> int:
    length = len(compact(name))
    return next((typos for min_length, typos in TYPOS_BY_LENGTH if length >= min_length), 0)


def _extends(query: str, q: str, name: str) -> bool:
    """`catalog-config-rpc` for `catalog-config`: a name with words added names something else, not a typo."""
    name_compact = compact(name)
    if len(q) - len(name_compact) >= 2 and (q.startswith(name_compact) or q.endswith(name_compact)):
        return True
    return set(tokens(name)) < set(tokens(query))


def _shares_a_word(typed: list[str], e: IndexedEntity) -> bool:
    """Whether a `typed` word is a word of the entity's names, a prefix, typo or abbreviation of one: what a person who
    typed `router` could have meant is not `ben.carter`, however many trigrams they share; `checkout-worker` may mean
    `checkout-web`, and `shopping` `shipping-quotes`."""
    words = _words(e)
    if words.intersection(typed):
        return True
    for w in typed:
        typos = _typos_allowed(w)
        for t in words:
            if t.startswith(w) or (w.startswith(t) and len(t) >= MIN_SHARED_WORD) or _abbreviates(w, t):
                return True
            if abs(len(t) - len(w)) <= typos and OSA.distance(w, t, score_cutoff=typos + 1) <= typos:
                return True
    return False


def _abbreviates(short: str, word: str) -> bool:
    """`pymnts` for `payments`, `srvc` for `service`: the word's first letter, then some of its letters in order."""
    if len(short) < MIN_ABBREVIATION or len(short) >= len(word) or short[0] != word[0]:
        return False
    letters = iter(word)
    return all(c in letters for c in short)


def _not_typed_in_full(words: list[str], e: IndexedEntity) -> int:
    """Words of the entity's name (or title, or other name) that the query's `words` leave out or cut short."""
    typed = set(words) | {s for w in words if (s := _singular(w))}
    return min(sum(w not in typed for w in tokens(n)) for n in (e.name, *(n for n in (e.title, *e.other_names) if n)))


def _cut_short(words: list[str], e: IndexedEntity) -> int:
    """Query words that are not whole words of the entity's name, title or other names (only the start of one)."""
    whole = _words(e)
    return sum(w not in whole and _singular(w) not in whole for w in words)


def answers_for(e: IndexedEntity) -> str | None:
    """Who answers for an entity: its owner, or a team or person itself ("who owns ledger" = team ledger)."""
    return e.owner_ref or (e.ref if e.kind in ("group", "user") else None)


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
