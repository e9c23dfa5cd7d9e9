"""Chinese search, feeds and sitemap on PostgreSQL."""

import datetime
import os
import re

import feedparser
import pytest
from django.utils import timezone

from news.models import Bulletin, Region
from news.search import document, parse_query, tsquery
from news.tests.factories import BulletinFactory, ContactFactory, category, region
from news.tests.test_views import listed_titles

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def search(client, **params):
    response = client.get("/bulletins/", params)
    assert response.status_code == 200
    return response


@pytest.fixture
def corpus():
    now = timezone.now()

    def make(title, body, days_ago, **kw):
        return BulletinFactory(title=title, body=body, published_at=now - days_ago * DAY, **kw)

    return {
        "zj_road": make("镇江新区港南路道路提升改造工程", "道路全长约2.6公里。", 1),
        "zj_body": make(
            "长三角合作恳谈会举行", "镇江市政府在上海举行恳谈会。联系人:王建明 手机:13800000002", 2
        ),
        "sewage": make("城东污水处理厂扩建工程", "新建污水处理设施一座。", 3),
        "sewage_split": make("城西污水管网工程", "污水管网及处理设施。", 4),
        "school": make(
            "上海市普陀区桃浦中学改扩建工程",
            "学校改扩建。",
            5,
            category=category("award"),
            region=region("上海-上海-普陀区"),
        ),
        "old_zj_title": make("镇江老城区学校新建工程", "新建学校。", 400),
        "bridge": make("运河大桥维修工程", "桥面维修。", 6),
        "draft": make("镇江草稿公告", "镇江", 0, status=Bulletin.Status.DRAFT),
    }


class TestQueryLanguage:
    def test_two_characters_match_title_and_body(self, client, corpus):
        titles = listed_titles(search(client, q="镇江", sort="newest"))
        assert titles == [
            "镇江新区港南路道路提升改造工程",
            "长三角合作恳谈会举行",
            "镇江老城区学校新建工程",
        ]

    def test_four_characters_are_a_phrase_not_loose_characters(self, client, corpus):
        titles = listed_titles(search(client, q="污水处理"))
        assert titles == ["城东污水处理厂扩建工程"]  # 城西's 污水 … 处理 are apart

    def test_several_words_must_all_match(self, client, corpus):
        assert listed_titles(search(client, q="镇江 学校")) == ["镇江老城区学校新建工程"]

    def test_exclusion(self, client, corpus):
        titles = listed_titles(search(client, q="镇江 -上海", sort="newest"))
        assert titles == ["镇江新区港南路道路提升改造工程", "镇江老城区学校新建工程"]

    def test_only_exclusion(self, client, corpus):
        titles = set(listed_titles(search(client, q="-工程")))
        assert titles == {"长三角合作恳谈会举行"}

    def test_quoted_phrase(self, client, corpus):
        assert listed_titles(search(client, q='"提升改造"')) == ["镇江新区港南路道路提升改造工程"]
        assert listed_titles(search(client, q='"改造提升"')) == []

    def test_title_only(self, client, corpus):
        titles = listed_titles(search(client, q="镇江", title_only="on", sort="newest"))
        assert titles == ["镇江新区港南路道路提升改造工程", "镇江老城区学校新建工程"]

    def test_single_character(self, client, corpus):
        assert "运河大桥维修工程" in listed_titles(search(client, q="桥"))

    def test_relevance_puts_title_hits_first_newest_among_equals(self, client, corpus):
        titles = listed_titles(search(client, q="镇江"))
        # Both title hits (newest first) before the newer body-only hit.
        assert titles == [
            "镇江新区港南路道路提升改造工程",
            "镇江老城区学校新建工程",
            "长三角合作恳谈会举行",
        ]

    def test_search_combines_with_filters(self, client, corpus):
        shanghai = Region.objects.get(name="上海", parent=None)
        params = {"q": "工程", "province": shanghai.pk, "category": "award"}
        assert listed_titles(search(client, **params)) == ["上海市普陀区桃浦中学改扩建工程"]
        jiangsu = Region.objects.get(name="江苏", parent=None)
        params = {"q": "学校", "province": jiangsu.pk, "sort": "newest"}
        assert listed_titles(search(client, **params)) == ["镇江老城区学校新建工程"]

    def test_moving_a_bulletin_moves_it_between_province_searches(self, client, corpus):
        bulletin = corpus["bridge"]
        jiangsu = Region.objects.get(name="江苏", parent=None)
        shanghai = Region.objects.get(name="上海", parent=None)
        assert listed_titles(search(client, q="大桥", province=jiangsu.pk)) == ["运河大桥维修工程"]
        bulletin.region = region("上海-上海-普陀区")
        bulletin.save()
        assert listed_titles(search(client, q="大桥", province=jiangsu.pk)) == []
        assert listed_titles(search(client, q="大桥", province=shanghai.pk)) == ["运河大桥维修工程"]

    def test_drafts_never_match(self, client, corpus):
        assert "镇江草稿公告" not in listed_titles(search(client, q="镇江"))


class TestSnippets:
    def test_snippet_marks_the_terms(self, client, corpus):
        html = search(client, q="恳谈会").content.decode()
        assert "<mark>恳谈会</mark>" in html

    def test_snippet_passes_through_masking(self, corpus):
        from news.snippets import snippet

        masked = snippet(corpus["zj_body"].body, ["镇江"], contacts_visible=False)
        assert "13800000002" not in masked and "王建明" not in masked
        assert "138********" in masked and "<mark>镇江</mark>" in masked
        shown = snippet(corpus["zj_body"].body, ["镇江"], contacts_visible=True)
        assert "13800000002" in shown

    def test_snippet_escapes_html(self):
        from news.snippets import snippet

        assert "<b>" not in snippet("<b>镇江</b>道路", ["镇江"], contacts_visible=True)


@pytest.mark.parametrize(
    "q",
    [
        "",
        "   ",
        "镇" * 500,
        "!!!@@@###",
        "'; DROP TABLE news_bulletin; --",
        '"镇江',
        '镇江"',
        "-",
        "a:*|b",
        "\\",
        "<script>",
        "%_%",
    ],
)
def test_bad_queries_give_a_normal_page(client, corpus, q):
    response = client.get("/bulletins/", {"q": q})
    assert response.status_code == 200
    assert Bulletin.objects.count() == 8


def test_very_long_query_is_reported(client, corpus):
    html = client.get("/bulletins/", {"q": "镇" * 500}).content.decode()
    assert 'class="error"' in html


def test_count_is_capped(client, monkeypatch):
    monkeypatch.setattr("news.selectors.COUNT_CAP", 5)
    BulletinFactory.create_batch(8)
    html = client.get("/bulletins/").content.decode()
    assert "超过 5 条结果" in html
    assert "第 1 / 1 页" in html


def test_search_count_has_its_own_lower_cap(client, monkeypatch):
    monkeypatch.setattr("news.selectors.COUNT_CAP", 50)
    monkeypatch.setattr("news.selectors.SEARCH_COUNT_CAP", 3)
    BulletinFactory.create_batch(5, title="镇江道路工程")
    assert "共 5 条" in client.get("/bulletins/").content.decode()
    html = client.get("/bulletins/", {"q": "镇江"}).content.decode()
    assert "超过 3 条结果" in html


def test_deep_page_beyond_the_cap_shows_the_last_reachable_page(client, monkeypatch):
    monkeypatch.setattr("news.selectors.COUNT_CAP", 5)
    monkeypatch.setattr("news.selectors.PAGE_SIZE", 2)
    BulletinFactory.create_batch(8)
    response = client.get("/bulletins/", {"page": 99})
    html = response.content.decode()
    assert response.status_code == 200
    assert "第 3 / 3 页" in html  # 5 reachable rows, 2 a page
    assert html.count('class="bulletin-row"') == 1


class TestIndexTerms:
    def test_document_and_query_agree_with_substring_search(self, corpus):
        """Each title bigram search returns exactly the rows a LIKE would return."""
        for term in ["镇江", "工程", "污水", "学校", "改扩建"]:
            found = set(Bulletin.objects.published().search(parse_query(term)))
            like = {b for b in Bulletin.objects.published() if term in b.title or term in b.body}
            assert found == like, term

    def test_tsquery_literals(self):
        assert tsquery(parse_query("镇江")) == "('镇江')"
        assert tsquery(parse_query("改扩建")) == "('改扩建')"
        assert tsquery(parse_query("污水处理")) == "('污水处' & '水处理')"
        assert tsquery(parse_query("桥 -上海")) == "('桥':*) & !('上海')"
        assert "'镇江'" in document("镇江") and "'江'" in document("镇江")

    def test_every_substring_of_a_title_finds_it(self):
        title = "镇江新区港南路道路提升改造工程"
        bulletin = BulletinFactory(title=title, body="正文。")
        for length in (1, 2, 3, 4, 6):
            for start in range(len(title) - length + 1):
                term = title[start : start + length]
                found = Bulletin.objects.published().search(parse_query(term), title_only=True)
                assert bulletin in found, term


class TestFeeds:
    @pytest.mark.parametrize("kind", ["rss", "atom"])
    def test_feed_parses_and_matches_the_page(self, client, corpus, kind):
        params = {"q": "工程", "sort": "newest"}
        page_titles = listed_titles(search(client, **params))
        response = client.get(f"/bulletins/feed/{kind}/", params)
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.bozo_exception
        assert feed.version == ("rss20" if kind == "rss" else "atom10")
        assert [e.title for e in feed.entries] == page_titles
        assert all(re.search(r"/bulletins/\d+/$", e.link) for e in feed.entries)

    def test_feed_masks_contacts(self, client, corpus):
        feed = feedparser.parse(client.get("/bulletins/feed/rss/", {"q": "恳谈会"}).content)
        text = feed.entries[0].summary
        assert "13800000002" not in text and "王建明" not in text

    def test_feed_without_query_masks_the_opening(self, client, corpus):
        feed = feedparser.parse(client.get("/bulletins/feed/atom/").content)
        assert all("13800000002" not in e.summary for e in feed.entries)

    def test_list_page_links_its_feeds(self, client, corpus):
        html = search(client, q="镇江").content.decode()
        assert 'type="application/rss+xml"' in html and "feed/rss/?q=" in html


def test_sitemap_lists_published_bulletins(client, corpus):
    index = client.get("/sitemap.xml").content.decode()
    section = re.search(r"<loc>http://testserver(/sitemap-[^<]+)</loc>", index).group(1)
    xml = client.get(section).content.decode()
    assert corpus["zj_road"].get_absolute_url() in xml
    assert corpus["draft"].get_absolute_url() not in xml


def test_list_page_title_and_canonical(client, corpus):
    html = search(client, q="镇江", category="tender").content.decode()
    assert "<title>镇江 - 搜索结果" in html
    assert '<link rel="canonical" href="http://testserver/bulletins/?q=' in html


@pytest.mark.parametrize("params", [{"q": "镇江"}, {"q": "工程 -上海", "sort": "newest"}])
def test_search_query_count_constant(client, params):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        client.get("/bulletins/", params)  # warm the option-list cache
        with CaptureQueriesContext(connection) as ctx:
            client.get("/bulletins/", params)
        return len(ctx.captured_queries)

    BulletinFactory.create_batch(3, title="镇江工程")
    few = count()
    BulletinFactory.create_batch(27, title="镇江工程")
    assert count() == few


class TestPythonSearchPath:
    """The substring path `make run` uses on SQLite, run here on the same rows."""

    QUERIES = ["镇江", "镇江 学校", "工程 -上海", "桥", "2.6", '"改扩建"', "-镇江"]

    def test_agrees_with_the_index_search(self, corpus):
        published = Bulletin.objects.published()
        for raw in self.QUERIES:
            query = parse_query(raw)
            indexed = set(published.search(query))
            python = set(published._search_in_python(query, title_only=False, masked=True))
            assert python == indexed, raw
            titles = set(published.search(query, title_only=True))
            assert set(published._search_in_python(query, title_only=True, masked=True)) == titles

    def test_contact_values_found_only_when_unmasked(self, corpus):
        published = Bulletin.objects.published()
        for raw in ("王建明", "13800000002"):
            query = parse_query(raw)
            assert not published._search_in_python(query, title_only=False, masked=True)
            found = published._search_in_python(query, title_only=False, masked=False)
            assert list(found) == [corpus["zj_body"]]


def test_feed_queries_do_not_grow_with_items(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(n):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/bulletins/feed/rss/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        ContactFactory(bulletin=BulletinFactory(title=f"三条之{i}"))
    few = queries(3)
    for i in range(17):
        ContactFactory(bulletin=BulletinFactory(title=f"二十条之{i}"))
    assert queries(20) == few


def test_reindexing_hides_contacts_that_older_masking_let_search_find(client):
    """Rows indexed before masking failed closed: refresh_search_vectors re-indexes them."""
    from django.core.management import call_command

    body = "六、联系方式\n\n备用号码:65432198\n\n现场负责人手机:139 2468 1357"
    bulletin = BulletinFactory(title="滨江大道管廊工程招标公告", body=body)
    # As the older masking left it: nothing hidden, so the numbers were public lexemes.
    Bulletin.objects.filter(pk=bulletin.pk).update(hidden_lexemes="")
    assert bulletin.title in search(client, q="65432198").content.decode()
    call_command("refresh_search_vectors", stdout=open(os.devnull, "w"))  # noqa: SIM115
    for term in ("65432198", "139 2468 1357", "24681357"):
        assert bulletin.title not in search(client, q=term).content.decode(), term
    assert bulletin.title in search(client, q="管廊").content.decode()
