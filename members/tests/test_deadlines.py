"""开标日历: the calendar page, the private iCal feed and the day-before reminders."""

import datetime
import re

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from members import deadlines
from members.models import AlertDelivery, DeadlineReminder, Follow, SavedSearch
from members.tests.factories import UserFactory, paid_member
from news.models import Bulletin, Project
from news.tests.factories import BulletinFactory, ContactFactory

pytestmark = pytest.mark.django_db

CONTACT_VALUES = ("王建明", "13800000001", "0511-83000001", "owner@example.com")


def _at(days: int, hour: int, minute: int = 0) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def member_with_deadlines():
    member = paid_member(email="member@example.com")
    project = Project.objects.create(name="镇江新区综合管廊工程", name_key="镇江新区综合管廊工程")
    Follow.objects.create(user=member, project=project)
    followed = BulletinFactory(
        # The title names the contact: it must come out masked everywhere here.
        title="镇江新区综合管廊工程施工招标公告(联系人王建明13800000001)",
        project=project,
        registration_deadline=_at(3, 17),
        bid_deadline=_at(1, 9, 30),
        opening_at=_at(1, 9, 30),
    )
    ContactFactory(bulletin=followed)
    search = SavedSearch.objects.create(user=member, name="镇江道路", query="道路")
    matched = BulletinFactory(title="镇江市道路改造工程招标公告", opening_at=_at(1, 14))
    ContactFactory(bulletin=matched)
    AlertDelivery.objects.create(
        user=member,
        bulletin=matched,
        reasons=[{"search": search.pk, "name": "镇江道路", "term": "道路"}],
        status=AlertDelivery.Status.SENT,
    )
    # Not this member's: nobody follows it and no alert named it.
    BulletinFactory(title="别人的工程招标公告", bid_deadline=_at(1, 10))
    # Followed, but beyond the 60 days, or a draft.
    BulletinFactory(title="远期工程招标公告", project=project, bid_deadline=_at(90, 9))
    BulletinFactory(
        title="草稿工程招标公告",
        project=project,
        bid_deadline=_at(2, 9),
        status=Bulletin.Status.DRAFT,
    )
    return member, followed, matched


# --- the page ----------------------------------------------------------------------------------


def test_calendar_lists_followed_and_matched_deadlines_by_day(client, member_with_deadlines):
    member, followed, matched = member_with_deadlines
    client.force_login(member)
    response = client.get(reverse("deadline-calendar"))
    assert response.status_code == 200
    days = response.context["days"]
    assert [d.day for d in days] == [_at(1, 0).date(), _at(3, 0).date()]
    tomorrow = [(e.bulletin_id, e.kind, e.kind_label, e.at, e.reasons) for e in days[0].entries]
    assert tomorrow == [
        (followed.pk, "bid", "投标截止 / 开标", _at(1, 9, 30), ("关注项目",)),
        (matched.pk, "opening", "开标", _at(1, 14), ("订阅:镇江道路",)),
    ]
    assert [(e.kind, e.at) for e in days[1].entries] == [("registration", _at(3, 17))]
    html = response.content.decode()
    assert "镇江市道路改造工程招标公告" in html and "订阅:镇江道路" in html
    assert "别人的工程" not in html and "远期工程" not in html and "草稿工程" not in html
    for value in CONTACT_VALUES:  # a member who revealed nothing sees the title masked
        assert value not in html
    assert 'href="/account/calendar/"' in client.get(reverse("member-account")).content.decode()


def test_calendar_needs_login(client):
    response = client.get(reverse("deadline-calendar"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_calendar_is_empty_for_a_member_with_nothing(client):
    client.force_login(UserFactory())
    response = client.get(reverse("deadline-calendar"))
    assert response.context["days"] == []
    assert "近期没有截止事项" in response.content.decode()


# --- the feed ----------------------------------------------------------------------------------


def _feed_path(client, member):
    client.force_login(member)
    url = client.get(reverse("deadline-calendar")).context["feed_url"]
    client.logout()
    return url.split("testserver", 1)[1]


def test_feed_serves_each_deadline_as_an_event_without_contacts(client, member_with_deadlines):
    member, followed, matched = member_with_deadlines
    path = _feed_path(client, member)
    assert re.fullmatch(r"/calendar/[\w-]{40,}\.ics", path)
    response = client.get(path)  # no login: calendar servers fetch it
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {
        f"bulletin-{followed.pk}-bid@127.0.0.1:8000",
        f"bulletin-{followed.pk}-registration@127.0.0.1:8000",
        f"bulletin-{matched.pk}-opening@127.0.0.1:8000",
    }
    bid = events[f"bulletin-{followed.pk}-bid@127.0.0.1:8000"]
    assert bid.decoded("DTSTART") == _at(1, 9, 30)
    assert str(bid["DTSTART"].params["TZID"]) == "Asia/Shanghai"
    assert str(bid["SUMMARY"]).startswith("【投标截止 / 开标】镇江新区综合管廊工程施工招标公告")
    assert str(bid["URL"]).endswith(followed.get_absolute_url())
    assert events[f"bulletin-{matched.pk}-opening@127.0.0.1:8000"].decoded("DTSTART") == _at(1, 14)
    assert calendar.walk("VTIMEZONE")
    text = response.content.decode()
    for value in CONTACT_VALUES:
        assert value not in text


def test_feed_masks_even_for_a_member_who_sees_contacts(client, member_with_deadlines):
    member, followed, _matched = member_with_deadlines
    from members.models import ContactReveal

    ContactReveal.objects.create(user=member, bulletin=followed, day=timezone.localdate())
    client.force_login(member)
    page = client.get(reverse("deadline-calendar")).content.decode()
    assert "王建明" in page  # revealed today: the page shows the title whole …
    text = client.get(_feed_path(client, member)).content.decode()
    for value in CONTACT_VALUES:  # … the feed, read by others' servers, never does
        assert value not in text


def test_unknown_and_regenerated_tokens_are_404(client, member_with_deadlines):
    member, _followed, _matched = member_with_deadlines
    old = _feed_path(client, member)
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    client.force_login(member)
    response = client.post(reverse("deadline-calendar-regenerate"))
    assert response.status_code == 302
    new = _feed_path(client, member)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_regenerate_needs_post_and_login(client):
    assert client.post(reverse("deadline-calendar-regenerate")).status_code == 302
    client.force_login(UserFactory())
    assert client.get(reverse("deadline-calendar-regenerate")).status_code == 405


# --- the reminder --------------------------------------------------------------------------------


def test_reminder_emails_tomorrows_deadlines_once(smtp_server, member_with_deadlines):
    member, followed, matched = member_with_deadlines
    other = UserFactory(email="other@example.com")  # follows nothing: no email
    assert deadlines.deadline_reminders_send() == 1
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == member.email and other.email not in str(message["To"])
    assert "明天" in str(message["Subject"]) and "2 项截止" in str(message["Subject"])
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "09:30 投标截止 / 开标" in part
        assert "14:00 开标" in part
        assert followed.get_absolute_url() in part and matched.get_absolute_url() in part
        assert "订阅:镇江道路" in part and "关注项目" in part
        assert "报名截止" not in part  # in three days, not tomorrow
        assert "别人的工程" not in part
        for value in CONTACT_VALUES:
            assert value not in part
    assert set(DeadlineReminder.objects.values_list("bulletin_id", "kind")) == {
        (followed.pk, "bid"),
        (matched.pk, "opening"),
    }
    assert not DeadlineReminder.objects.filter(sent_at__isnull=True).exists()
    # A second run, as a second beat or a retry would: nothing twice.
    assert deadlines.deadline_reminders_send() == 0
    assert len(smtp_server.wait_for(2, timeout=1)) == 1


def test_reminder_beat_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["deadline-reminders"]
    assert entry["task"] == "members.tasks.deadline_reminders"
    assert entry["schedule"].hour == {8} and entry["schedule"].minute == {0}
