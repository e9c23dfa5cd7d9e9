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
