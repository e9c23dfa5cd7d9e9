"""Checkout end to end against loopback stand-ins of Alipay and WeChat Pay, and the
development provider: orders, notifications, the reconciliation job, refunds."""

import datetime
import json
import threading
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Order, PaymentEvent
from billing.tests.conftest import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCHID
from billing.tests.stand_ins import alipay_notification, wechat_notification
from members.access import member_rights
from members.models import Subscription
from members.tests.factories import UserFactory, paid_member, plan

pytestmark = pytest.mark.django_db


def _member(client, **kwargs):
    user = UserFactory(**kwargs)
    client.force_login(user)
    return user


def _checkout(client, provider, *, slug="custom", months=12) -> Order:
    response = client.post(
        reverse("checkout"), {"plan": plan(slug).pk, "months": months, "provider": provider}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.latest("created_at")
    assert response["Location"] == reverse("order-pay", args=[order.out_trade_no])
    return order


def _notify_alipay(form):
    return Client().post(reverse("billing-notify", args=["alipay"]), form)


def _pay_alipay(gateway, keys, order):
    """The member pays at Alipay: the trade exists there, then its notification arrives."""
    gateway.trades[order.out_trade_no] = {
        "status": "TRADE_SUCCESS",
        "total_amount": order.amount_yuan,
    }
    return _notify_alipay(
        alipay_notification(order=order, app_id=ALIPAY_APP_ID, key=keys["alipay"])
    )


def _notify_wechat(body, headers):
    meta = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}
    return Client().post(
        reverse("billing-notify", args=["wechat"]),
        data=body,
        content_type="application/json",
        **meta,
    )


class TestAlipay:
    def test_pay_redirects_to_the_cashier_with_a_signed_request(self, client, alipay):
        _member(client)
        order = _checkout(client, "alipay", months=24)
        assert order.amount_fen == plan("custom").yearly_price_fen * 2
        response = client.get(reverse("order-pay", args=[order.out_trade_no]))
        url = response["Location"]
        assert url.startswith(settings.ALIPAY_GATEWAY + "?")
        params = dict(parse_qsl(urlsplit(url).query))
        assert params["method"] == "alipay.trade.page.pay" and params["sign_type"] == "RSA2"
        assert json.loads(params["biz_content"])["total_amount"] == order.amount_yuan
        assert params["notify_url"].endswith("/billing/notify/alipay/")
        phone = client.get(
            reverse("order-pay", args=[order.out_trade_no]),
            HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148",
        )
        assert dict(parse_qsl(urlsplit(phone["Location"]).query))["method"] == (
            "alipay.trade.wap.pay"
        )

    def test_a_notification_fulfils_once_and_the_member_sees_contacts(self, client, alipay, keys):
        member = _member(client)
        order = _checkout(client, "alipay")
        form = alipay_notification(order=order, app_id=ALIPAY_APP_ID, key=keys["alipay"])
        response = _notify_alipay(form)
        assert response.status_code == 200 and response.content == b"success"
        order.refresh_from_db()
        assert order.status == Order.Status.FULFILLED and order.trade_no == form["trade_no"]
        period = order.subscription
        assert period.plan.slug == "custom" and period.activated_by is None
        assert period.order_reference == order.out_trade_no
        assert period.ends_on == timezone.localdate() + datetime.timedelta(days=364)
        assert member_rights(member, fresh=True).sees_contacts
        # Alipay repeats a notification until it reads "success": nothing more happens.
        assert _notify_alipay(form).content == b"success"
        assert Subscription.objects.filter(user=member).count() == 1
        assert len(Order.objects.get(pk=order.pk).notifications) == 2
        status = client.get(reverse("order-status", args=[order.out_trade_no])).json()
        assert status["paid"] and status["status"] == "fulfilled"
        account = client.get(reverse("member-account")).content.decode()
        assert order.out_trade_no in account and "在线订单" in account and "申请发票" in account

    def test_untrusted_notifications_change_nothing_and_are_logged(self, client, alipay, keys):
        _member(client)
        order = _checkout(client, "alipay")
        sign = dict(order=order, app_id=ALIPAY_APP_ID, key=keys["alipay"])
        tampered = alipay_notification(**sign)
        tampered["total_amount"] = "0.01"  # altered after Alipay signed it
        cases = {
            "签名无效": tampered,
            "金额不符": alipay_notification(**sign, total_amount="1.00"),
            "未知订单": alipay_notification(**sign, out_trade_no="20261126NOSUCHORDER"),
            "应用号不符": alipay_notification(**{**sign, "app_id": "2021999999999999"}),
            "签名无效 ": alipay_notification(**{**sign, "key": keys["app"]}),  # not Alipay's key
        }
        for expected, form in cases.items():
            response = _notify_alipay(form)
            assert response.status_code == 400 and response.content == b"failure", expected
        order.refresh_from_db()
        assert order.status == Order.Status.CREATED and order.subscription is None
        assert not Subscription.objects.exists()
        rejected = list(
            PaymentEvent.objects.filter(accepted=False).values_list("detail", flat=True)
        )
        assert len(rejected) == 5
        for expected in cases:
            assert any(d.startswith(expected.strip()) for d in rejected), (expected, rejected)

    def test_a_renewal_starts_after_the_current_period(self, client, alipay, keys):
        member = paid_member(slug="custom")
        client.force_login(member)
        current_end = Subscription.objects.get(user=member).ends_on
        order = _checkout(client, "alipay", months=6)
        _notify_alipay(alipay_notification(order=order, app_id=ALIPAY_APP_ID, key=keys["alipay"]))
        order.refresh_from_db()
        assert order.subscription.starts_on == current_end + datetime.timedelta(days=1)

    def test_the_query_job_recovers_a_lost_notification_and_closes_stale_orders(self, alipay):
        member = UserFactory()
        now = timezone.now()
        lost, stale, fresh = (
            services.order_create(user=member, plan=plan("query"), months=12, provider="alipay")
            for _ in range(3)
        )
        Order.objects.filter(pk=lost.pk).update(created_at=now - datetime.timedelta(minutes=20))
        Order.objects.filter(pk=stale.pk).update(created_at=now - datetime.timedelta(hours=3))
        alipay.trades[lost.out_trade_no] = {
            "status": "TRADE_SUCCESS",
            "total_amount": lost.amount_yuan,
        }
        counts = services.orders_reconcile()
        assert counts == {"queried": 2, "paid": 1, "closed": 1, "errors": 0}
        lost.refresh_from_db(), stale.refresh_from_db(), fresh.refresh_from_db()
        assert lost.status == Order.Status.FULFILLED and lost.subscription.plan.slug == "query"
        assert stale.status == Order.Status.CLOSED
        assert fresh.status == Order.Status.CREATED
        queried = {json.loads(r["biz_content"])["out_trade_no"] for r in alipay.requests}
        assert fresh.out_trade_no not in queried and lost.out_trade_no in queried
        # Every call to the gateway carried the app's valid signature (else 40002 above).

    def test_partial_refund_shortens_the_period(self, staff_client, alipay, keys):
        member = UserFactory()
        order = services.order_create(
            user=member, plan=plan("custom"), months=12, provider="alipay"
        )
        _pay_alipay(alipay, keys, order)
        order.refresh_from_db()
        half = order.amount_fen // 2
        response = staff_client.post(
            reverse("admin:billing_order_refund", args=[order.pk]),
            {"amount_yuan": f"{half / 100:.2f}", "reason": "会员要求退一半"},
        )
        assert response.status_code == 302
        order.refresh_from_db()
        assert order.refunded_fen == half and order.status == Order.Status.FULFILLED
        assert alipay.refunds[0]["refund_amount"] == f"{half / 100:.2f}"
        period = Subscription.objects.get(pk=order.subscription_id)
        assert period.status != Subscription.Status.ENDED
        assert period.ends_on == period.starts_on + datetime.timedelta(days=365 // 2 - 1)
        # The period's history names the order that started it.
        history = staff_client.get(
            reverse("admin:members_subscription_change", args=[period.pk])
        ).content.decode()
        assert "在线订单" in history and order.out_trade_no in history
        listing = staff_client.get(reverse("admin:members_subscription_changelist"))
        assert order.out_trade_no in listing.content.decode()
        # More than what is left is refused, with the reason, and changes nothing.
        response = staff_client.post(
            reverse("admin:billing_order_refund", args=[order.pk]),
            {"amount_yuan": f"{order.amount_fen / 100:.2f}", "reason": "再退"},
            follow=True,
        )
        assert "退款金额" in response.content.decode()
        assert len(alipay.refunds) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_notifications_fulfil_one_period_and_send_one_email(
    alipay, keys, celery_worker, smtp_server
):
    member = UserFactory(email="buyer@example.cn")
    order = services.order_create(user=member, plan=plan("custom"), months=12, provider="alipay")
    form = alipay_notification(order=order, app_id=ALIPAY_APP_ID, key=keys["alipay"])
    answers, start = [], threading.Barrier(10)

    def deliver():
        start.wait()
        try:
            response = services.notification_receive(
                provider_name="alipay", body=b"", headers={}, form=form
            )
            answers.append(response.content)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [b"success"] * 10
    assert Subscription.objects.filter(user=member).count() == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "buyer@example.cn" and "已开通" in message["Subject"]
    assert order.out_trade_no in message.get_body(("plain",)).get_content()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_full_refund_ends_the_period_and_emails_the_member(
    staff_client, alipay, keys, celery_worker, smtp_server
):
    member = UserFactory(email="refund@example.cn")
    order = services.order_create(user=member, plan=plan("custom"), months=12, provider="alipay")
    _pay_alipay(alipay, keys, order)
    smtp_server.wait_for(1)  # 支付成功
    response = staff_client.post(
        reverse("admin:billing_order_refund", args=[order.pk]), {"reason": "重复购买"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_fen == order.amount_fen
    assert alipay.refunds[0]["refund_amount"] == order.amount_yuan
    assert Subscription.objects.get(pk=order.subscription_id).status == "ended"
    assert not member_rights(member, fresh=True).sees_contacts
    messages = smtp_server.wait_for(2)
    assert (
        "已退款" in messages[1]["Subject"]
        and "重复购买" in messages[1].get_body(("plain",)).get_content()
    )


class TestWechat:
    def test_native_qr_then_notification_fulfils(self, client, wechat, keys):
        member = _member(client)
        order = _checkout(client, "wechat")
        page = client.get(reverse("order-pay", args=[order.out_trade_no])).content.decode()
        assert "<svg" in page and "微信扫码支付" in page
        method, path, sent = wechat.requests[-1]
        assert path == "/v3/pay/transactions/native"
        assert json.loads(sent)["amount"]["total"] == order.amount_fen
        body, headers = wechat_notification(
            order=order,
            mchid=WECHAT_MCHID,
            appid=WECHAT_APPID,
            apiv3_key=wechat.apiv3_key,
            key=keys["platform"],
        )
        response = _notify_wechat(body, headers)
        assert response.status_code == 200 and response.json()["code"] == "SUCCESS"
        order.refresh_from_db()
        assert order.status == Order.Status.FULFILLED
        assert member_rights(member, fresh=True).sees_contacts

    def test_forged_or_wrong_amount_notifications_are_refused(self, client, wechat, keys):
        _member(client)
        order = _checkout(client, "wechat")
        args = dict(order=order, mchid=WECHAT_MCHID, appid=WECHAT_APPID, apiv3_key=wechat.apiv3_key)
        body, headers = wechat_notification(**args, key=keys["platform"])
        forged_body, forged_headers = wechat_notification(**args, key=keys["merchant"])
        cheap_body, cheap_headers = wechat_notification(**args, key=keys["platform"], total=1)
        for b, h in (
            (body + " ", headers),
            (forged_body, forged_headers),
            (cheap_body, cheap_headers),
        ):
            response = _notify_wechat(b, h)
            assert response.status_code == 400 and response.json()["code"] == "FAIL"
        order.refresh_from_db()
        assert order.status == Order.Status.CREATED

    def test_query_recovers_a_renewal_and_refund_goes_through_the_api(self, wechat, settings):
        member = paid_member(slug="custom")  # renewing: the new period follows the current
        current_end = Subscription.objects.get(user=member).ends_on
        order = services.order_create(
            user=member, plan=plan("custom"), months=12, provider="wechat"
        )
        Order.objects.filter(pk=order.pk).update(
            created_at=timezone.now() - datetime.timedelta(minutes=16)
        )
        wechat.trades[order.out_trade_no] = {"state": "SUCCESS", "total": order.amount_fen}
        assert services.orders_reconcile()["paid"] == 1
        order.refresh_from_db()
        assert order.status == Order.Status.FULFILLED
        assert order.subscription.starts_on == current_end + datetime.timedelta(days=1)
        services.order_refund(order=order, reason="测试退款", by=None)
        assert wechat.refunds[0]["amount"] == {
            "refund": order.amount_fen,
            "total": order.amount_fen,
            "currency": "CNY",
        }
        order.refresh_from_db()
        assert order.status == Order.Status.REFUNDED
        assert Subscription.objects.get(pk=order.subscription_id).status == "ended"
        assert member_rights(member, fresh=True).sees_contacts  # the current year still runs


class TestDevelopmentProvider:
    def test_the_simulated_cashier_pays_through_the_notification_path(self, client, dev_provider):
        member = _member(client)
        order = _checkout(client, "dev")
        cashier = client.get(reverse("order-pay", args=[order.out_trade_no]))
        assert cashier["Location"] == reverse("billing-dev-cashier", args=[order.out_trade_no])
        assert "确认支付" in client.get(cashier["Location"]).content.decode()
        result = client.post(cashier["Location"], follow=True).content.decode()
        assert "支付成功" in result and "已开通" in result
        assert member_rights(member, fresh=True).sees_contacts
        assert PaymentEvent.objects.get(order=order, accepted=True).kind == "notify"

    def test_buy_renew_and_refund_the_renewal(self, client, dev_provider):
        member = _member(client)
        first, renewal = (_checkout(client, "dev", months=m) for m in (12, 6))
        for order in (first, renewal):
            client.post(reverse("billing-dev-cashier", args=[order.out_trade_no]))
            order.refresh_from_db()
        assert renewal.subscription.starts_on == first.subscription.ends_on + datetime.timedelta(
            days=1
        )
        services.order_refund(order=renewal, reason="不需要续费", by=None)
        renewal.refresh_from_db()
        assert renewal.status == Order.Status.REFUNDED
        assert Subscription.objects.get(pk=renewal.subscription_id).status == "ended"
        assert Subscription.objects.get(pk=first.subscription_id).status == "active"
        assert member_rights(member, fresh=True).sees_contacts  # the first year still runs

    def test_an_unsigned_notification_is_refused(self, client, dev_provider):
        _member(client)
        order = _checkout(client, "dev")
        body = json.dumps(
            {
                "app_id": "dev-portal",
                "out_trade_no": order.out_trade_no,
                "total_fen": order.amount_fen,
                "trade_state": "SUCCESS",
            }
        )
        response = Client().post(
            reverse("billing-notify", args=["dev"]),
            data=body,
            content_type="application/json",
            HTTP_X_DEV_PAY_SIGNATURE="bm90LWEtc2lnbmF0dXJl",
        )
        assert response.status_code == 400
        order.refresh_from_db()
        assert order.status == Order.Status.CREATED

    def test_checkout_refuses_what_is_not_for_sale(self, client, dev_provider):
        _member(client)
        plans = client.get(reverse("membership")).content.decode()
        assert "立即开通" in plans and reverse("checkout") in plans
        response = client.post(
            reverse("checkout"), {"plan": plan("free").pk, "months": 12, "provider": "dev"}
        )
        assert response.status_code == 200 and not Order.objects.exists()
        response = client.post(
            reverse("checkout"), {"plan": plan("custom").pk, "months": 12, "provider": "alipay"}
        )
        assert response.status_code == 200 and not Order.objects.exists()

    def test_orders_are_private(self, client, dev_provider):
        _member(client)
        order = _checkout(client, "dev")
        other = Client()
        _member(other)
        for name in ("order-result", "order-status", "order-pay", "invoice-request"):
            assert other.get(reverse(name, args=[order.out_trade_no])).status_code == 404
        assert Client().get(reverse("order-result", args=[order.out_trade_no])).status_code == 302
