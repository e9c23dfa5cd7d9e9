"""开标日历 on a phone: a member opens it from the account page, reads tomorrow's
deadlines (titles masked, no contacts), copies the feed address and makes a new one."""

import datetime

import pytest
from django.utils import timezone

from journeys.conftest import shot
from journeys.test_accessibility import _violations
from members.models import Follow
from members.tests.factories import paid_member
from news.models import Project
from news.tests.factories import BulletinFactory, ContactFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _tomorrow(hour, minute=0):
    day = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def test_a_member_reads_the_deadline_calendar_on_a_phone(live_server, phone):
    member = paid_member(email="calendar@example.cn")
    project = Project.objects.create(name="镇江新区综合管廊工程", name_key="镇江新区综合管廊工程")
    Follow.objects.create(user=member, project=project)
    tender = BulletinFactory(
        title="镇江新区综合管廊工程(二期)施工总承包招标公告联系人王建明",
        project=project,
        bid_deadline=_tomorrow(9, 30),
        opening_at=_tomorrow(9, 30),
    )
    ContactFactory(bulletin=tender, person="王建明")
    phone.goto(live_server.url + "/accounts/login/")
    phone.fill("input[name=login]", member.email)
    phone.fill("input[name=password]", "pass-word-2024")
    phone.click("form button[type=submit]")
    phone.goto(live_server.url + "/accounts/profile/")
    phone.click("nav.account-nav >> text=开标日历")
    phone.wait_for_selector("h1:has-text('开标日历')")
    entry = phone.locator(".deadline-list li").first
    assert "投标截止 / 开标" in entry.inner_text() and "09:30" in entry.inner_text()
    assert "关注项目" in entry.inner_text()
    assert "王建明" not in phone.content()
    shot(phone, "calendar", "calendar")
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, overflow
    assert not _violations(phone)
    old = phone.input_value("#feed-url")
    assert old.endswith(".ics")
    phone.click("text=重新生成链接")
    phone.wait_for_selector("text=旧链接已失效")
    assert phone.input_value("#feed-url") != old
    entry.locator("a").click()
    assert phone.url.endswith(tender.get_absolute_url())
