"""免费试用: one 3-day 标讯查询 trial per email and per mobile, across accounts."""

import datetime
import threading

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members import services, trials
from members.models import Subscription, Trial
from members.tests.factories import UserFactory, paid_member, plan
from news.tests.factories import BulletinFactory, ContactFactory

pytestmark = pytest.mark.django_db

PERSON = "欧阳晓"


@pytest.fixture
def lead():
    bulletin = BulletinFactory(title="镇江新区滨江大道综合管廊工程施工招标公告")
    ContactFactory(bulletin=bulletin, person=PERSON, mobile="13912345678")
    return bulletin


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _member(**kwargs):
    kwargs.setdefault("phone", "13800138000")
    return UserFactory(**kwargs)


def _on_day(monkeypatch, day: datetime.date):
    """The site's "today" (access policy, reveals, pages) moved to `day`."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)


def _refused(user, message: str, **kwargs):
    before = (Trial.objects.count(), Subscription.objects.count())
    with pytest.raises(trials.TrialError) as refusal:
        trials.trial_start(user=user, ip="127.0.0.1", **kwargs)
    assert message in str(refusal.value)
    assert (Trial.objects.count(), Subscription.objects.count()) == before


def test_a_new_member_starts_a_trial_sees_contacts_for_three_days_then_masked(lead, monkeypatch):
    member = _member()
    client = _client(member)
    today = timezone.localdate()
    end = today + datetime.timedelta(days=2)

    account = client.get(reverse("member-account")).content.decode()
    assert "免费试用 3 天标讯查询" in account and "无需付费" in account
    assert 'action="/membership/trial/"' in account and "csrfmiddlewaretoken" in account
    assert "免费试用 3 天标讯查询" in client.get(reverse("membership")).content.decode()

    response = client.post(reverse("membership-trial"), follow=True)
    html = response.content.decode()
    assert f"免费试用已开始,至 {end:%Y-%m-%d}" in html
    assert f"试用至 {end:%Y-%m-%d}" in html
    assert "免费试用 3 天标讯查询" not in html  # offered once

    trial = Trial.objects.get()
    period = trial.subscription
    assert (trial.user, trial.plan, trial.email, trial.phone, trial.ip) == (
        member,
        plan("query"),
        member.email,
        "13800138000",
        "127.0.0.1",
    )
    assert (period.plan, period.starts_on, period.ends_on, trial.ends_on) == (
        plan("query"),
        today,
        end,
        end,
    )
    assert period.amount_paid_fen == 0 and period.activated_by is None

    # 查看联系方式 works within the plan's daily quota.
    assert PERSON not in client.get(lead.get_absolute_url()).content.decode()
    assert client.post(reverse("bulletin-reveal", args=[lead.pk])).status_code == 302
    assert PERSON in client.get(lead.get_absolute_url()).content.decode()
    quota = plan("query").daily_reveal_quota
    assert f"1 / {quota}" in client.get(reverse("member-account")).content.decode()

    # The third day still counts...
    _on_day(monkeypatch, end)
    assert client.post(reverse("bulletin-reveal", args=[lead.pk])).status_code == 302
    assert PERSON in client.get(lead.get_absolute_url()).content.decode()

    # ...the fourth does not: masked again and no reveal, with no job run.
    _on_day(monkeypatch, end + datetime.timedelta(days=1))
    html = client.get(lead.get_absolute_url()).content.decode()
    assert PERSON not in html and "欧**" in html
    assert client.post(reverse("bulletin-reveal", args=[lead.pk])).status_code == 403
    account = client.get(reverse("member-account")).content.decode()
    assert f"试用至 {end:%Y-%m-%d}" in account and "已结束" in account
    assert "免费试用 3 天标讯查询" not in account  # no second trial offered


def test_the_trial_form_asks_for_a_mobile_when_the_profile_has_none():
    member = UserFactory(phone="")
    client = _client(member)
    assert 'name="phone" required' in client.get(reverse("membership")).content.decode()

    html = client.post(reverse("membership-trial"), {"from": "plans"}, follow=True)
    assert "请填写您的手机号" in html.content.decode() and not Trial.objects.exists()
    response = client.post(reverse("membership-trial"), {"phone": "12345"}, follow=True)
    assert "不是有效的手机号" in response.content.decode() and not Trial.objects.exists()

    client.post(reverse("membership-trial"), {"phone": "+86 139-0000-1111"})
    assert Trial.objects.get().phone == "13900001111"
    member.refresh_from_db()
    assert member.phone == "13900001111"  # saved to the profile


def test_a_second_trial_for_the_same_member_is_refused():
    member = _member()
    trials.trial_start(user=member, ip=None)
    _refused(member, "您已使用过免费试用")
    # Also once the trial has ended.
    ended = timezone.localdate() - datetime.timedelta(days=1)
    Subscription.objects.filter(user=member).update(
        starts_on=ended - datetime.timedelta(days=2), ends_on=ended
    )
    Trial.objects.filter(user=member).update(ends_on=ended)
    _refused(member, "您已使用过免费试用")


@pytest.mark.parametrize(
    "variant", ["Shared@Example.com", "  shared@example.COM ", "SHARED@EXAMPLE.COM"]
)
def test_the_same_email_on_another_account_is_refused(variant):
    first = _member(email="shared@example.com", phone="13800138000")
    trials.trial_start(user=first, ip=None)
    # Another account (allauth keeps addresses unique; a deleted first account, or an
    # address changed since, leaves the trial row behind).
    second = _member(email=variant, phone="13700137000")
    EmailAddress.objects.filter(user=second).update(email=variant.strip())
    _refused(second, "该邮箱已使用过免费试用")


@pytest.mark.parametrize(
    "variant", ["+86 138 0013 8000", "+86-138-0013-8000", "0086 13800138000", "138-0013-8000"]
)
def test_the_same_mobile_on_another_account_is_refused(variant):
    trials.trial_start(user=_member(phone="13800138000"), ip=None)
    _refused(_member(phone=variant), "该手机号已使用过免费试用")
    # Given in the form by a member whose profile has none: the same.
    _refused(_member(phone=""), "该手机号已使用过免费试用", phone=variant)


def test_the_trial_outlives_a_deleted_account():
    first = _member(email="gone@example.com")
    trials.trial_start(user=first, ip=None)
    first.delete()
    assert Trial.objects.get().user is None
    _refused(_member(email="gone@example.com", phone="13700137000"), "该邮箱已使用过免费试用")


def test_an_unconfirmed_email_is_refused():
    member = _member()
    EmailAddress.objects.filter(user=member).update(verified=False)
    _refused(member, "请先验证您的邮箱")
    response = _client(member).post(reverse("membership-trial"), follow=True)
    assert "请先验证您的邮箱" in response.content.decode()


def test_members_who_have_or_had_a_paid_period_are_refused_and_not_offered():
    current = paid_member(phone="13800138000")
    _refused(current, "您已开通过会员")
    assert "免费试用 3 天" not in _client(current).get(reverse("membership")).content.decode()

    lapsed = _member(phone="13700137000")
    services.subscription_activate(
        user=lapsed,
        plan=plan("custom"),
        months=1,
        starts_on=timezone.localdate() - datetime.timedelta(days=60),
        by=None,
    )
    _refused(lapsed, "您已开通过会员")
    assert "免费试用 3 天" not in _client(lapsed).get(reverse("member-account")).content.decode()


def test_staff_are_refused(staff_client, django_user_model):
    _refused(django_user_model.objects.get(username="editor"), "工作人员")


def test_anonymous_visitors_are_not_offered_and_cannot_post():
    assert "免费试用 3 天" not in Client().get(reverse("membership")).content.decode()
    response = Client().post(reverse("membership-trial"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Trial.objects.exists()


def test_the_trial_button_needs_a_post_with_a_csrf_token():
    member = _member()
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.get(reverse("membership-trial")).status_code == 405
    assert client.post(reverse("membership-trial")).status_code == 403
    assert not Trial.objects.exists()


def test_staff_see_trials_in_the_admin_and_tell_them_from_paid_periods(staff_client):
    member = _member(email="trier@example.com", phone="13800138000")
    period = trials.trial_start(user=member, ip="10.1.2.3")
    paid = paid_member(email="payer@example.com")

    listing = staff_client.get(reverse("admin:members_trial_changelist")).content.decode()
    assert "trier@example.com" in listing and "13800138000" in listing and "10.1.2.3" in listing
    for term in ("TRIER@example.com", "+86 138-0013-8000"):
        found = staff_client.get(reverse("admin:members_trial_changelist"), {"q": term})
        assert "trier@example.com" in found.content.decode(), term
    found = staff_client.get(reverse("admin:members_trial_changelist"), {"q": "13900000000"})
    assert "trier@example.com" not in found.content.decode()
    # Read-only: no add, and the change page has no save button.
    assert staff_client.get(reverse("admin:members_trial_add")).status_code == 403
    trial = Trial.objects.get()
    page = staff_client.get(reverse("admin:members_trial_change", args=[trial.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()

    subscriptions = reverse("admin:members_subscription_changelist")
    html = staff_client.get(subscriptions).content.decode()
    assert "免费试用" in html
    only_trials = staff_client.get(subscriptions, {"trial": "yes"}).content.decode()
    assert "trier@example.com" in only_trials and "payer@example.com" not in only_trials
    only_paid = staff_client.get(subscriptions, {"trial": "no"}).content.decode()
    assert "payer@example.com" in only_paid and "trier@example.com" not in only_paid
    change = staff_client.get(reverse("admin:members_subscription_change", args=[period.pk]))
    assert "免费试用" in change.content.decode()
    assert paid.subscriptions.exists()


def test_trials_get_no_renewal_reminders(mailoutbox):
    trials.trial_start(user=_member(), ip=None)
    report = services.subscriptions_daily()
    assert report.reminders_sent == 0 and not mailoutbox


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_accounts_sharing_a_mobile_at_once_get_one_trial():
    first = _member(phone="13800138000")
    second = _member(phone="+86 138 0013 8000")
    barrier = threading.Barrier(2)
    outcomes = []

    def start(user):
        try:
            barrier.wait(timeout=10)
            trials.trial_start(user=user, ip=None)
            outcomes.append("started")
        except trials.TrialError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(u,)) for u in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == sorted(
        ["started", "该手机号已使用过免费试用,每个邮箱和手机号限一次。"]
    )
    assert Trial.objects.count() == 1
    assert Subscription.objects.count() == 1  # the loser's period was rolled back


def test_a_lost_race_caught_by_the_constraint_gives_the_same_refusal(monkeypatch):
    """The check before the insert passes for both racers; the unique index stops the
    second, whose IntegrityError becomes the same message and leaves nothing behind."""
    trials.trial_start(user=_member(phone="13800138000"), ip=None)
    check = trials._refusal
    calls = []

    def blind_first_check(user, **kwargs):
        calls.append(user)
        return None if len(calls) == 1 else check(user, **kwargs)

    monkeypatch.setattr(trials, "_refusal", blind_first_check)
    _refused(_member(phone="138 0013 8000"), "该手机号已使用过免费试用")
    assert len(calls) == 2
