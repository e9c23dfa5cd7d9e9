"""Which saved searches a new bulletin satisfies, without one query per saved search.

Design: an inverted index in the worker's memory. Every active instant saved search (at
publish time; digest searches are matched the same way at digest time, members.digests)
is compiled once (keywords through the site search's own
parser and n-gram rules, `news.search`) and filed under one *anchor*:
- the longest n-gram of its first keyword, paired with each of its regions (or else its
  categories) as the filter lexemes the search vectors use (`镇江|~p12`; a province
  includes its cities and districts because a bulletin carries the lexemes of all three
  levels), so a bulletin meets only the searches for its place; or else
- its regions / categories alone (no keyword), or else
- "*" (no keyword, no region, no category: every bulletin).
A bulletin's lexeme set is what its public search index holds
(`news.search.public_lexemes`: title + body n-grams minus what masking hides, + filter
lexemes), so a saved search matches exactly what the site search would find for a visitor.
Only the saved searches filed under one of the bulletin's lexemes are checked in full
(every keyword, no excluded word, regions, categories, stages, amount range). The index is
rebuilt when any saved search changes (a generation number in the cache), so workers on
several machines stay in step.
"""

import gc
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from django.core.cache import cache
from django.db.models import Count, Max

from members.models import SavedSearch
from news import linking
from news.search import filter_lexemes, parse_query, public_lexemes, term_tsquery

GENERATION_KEY = "alerts:saved-search-generation"
ANY = "*"


def saved_searches_changed() -> None:
    """Call after any saved search is created, edited or deleted."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, timeout=None)


@dataclass
class Compiled:
    id: int
    user_id: int
    name: str
    instant: bool
    include: list[list[str]]  # per keyword: the lexemes that must all be present
    include_terms: list[str]
    exclude: list[list[str]]
    title_only: bool
    regions: set[str] = field(default_factory=set)  # filter lexemes, any of them
    categories: set[str] = field(default_factory=set)
    stages: set[int] = field(default_factory=set)
    amount_min: int | None = None
    amount_max: int | None = None

    @property
    def term(self) -> str:
        """The keyword a match is reported by (highlighted in the email)."""
        return self.include_terms[0] if self.include_terms else ""

    @cached_property
    def reason_json(self) -> str:
        """This search's entry in a delivery's reasons, serialised once per index: a
        bulletin brings ~200 matches and encoding each anew cost a fifth of matching."""
        reason = {"search": self.id, "name": self.name, "term": self.term}
        return json.dumps(reason, ensure_ascii=False)


def _term_lexemes(term: str) -> list[str]:
    """The lexemes a term needs, from the same tsquery text the site search sends."""
    parts = term_tsquery(term).strip("()").split(" & ")
    return [p.strip("'").replace("':*", "*").rstrip("'") for p in parts if p]


_FIELDS = (
    "id",
    "user_id",
    "name",
    "query",
    "title_only",
    "stages",
    "amount_min_yuan",
    "amount_max_yuan",
    "frequency",
)


def _compile(values: dict, regions, category_ids) -> Compiled:
    query = parse_query(values["query"])
    return Compiled(
        id=values["id"],
        user_id=values["user_id"],
        name=values["name"],
        instant=values["frequency"] == SavedSearch.Frequency.INSTANT,
        include=[_term_lexemes(t) for t in query.include],
        include_terms=list(query.include),
        exclude=[_term_lexemes(t) for t in query.exclude],
        title_only=values["title_only"],
        regions={_region_lexeme(pk, level) for pk, level in regions},
        categories={f"~k{c}" for c in category_ids},
        stages=set(values["stages"] or ()),
        amount_min=values["amount_min_yuan"],
        amount_max=values["amount_max_yuan"],
    )


def _region_lexeme(region_id: int, level: int) -> str:
    tag = {1: "p", 2: "c"}.get(level, "r")
    return f"~{tag}{region_id}"


def _anchors(c: Compiled, frequency: dict[str, int]) -> list[str]:
    """Where a saved search is filed: its rarest keyword lexeme (fewest recent bulletins
    holding it, then the longest: 监理 before 建设, which every page holds) combined with
    each of its regions (or else categories), so a bulletin only meets the searches for
    its place. Only one-character keywords (prefixes): ANY."""
    filters = sorted(c.regions) or sorted(c.categories)
    if not c.include:
        return filters or [ANY]
    lexemes = [x for needed in c.include for x in needed if not x.endswith("*")]
    word = min(lexemes, key=lambda x: (frequency.get(x, 0), -len(x))) if lexemes else ANY
    return [f"{word}|{f}" for f in filters] if filters else [word]


def _recent_frequencies(sample: int = 2000) -> dict[str, int]:
    """How many of the latest published bulletins hold each lexeme (~0.5 s)."""
    from news.models import Bulletin

    counts: Counter = Counter()
    recent = Bulletin.objects.published().order_by("-published_at")
    for title, body, hidden in recent.values_list("title", "body", "hidden_lexemes")[:sample]:
        counts.update(public_lexemes(title=title, body=body, hidden_lexemes=hidden))
    return counts


class _Anchors:
    """`plain` for anchors without a place or category (a keyword lexeme, a filter
    lexeme alone, or ANY), `by_filter` for keyword × filter anchors, grouped per filter
    lexeme so a bulletin looks up only its own four or five."""

    def __init__(self):
        self.plain: dict[str, list[Compiled]] = {}
        self.by_filter: dict[str, dict[str, list[Compiled]]] = {}

    def add(self, c: Compiled, frequency: dict[str, int]) -> None:
        for anchor in _anchors(c, frequency):
            word, _, filter_lexeme = anchor.partition("|")
            if filter_lexeme:
                words = self.by_filter.setdefault(filter_lexeme, {})
                words.setdefault(word, []).append(c)
            else:
                self.plain.setdefault(word, []).append(c)

    def __len__(self) -> int:
        return len(self.plain) + sum(len(w) for w in self.by_filter.values())

    def candidates(self, lexemes: set[str], filters: list[str]):
        """Every saved search filed under one of these lexemes."""
        for key in (*lexemes, ANY):
            yield from self.plain.get(key, ())
        for filter_lexeme in filters:
            words = self.by_filter.get(filter_lexeme)
            if not words:
                continue
            yield from words.get(ANY, ())
            if len(words) < len(lexemes):  # walk the smaller side
                for word, searches in words.items():
                    if word in lexemes:
                        yield from searches
            else:
                for lexeme in lexemes:
                    yield from words.get(lexeme, ())


class Index:
    """Saved searches by anchor; title-only searches with keywords are filed apart and
    looked up by the title's lexemes, so a keyword in the body does not make them
    candidates."""

    def __init__(self, compiled: list[Compiled], frequency: dict[str, int] | None = None):
        self.body, self.title = _Anchors(), _Anchors()
        for c in compiled:
            (self.title if c.title_only and c.include else self.body).add(c, frequency or {})
        self.compiled = compiled
        self.size = len(compiled)
        self.anchors = len(self.body) + len(self.title)

    def candidates(self, full: set[str], titles: set[str], filters: list[str]):
        yield from self.body.candidates(full, filters)
        yield from self.title.candidates(titles, filters)

    def matches(self, bulletin) -> list[tuple[Compiled, str]]:
        """(saved search, the keyword that matched or "") for one bulletin.

        The bulletin's lexemes are what the site search matches for a visitor: the
        indexed public n-grams (title + body minus what masking hides, `hidden_lexemes`:
        no re-masking, which cost 3 ms a bulletin) and the stored masked-title vector."""
        filters = filter_lexemes(
            province_id=bulletin.province_id,
            city_id=bulletin.city_id,
            region_id=bulletin.region_id,
            category_id=bulletin.category_id,
        )
        full = public_lexemes(
            title=bulletin.title,
            body=bulletin.body,
            hidden_lexemes=bulletin.hidden_lexemes,
            filters=filters,
        )
        titles = _lexemes(bulletin.title_vector or "")
        stage = linking.bulletin_stage(bulletin)
        seen, found = set(), []
        for c in self.candidates(full, titles, filters):
            if c.id in seen:
                continue
            seen.add(c.id)
            if _satisfies(c, full, titles, bulletin, stage):
                found.append((c, c.term))
        return found


def _lexemes(literal: str) -> set[str]:
    return set(literal[1:-1].split("' '")) if literal else set()


def _has(lexemes: set[str], needed: list[str]) -> bool:
    for lexeme in needed:
        if lexeme.endswith("*"):  # a one-character term: any n-gram starting with it
            if not any(x.startswith(lexeme[:-1]) for x in lexemes):
                return False
        elif lexeme not in lexemes:
            return False
    return True


def _satisfies(c: Compiled, full, titles, bulletin, stage) -> bool:
    text = titles if c.title_only else full
    if not all(_has(text, needed) for needed in c.include):
        return False
    if any(_has(text, needed) for needed in c.exclude):
        return False
    if c.regions and not c.regions & full:
        return False
    if c.categories and not c.categories & full:
        return False
    if c.stages and (stage is None or int(stage) not in c.stages):
        return False
    amount = bulletin.amount_yuan
    if c.amount_min is not None and (amount is None or amount < c.amount_min):
        return False
    return not (c.amount_max is not None and (amount is None or amount > c.amount_max))


# What Index.matches reads of a bulletin (with select_related("category")).
MATCH_FIELDS = (
    "title",
    "body",
    "hidden_lexemes",
    "title_vector",
    "stage",
    "province_id",
    "city_id",
    "region_id",
    "category__name",
    "amount_yuan",
    "project_id",
    "winner",  # company watches: the 中标人 a bulletin names (members.alerts)
)

_INDEX: dict = {"generation": None, "index": None}


def current_index() -> Index:
    """The worker's index, rebuilt when saved searches changed since it was built: the
    generation other processes bump, and (should the cache lose it) one aggregate."""
    state = SavedSearch.objects.filter(
        is_active=True, frequency=SavedSearch.Frequency.INSTANT
    ).aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    generation = (cache.get(GENERATION_KEY, 0), state["n"], state["last"], state["top"])
    if _INDEX["index"] is None or _INDEX["generation"] != generation:
        _INDEX["index"] = None
        _INDEX["index"] = build_index()
        _INDEX["generation"] = generation
        # The index is millions of long-lived objects: out of the collector's sight, each
        # batch's garbage collections no longer walk them (a fifth of matching time).
        gc.freeze()
    return _INDEX["index"]


def build_index(searches=None, frequency: dict[str, int] | None = None) -> Index:
    """From plain values (three queries, no model instances: 100,000 searches as models
    with prefetched regions took most of a minute). By default the instant searches, the
    only ones matched at publish time (digest searches: members.digests, at digest time).
    `frequency`: lexeme counts to file searches by (default: the latest bulletins')."""
    if searches is None:
        searches = SavedSearch.objects.filter(frequency=SavedSearch.Frequency.INSTANT)
    active = searches.filter(is_active=True, user__is_active=True)
    regions: dict[int, list] = {}
    for search_id, region_id, level in SavedSearch.regions.through.objects.filter(
        savedsearch__in=active
    ).values_list("savedsearch_id", "region_id", "region__level"):
        regions.setdefault(search_id, []).append((region_id, level))
    categories: dict[int, list] = {}
    for search_id, category_id in SavedSearch.categories.through.objects.filter(
        savedsearch__in=active
    ).values_list("savedsearch_id", "category_id"):
        categories.setdefault(search_id, []).append(category_id)
    compiled = [
        _compile(values, regions.get(values["id"], ()), categories.get(values["id"], ()))
        for values in active.values(*_FIELDS).iterator(chunk_size=5000)
    ]
    return Index(compiled, _recent_frequencies() if frequency is None else frequency)
