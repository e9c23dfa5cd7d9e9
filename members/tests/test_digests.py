"""Digests matched at digest time: windows, once each, fan-out through the worker."""

import datetime
import socket

import pytest
from django.utils import timezone

from members import alerts, digests, tasks
from members.models import AlertDelivery, DigestBulletin, SavedSearch
from members.tests.factories import UserFactory, paid_member
from members.tests.task_events import tasks_settled
from news.models import Bulletin
from news.services import bulletin_set_status
from news.tests.factories import BulletinFactory

pytestmark = pytest.mark.django_db

NINE = timezone.make_aware(datetime.datetime(2026, 11, 26, 9, 0))


def _search(user, query, **kwargs):
    kwargs.setdefault("frequency", "daily")
    kwargs.setdefault("digest_hour", 9)
    return SavedSearch.objects.create(user=user, name=query, query=query, **kwargs)


def _publish(title):
    bulletin = BulletinFactory(title=title)
    alerts.alerts_match(bulletin_ids=[bulletin.pk])  # as the publish task does
    return bulletin


def _titles(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_each_bulletin_in_one_digest_the_next_day_lists_only_newer_ones(smtp_server):
    member = UserFactory(email="d@example.cn")
    _publish("管廊工程甲招标公告")  # queued before the search existed: not in its digest
    _search(member, "管廊")
    first = _publish("管廊工程乙招标公告")
    withdrawn = _publish("管廊工程丙招标公告")
    Bulletin.objects.filter(pk=withdrawn.pk).update(status=Bulletin.Status.DRAFT)
    assert digests.alerts_send_digests(now=NINE) == 1
    assert digests.alerts_send_digests(now=NINE) == 0  # the same hour again: nothing
    later = _publish("管廊工程丁招标公告")
    assert digests.alerts_send_digests(now=NINE + datetime.timedelta(days=1)) == 1
    one, two = smtp_server.wait_for(2)
    assert "管廊工程乙" in _titles(one) and "管廊工程丁" not in _titles(one)
    assert "管廊工程甲" not in _titles(one) and "管廊工程丙" not in _titles(one)
    assert "管廊工程丁" in _titles(two) and "管廊工程乙" not in _titles(two)
    sent = set(AlertDelivery.objects.filter(status="sent").values_list("bulletin_id", flat=True))
    assert sent == {first.pk, later.pk}


def test_a_bulletin_sent_at_once_is_not_listed_again_in_the_digest(smtp_server):
    member = paid_member(slug="custom", email="p@example.cn")
    _search(member, "管廊", frequency="instant")
    _search(member, "镇江")  # daily: matches the same bulletin
    both = _publish("镇江管廊工程招标公告")
    assert AlertDelivery.objects.get().instant  # the instant alert's row
    _publish("镇江道路工程招标公告")
    assert digests.alerts_send_digests(now=NINE) == 1
    [message] = smtp_server.wait_for(1)
    assert "镇江道路工程" in _titles(message) and "镇江管廊工程" not in _titles(message)
    assert AlertDelivery.objects.filter(bulletin=both).count() == 1


def test_an_smtp_failure_keeps_the_digest_for_the_retry(settings, smtp_server):
    member = UserFactory(email="r@example.cn")
    search = _search(member, "管廊")
    _publish("管廊工程招标公告")
    [chunk] = digests.digests_plan(now=NINE)
    mailers = settings.MAILERS
    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings.MAILERS = {
        "default": {**mailers["default"], "OPTIONS": {"host": "127.0.0.1", "port": closed}}
    }
    with pytest.raises(digests.DigestSendError):
        digests.digests_send(chunk=chunk)
    search.refresh_from_db()
    assert search.digested_through is None and not AlertDelivery.objects.exists()
    settings.MAILERS = mailers
    assert digests.digests_send(chunk=chunk) == 1  # the task's retry
    assert digests.digests_send(chunk=chunk) == 0  # given twice: sent once
    assert len(smtp_server.wait_for(1)) == 1
    assert AlertDelivery.objects.get().status == "sent"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_beat_task_fans_digests_out_in_chunks_through_the_worker(
    monkeypatch, celery_worker, smtp_server
):
    monkeypatch.setattr(digests, "DIGEST_CHUNK", 2)
    hour = timezone.localtime().hour
    members = [UserFactory(email=f"m{i}@example.cn") for i in range(5)]
    for member in members:
        _search(member, "管廊", digest_hour=hour)
    _search(UserFactory(), "隧道", digest_hour=hour)  # due, nothing matched: no email
    bulletin = BulletinFactory(title="综合管廊工程招标公告", status=Bulletin.Status.DRAFT)
    with tasks_settled() as settled:
        bulletin_set_status(bulletin_ids=[bulletin.pk], status=Bulletin.Status.PUBLISHED)
        settled.wait()
    assert DigestBulletin.objects.filter(bulletin=bulletin).exists()
    with tasks_settled() as settled:
        tasks.alerts_digest.delay()
        ran = settled.wait()
    assert ran.count("members.tasks.alerts_digest_send") == 3  # 5 members, 2 a task
    with tasks_settled() as settled:  # the hour's task given twice sends nothing more
        tasks.alerts_digest.delay()
        assert "members.tasks.alerts_digest_send" not in settled.wait()
    messages = smtp_server.wait_for(5)
    assert sorted(m["To"] for m in messages) == sorted(m.email for m in members)
    assert all("综合管廊工程招标公告" in _titles(m) for m in messages)
    assert set(SavedSearch.objects.values_list("digested_through", flat=True)) == {
        DigestBulletin.objects.get().pk
    }


def test_on_mondays_a_weekly_search_lists_the_week_a_daily_one_the_day(smtp_server):
    weekly = UserFactory(email="weekly@example.cn")
    daily = UserFactory(email="daily@example.cn")
    _search(weekly, "管廊", frequency="weekly")
    _search(daily, "管廊")
    monday = timezone.make_aware(datetime.datetime(2026, 11, 23, 9, 0))
    _publish("管廊工程一招标公告")
    assert digests.alerts_send_digests(now=monday) == 2
    _publish("管廊工程二招标公告")
    assert digests.alerts_send_digests(now=monday + datetime.timedelta(days=1)) == 1
    _publish("管廊工程三招标公告")
    assert digests.alerts_send_digests(now=monday + datetime.timedelta(days=7)) == 2
    got: dict[str, list[str]] = {}
    for message in smtp_server.wait_for(5):
        text = _titles(message)
        got.setdefault(message["To"], []).append(
            "".join(n for n in "一二三" if f"管廊工程{n}" in text)
        )
    assert got == {"weekly@example.cn": ["一", "二三"], "daily@example.cn": ["一", "二", "三"]}
