"""企业库 on a phone: a visitor reads a company's counts and chart and is offered a plan;
a paying member signs in, reads the analysis, watches the company as a 竞争对手 and finds
it on the account page. No horizontal scroll at 390 px, no serious axe violation."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from journeys.conftest import shot
from journeys.test_accessibility import _violations
from journeys.test_bid_results import _fits
from members.tests.factories import paid_member
from news.models import Organization

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SAMPLES = Path(__file__).resolve().parents[1] / "demo" / "bulletins"


def test_company_page_on_a_phone_for_a_visitor_then_a_member(live_server, phone):
    for name in ("001_tender_gangnan_road.txt", "004_award_gangnan_road.txt"):
        call_command("import_bulletins", str(SAMPLES / name), stdout=io.StringIO())
    company = Organization.objects.get(name="江苏通港路桥建设集团有限公司")
    url = live_server.url + company.get_absolute_url()

    phone.goto(url)
    assert phone.locator("figure.year-chart svg[role=img]").count() == 1
    assert "企业深度分析" in phone.locator("main").inner_text()
    assert phone.locator("text=了解会员套餐").first.bounding_box()["height"] >= 44
    shot(phone, "company", "visitor")
    _fits(phone)
    assert not _violations(phone)

    member = paid_member(slug="query", email="companies@example.cn")
    phone.goto(live_server.url + "/accounts/login/")
    phone.fill("input[name=login]", member.email)
    phone.fill("input[name=password]", "pass-word-2024")
    phone.click("form button[type=submit]")
    phone.wait_for_selector("text=我的账户")
    phone.goto(url)
    main = phone.locator("main").inner_text()
    assert "竞争对手" in main and "中标业主" in main
    button = phone.locator("button[value=competitor]")
    assert button.bounding_box()["height"] >= 44
    button.click()
    phone.wait_for_selector("text=已关注为竞争对手")
    shot(phone, "company", "member")
    _fits(phone)
    assert not _violations(phone)
    phone.goto(live_server.url + "/accounts/profile/")
    assert "江苏通港路桥建设集团有限公司" in phone.locator("#watched").inner_text()
    _fits(phone)
    assert not _violations(phone)
