import contextlib
import datetime
import http.cookiejar
import json
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.utils import timezone

from members import services
from members.models import ContactReveal, MembershipApplication, Subscription
from members.tests.factories import UserFactory, paid_member, plan
from news.tests.factories import BulletinFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 10)


class TestActivation:
    def test_new_member_starts_today_for_the_months_bought(self):
        staff, member = UserFactory(is_staff=True), UserFactory()
        sub = services.subscription_activate(
            user=member,
            plan=plan("query"),
            months=12,
            by=staff,
            order_reference="HT-2026-001",
            amount_paid_fen=298_000,
        )
        today = timezone.localdate()
        assert sub.starts_on == today
        assert sub.ends_on == today.replace(year=today.year + 1) - datetime.timedelta(days=1)
        assert (sub.activated_by, sub.order_reference, sub.amount_paid_fen) == (
            staff,
            "HT-2026-001",
            298_000,
        )

    def test_renewal_extends_from_the_current_end_and_keeps_history(self):
        member = paid_member()
        current = member.subscriptions.get()
        renewal = services.subscription_activate(
            user=member, plan=plan("custom"), months=6, by=None, order_reference="R-1"
        )
        assert renewal.starts_on == current.ends_on + datetime.timedelta(days=1)
        assert member.subscriptions.count() == 2
        current.refresh_from_db()
        assert current.status == Subscription.Status.ACTIVE  # not overwritten

    def test_bad_length_is_refused_with_the_reason(self):
        with pytest.raises(services.MembershipError, match="0 个月无效"):
            services.subscription_activate(
                user=UserFactory(), plan=plan("query"), months=0, by=None
            )
        assert not Subscription.objects.exists()

    def test_end_early_needs_a_reason_and_records_who(self):
        member, staff = paid_member(), UserFactory(is_staff=True)
        sub = member.subscriptions.get()
        with pytest.raises(services.MembershipError, match="原因"):
            services.subscription_end_early(subscription=sub, reason=" ", by=staff)
        services.subscription_end_early(subscription=sub, reason="客户要求退款", by=staff)
        sub.refresh_from_db()
        assert sub.status == Subscription.Status.ENDED
        assert (sub.ended_by, sub.end_reason) == (staff, "客户要求退款")
        assert not Subscription.objects.current().filter(user=member).exists()


def _subscription(ends_on, **kwargs):
    return Subscription.objects.create(
        user=kwargs.pop("user", None) or UserFactory(),
        plan=plan("query"),
        starts_on=ends_on - datetime.timedelta(days=364),
        ends_on=ends_on,
        **kwargs,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _smtp_at(port: int) -> dict:
    options = {"host": "127.0.0.1", "port": port, "timeout": 2}
    return {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}
    }


@contextlib.contextmanager
def _refusing_smtp(settings, *, refuse: str = "", data_answer: str = "250 OK"):
    """An SMTP server on loopback that refuses one recipient (550) or answers DATA as told."""
    import email
    import email.policy

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address == refuse:
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if data_answer.startswith("250"):
                received.append(
                    email.message_from_bytes(envelope.content, policy=email.policy.default)
                )
            return data_answer

    port = _closed_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = _smtp_at(port)
    try:
        yield received
    finally:
        controller.stop()


class TestDailyJob:
    def test_reminders_7_and_1_day_before_sent_once_each(self):
        week = _subscription(TODAY + datetime.timedelta(days=7))
        day = _subscription(TODAY + datetime.timedelta(days=1))
        _subscription(TODAY + datetime.timedelta(days=20))
        first = services.subscriptions_daily(today=TODAY)
        again = services.subscriptions_daily(today=TODAY)
        assert (first.reminders_sent, again.reminders_sent) == (2, 0)
        assert sorted(m.to[0] for m in mail.outbox) == sorted([week.user.email, day.user.email])
        by_to = {m.to[0]: m for m in mail.outbox}
        assert "7 天后到期" in by_to[week.user.email].subject
        assert "1 天后到期" in by_to[day.user.email].subject
        html = by_to[day.user.email].alternatives[0].content
        assert "4000-156-001" in html and "/accounts/profile/" in html

    def test_smtp_down_leaves_reminders_for_the_next_run(self, settings, smtp_server):
        week = _subscription(TODAY + datetime.timedelta(days=7))
        day = _subscription(TODAY + datetime.timedelta(days=1))
        working = settings.MAILERS
        settings.MAILERS = _smtp_at(_closed_port())
        down = services.subscriptions_daily(today=TODAY)
        assert (down.reminders_sent, down.reminders_left) == (0, 2)
        assert not Subscription.objects.exclude(reminded_7_at=None, reminded_1_at=None).exists()
        # The next run (the server is back) sends both, saying the days really left …
        settings.MAILERS = working
        tomorrow = TODAY + datetime.timedelta(days=1)
        assert services.subscriptions_daily(today=tomorrow).reminders_sent == 2
        subjects = {m["To"]: m["Subject"] for m in smtp_server.wait_for(2)}
        assert "6 天后到期" in subjects[week.user.email]
        assert "今天到期" in subjects[day.user.email]
        # … once.
        assert services.subscriptions_daily(today=tomorrow).reminders_sent == 0
        assert len(smtp_server.messages) == 2

    def test_a_refused_reminder_is_not_marked_and_the_others_go_out(self, settings):
        refused = _subscription(
            TODAY + datetime.timedelta(days=7), user=UserFactory(email="x@bad.cn")
        )
        fine = _subscription(TODAY + datetime.timedelta(days=7))
        with _refusing_smtp(settings, refuse="x@bad.cn") as received:
            report = services.subscriptions_daily(today=TODAY)
        assert (report.reminders_sent, report.reminders_left) == (1, 1)
        assert [m["To"] for m in received] == [fine.user.email]
        refused.refresh_from_db(), fine.refresh_from_db()
        assert refused.reminded_7_at is None and fine.reminded_7_at is not None

    def test_a_server_answering_try_later_stops_the_run_and_marks_nothing(self, settings):
        for _ in range(3):
            _subscription(TODAY + datetime.timedelta(days=7))
        with _refusing_smtp(settings, data_answer="451 4.3.0 try again later") as received:
            report = services.subscriptions_daily(today=TODAY)
        assert (report.reminders_sent, report.reminders_left, received) == (0, 3, [])
        assert not Subscription.objects.exclude(reminded_7_at=None).exists()

    def test_a_booked_renewal_means_no_reminder(self):
        sub = _subscription(TODAY + datetime.timedelta(days=7))
        _subscription(TODAY + datetime.timedelta(days=372), user=sub.user)
        assert services.subscriptions_daily(today=TODAY).reminders_sent == 0

    def test_marks_lapsed_periods_expired(self):
        lapsed = _subscription(TODAY - datetime.timedelta(days=1))
        running = _subscription(TODAY)
        assert services.subscriptions_daily(today=TODAY).expired == 1
        lapsed.refresh_from_db()
        running.refresh_from_db()
        assert lapsed.status == Subscription.Status.EXPIRED
        assert running.status == Subscription.Status.ACTIVE


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_application_emails_staff_through_the_worker_and_smtp(
    client, celery_worker, smtp_server, settings
):
    settings.STAFF_NOTIFY_EMAILS = ["sales@example.cn"]
    response = client.post(
        "/membership/apply/",
        {
            "name": "张经理",
            "company": "江苏某某建材有限公司",
            "mobile": "13700001111",
            "plan": plan("custom").pk,
            "message": "想了解标讯定制",
        },
    )
    assert response.status_code == 302
    application = MembershipApplication.objects.get()
    assert application.status == MembershipApplication.Status.OPEN
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "sales@example.cn"
    assert "张经理" in message["Subject"] and "江苏某某建材有限公司" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "13700001111" in text and "标讯定制会员" in text
    assert f"/admin/members/membershipapplication/{application.pk}/change/" in text


def test_application_with_a_bad_mobile_says_why_and_stores_nothing(client):
    response = client.post(
        "/membership/apply/",
        {"name": "张", "company": "某公司", "mobile": "12345", "plan": plan("query").pk},
    )
    assert response.status_code == 200
    assert "不是有效的手机号" in response.content.decode()
    assert not MembershipApplication.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_parallel_reveals_cannot_exceed_the_quota(live_server):
    """Real concurrent HTTP requests against the threaded live server on PostgreSQL."""
    member = paid_member(quota=5)
    bulletins = [BulletinFactory(title=f"并发测试{i}") for i in range(20)]
    from django.test import Client

    client = Client()
    client.force_login(member)
    session_cookie = client.cookies["sessionid"].value
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("Cookie", f"sessionid={session_cookie}")]
    page = opener.open(f"{live_server.url}{bulletins[0].get_absolute_url()}").read().decode()
    csrf = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    token = next(c.value for c in jar if c.name == "csrftoken")

    def reveal(bulletin):
        request = urllib.request.Request(
            f"{live_server.url}/bulletins/{bulletin.pk}/reveal/",
            data=f"csrfmiddlewaretoken={csrf}".encode(),
            headers={
                "Cookie": f"sessionid={session_cookie}; csrftoken={token}",
                "Referer": live_server.url,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            method="POST",
        )
        no_redirect = urllib.request.build_opener(NoRedirect)
        try:
            return no_redirect.open(request).status
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(reveal, bulletins))
    assert sorted(statuses).count(302) == 5, json.dumps(statuses)
    assert statuses.count(429) == 15
    assert ContactReveal.objects.filter(user=member).count() == 5


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
