"""How PostgreSQL must run a search over the computed public vector (news/search.py).

The planner charges the n-gram expression to every row a plan tests it on, and also to
every row a bitmap scan fetches (it might have to recheck), so under a LIMIT it may prefer
walking the newest-first index and computing each row's n-grams until it has a page:
~1 ms a row, 0.4 s for 镇江 at a million bulletins. An exact GIN bitmap computes nothing
(work_mem keeps it exact), so within `bitmap_search` a query with search terms reaches
the table through bitmaps only. Exclusion-only queries anti-join a bitmap already
(BulletinQuerySet.search) and keep the newest-first index.

Bitmaps are the wrong plan for terms many bulletins hold (项目, 工程, a frequent single
character): the bitmap is a large part of the table and every matching row is read to
sort it, 0.5 s or more. For those `scans_rows` chooses the other plan when it costs less
(expected share from the latest bulletins, rows needed: a page, or the newest 1,000 that
relevance ranks): walk the newest rows and test each row's own text
(`BulletinQuerySet.search(scan=True)`, tens of microseconds a row). The capped count
always comes from the index: the bitmap stops at 1,001 rows.
"""

import time
from collections import Counter
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, connections, transaction
from psycopg2.errors import QueryCanceled

from news.search import _runs, filter_lexemes, is_cjk, public_lexemes, term_lexemes
from portal.db_routers import reading_from

# What each plan costs a row, measured at a million bulletins (BENCHMARKS.md, search
# mix): a walk reads a row and tests its text (~40 µs); a bitmap hands over every match,
# which PostgreSQL reads to sort (~4 µs).
WALK_ROW_US = 40
BITMAP_ROW_US = 4
_FLOOR = 0.005  # shares below this are not kept: the index is always right for them
_SAMPLE = 2000
_SHARES_KEY = "search:common-lexeme-shares:2"
_SHARES_SECONDS = 6 * 3600

_BITMAPS_ONLY = "SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = off"
_DEFAULTS = "SET LOCAL enable_indexscan TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT"
# The planner cannot know how often a row test passes (it multiplies default guesses into
# "almost never", then reads the whole table in parallel and sorts it): a walk goes down
# an index in the order asked, newest first, one process, no sort of the rows it reads.
_WALK_SETTINGS = ("enable_seqscan", "enable_bitmapscan", "enable_sort")
_WALK = (
    "".join(f"SET LOCAL {name} = off; " for name in _WALK_SETTINGS)
    + "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL statement_timeout = %d"
)
_WALK_DEFAULTS = " ".join(
    f"SET LOCAL {name} TO DEFAULT;"
    for name in (*_WALK_SETTINGS, "max_parallel_workers_per_gather", "statement_timeout")
)


def common_shares() -> dict[str, float]:
    """Lexemes (and "x*" one-character prefixes) held by at least 0.5 % of the latest
    bulletins, with their share, and "" for the number of published bulletins; sampled at
    most every six hours (~1 s)."""
    # Kept in the process for a minute too: the dict holds thousands of lexemes, and
    # unpickling it from the shared cache cost ~0.7 ms each of the several reads a
    # search makes.
    now = time.monotonic()
    if _LOCAL and now - _LOCAL[0] < _LOCAL_SECONDS:
        return _LOCAL[1]
    shares = cache.get(_SHARES_KEY)
    if shares is None:
        shares = _sampled_shares()
        cache.set(_SHARES_KEY, shares, _SHARES_SECONDS)
    _LOCAL[:] = [now, shares]
    return shares


_LOCAL: list = []  # [when read, shares]
_LOCAL_SECONDS = 60


def forget_local_shares() -> None:
    _LOCAL.clear()


def _sampled_shares() -> dict[str, float]:
    from news.models import Bulletin

    latest = Bulletin.objects.published().order_by("-published_at")
    columns = ("title", "body", "hidden_lexemes", "province_id", "city_id", "region_id")
    rows = latest.values_list(*columns, "category_id")[:_SAMPLE]
    counts: Counter = Counter()
    n = 0
    for title, body, hidden, province, city, region, category in rows:
        n += 1
        # the place and category lexemes too: news.search_windows sizes windows by them
        places = filter_lexemes(
            province_id=province, city_id=city, region_id=region, category_id=category
        )
        lexemes = public_lexemes(title=title, body=body, hidden_lexemes=hidden, filters=places)
        counts.update(lexemes)
        counts.update({f"{x[0]}*" for x in lexemes if is_cjk(x)})
    shares = {x: c / n for x, c in counts.items() if c / n >= _FLOOR} if n else {}
    shares[""] = _published_estimate()
    return shares


def _published_estimate() -> float:
    # the planner's own row count: no table scan
    with connections[reading_from()].cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'news_bulletin'")
        row = cursor.fetchone()
    return max(float(row[0]) if row else 0.0, 0.0)


def expected_share(query) -> float:
    """The share of bulletins expected to match: the terms' shares multiplied (independent
    terms, as the query ANDs them), each excluded term taking its rows away."""
    shares = common_shares()
    share = 1.0
    for term in query.include:
        share *= _term_share(term, shares)
    for term in query.exclude:  # a row holding the term's rarest lexeme may be excluded
        share *= 1.0 - min((shares.get(x, 0.0) for x in term_lexemes(term)), default=0.0)
    return share


def _term_share(term: str, shares) -> float:
    """A word's n-grams go together (its rarest says how often); the words of a quoted
    phrase ("人民 区文") are as independent as separate terms, so their shares multiply:
    taking the rarer word's share alone made a walk look cheap and read thousands of rows."""
    share = 1.0
    for run in _runs(term):
        share *= min((shares.get(x, 0.0) for x in term_lexemes(run)), default=0.0)
    return share


def scans_rows(query, *, title_only: bool = False, needed: int = 20, filters=()) -> bool:
    """Whether walking the newest rows to find the `needed` newest matches costs less than
    sorting every match the index hands over. `filters`: the place / category lexemes the
    search also holds; a walk tests them as columns, so a rare place makes it long."""
    if not (query and query.include) or title_only or connection.vendor != "postgresql":
        return False
    share = expected_share(query)
    for lexeme in filters:  # below the sampled floor: rare, the index answers
        share *= common_shares().get(lexeme, 0.0)
    if share <= 0:
        return False
    walk = needed / share * WALK_ROW_US
    bitmap = share * common_shares().get("", 0.0) * BITMAP_ROW_US
    return walk < bitmap


def counts_by_walk(query) -> bool:
    """For a walked search, whether the capped count walks too: the bitmap stops at 1,001
    rows, but building it merges every posting list of the term: ~0.1 s for a lexeme in
    every bulletin, ~0.5 s for a frequent one-character prefix, where walking 1,001
    matches of a term a quarter of the rows hold reads ~4,000 rows."""
    prefixes = any(x.endswith("*") for t in query.include for x in term_lexemes(t))
    return prefixes or expected_share(query) >= 0.25


@contextmanager
def row_walk():
    """Where the shares mislead (terms common alone, rare together), a walk could read the
    whole table: it gets SEARCH_SCAN_TIMEOUT_MS, then `WalkTooLong` (ask the index)."""
    timeout = int(getattr(settings, "SEARCH_SCAN_TIMEOUT_MS", 300))
    # The settings must hold on the connection the search reads from (a replica for a
    # web page: portal/db_routers.py); a transaction there, not on the primary.
    alias = reading_from()
    connection = connections[alias]
    try:
        with transaction.atomic(using=alias):
            with connection.cursor() as cursor:
                cursor.execute(_WALK % int(timeout))
            yield
            with connection.cursor() as cursor:  # inside a caller's transaction too
                cursor.execute(_WALK_DEFAULTS)
    except OperationalError as exc:
        if isinstance(exc.__cause__, QueryCanceled):
            raise WalkTooLong from exc
        raise


class WalkTooLong(Exception):
    pass


@contextmanager
def bitmap_search(query):
    """Run the queries of a search (a `news.search.ParsedQuery`) inside this block."""
    alias = reading_from()  # as row_walk
    connection = connections[alias]
    if not (query and query.include) or connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            cursor.execute(_BITMAPS_ONLY)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(_DEFAULTS)
