"""Hostile and random query strings on every list, search, project and feed URL: a visitor
may get an empty list or a 400/404, never a server error (hypothesis, 1,000 each)."""

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from news.filters import BulletinFilter
from news.project_selectors import ProjectFilter
from news.tests.factories import BulletinFactory, ContactFactory

HOSTILE = [
    "",
    "\x00",
    "a\x00b",
    "\r\n",
    "-1",
    "0",
    "9" * 40,
    "-" + "9" * 30,
    "1e309",
    "NaN",
    "2026-02-30",
    "0000-00-00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "镇江" * 300,
    "%00",
    "\ud7ff\ue000",
    '道路 -道路 "" -',
    '"未闭合',
    "\u202e\u200b",
]
VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=60),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(alphabet='镇江道路污水处理招标-" 0123456789', max_size=20),
)


def _keys(*filtersets):
    names = {"page", "q", "sort", "format", "per_page"}
    for filterset in filtersets:
        names |= set(filterset.base_filters)
    return sorted(names)


def _query(keys):
    # Pairs, so a key may repeat (?page=1&page=x) as hostile clients send it.
    pair = st.tuples(st.one_of(st.sampled_from(keys), st.text(max_size=12)), VALUES)
    return st.lists(pair, max_size=8).map(lambda pairs: urlencode(pairs))


URLS = {
    "bulletins": ("/bulletins/", _keys(BulletinFilter)),
    "projects": ("/projects/", _keys(ProjectFilter)),
    "rss": ("/bulletins/feed/rss/", _keys(BulletinFilter)),
    "atom": ("/bulletins/feed/atom/", _keys(BulletinFilter)),
    "home": ("/", ["q", "page"]),
}


@pytest.fixture
def some_bulletins(db):
    for title in ("镇江新区道路改造工程招标公告", "常州污水处理厂扩建项目", "上海学校建设项目"):
        ContactFactory(bulletin=BulletinFactory(title=title), phone="0511-83000001")


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(URLS))
def test_query_strings_never_cause_a_server_error(name, client, some_bulletins):
    path, keys = URLS[name]
    client.raise_request_exception = False

    @settings(
        max_examples=1000,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(query=_query(keys))
    def check(query):
        response = client.get(f"{path}?{query}")
        assert response.status_code < 500, (path, query, response.status_code)

    check()


@pytest.mark.django_db
@given(pk=st.one_of(st.integers(min_value=-(10**12), max_value=10**12), st.just(0)))
@settings(max_examples=200, deadline=None, database=None)
def test_odd_ids_in_paths_are_404_not_500(pk):
    from django.test import Client

    client = Client(raise_request_exception=False)
    for pattern in ("/bulletins/{}/", "/projects/{}/", "/organizations/{}/"):
        url = pattern.format(pk)
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
