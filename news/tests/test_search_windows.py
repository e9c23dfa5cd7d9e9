"""Week windows (news/search_windows.py) give exactly the answers of a search without one.

At test scale every term is "rare", so the cap is lowered to 5: a window is tried when a
term is expected in more than a few rows, and kept only when it holds more than the cap.
"""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.tests.factories import paid_member
from news import search_windows, selectors
from news.models import Bulletin
from news.search import PUBLIC_VECTOR_SQL, week_lexeme, week_number
from news.search_plans import forget_local_shares
from news.selectors import bulletin_listing
from news.tests.factories import BulletinFactory, ContactFactory, region

pytestmark = pytest.mark.django_db

CAP = 5
DAY = datetime.timedelta(days=1)


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", CAP)
    monkeypatch.setattr(search_windows, "SEARCH_COUNT_CAP", CAP)
    monkeypatch.setattr(search_windows, "MIN_EXPECTED_MATCHES", 0)
    monkeypatch.setattr(search_windows, "HEADROOM", 1.0)


@pytest.fixture
def corpus(small_cap):
    """Twenty weeks of bulletins: 管廊 in most, 桥梁 mostly in old ones, contacts in some."""
    now = timezone.now()
    made = []
    for i in range(60):
        old = i >= 40
        title = f"第{i}号{'桥梁' if old or i % 9 == 0 else '道路'}工程{'管廊' if i % 4 else ''}公告"
        body = "综合管廊及配套工程。" if i % 3 else "道路工程。"
        place = "江苏-镇江-镇江新区" if i % 2 else "上海-上海-普陀区"
        bulletin = BulletinFactory(
            title=title, body=body, published_at=now - (i * 2 + 1) * DAY, region=region(place)
        )
        if i % 5 == 0:
            ContactFactory(bulletin=bulletin, person="王建明", mobile=f"1380000{i:04d}")
        made.append(bulletin)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE news_bulletin")
    cache.clear()  # the sampled shares and the histogram
    forget_local_shares()
    return made


def _answers(params, viewer, page=1):
    listing = bulletin_listing(params, viewer=viewer, page_number=page, per_page=3)
    return [row.id for row in listing.rows], listing.page.paginator.count


def _without_windows(monkeypatch, params, viewer, page=1):
    with monkeypatch.context() as patch:
        patch.setattr(selectors, "windows", lambda *args, **kwargs: iter(()))
        return _answers(params, viewer, page)


CASES = [
    {"q": "管廊"},
    {"q": "管廊", "sort": "newest"},
    {"q": "工程 -桥梁", "sort": "newest"},
    {"q": "管廊", "province": "SH"},
    {"q": "桥梁", "sort": "newest"},  # few new matches: the first window widens
    {"q": "王建明"},  # a contact: found by members who may search contacts only
]


@pytest.mark.parametrize("params", CASES)
@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_a_window_gives_the_answers_of_the_whole_index(corpus, monkeypatch, params, who):
    viewer = paid_member() if who == "member" else None
    if "province" in params:
        params = {**params, "province": str(region("上海").pk)}
    for page in (1, 2):
        with CaptureQueriesContext(connection) as queries:
            windowed = _answers(params, viewer, page)
        assert windowed == _without_windows(monkeypatch, params, viewer, page), (params, page)
    if params["q"] == "管廊":  # common enough here for a window that holds more than the cap
        assert any("'~w" in q["sql"] for q in queries.captured_queries)


def test_a_window_is_kept_only_when_it_holds_more_than_the_cap(corpus):
    with CaptureQueriesContext(connection) as queries:
        listing = bulletin_listing({"q": "管廊", "sort": "newest"}, viewer=None, per_page=3)
    pages = [q["sql"] for q in queries.captured_queries if "LIMIT 3" in q["sql"]]
    assert pages and "'~w" in pages[-1]  # the page itself was read through the window
    newest = Bulletin.objects.published().filter(title__contains="管廊").order_by("-published_at")
    assert [row.id for row in listing.rows] == [b.pk for b in newest[:3]]
    assert listing.page.paginator.capped


def test_every_published_row_holds_the_lexeme_of_its_week(corpus):
    bulletin = corpus[7]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tsvector_to_array({PUBLIC_VECTOR_SQL}) FROM news_bulletin WHERE id = %s",
            [bulletin.pk],
        )
        lexemes = set(cursor.fetchone()[0])
    assert week_lexeme(week_number(bulletin.published_at)) in lexemes
    assert [x for x in lexemes if x.startswith("~w")] == [
        week_lexeme(week_number(bulletin.published_at))
    ]
