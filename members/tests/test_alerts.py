"""Saved searches and alerts: matching, deliveries, instant emails, unsubscribe."""

import contextlib
import datetime
import itertools
import socket
import time

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members import alerts, digests, services, unsubscribe_links
from members.models import (
    AlertDelivery,
    ContactReveal,
    DigestBulletin,
    Follow,
    Plan,
    SavedSearch,
    Subscription,
)
from members.tests.factories import UserFactory, paid_member
from members.tests.task_events import tasks_settled
from members.unsubscribe_links import unsubscribe_token
from news.models import Bulletin
from news.services import bulletin_set_status
from news.tests.factories import BulletinFactory, ContactFactory, category, region

pytestmark = pytest.mark.django_db

BODY = (
    "本招标项目镇江新区综合管廊工程已由镇江新区经济发展局批准建设。\n\n"
    "招标控制价:3860.52万元。\n\n联系人:欧阳晓 电话:(0511)87654321"
)


def _search(user, name, query="", **kwargs):
    regions = kwargs.pop("regions", [])
    categories = kwargs.pop("categories", [])
    search = SavedSearch.objects.create(user=user, name=name, query=query, **kwargs)
    search.regions.set(regions)
    search.categories.set(categories)
    from members.matching import saved_searches_changed

    saved_searches_changed()
    return search


def _draft(**kwargs):
    kwargs.setdefault("title", "镇江新区综合管廊工程施工招标公告")
    kwargs.setdefault("body", BODY)
    kwargs.setdefault("region", region("江苏-镇江-镇江新区"))
    kwargs.setdefault("amount_yuan", 38605200)
    bulletin = BulletinFactory(status=Bulletin.Status.DRAFT, **kwargs)
    ContactFactory(bulletin=bulletin, person="欧阳晓", phone="(0511)87654321", mobile="")
    return bulletin


class TestMatching:
    """At publish time: instant searches (digest ones: TestDigest)."""

    def test_each_member_once_with_every_reason(self):
        member = paid_member(slug="custom")
        jiangsu = region("江苏-镇江-镇江新区").parent.parent
        _search(member, "管廊", "管廊", frequency="instant")
        _search(
            member,
            "江苏招标",
            regions=[jiangsu],
            categories=[category("tender")],
            frequency="instant",
        )
        _search(member, "大项目", amount_min_yuan=10_000_000, frequency="instant")
        _search(member, "排除镇江", "管廊 -镇江", frequency="instant")  # excluded word
        _search(member, "上海", regions=[region("上海-上海-普陀区")], frequency="instant")
        _search(member, "只要中标", stages=[50], frequency="instant")  # a tender is not at 中标
        _search(
            member, "标题里的电话", "87654321", frequency="instant"
        )  # contacts are not searchable
        bulletin = _draft()
        bulletin.status = Bulletin.Status.PUBLISHED
        bulletin.save()
        alerts.alerts_match(bulletin_ids=[bulletin.pk])
        delivery = AlertDelivery.objects.get()
        assert delivery.user == member and delivery.instant
        assert sorted(r["name"] for r in delivery.reasons) == ["大项目", "江苏招标", "管廊"]
        assert {r["term"] for r in delivery.reasons} == {"管廊", ""}
        # Matching again (a redelivered task) writes nothing new.
        alerts.alerts_match(bulletin_ids=[bulletin.pk])
        assert AlertDelivery.objects.count() == 1

    def test_one_character_keywords_and_place_filed_searches(self):
        member = paid_member(slug="custom")
        jiangsu = region("江苏-镇江-镇江新区").parent.parent
        _search(member, "桥", "桥", frequency="instant")  # one character: a prefix of any n-gram
        _search(member, "江苏的桥", "桥", regions=[jiangsu], frequency="instant")
        _search(member, "上海的桥", "桥", regions=[region("上海-上海-普陀区")], frequency="instant")
        _search(member, "江苏的隧道", "隧道", regions=[jiangsu], frequency="instant")
        bulletin = BulletinFactory(title="运河大桥维修工程招标公告", body="桥面维修。")
        alerts.alerts_match(bulletin_ids=[bulletin.pk])
        names = sorted(r["name"] for r in AlertDelivery.objects.get().reasons)
        assert names == ["桥", "江苏的桥"]

    def test_free_and_lapsed_members_get_digests_never_instant_alerts(self, smtp_server):
        """Publishing writes nothing for them (their instant searches are digest ones,
        matched at their digest hour) and queues the bulletin; the digest lists it."""
        from news import linking

        free = UserFactory(email="free@example.cn")
        lapsed = paid_member(slug="custom", email="lapsed@example.cn")
        Subscription.objects.filter(user=lapsed).update(
            ends_on=timezone.localdate() - datetime.timedelta(days=1)
        )
        for user in (free, lapsed):
            _search(user, "管廊", "管廊", frequency="instant", digest_hour=9)
        follower = UserFactory()  # follows only: no digest lists a follow
        bulletin = BulletinFactory(title="综合管廊工程招标公告")
        linking.project_link_bulletin(bulletin=bulletin)
        bulletin.refresh_from_db()
        Follow.objects.create(user=follower, project_id=bulletin.project_id)
        assert alerts.alerts_match(bulletin_ids=[bulletin.pk]) == []
        assert not AlertDelivery.objects.exists()
        assert list(DigestBulletin.objects.values_list("bulletin_id", flat=True)) == [bulletin.pk]
        assert digests.alerts_send_digests(now=NINE) == 2
        rows = AlertDelivery.objects.all()
        assert {(r.user_id, r.instant, r.status) for r in rows} == {
            (free.pk, False, "sent"),
            (lapsed.pk, False, "sent"),
        }
        assert sorted(m["To"] for m in smtp_server.wait_for(2)) == [
            "free@example.cn",
            "lapsed@example.cn",
        ]

    def test_query_plan_gets_its_instant_search_in_the_digest(self, smtp_server):
        member = paid_member(slug="query")  # no instant alerts in this plan
        _search(member, "管廊", "管廊", frequency="instant", digest_hour=9)
        bulletin = BulletinFactory(title="综合管廊工程招标公告")
        assert alerts.alerts_match(bulletin_ids=[bulletin.pk]) == []
        assert not AlertDelivery.objects.exists()
        assert digests.alerts_send_digests(now=NINE) == 1
        assert AlertDelivery.objects.get().instant is False

    def test_a_failed_copy_falls_back_and_writes_each_pair_once(self):
        member = paid_member(slug="custom")
        bulletin = BulletinFactory()
        AlertDelivery.objects.create(user=member, bulletin=bulletin, reasons=[{"name": "旧"}])
        # COPY cannot skip a pair already stored: it fails as a whole …
        with pytest.raises(IntegrityError), transaction.atomic():
            alerts._copy_deliveries(
                AlertDelivery._meta.db_table, [(member.pk, bulletin.pk, "[]", True)], timezone.now()
            )
        # … and a batch that trips it (here: one pair twice) goes in by INSERT instead.
        other = BulletinFactory()
        rows = [(member.pk, other.pk, '[{"name": "一"}]', True)] * 2
        assert alerts._insert_deliveries(rows) == 1
        assert AlertDelivery.objects.get(bulletin=other).reasons == [{"name": "一"}]
        assert AlertDelivery.objects.get(bulletin=bulletin).reasons == [{"name": "旧"}]

    def test_alert_rights_agree_with_the_site_policy(self):
        from members.access import alert_member_rights, alert_rights
        from members.tests.factories import plan

        custom = paid_member(slug="custom")
        query = paid_member(slug="query")
        both = paid_member(slug="query")  # an upgrade bought mid-period: the richer plan
        Subscription.objects.create(
            user=both,
            plan=plan("custom"),
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + datetime.timedelta(days=30),
        )
        lapsed = paid_member(slug="custom")
        Subscription.objects.filter(user=lapsed).update(
            ends_on=timezone.localdate() - datetime.timedelta(days=1)
        )
        inactive = paid_member(slug="custom", is_active=False)
        staff = UserFactory(is_staff=True)
        free = UserFactory()
        users = [custom, query, both, lapsed, inactive, staff, free]
        rights = alert_rights(u.pk for u in users)
        for user in users:
            expected = alert_member_rights(user) if user.is_active else None
            wanted = (
                (expected.digest_alerts, expected.sees_contacts and expected.instant_alerts)
                if expected
                else (False, False)
            )
            assert rights.get(user.pk, (False, False)) == wanted, user
        assert rights[custom.pk] == (True, True) and rights[both.pk] == (True, True)
        assert rights[query.pk] == (True, False)
        # Free and lapsed members have the free plan's digest, never instant alerts.
        assert rights[free.pk] == rights[lapsed.pk] == (True, False)
        assert inactive.pk not in rights


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_publishing_sends_one_alert_email_through_the_worker(celery_worker, smtp_server):
    member = paid_member(slug="custom", email="lead@example.cn")
    _search(member, "管廊订阅", "管廊", frequency="instant")
    _search(member, "镇江", "镇江", frequency="instant")
    bulletin = _draft()
    with tasks_settled() as tasks:
        bulletin_set_status(bulletin_ids=[bulletin.pk], status=Bulletin.Status.PUBLISHED)
        ran = tasks.wait()  # matching, and every send it enqueued, has finished
    assert "members.tasks.alerts_send" in ran
    [message] = smtp_server.messages  # SMTP is synchronous: all that was sent is here
    assert message["To"] == "lead@example.cn"
    assert "镇江新区综合管廊工程" in message["Subject"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/alerts/unsubscribe/" in message["List-Unsubscribe"]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<mark>管廊</mark>" in html and "管廊订阅" in text and "镇江" in text
    # A paying member with quota left sees the contacts; the email spent one reveal.
    assert "欧阳晓" in text and "(0511)87654321" in html
    assert ContactReveal.objects.filter(user=member, bulletin=bulletin).count() == 1
    delivery = AlertDelivery.objects.get()
    assert delivery.status == AlertDelivery.Status.SENT and delivery.attempts == 1


def test_over_quota_alert_masks_contacts_and_says_how_to_get_them(smtp_server):
    member = paid_member(slug="custom", quota=0)
    _search(member, "管廊", "管廊", frequency="instant")
    bulletin = _draft()
    bulletin.status = Bulletin.Status.PUBLISHED
    bulletin.save()
    alerts.alerts_send(delivery_ids=alerts.alerts_match(bulletin_ids=[bulletin.pk]))
    [message] = smtp_server.wait_for(1)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "欧阳晓" not in text + html and "87654321" not in text + html
    assert "欧**" in text and "额度已用完" in text and "4000-156-001" in text


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_smtp_down_then_up_delivers_once(settings, smtp_server):
    member = paid_member(slug="custom")
    _search(member, "管廊", "管廊", frequency="instant")
    bulletin = BulletinFactory(title="综合管廊工程招标公告")
    [delivery_id] = alerts.alerts_match(bulletin_ids=[bulletin.pk])
    working = settings.MAILERS
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _closed_port(), "timeout": 2},
        }
    }
    with pytest.raises(alerts.TransientSendError):
        alerts.alerts_send(delivery_ids=[delivery_id])
    row = AlertDelivery.objects.get()
    assert row.status == AlertDelivery.Status.PENDING and row.attempts == 1 and row.last_error
    settings.MAILERS = working
    assert alerts.alerts_send(delivery_ids=[delivery_id])["sent"] == 1
    assert alerts.alerts_send(delivery_ids=[delivery_id])["sent"] == 0  # already sent
    assert len(smtp_server.wait_for(1)) == 1
    assert AlertDelivery.objects.get().attempts == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_row_lock_is_held_while_the_smtp_server_takes_its_time(settings):
    """While the server sits on the message, the delivery row is claimed (committed, so
    another worker leaves it) but not locked: staff, the sweeper and other workers carry
    on. The claim and the outcome are each their own short transaction."""
    import threading

    from django.db import connection

    member = paid_member(slug="custom")
    _search(member, "管廊", "管廊", frequency="instant")
    [delivery_id] = alerts.alerts_match(
        bulletin_ids=[BulletinFactory(title="综合管廊工程招标公告").pk]
    )
    in_data, release = threading.Event(), threading.Event()
    with _slow_smtp(settings, in_data, release) as received:
        sender = threading.Thread(target=_send_in_thread, args=([delivery_id],))
        sender.start()
        try:
            assert in_data.wait(15), "the message never reached the server"
            with transaction.atomic():  # NOWAIT: fails at once if the sender held the row
                AlertDelivery.objects.select_for_update(nowait=True).get(pk=delivery_id)
            claimed = AlertDelivery.objects.get(pk=delivery_id)
            assert claimed.claimed_at is not None and claimed.attempts == 1
            assert claimed.status == AlertDelivery.Status.PENDING
            # A second worker given the same id skips it rather than send it again.
            assert alerts.alerts_send(delivery_ids=[delivery_id])["sent"] == 0
        finally:
            release.set()
            sender.join(20)
    connection.close()
    delivery = AlertDelivery.objects.get(pk=delivery_id)
    assert delivery.status == AlertDelivery.Status.SENT and delivery.claimed_at is None
    assert len(received) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_send_that_overran_its_lease_leaves_the_new_claim_alone(settings, tmp_path):
    """Worker A's send hangs at DATA past its claim's lease; the sweep hands the alert to
    worker B, whose send is under way when A's server finally answers 451 (try later). A
    must not record that over B's claim: A's retry then finds the alert taken and sends
    nothing, and the member gets it once, by email and by SMS, from B."""
    import json
    import threading

    from django.db.models import F

    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    member = paid_member(
        slug="custom",
        email="lease@example.cn",
        sms_phone="13912340000",
        sms_alerts=True,
        sms_verified_at=timezone.now(),
    )
    _search(member, "管廊", "管廊", frequency="instant")
    [delivery_id] = alerts.alerts_match(
        bulletin_ids=[BulletinFactory(title="综合管廊工程招标公告").pk]
    )
    a_in_data, a_answer, b_in_data, b_answer = (threading.Event() for _ in range(4))
    with _scripted_smtp(
        settings, [(a_in_data, a_answer, "451 4.3.0 try again later"), (b_in_data, b_answer, "")]
    ) as received:
        worker_a = threading.Thread(target=_send_in_thread, args=([delivery_id],))
        worker_a.start()
        worker_b = None
        try:
            assert a_in_data.wait(15), "A's message never reached the server"
            # As if the lease had run out with A still waiting for the server.
            AlertDelivery.objects.filter(pk=delivery_id).update(
                claimed_at=F("claimed_at") - alerts.claim_lease()
            )
            requeued = alerts.alerts_requeue_pending()  # what beat's sweep enqueues
            assert requeued == [delivery_id]
            worker_b = threading.Thread(target=_send_in_thread, args=(requeued,))
            worker_b.start()
            assert b_in_data.wait(15), "B's message never reached the server"
            a_answer.set()  # 451 to A, while B's send is under way
            worker_a.join(20)
            # A's task retries (or the sweep runs again): B holds the alert, nothing goes.
            assert alerts.alerts_requeue_pending() == []
            assert alerts.alerts_send(delivery_ids=[delivery_id])["sent"] == 0
        finally:
            a_answer.set(), b_answer.set()
            worker_a.join(20)
            if worker_b is not None:
                worker_b.join(20)
    delivery = AlertDelivery.objects.get(pk=delivery_id)
    assert delivery.status == AlertDelivery.Status.SENT and delivery.attempts == 2
    assert [m["To"] for m in received] == ["lease@example.cn"]
    texts = (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["phone"] for line in texts] == ["13912340000"]


@contextlib.contextmanager
def _scripted_smtp(settings, script):
    """An SMTP server whose n-th message waits at DATA until its event is set, then gets
    its answer ("" is 250 OK, and the message counts as received); messages past the
    script are taken at once."""
    import asyncio
    import email
    import email.policy

    from aiosmtpd.controller import Controller

    received, turns = [], list(script)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            arrived, go, answer = turns.pop(0) if turns else (None, None, "")
            if arrived is not None:
                arrived.set()
                for _ in range(600):
                    if go.is_set():
                        break
                    await asyncio.sleep(0.05)
            if answer:
                return answer
            received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    port = _closed_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 20},
        }
    }
    try:
        yield received
    finally:
        controller.stop()


def test_an_smtp_timeout_not_below_the_claim_lease_stops_the_site(settings):
    """An operator who sets EMAIL_TIMEOUT at or above the lease is told at migrate/check."""
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "smtp.example.cn", "port": 587, "timeout": 30},
        }
    }
    with pytest.raises(SystemCheckError, match="members.E001"):
        call_command("check")
    settings.ALERT_CLAIM_LEASE_SECONDS = 45
    call_command("check")


def _send_in_thread(ids):
    from django.db import connection

    try:
        alerts.alerts_send(delivery_ids=ids)
    finally:
        connection.close()


@contextlib.contextmanager
def _slow_smtp(settings, in_data, release):
    """An SMTP server that holds each message at DATA until `release` is set."""
    import asyncio
    import email
    import email.policy

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            in_data.set()
            while not release.is_set():
                await asyncio.sleep(0.05)
            received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    port = _closed_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 30},
        }
    }
    try:
        yield received
    finally:
        controller.stop()


def test_entitlement_is_checked_at_send_time(smtp_server):
    """A membership ended between the match and the send: no instant email with contacts;
    the member has the free plan's rights now, so the bulletin comes in their digest."""
    member = paid_member(slug="custom", email="ended@example.cn")
    _search(member, "管廊", "管廊", frequency="instant", digest_hour=8)
    bulletin = _draft()
    bulletin.status = Bulletin.Status.PUBLISHED
    bulletin.save()
    ids = alerts.alerts_match(bulletin_ids=[bulletin.pk])
    services.subscription_end_early(subscription=member.subscriptions.get(), reason="退款", by=None)
    assert alerts.alerts_send(delivery_ids=ids)["digest"] == 1
    # The send returned: a message sent would have been answered "250" by the server,
    # after it had stored it.
    assert smtp_server.messages == []
    assert not ContactReveal.objects.exists()
    eight = timezone.make_aware(datetime.datetime(2026, 11, 26, 8, 0))
    assert digests.alerts_send_digests(now=eight) == 1
    [message] = smtp_server.wait_for(1)
    text = message.get_body(("plain",)).get_content()
    assert message["To"] == "ended@example.cn" and "镇江新区综合管廊工程" in text
    html = message.get_body(("html",)).get_content()
    assert "欧阳晓" not in text + html and "欧**" in html


def _token(member, *searches, follows=()):
    reasons = [{"search": s.pk} for s in searches] + [{"follow": f.pk} for f in follows]
    return unsubscribe_token(user_id=member.pk, reasons=reasons)


def _unsubscribe_path(message) -> str:
    from urllib.parse import urlsplit

    return urlsplit(message["List-Unsubscribe"].split(",")[0].strip(" <>")).path


class TestUnsubscribe:
    def test_one_click_post_without_login_turns_off_that_search(self):
        member = paid_member(slug="custom")
        one = _search(member, "一", "管廊")
        other = _search(member, "二", "道路")
        url = reverse("alerts-unsubscribe", args=[_token(member, one)])
        client = Client(enforce_csrf_checks=True)
        page = client.get(url)
        assert page.status_code == 200 and "确认退订" in page.content.decode()
        one.refresh_from_db()
        assert one.is_active  # a GET (a link scanner) changes nothing
        assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
        one.refresh_from_db()
        other.refresh_from_db()
        assert not one.is_active and other.is_active

    def test_an_alert_for_two_searches_turns_off_those_two_and_names_them(self, smtp_server):
        member = paid_member(slug="custom")
        pipes = _search(member, "管廊订阅", "管廊", frequency="instant")
        zhenjiang = _search(member, "镇江订阅", "镇江", frequency="instant")
        roads = _search(member, "道路订阅", "道路", frequency="instant")
        bulletin = _draft()
        bulletin.status = Bulletin.Status.PUBLISHED
        bulletin.save()
        alerts.alerts_send(delivery_ids=alerts.alerts_match(bulletin_ids=[bulletin.pk]))
        [message] = smtp_server.wait_for(1)
        path = _unsubscribe_path(message)
        page = Client().get(path).content.decode()
        assert "订阅:管廊订阅" in page and "订阅:镇江订阅" in page and "道路订阅" not in page
        done = Client().post(path).content.decode()
        assert "已退订" in done and "订阅:管廊订阅" in done and "订阅:镇江订阅" in done
        for search in (pipes, zhenjiang, roads):
            search.refresh_from_db()
        assert not pipes.is_active and not zhenjiang.is_active
        assert roads.is_active  # the email was not sent for it

    def test_a_digest_link_turns_off_the_digests_searches_only(self, smtp_server):
        member = paid_member(slug="query")
        roads = _search(member, "道路", "道路", frequency="daily", digest_hour=9)
        evening = _search(member, "隧道", "隧道", frequency="daily", digest_hour=18)
        alerts.alerts_match(bulletin_ids=[BulletinFactory(title="镇江道路改造工程招标公告").pk])
        nine = timezone.make_aware(datetime.datetime(2026, 11, 26, 9, 0))
        assert digests.alerts_send_digests(now=nine) == 1
        [message] = smtp_server.wait_for(1)
        assert "订阅:道路" in Client().post(_unsubscribe_path(message)).content.decode()
        roads.refresh_from_db(), evening.refresh_from_db()
        assert not roads.is_active and evening.is_active

    def test_a_link_older_than_60_days_changes_nothing_and_offers_to_sign_in(self):
        from unittest import mock

        from django.core import signing

        member = paid_member(slug="custom")
        search = _search(member, "管廊", "管廊")
        sixty_one_days = 61 * 24 * 3600
        with mock.patch("time.time", return_value=time.time() - sixty_one_days):
            tokens = [
                _token(member, search),
                # the links of emails sent before tokens named searches expire too
                signing.dumps({"u": member.pk, "s": search.pk}, salt=unsubscribe_links.SALT),
            ]
        for token, method in itertools.product(tokens, (Client().get, Client().post)):
            response = method(reverse("alerts-unsubscribe", args=[token]))
            html = response.content.decode()
            assert response.status_code == 410 and "已过期" in html and "确认退订" not in html
            assert reverse("account_login") in html and "登录并管理提醒" in html
        search.refresh_from_db()
        assert search.is_active
        fresh = reverse("alerts-unsubscribe", args=[_token(member, search)])
        assert Client().post(fresh).status_code == 200  # 59 days would still do

    def test_a_link_for_a_search_changed_since_the_email_changes_nothing(self, client):
        member = paid_member(slug="custom")
        search = _search(member, "管廊", "管廊")
        link = reverse("alerts-unsubscribe", args=[_token(member, search)])
        assert Client().post(link).status_code == 200
        again = Client().post(link)  # a second click: already off, and it says so
        assert again.status_code == 200 and "已退订" in again.content.decode()
        # The member turns the search back on; last month's email must not undo that.
        client.force_login(member)
        data = {"name": "管廊", "query": "管廊", "frequency": "daily", "digest_hour": 8}
        client.post(reverse("saved-search-edit", args=[search.pk]), {**data, "is_active": "on"})
        search.refresh_from_db()
        assert search.is_active
        stale = Client().post(link)
        html = stale.content.decode()
        assert stale.status_code == 410 and "已被修改" in html and "登录并管理提醒" in html
        search.refresh_from_db()
        assert search.is_active

    def test_a_link_from_before_tokens_named_searches_still_works_until_it_expires(self):
        from django.core import signing

        member = paid_member(slug="custom")
        for name in ("一", "二"):
            _search(member, name, name)
        every = signing.dumps({"u": member.pk, "s": 0}, salt=unsubscribe_links.SALT)
        assert Client().post(reverse("alerts-unsubscribe", args=[every])).status_code == 200
        assert not SavedSearch.objects.filter(is_active=True).exists()

    def test_a_bad_or_altered_token_is_400_and_changes_nothing(self):
        member = paid_member(slug="custom")
        search = _search(member, "一", "管廊")
        token = _token(member, search)
        for bad in ("nonsense", token[:-2] + ("AA" if not token.endswith("AA") else "BB")):
            response = Client().post(reverse("alerts-unsubscribe", args=[bad]))
            assert response.status_code == 400 and "无效" in response.content.decode()
        search.refresh_from_db()
        assert search.is_active

    def test_mail_with_an_expired_token_changes_nothing(self):
        from unittest import mock

        from members.unsubscribe_mailbox import unsubscribe_by_mail

        member = paid_member(slug="custom")
        search = _search(member, "管廊", "管廊")
        with mock.patch("time.time", return_value=time.time() - 61 * 24 * 3600):
            token = _token(member, search)
        assert unsubscribe_by_mail(f"Subject: unsubscribe {token}\r\n\r\n".encode()) == 0
        search.refresh_from_db()
        assert search.is_active


class TestSavedSearchPages:
    def test_save_from_the_list_filters_with_preview(self, client):
        member = paid_member(slug="custom")
        client.force_login(member)
        BulletinFactory(title="镇江新区综合管廊工程招标公告", region=region("江苏-镇江-镇江新区"))
        BulletinFactory(title="常州道路工程招标公告", region=region("江苏-常州-武进区"))
        zhenjiang = region("江苏-镇江-镇江新区").parent
        page = client.get(reverse("saved-search-new"), {"q": "工程", "city": zhenjiang.pk})
        html = page.content.decode()
        assert "最近 30 天有 1 条标讯符合条件" in html and "镇江新区综合管廊工程" in html
        assert "常州道路工程" not in html
        response = client.post(
            reverse("saved-search-new"),
            {
                "name": "工程 镇江",
                "query": "工程",
                "regions": [zhenjiang.pk],
                "frequency": "instant",
                "digest_hour": 8,
                "is_active": "on",
            },
        )
        assert response.status_code == 302
        search = SavedSearch.objects.get(user=member)
        assert list(search.regions.all()) == [zhenjiang] and search.query == "工程"

    def test_plan_limits_have_a_clear_message(self, client):
        member = UserFactory()  # free: one saved search, digest only
        client.force_login(member)
        data = {"name": "a", "query": "管廊", "frequency": "daily", "digest_hour": 8}
        assert client.post(reverse("saved-search-new"), data).status_code == 302
        html = client.post(reverse("saved-search-new"), data).content.decode()
        assert "最多可保存 1 个订阅" in html
        data["frequency"] = "instant"
        search = SavedSearch.objects.get()
        html = client.post(reverse("saved-search-edit", args=[search.pk]), data).content.decode()
        assert "即时提醒仅对标讯定制会员开放" in html


class TestDigest:
    def test_one_email_at_the_members_hour_grouped_each_bulletin_once(self, smtp_server):
        member = paid_member(slug="query", email="digest@example.cn")  # digest-only plan
        roads = _search(member, "道路", "道路", frequency="daily", digest_hour=9)
        _search(member, "镇江", "镇江", frequency="daily", digest_hour=9)
        both = BulletinFactory(title="镇江道路改造工程招标公告")
        road = BulletinFactory(title="常州道路维修工程招标公告")
        alerts.alerts_match(bulletin_ids=[both.pk, road.pk])
        eight = timezone.make_aware(datetime.datetime(2026, 11, 26, 8, 0))
        assert digests.alerts_send_digests(now=eight) == 0  # not the member's hour
        nine = eight.replace(hour=9)
        assert digests.alerts_send_digests(now=nine) == 1
        assert digests.alerts_send_digests(now=nine) == 0  # nothing twice
        [message] = smtp_server.wait_for(1)
        text = message.get_body(("plain",)).get_content()
        assert "2 条新标讯" in message["Subject"]
        assert text.count("镇江道路改造工程招标公告") == 1  # matched twice, listed once
        assert "【道路】" in text and "常州道路维修工程招标公告" in text
        assert AlertDelivery.objects.filter(status="sent").count() == 2
        assert roads.name == "道路"


NINE = timezone.make_aware(datetime.datetime(2026, 11, 26, 9, 0))


def _twelve_bulletins():
    """Twelve published tenders matching "管廊", newest 第1标段 … oldest 第12标段, created
    oldest first (so newest first is by date, not by id), each naming its contact."""
    now = timezone.now()
    bulletins = []
    for n in range(12, 0, -1):
        bulletin = BulletinFactory(
            title=f"综合管廊工程第{n}标段施工招标公告(联系人:欧阳晓)",
            body="综合管廊工程施工招标。联系人:欧阳晓 电话:(0511)87654321",
            published_at=now - datetime.timedelta(minutes=n),
        )
        ContactFactory(bulletin=bulletin, person="欧阳晓", phone="(0511)87654321", mobile="")
        bulletins.append(bulletin)
    return [b.pk for b in bulletins]


def _free_plan(**fields):
    Plan.objects.filter(slug="free").update(**fields)


class TestFreeDigest:
    """Free members (and lapsed ones) get a masked digest within the free plan's limit."""

    def test_newest_ten_masked_the_rest_counted_and_a_link_to_the_plans(self, smtp_server):
        member = UserFactory(email="free@example.cn")  # never subscribed
        _search(member, "管廊", "管廊", frequency="daily", digest_hour=9)
        _search(member, "隧道", "隧道", frequency="daily", digest_hour=9)
        alerts.alerts_match(bulletin_ids=_twelve_bulletins())
        assert digests.alerts_send_digests(now=NINE) == 1
        [message] = smtp_server.wait_for(1)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert message["To"] == "free@example.cn" and "12 条新标讯" in message["Subject"]
        listed = [n for n in range(1, 13) if f"综合管廊工程第{n}标段" in text]
        assert listed == list(range(1, 11))  # the newest ten
        assert text.index("第1标段") < text.index("第2标段") < text.index("第10标段")
        for part in (text, html):
            assert "另有 2 条符合条件的标讯" in part
            assert f"{settings.SITE_URL}/membership/" in part
        # Contacts masked in titles and snippets: the values absent, the masked forms there.
        assert "欧阳晓" not in text + html and "87654321" not in text + html
        assert text.count("(联系人:欧**)") == 10
        assert "电话:(0511)8*******" in html
        # The two left out are not sent in a later digest either.
        assert digests.alerts_send_digests(now=NINE + datetime.timedelta(days=1)) == 0
        assert len(smtp_server.messages) == 1
        # Its one-click link turns off the search it was sent for, and says so; a search of
        # theirs it was not sent for (kept from a paid period) stays on.
        assert "订阅:管廊" in Client().post(_unsubscribe_path(message)).content.decode()
        assert not SavedSearch.objects.get(user=member, name="管廊").is_active
        assert SavedSearch.objects.get(user=member, name="隧道").is_active

    @pytest.mark.parametrize(
        ("fields", "listed", "more"),
        [
            ({"digest_item_limit": 3}, 3, "另有 9 条"),
            ({"digest_item_limit": 0}, 12, None),  # 0: no limit
            ({"digest_alerts": False}, 0, None),  # no digests at all
        ],
    )
    def test_the_free_plans_row_decides_the_email(self, smtp_server, fields, listed, more):
        _free_plan(**fields)  # what staff do in admin → 会员套餐, no deploy
        member = UserFactory()
        _search(member, "管廊", "管廊", frequency="daily", digest_hour=9)
        alerts.alerts_match(bulletin_ids=_twelve_bulletins())
        assert digests.alerts_send_digests(now=NINE) == (1 if listed else 0)
        messages = smtp_server.wait_for(1) if listed else smtp_server.messages
        text = "".join(m.get_body(("plain",)).get_content() for m in messages)
        assert text.count("综合管廊工程第") == listed
        assert ("另有" in text) == bool(more) and (more or "") in text

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_an_instant_search_without_instant_rights_comes_in_the_digest(
        self, celery_worker, smtp_server
    ):
        """A free member's instant search (made by staff, or kept from a paid period) and a
        lapsed member's: publishing sends nothing at once; the digest at the search's hour
        has it, masked."""
        free = UserFactory(email="free@example.cn")
        lapsed = paid_member(slug="custom", email="lapsed@example.cn")
        Subscription.objects.filter(user=lapsed).update(
            ends_on=timezone.localdate() - datetime.timedelta(days=1)
        )
        for user in (free, lapsed):
            _search(user, "管廊", "管廊", frequency="instant", digest_hour=8)
        bulletin = _draft()
        with tasks_settled() as tasks:
            bulletin_set_status(bulletin_ids=[bulletin.pk], status=Bulletin.Status.PUBLISHED)
            ran = tasks.wait()  # matching, and any send it enqueued, has finished
        assert "members.tasks.alerts_match" in ran and "members.tasks.alerts_send" not in ran
        assert smtp_server.messages == []
        eight = timezone.make_aware(datetime.datetime(2026, 11, 26, 8, 0))
        assert digests.alerts_send_digests(now=eight) == 2
        messages = smtp_server.wait_for(2)
        assert sorted(m["To"] for m in messages) == ["free@example.cn", "lapsed@example.cn"]
        for message in messages:
            html = message.get_body(("html",)).get_content()
            assert "镇江新区综合管廊工程" in html and "/membership/" in html
            assert "欧阳晓" not in html and "87654321" not in html and "欧**" in html
        assert not ContactReveal.objects.exists()

    def test_the_form_promises_what_the_plan_gives(self, client):
        free = UserFactory()
        client.force_login(free)
        html = client.get(reverse("saved-search-new")).content.decode()
        assert (
            "免费会员每天按您设定的时间收到一封邮件汇总,最多 10 条,联系方式隐藏;"
            "开通标讯定制会员可即时提醒并查看联系方式" in html
        )
        assert 'value="instant"' not in html and 'value="daily"' in html
        assert 'href="/membership/"' in html
        _free_plan(digest_item_limit=5)
        assert "最多 5 条" in client.get(reverse("saved-search-new")).content.decode()
        assert "每日邮件汇总,每封最多 5 条" in client.get(reverse("membership")).content.decode()
        # An instant search kept from a paid period says what it now is.
        _search(free, "管廊", "管廊", frequency="instant")
        assert (
            "即时提醒(您的套餐按每日汇总发送)"
            in client.get(reverse("member-account")).content.decode()
        )
        # A paying member with instant alerts is offered them and promised what they pick.
        client.force_login(paid_member(slug="custom"))
        html = client.get(reverse("saved-search-new")).content.decode()
        assert "新标讯发布后,符合条件的会按您选择的方式发到您的邮箱。" in html
        assert 'value="instant"' in html and "免费会员" not in html


class TestFollows:
    def test_following_a_project_alerts_on_its_stage_change(self, client, smtp_server):
        from news import linking

        member = paid_member(slug="custom", email="follower@example.cn")
        tender = BulletinFactory(title="城北大道快速化改造工程施工招标公告")
        linking.project_link_bulletin(bulletin=tender)
        tender.refresh_from_db()
        client.force_login(member)
        response = client.post(reverse("follow-toggle", args=["project", tender.project_id]))
        assert response.status_code == 302
        assert "已关注" in client.get(tender.project.get_absolute_url()).content.decode()
        award = _draft(title="城北大道快速化改造工程中标结果公示", body="中标人:某建设集团有限公司")
        award.category = category("award")
        award.save()
        with self.captured_on_commit() as callbacks:
            bulletin_set_status(bulletin_ids=[award.pk], status=Bulletin.Status.PUBLISHED)
        assert callbacks  # matching is enqueued after the commit
        ids = alerts.alerts_match(bulletin_ids=[award.pk])
        alerts.alerts_send(delivery_ids=ids)
        [message] = smtp_server.wait_for(1)
        text = message.get_body(("plain",)).get_content()
        assert "关注项目:城北大道快速化改造工程" in text and "项目进入中标阶段" in text
        # Its unsubscribe link stops following the project, and leaves saved searches be.
        tunnels = _search(member, "隧道", "隧道")
        done = Client().post(_unsubscribe_path(message)).content.decode()
        assert "已退订" in done and "关注项目:城北大道快速化改造工程" in done
        assert not member.follows.exists()
        tunnels.refresh_from_db()
        assert tunnels.is_active

    @staticmethod
    def captured_on_commit():
        from django.test import TestCase

        return TestCase.captureOnCommitCallbacks(execute=False)


def test_delivery_log_shows_status_and_per_day_counts(staff_client):
    member = paid_member(slug="custom")
    bulletin = BulletinFactory()
    AlertDelivery.objects.create(user=member, bulletin=bulletin, status="sent")
    AlertDelivery.objects.create(
        user=paid_member(), bulletin=bulletin, status="failed", last_error="550 mailbox unavailable"
    )
    html = staff_client.get(reverse("admin:members_alertdelivery_changelist")).content.decode()
    assert "550 mailbox unavailable" in html
    assert '<td class="sent">1</td>' in html and '<td class="failed">1</td>' in html


class TestSms:
    def test_opt_in_with_a_code_then_instant_alerts_text_the_phone(
        self, client, settings, tmp_path, smtp_server
    ):
        import json

        settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
        member = paid_member(slug="custom")
        client.force_login(member)

        def texts():
            path = tmp_path / "sms.jsonl"
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            return [json.loads(line) for line in lines]

        client.post(reverse("sms-optin", args=["send"]), {"phone": "12345"})
        assert texts() == []  # a bad number sends nothing
        client.post(reverse("sms-optin", args=["send"]), {"phone": "13912340000"})
        [verify] = texts()
        code = verify["text"].split("验证码是 ")[1][:6]
        client.post(
            reverse("sms-optin", args=["confirm"]),
            {"code": "000000" if code != "000000" else "111111"},
        )
        member.refresh_from_db()
        assert not member.sms_alerts  # a wrong code changes nothing
        client.post(reverse("sms-optin", args=["confirm"]), {"code": code})
        member.refresh_from_db()
        assert member.sms_alerts and member.sms_phone == "13912340000"

        _search(member, "管廊", "管廊", frequency="instant")
        bulletin = BulletinFactory(title="综合管廊工程招标公告")
        alerts.alerts_send(delivery_ids=alerts.alerts_match(bulletin_ids=[bulletin.pk]))
        alert = texts()[-1]
        assert alert["phone"] == "13912340000" and alert["kind"] == "alert"
        assert (
            "综合管廊工程招标公告" in alert["text"] and bulletin.get_absolute_url() in alert["text"]
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_unsubscribe_by_mail_through_the_mailto_link(settings, smtp_server):
    import smtplib
    from urllib.parse import unquote

    from aiosmtpd.controller import Controller

    from members.unsubscribe_mailbox import Handler

    settings.ALERTS_UNSUBSCRIBE_MAILBOX = "unsubscribe@example.cn"
    member = paid_member(slug="custom", email="mailto@example.cn")
    search = _search(member, "管廊", "管廊", frequency="instant")
    other = _search(member, "隧道", "隧道", frequency="instant")
    bulletin = BulletinFactory(title="综合管廊工程招标公告")
    alerts.alerts_send(delivery_ids=alerts.alerts_match(bulletin_ids=[bulletin.pk]))
    [message] = smtp_server.wait_for(1)
    https, mailto = [part.strip(" <>") for part in message["List-Unsubscribe"].split(",")]
    assert https.startswith("http") and mailto.startswith("mailto:unsubscribe@example.cn?")
    subject = unquote(mailto.split("subject=", 1)[1])

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Controller(Handler(), hostname="127.0.0.1", port=port)
    mailbox.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("mailto@example.cn", ["someone@example.cn"], "Subject: x\r\n\r\n")
            altered = subject[:-3] + ("AAA" if not subject.endswith("AAA") else "BBB")
            client.sendmail(
                "mailto@example.cn", ["unsubscribe@example.cn"], f"Subject: {altered}\r\n\r\n"
            )
            search.refresh_from_db()
            assert search.is_active  # an altered token changes nothing
            client.sendmail(
                "mailto@example.cn", ["unsubscribe@example.cn"], f"Subject: {subject}\r\n\r\n"
            )
    finally:
        mailbox.stop()
    search.refresh_from_db(), other.refresh_from_db()
    assert not search.is_active and other.is_active
