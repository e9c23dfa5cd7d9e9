import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from news.models import Bulletin, Region
from news.tests.factories import BulletinFactory, ContactFactory, category, region

pytestmark = pytest.mark.django_db


def listed_titles(response) -> list[str]:
    return re.findall(r'<a class="title" href="[^"]+">([^<]+)</a>', response.content.decode())


def list_page(client, **params):
    return client.get(reverse("bulletin-list"), params)


@pytest.fixture
def mixed():
    """Bulletins across categories, regions and dates."""
    now = timezone.now()
    return {
        "zj_tender": BulletinFactory(
            title="镇江新区道路招标",
            category=category("tender"),
            region=region("江苏-镇江-镇江新区"),
            published_at=now - datetime.timedelta(days=1),
        ),
        "zj_award": BulletinFactory(
            title="镇江京口学校中标",
            category=category("award"),
            region=region("江苏-镇江-京口区"),
            published_at=now - datetime.timedelta(days=10),
        ),
        "cz_tender": BulletinFactory(
            title="常州武进园区招标",
            category=category("tender"),
            region=region("江苏-常州-武进区"),
            published_at=now - datetime.timedelta(days=20),
            body="智能装备产业园厂房建设。",
        ),
        "sh_award": BulletinFactory(
            title="上海普陀中学中标",
            category=category("award"),
            region=region("上海-上海-普陀区"),
            published_at=now - datetime.timedelta(days=2),
        ),
        "draft": BulletinFactory(
            title="草稿不应出现",
            status=Bulletin.Status.DRAFT,
            region=region("江苏-镇江-镇江新区"),
        ),
    }


class TestListFilters:
    def test_unfiltered_lists_published_newest_first(self, client, mixed):
        assert listed_titles(list_page(client)) == [
            "镇江新区道路招标",
            "上海普陀中学中标",
            "镇江京口学校中标",
            "常州武进园区招标",
        ]

    def test_category(self, client, mixed):
        assert listed_titles(list_page(client, category="award")) == [
            "上海普陀中学中标",
            "镇江京口学校中标",
        ]

    def test_province_includes_cities_and_districts(self, client, mixed):
        jiangsu = Region.objects.get(name="江苏", parent=None)
        assert listed_titles(list_page(client, province=jiangsu.pk)) == [
            "镇江新区道路招标",
            "镇江京口学校中标",
            "常州武进园区招标",
        ]

    def test_city(self, client, mixed):
        zj = region("江苏-镇江")
        titles = listed_titles(list_page(client, province=zj.parent_id, city=zj.pk))
        assert titles == ["镇江新区道路招标", "镇江京口学校中标"]

    def test_district(self, client, mixed):
        jk = region("江苏-镇江-京口区")
        params = {"province": jk.parent.parent_id, "city": jk.parent_id, "district": jk.pk}
        assert listed_titles(list_page(client, **params)) == ["镇江京口学校中标"]

    def test_date_range(self, client, mixed):
        today = timezone.localdate()
        params = {
            "date_from": (today - datetime.timedelta(days=11)).isoformat(),
            "date_to": (today - datetime.timedelta(days=2)).isoformat(),
        }
        assert listed_titles(list_page(client, **params)) == [
            "上海普陀中学中标",
            "镇江京口学校中标",
        ]

    def test_keyword_in_title_or_body(self, client, mixed):
        assert listed_titles(list_page(client, q="普陀")) == ["上海普陀中学中标"]
        assert listed_titles(list_page(client, q="厂房")) == ["常州武进园区招标"]

    def test_combination(self, client, mixed):
        jiangsu = Region.objects.get(name="江苏", parent=None)
        response = list_page(client, province=jiangsu.pk, category="tender", q="招标")
        assert listed_titles(response) == ["镇江新区道路招标", "常州武进园区招标"]

    def test_city_choices_follow_province(self, client, mixed):
        jiangsu = Region.objects.get(name="江苏", parent=None)
        html = list_page(client, province=jiangsu.pk).content.decode()
        city_select = re.search(r'<select name="city".*?</select>', html, re.S).group(0)
        assert ">镇江<" in city_select and ">常州<" in city_select
        assert ">杭州<" not in city_select

    def test_city_outside_province_is_an_error_not_a_crash(self, client, mixed):
        shanghai = Region.objects.get(name="上海", parent=None)
        response = list_page(client, province=shanghai.pk, city=region("江苏-镇江").pk)
        assert response.status_code == 200
        assert 'class="error"' in response.content.decode()

    def test_pagination(self, client):
        BulletinFactory.create_batch(25)
        first, second = list_page(client), list_page(client, page=2)
        assert len(listed_titles(first)) == 20
        assert len(listed_titles(second)) == 5
        assert "共 25 条" in first.content.decode()

    def test_region_children_json(self, client):
        zj = region("江苏-镇江")
        names = {r["name"] for r in client.get(f"/regions/{zj.pk}/children/").json()["results"]}
        assert {"京口区", "镇江新区", "丹阳市"} <= names


class TestDetail:
    def test_shows_body_meta_source_and_contacts(self, staff_client):
        client = staff_client
        bulletin = BulletinFactory(
            title="镇江新区港南路道路提升改造工程",
            region=region("江苏-镇江-镇江新区"),
            body="一、招标条件\n\n二、项目概况",
            source_url="http://ggzy.zhenjiang.gov.cn/a.html",
        )
        ContactFactory(bulletin=bulletin, person="王建明", phone="0511-83000001")
        html = client.get(bulletin.get_absolute_url()).content.decode()
        assert "<h1>镇江新区港南路道路提升改造工程</h1>" in html
        assert "江苏-镇江-镇江新区" in html
        assert "<p>一、招标条件</p>" in html and "<p>二、项目概况</p>" in html
        assert 'href="http://ggzy.zhenjiang.gov.cn/a.html"' in html
        assert "王建明" in html and "0511-83000001" in html
        assert '<link rel="canonical" href="http://testserver/bulletins/' in html

    @pytest.mark.parametrize(
        "amount, shown",
        [(38605200, "3,860.52 万元"), (1280000000, "12.8 亿元"), (5000, "5,000 元")],
    )
    def test_amount_reads_as_the_trade_writes_it(self, client, amount, shown):
        bulletin = BulletinFactory(amount_yuan=amount)
        assert shown in client.get(bulletin.get_absolute_url()).content.decode()

    def test_body_html_is_escaped(self, client):
        bulletin = BulletinFactory(body="<script>alert(1)</script>")
        html = client.get(bulletin.get_absolute_url()).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;" in html

    def test_missing_is_404(self, client):
        assert client.get("/bulletins/999999/").status_code == 404

    def test_unpublished_is_404(self, client):
        draft = BulletinFactory(status=Bulletin.Status.DRAFT)
        assert client.get(draft.get_absolute_url()).status_code == 404


class TestPages:
    def test_home_lists_latest_per_category(self, client, mixed):
        html = client.get("/").content.decode()
        assert "镇江新区道路招标" in html and "上海普陀中学中标" in html
        assert "草稿不应出现" not in html
        assert "4000-156-001" in html

    def test_membership_page(self, client):
        """The plans on sale with what each gives and costs, and a way to apply for each
        (the footer names both services on every page: not evidence of this one)."""
        from members.models import Plan

        Plan.objects.create(name="内部试用套餐", slug="trial", is_offered=False)
        html = client.get("/membership/").content.decode()
        offered = list(Plan.objects.filter(is_offered=True))
        assert len(offered) == 4 and html.count('<section class="plan"') == 4
        assert "内部试用套餐" not in html
        for plan in offered:
            assert f'<h2 id="plan-{plan.slug}">{plan.name}</h2>' in html
            if plan.yearly_price_fen:
                assert f"¥{plan.yearly_price_yuan} / 年" in html
                assert f'href="/membership/apply/?plan={plan.pk}"' in html
            if plan.sees_contacts:
                assert f"查看项目联系人及联系方式,每日 {plan.daily_reveal_quota} 条" in html
        assert "<h2>标讯查询服务</h2>" in html and "<h2>标讯定制服务</h2>" in html
        assert "办理会员请致电咨询热线" in html

    def test_feedback_page(self, client, settings):
        """The feedback form itself: its kinds, the text to send, where else to write."""
        settings.FEEDBACK_EMAIL = "feedback@example.cn"
        html = client.get("/feedback/").content.decode()
        assert "<h1>意见反馈</h1>" in html
        form = re.search(
            r'<form method="post" class="stacked feedback-form">.*?</form>', html, re.S
        )
        assert form is not None
        for kind in ("信息纠错", "项目遗漏", "账号与会员", "其他"):
            assert f">{kind}</" in form.group(0)
        assert '<textarea name="content"' in form.group(0) and 'name="contact"' in form.group(0)
        assert "提交反馈" in form.group(0)
        assert 'href="mailto:feedback@example.cn"' in html

    def test_pages_send_strict_csp(self, client):
        csp = client.get("/").headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp


def _query_count(client, url) -> int:
    client.get(url)  # warm the option-list cache: measure the steady state
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url", ["/", "/bulletins/", "/bulletins/?category=tender&q=工程", "detail"]
)
def test_query_count_does_not_grow_with_bulletins(client, url):
    def make(n):
        for bulletin in BulletinFactory.create_batch(n):
            ContactFactory.create_batch(2, bulletin=bulletin)

    make(3)
    target = Bulletin.objects.first().get_absolute_url() if url == "detail" else url
    few = _query_count(client, target)
    make(27)
    assert _query_count(client, target) == few
