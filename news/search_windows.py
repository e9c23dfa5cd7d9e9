"""The newest matches of a common term without reading every match.

A search page needs at most the newest SEARCH_COUNT_CAP + 1 matches: relevance ranks the
newest 1,000, the capped count stops at 1,001 and no page reaches deeper. A GIN bitmap
hands over every match, though: 160,000 rows to read and sort for a term a sixth of a
million bulletins hold. Every bulletin's public vector also holds the lexeme of the week it
was published (migration 0014), so the query "term AND one of the newest weeks" is a GIN
scan that skips through the term's postings to those weeks (PostgreSQL's "fast scan"),
and reads only the window's matches.

The answer is the same as without a window whenever the window holds more than the cap:
rows outside it are all older than every row inside, so the newest cap + 1 matches (the
count, the ranked set, every page) are inside. When it holds fewer, the window widens
fourfold, and past half the table the search runs without one. How wide to start comes
from the shares of the query's lexemes in the latest bulletins (news.search_plans) and
PostgreSQL's histogram of publication times.
"""

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from news.paging import SEARCH_COUNT_CAP
from news.search import WEEK_SECONDS, term_lexemes, week_lexeme, week_number
from news.search_plans import common_shares, expected_share
from portal.db_routers import reading_from

# Below this many expected matches the whole bitmap is cheap (4 µs a row to sort).
MIN_EXPECTED_MATCHES = 3 * (SEARCH_COUNT_CAP + 1)
# The first window is sized for this many times the matches needed: shares are sampled.
HEADROOM = 2.0
WIDEN = 4
# GIN ORs the weeks' postings: past a few months of weeks that costs more than it saves
# (measured at 1M: 2 weeks 23 ms, ~40 weeks 200 ms, where the whole bitmap of a 3 % term
# took 7 ms), so wider windows are not tried.
MAX_WEEKS = 12
_HISTOGRAM_KEY = "search:published-at-histogram"
_HISTOGRAM_SECONDS = 3600


@dataclass(frozen=True)
class Window:
    """Bulletins published since `since` (a week's start); `lexemes` name those weeks."""

    since: datetime.datetime
    lexemes: tuple[str, ...]
    rows: float  # the rows expected in it


def _histogram() -> tuple[float, list[float]]:
    """(published rows, ascending bucket bounds of published_at as epoch seconds): the
    planner's own statistics, no table scan."""
    found = cache.get(_HISTOGRAM_KEY)
    if found is None:
        with connections[reading_from()].cursor() as cursor:
            cursor.execute(
                "SELECT c.reltuples, s.histogram_bounds::text::timestamptz[] "
                "FROM pg_class c LEFT JOIN pg_stats s ON s.tablename = c.relname "
                "AND s.attname = 'published_at' AND s.schemaname = current_schema() "
                "WHERE c.relname = 'news_bulletin'"
            )
            row = cursor.fetchone()
        rows, bounds = (row or (0, None))[0], (row or (0, None))[1]
        found = (max(float(rows or 0), 0.0), [b.timestamp() for b in bounds or []])
        cache.set(_HISTOGRAM_KEY, found, _HISTOGRAM_SECONDS)
    return found


def _since_for(rows_wanted: float, total: float, bounds: list[float]) -> float | None:
    """The publication time after which about `rows_wanted` rows lie (None: most of the
    table, no window)."""
    if not bounds or total <= 0 or rows_wanted >= total / 2:
        return None
    # Equal-depth buckets: each holds total / (len(bounds) - 1) rows.
    buckets = len(bounds) - 1
    position = buckets * (1 - rows_wanted / total)
    index = int(position)
    return bounds[index] + (bounds[index + 1] - bounds[index]) * (position - index)


def _window(rows_wanted: float) -> Window | None:
    total, bounds = _histogram()
    since = _since_for(rows_wanted, total, bounds)
    if since is None:
        return None
    now = timezone.now()
    first = int(since // WEEK_SECONDS)
    last = week_number(now)
    if first > last:
        first = last
    start = datetime.datetime.fromtimestamp(first * WEEK_SECONDS, tz=datetime.UTC)
    return Window(start, tuple(week_lexeme(w) for w in range(first, last + 1)), rows_wanted)


def _has_prefix(query) -> bool:
    return any(x.endswith("*") for term in query.include for x in term_lexemes(term))


def _filter_share(filters) -> float:
    shares = common_shares()
    share = 1.0
    for lexeme in filters:
        share *= shares.get(lexeme, 0.0)
    return share


def windows(query, *, filters=(), title_only=False):
    """The windows to try for a search, narrowest first (none: search without one)."""
    if not (query and query.include) or title_only or _has_prefix(query):
        return
    share = expected_share(query) * _filter_share(filters)
    total = _histogram()[0]
    if share <= 0 or share * total < MIN_EXPECTED_MATCHES:
        return
    rows = (SEARCH_COUNT_CAP + 1) / share * HEADROOM
    while (window := _window(rows)) is not None and len(window.lexemes) <= MAX_WEEKS:
        yield window
        rows *= WIDEN


def skips_the_walk(query, *, filters=(), title_only=False) -> bool:
    """Whether a window answers this search (so news.search_plans need not walk rows)."""
    return next(windows(query, filters=filters, title_only=title_only), None) is not None
