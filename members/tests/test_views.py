import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import login_with_second_factor
from members import services
from members.models import Subscription, User
from members.tests.factories import UserFactory, paid_member, plan
from news.tests.factories import BulletinFactory

pytestmark = pytest.mark.django_db


def _link(text: str, path_part: str) -> str:
    return re.search(rf"https?://\S+{path_part}\S+", text).group(0)


class TestSignUp:
    def test_sign_up_confirm_by_button_not_by_link_prefetch(self, client, smtp_server):
        response = client.post(
            reverse("account_signup"),
            {
                "email": "buyer@example.cn",
                "password1": "Lead-hunt-2026",
                "password2": "Lead-hunt-2026",
            },
        )
        assert response.status_code == 302
        [message] = smtp_server.wait_for(1)
        assert message["To"] == "buyer@example.cn"
        link = _link(message.get_body(("plain",)).get_content(), "/accounts/confirm-email/")
        path = link.split("://", 1)[1].split("/", 1)[1]

        # A mail scanner's GET (no session) shows a page with a button and changes nothing.
        scanner = Client().get("/" + path)
        assert scanner.status_code == 200
        assert "<form" in scanner.content.decode() and 'method="post"' in scanner.content.decode()
        assert not EmailAddress.objects.get(email="buyer@example.cn").verified

        assert client.post("/" + path).status_code == 302
        assert EmailAddress.objects.get(email="buyer@example.cn").verified

    def test_unconfirmed_account_cannot_sign_in(self, client, smtp_server):
        client.post(
            reverse("account_signup"),
            {
                "email": "new@example.cn",
                "password1": "Lead-hunt-2026",
                "password2": "Lead-hunt-2026",
            },
        )
        Client().logout()
        fresh = Client()
        response = fresh.post(
            reverse("account_login"), {"login": "new@example.cn", "password": "Lead-hunt-2026"}
        )
        assert response.status_code == 302
        assert "confirm-email" in response["Location"]
        assert "_auth_user_id" not in fresh.session

    def test_signup_page_is_chinese_in_the_site_frame(self, client):
        html = client.get(reverse("account_signup")).content.decode()
        assert '<html lang="zh-CN">' in html and "注册" in html and "4000-156-001" in html


class TestLogin:
    def test_repeated_failures_for_one_account_get_429(self, client):
        UserFactory(email="target@example.cn")
        statuses = [
            client.post(
                reverse("account_login"), {"login": "target@example.cn", "password": f"wrong{i}"}
            ).status_code
            for i in range(6)
        ]
        assert statuses[:5] == [200] * 5
        assert statuses[5] == 429
        last = client.post(
            reverse("account_login"), {"login": "target@example.cn", "password": "wrong"}
        )
        assert last.status_code == 429
        assert "登录失败次数过多" in last.content.decode()

    def test_password_reset_link_acts_only_on_post(self, client, smtp_server):
        user = UserFactory(email="reset@example.cn")
        client.post(reverse("account_reset_password"), {"email": "reset@example.cn"})
        [message] = smtp_server.wait_for(1)
        link = _link(message.get_body(("plain",)).get_content(), "/accounts/password/reset/key/")
        path = "/" + link.split("://", 1)[1].split("/", 1)[1]
        scanner = Client()
        page = scanner.get(path, follow=True)
        assert page.status_code == 200 and "password1" in page.content.decode()
        user.refresh_from_db()
        assert user.check_password("pass-word-2024")  # nothing changed by the GET
        # The scanner's visit did not use the link up: the member still resets with it.
        member = Client()
        form_page = member.get(path, follow=True)
        response = member.post(
            form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
            {"password1": "New-lead-pass-2026", "password2": "New-lead-pass-2026"},
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("New-lead-pass-2026")


class TestStaffSecondFactor:
    @pytest.fixture(autouse=True)
    def production(self, settings):
        settings.DEBUG = False
        settings.STAFF_REQUIRE_MFA = True

    def test_staff_without_totp_is_sent_to_set_it_up(self, client):
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
        response = client.get("/admin/")
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")
        assert client.get("/admin/news/bulletin/").status_code == 302

    def test_staff_with_totp_but_no_second_factor_this_session_must_give_it(self, client):
        staff = UserFactory(is_staff=True, is_superuser=True)
        login_with_second_factor(Client(), staff)  # activates TOTP
        client.force_login(staff)  # a session that passed only the password
        response = client.get("/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("mfa_reauthenticate"))

    def test_staff_after_second_factor_reach_the_admin(self, staff_client):
        assert staff_client.get("/admin/").status_code == 200

    def test_django_admin_login_form_is_not_a_way_around(self, client):
        response = client.get("/admin/login/?next=/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


class TestAccountPage:
    def test_paid_member_sees_plan_end_and_reveals(self, client):
        member = paid_member(slug="custom")
        services.contact_reveal(user=member, bulletin_id=BulletinFactory().pk, ip=None)
        client.force_login(member)
        html = client.get(reverse("member-account")).content.decode()
        end = member.subscriptions.get().ends_on
        assert "标讯定制会员" in html and f"{end.year}年{end.month}月{end.day}日" in html
        assert "1 / 200 条" in html

    def test_free_member_sees_how_to_upgrade_and_application_status(self, client):
        member = UserFactory()
        client.force_login(member)
        client.post(
            reverse("membership-apply"),
            {
                "name": "李",
                "company": "某建设公司",
                "mobile": "13900001111",
                "plan": plan("query").pk,
            },
        )
        html = client.get(reverse("member-account")).content.decode()
        assert "免费会员" in html and "4000-156-001" in html
        assert "待处理" in html and "标讯查询会员" in html

    def test_profile_saves_and_rejects_a_bad_mobile(self, client):
        member = UserFactory()
        client.force_login(member)
        bad = client.post(reverse("member-account"), {"real_name": "王", "phone": "123"})
        assert "不是有效的手机号" in bad.content.decode()
        client.post(
            reverse("member-account"),
            {
                "real_name": "王经理",
                "company": "某公司",
                "position": "采购",
                "phone": "13900001111",
            },
        )
        member.refresh_from_db()
        assert (member.real_name, member.phone) == ("王经理", "13900001111")


class TestStaffAdmin:
    def test_activate_from_the_admin_records_who_and_extends_renewals(self, staff_client):
        member = paid_member()
        current = member.subscriptions.get()
        response = staff_client.post(
            reverse("admin:members_subscription_add"),
            {
                "user": member.pk,
                "plan": plan("custom").pk,
                "months": 12,
                "starts_on": "",
                "amount_paid_yuan": "5800.00",
                "order_reference": "HT-2026-077",
                "note": "电话续费",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        renewal = member.subscriptions.order_by("-starts_on").first()
        assert renewal.starts_on == current.ends_on + datetime.timedelta(days=1)
        assert renewal.activated_by.email == "editor@example.com"
        assert (renewal.amount_paid_fen, renewal.order_reference) == (580_000, "HT-2026-077")

    def test_end_early_from_the_admin(self, staff_client):
        sub = paid_member().subscriptions.get()
        url = reverse("admin:members_subscription_end", args=[sub.pk])
        assert staff_client.get(url).status_code == 200
        staff_client.post(url, {"reason": "重复开通"})
        sub.refresh_from_db()
        assert sub.status == Subscription.Status.ENDED and sub.end_reason == "重复开通"

    def test_heaviest_viewers_report(self, staff_client):
        heavy, light = paid_member(), paid_member()
        for bulletin in BulletinFactory.create_batch(3):
            services.contact_reveal(user=heavy, bulletin_id=bulletin.pk, ip="10.0.0.1")
        services.contact_reveal(user=light, bulletin_id=BulletinFactory().pk, ip="10.0.0.2")
        html = staff_client.get(reverse("admin:members_contactreveal_report")).content.decode()
        rows = re.findall(r'<tr class="viewer">.*?</tr>', html, re.S)
        assert heavy.email in rows[0] and '<td class="reveals">3</td>' in rows[0]
        assert light.email in rows[1]

    def test_open_applications_listed(self, staff_client):
        services.application_submit(
            name="赵", company="某机电公司", mobile="13800001234", plan=plan("query"), message=""
        )
        html = staff_client.get(
            reverse("admin:members_membershipapplication_changelist") + "?status__exact=open"
        ).content.decode()
        assert "某机电公司" in html


def test_demo_data_holds_a_paid_and_a_free_member():
    from django.core.management import call_command

    call_command("load_demo", stdout=None)
    paid = User.objects.get(email="member@example.com")
    free = User.objects.get(email="free@example.com")
    today = timezone.localdate()
    assert paid.subscriptions.current(today).get().plan.sees_contacts
    assert not free.subscriptions.exists()
    assert Client().login(username="member", password="member-demo-2024")


def test_signups_from_one_ip_are_throttled_with_429(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/m/ip"}
    statuses = []
    for i in range(3):
        response = client.post(
            reverse("account_signup"),
            {
                "email": f"s{i}@example.cn",
                "password1": "Lead-hunt-2026",
                "password2": "Lead-hunt-2026",
            },
        )
        statuses.append(response.status_code)
        client.logout()
    assert statuses == [302, 302, 429]
    assert "操作过于频繁" in response.content.decode()
