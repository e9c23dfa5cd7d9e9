"""The computed public search vector (news/search.py, migration 0010) on PostgreSQL."""

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from news.models import Bulletin
from news.search import filter_lexemes, lexemes, parse_query, public_lexemes
from news.tests.factories import BulletinFactory, ContactFactory

pytestmark = pytest.mark.django_db

# Characters at and around the edges of the CJK ranges, ASCII letters in both cases,
# digits, letters whose Unicode lower case is ASCII (Kelvin sign, dotted I), full-width
# forms, punctuation, a supplementary-plane ideograph and a combining mark.
_EDGES = "\u33ff\u3400\u4dbf\u4dc0\u4dff\u4e00\u9fff\ua000\uf8ff\uf900\ufaff\ufb00"
_ALPHABET = _EDGES + "镇江道路污水处理工程王建明AZaz09Kİ\u212aＡａ１,.:：、 \n\t-*@𠀀\u0301"


def _sql_lexemes(text: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(news_ngrams(%s))", [text])
        return set(cursor.fetchone()[0])


@given(text=st.text(alphabet=_ALPHABET, max_size=60))
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_postgresql_and_python_cut_the_same_ngrams(text):
    """The index (news_ngrams in SQL) and hidden_lexemes / alert matching (Python) must
    agree to the character: a lexeme Python hides but SQL spells differently would stay
    searchable."""
    assert _sql_lexemes(text) == lexemes(text)


def test_stored_public_vector_equals_what_python_computes():
    bulletin = BulletinFactory(
        title="镇江新区道路工程招标公告", body="联系人:王建明\n手机:13800000002\nPM2.5监测"
    )
    ContactFactory(bulletin=bulletin, person="王建明", mobile="13800000002")
    bulletin.save()
    bulletin.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(news_public_vector(title, body, hidden_lexemes,"
            " province_id, city_id, region_id, category_id)) FROM news_bulletin WHERE id = %s",
            [bulletin.pk],
        )
        in_sql = set(cursor.fetchone()[0])
    filters = filter_lexemes(
        province_id=bulletin.province_id,
        city_id=bulletin.city_id,
        region_id=bulletin.region_id,
        category_id=bulletin.category_id,
    )
    expected = public_lexemes(
        title=bulletin.title,
        body=bulletin.body,
        hidden_lexemes=bulletin.hidden_lexemes,
        filters=filters,
    )
    assert in_sql == expected
    # The contact's n-grams are hidden; the public words around them are not.
    assert {"王建", "建明", "王建明", "13800000002"} <= set(bulletin.hidden_lexemes.split())
    assert {"镇江", "道路", "pm2", "监测"} <= in_sql
    assert not in_sql & {"王建", "建明", "13800000002"}


def test_no_body_vector_is_stored():
    """The point of the design: no multi-KB column per bulletin."""
    columns = {f.column for f in Bulletin._meta.concrete_fields}
    assert "search_vector" not in columns
    bulletin = BulletinFactory(title="镇江道路工程", body="道路" * 2000)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_size(news_bulletin.*) FROM news_bulletin WHERE id = %s",
            [bulletin.pk],
        )
        row_bytes = cursor.fetchone()[0]
    assert row_bytes < 2_000  # the 12 KB body compresses; nothing else is large


def test_search_uses_the_expression_index():
    """A query spelled differently from the index, or naming the outer table inside a
    subquery, would compute every row's n-grams. On a table this small the planner may
    prefer other indexes, so they are dropped for the test (rolled back with it): left
    with the GIN index or a sequential scan, it must pick the index for every form."""
    for n in range(30):
        BulletinFactory(title=f"工程{n}", body="新建学校")
    BulletinFactory(title="镇江道路工程", body="道路")
    with connection.cursor() as cursor:
        for name in ("recent", "category", "province", "city", "region"):
            cursor.execute(f"DROP INDEX bulletin_pub_{name}")
        # Earlier tests' inserts (rolled back) wait in the GIN indexes' pending lists, which
        # the planner charges to a scan of them; autovacuum empties them in production.
        for index in ("bulletin_pub_search", "bulletin_pub_contact_search"):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        cursor.execute("ANALYZE news_bulletin")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cases = [(q, contacts) for q in ("镇江", "镇江 -学校", "-学校") for contacts in (0, 1)]
        for query, contacts in cases:
            matched = Bulletin.objects.published().search(
                parse_query(query), with_contacts=bool(contacts)
            )
            # As the list ranks: the newest matches, as a subquery of the ranking query.
            ranked = Bulletin.objects.filter(
                pk__in=matched.newest_first().values("pk")[:1000]
            ).by_relevance(parse_query(query))
            for rows in (matched, ranked):
                sql, params = rows.query.sql_with_params()
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = "\n".join(line for (line,) in cursor.fetchall())
                assert "bulletin_pub_search" in plan, (query, plan)
                assert "Filter: (news_public_vector" not in plan, (query, plan)
                assert "One-Time Filter" not in plan, (query, plan)
        ranked_rows = Bulletin.objects.filter(
            pk__in=Bulletin.objects.published()
            .search(parse_query("镇江"), with_contacts=True)
            .newest_first()
            .values("pk")[:1000]
        ).by_relevance(parse_query("镇江"))
        assert [b.title for b in ranked_rows] == ["镇江道路工程"]


@pytest.mark.parametrize("with_contacts", [False, True])
def test_exclusions_by_anti_join_find_the_right_rows(with_contacts):
    keep = BulletinFactory(title="镇江道路工程", body="道路")
    BulletinFactory(title="镇江学校工程", body="学校")
    other = BulletinFactory(title="南京医院工程", body="医院")
    rows = Bulletin.objects.published()
    if with_contacts:
        found = set(rows.search(parse_query("工程 -学校"), with_contacts=True))
        alone = set(rows.search(parse_query("-学校"), with_contacts=True))
    else:
        found = set(rows.search(parse_query("工程 -学校")))
        alone = set(rows.search(parse_query("-学校")))
    assert found == {keep, other}
    assert alone == {keep, other}


def test_the_list_searches_through_bitmaps_only(client):
    """With a common term and a newest-first LIMIT the planner would rather walk the date
    index computing each row's n-grams (~1 ms a row at scale); the list must not let it."""
    from django.test.utils import CaptureQueriesContext

    from news.search_plans import bitmap_search

    for n in range(400):
        # 道路 in 1 of 30: below news.search_plans.SCAN_SHARE, so the index answers.
        BulletinFactory(title=f"城区道路工程{n}" if n % 30 == 0 else f"学校工程{n}", body="正文")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE news_bulletin")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/bulletins/", {"q": "道路", "sort": "newest"})
    assert response.status_code == 200
    statements = [q["sql"] for q in captured.captured_queries]
    searches = [i for i, sql in enumerate(statements) if "news_public_vector" in sql]
    assert searches, statements
    bitmaps_only = [i for i, sql in enumerate(statements) if "enable_indexscan = off" in sql]
    assert bitmaps_only and bitmaps_only[0] < searches[0]
    query = parse_query("道路")
    with bitmap_search(query), connection.cursor() as cursor:
        for i in searches:
            cursor.execute(f"EXPLAIN {statements[i]}")
            plan = "\n".join(line for (line,) in cursor.fetchall())
            assert "bulletin_pub_search" in plan, plan
            assert "Filter: (news_public_vector" not in plan, plan


QUERIES = [
    "道路",
    "镇江 道路",
    "改扩建",
    "污水处理",
    "桥",
    "路",
    "pm2",
    "PM2",
    "道路 -学校",
    "工程 -污水",
    '"城区 道路"',
    "王建明",
    "建明",
    "13800000002",
    "王",
    "明",
]


@pytest.fixture
def mixed_corpus():
    bulletins = [
        BulletinFactory(title="镇江新区道路提升改造工程", body="道路全长2.6公里,PM2.5监测。"),
        BulletinFactory(title="城东污水处理厂扩建", body="新建污水处理设施一座,桥梁一座。"),
        BulletinFactory(title="桃浦中学改扩建工程", body="学校改扩建。城区道路同步施工。"),
        BulletinFactory(title="运河大桥维修", body="桥面维修,pm25在线监测。"),
    ]
    person = BulletinFactory(
        title="城区道路工程招标", body="项目负责人:王建明\n手机:13800000002\n道路工程。"
    )
    ContactFactory(bulletin=person, person="王建明", mobile="13800000002")
    person.save()
    return bulletins + [person]


@pytest.mark.parametrize("with_contacts", [False, True])
def test_testing_rows_answers_as_the_index_does(mixed_corpus, with_contacts):
    """The plan for common terms (news.search_plans) must find the same rows, and no
    more: a contact only a member may search stays unfindable for everyone else."""
    rows = Bulletin.objects.published()
    for raw in QUERIES:
        query = parse_query(raw)
        by_index = set(rows.search(query, with_contacts=with_contacts))
        by_rows = set(rows.search(query, with_contacts=with_contacts, scan=True))
        assert by_rows == by_index, raw
    person = mixed_corpus[-1]
    for contact_term in ("王建明", "建明", "13800000002"):
        found = set(rows.search(parse_query(contact_term), with_contacts=with_contacts, scan=True))
        assert (person in found) is with_contacts, contact_term


def test_the_plan_follows_what_each_costs(monkeypatch):
    """At a million bulletins: a page of a term most bulletins hold is found by walking
    the newest rows; a rarer term, or one common term excluded by another, by the index."""
    from news import search_plans

    shares = {"项目": 0.9, "工程": 0.8, "医院": 0.3, "学校": 0.3, "道路": 0.16, "镇江": 0.05}
    monkeypatch.setattr(search_plans, "common_shares", lambda: {**shares, "": 1_000_000})
    scans = search_plans.scans_rows
    assert scans(parse_query("项目")) and scans(parse_query("项目 工程"))
    assert scans(parse_query("医院 学校"))  # 9 % if independent
    assert scans(parse_query("道路"), needed=1000)  # 6,250 rows walked vs 160,000 sorted
    assert scans(parse_query("镇江"))  # a newest page: 400 rows walked vs 50,000 sorted
    assert not scans(parse_query("镇江"), needed=1000)  # the newest 1,000: 20,000 walked
    assert not scans(parse_query("七台"))  # rarer than the sample shows
    assert not scans(parse_query("镇江 -道路"), needed=1000)
    assert not scans(parse_query("项目"), title_only=True)


def test_a_walked_search_lists_and_counts_the_right_rows(client, monkeypatch):
    from news import filters

    monkeypatch.setattr(filters, "scans_rows", lambda *args, **kwargs: True)
    for n in range(30):
        BulletinFactory(title=f"项目{n}号道路工程", body="学校" if n % 2 else "医院")
    for sort in ("newest", "relevance"):
        response = client.get("/bulletins/", {"q": "项目 -医院", "sort": sort})
        assert response.status_code == 200
        assert response.content.decode().count("号道路工程") == 15


def test_a_row_walk_that_runs_long_falls_back_to_the_index(client, monkeypatch):
    """Terms common alone but rare together (医院 and 学校 never meet here) would walk the
    whole table: when the walk runs long the list asks the index instead."""
    from contextlib import contextmanager

    from django.core.cache import cache
    from django.test.utils import CaptureQueriesContext

    from news import selectors
    from news.search_plans import WalkTooLong

    cache.clear()
    for n in range(30):
        BulletinFactory(title=f"项目{n}号", body="学校" if n % 2 else "医院")
    BulletinFactory(title="医院学校合建项目", body="医院 学校")

    @contextmanager
    def walk_runs_long():
        yield
        raise WalkTooLong

    from news import filters

    monkeypatch.setattr(filters, "scans_rows", lambda *args, **kwargs: True)
    monkeypatch.setattr(selectors, "row_walk", walk_runs_long)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/bulletins/", {"q": "医院 学校", "sort": "newest"})
    assert response.status_code == 200
    assert "医院学校合建项目" in response.content.decode()
    assert any("news_public_vector" in q["sql"] for q in captured.captured_queries)


def test_row_walk_stops_a_long_statement(settings):
    from news.search_plans import WalkTooLong, row_walk

    settings.SEARCH_SCAN_TIMEOUT_MS = 20
    with pytest.raises(WalkTooLong), row_walk(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.5)")
    with connection.cursor() as cursor:  # the connection is usable, the timeout gone
        cursor.execute("SELECT pg_sleep(0.05), current_setting('statement_timeout')")
        assert cursor.fetchone()[1] == "0"
