"""开标结果 on a phone: a visitor reads who won a tender on its project page and is told
the rest is for members; a paying member signs in and reads every bidder, rank and price.
No horizontal scroll at 390 px, no serious axe violation."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from journeys.conftest import shot
from journeys.test_accessibility import _violations
from members.tests.factories import paid_member
from news.models import Bulletin

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SAMPLES = Path(__file__).resolve().parents[1] / "demo" / "bulletins"


def _fits(page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, overflow


def test_bid_results_on_a_phone_for_a_visitor_then_a_member(live_server, phone):
    for name in ("001_tender_gangnan_road.txt", "004_award_gangnan_road.txt"):
        call_command("import_bulletins", str(SAMPLES / name), stdout=io.StringIO())
    award = Bulletin.objects.get(category__name="中标公告")
    project_url = live_server.url + award.project.get_absolute_url()

    phone.goto(project_url)
    results = phone.locator("section#bid-results")
    text = results.inner_text()
    assert "江苏通港路桥建设集团有限公司" in text and "中标" in text
    assert "镇江市市政工程有限公司" not in text and "3,745.2" not in text
    assert "另有 2 家投标人" in text
    button = results.locator("a.button")
    assert button.bounding_box()["height"] >= 44
    shot(phone, "bid-results", "visitor")
    _fits(phone)
    assert not _violations(phone)

    member = paid_member(slug="query", email="bids@example.cn")
    phone.goto(live_server.url + "/accounts/login/")
    phone.fill("input[name=login]", member.email)
    phone.fill("input[name=password]", "pass-word-2024")
    phone.click("form button[type=submit]")
    phone.wait_for_selector("text=我的账户")
    phone.goto(project_url)
    rows = phone.locator("section#bid-results tbody tr")
    assert rows.count() == 3
    assert "江苏通港路桥建设集团有限公司" in rows.nth(0).inner_text()
    assert "3,712.86 万元" in rows.nth(0).inner_text()
    assert "镇江市市政工程有限公司" in rows.nth(1).inner_text()
    shot(phone, "bid-results", "member")
    _fits(phone)
    assert not _violations(phone)
    phone.goto(live_server.url + award.get_absolute_url())
    assert "江苏润扬交通工程有限公司" in phone.locator("section#bid-results").inner_text()
    _fits(phone)
