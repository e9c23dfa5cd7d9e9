"""Refunds move money once: recorded under the order's row lock before the provider is
called, asked again with the same refund number after a timeout, settled once from the
provider's answer or its refund query. Against the loopback stand-ins of Alipay and WeChat
Pay (billing/tests/stand_ins.py), which treat a repeated refund number as the same refund
and list in `refunds` each movement of money."""

import datetime
import json
import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Order, PaymentEvent, Refund
from billing.providers import fen_to_yuan
from billing.selectors import order_refundable_fen
from billing.tests.conftest import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCHID
from billing.tests.stand_ins import alipay_notification, wechat_notification
from conftest import login_with_second_factor
from members.models import Subscription
from members.tests.factories import UserFactory, plan

LATER = datetime.timedelta(minutes=2)  # past services.REFUND_RECHECK_AFTER


class Provider:
    """One stand-in behind the few questions these tests ask of it."""

    def __init__(self, name, stand_in, keys):
        self.name, self.stand_in, self.keys = name, stand_in, keys

    def paid_order(self, user=None) -> Order:
        """An order paid the real way: the trade exists at the provider, its signed
        notification arrives, the period starts."""
        order = services.order_create(
            user=user or UserFactory(), plan=plan("custom"), months=12, provider=self.name
        )
        if self.name == "alipay":
            self.stand_in.trades[order.out_trade_no] = {
                "status": "TRADE_SUCCESS",
                "total_amount": order.amount_yuan,
            }
            form = alipay_notification(order=order, app_id=ALIPAY_APP_ID, key=self.keys["alipay"])
            response = Client().post(reverse("billing-notify", args=["alipay"]), form)
        else:
            self.stand_in.trades[order.out_trade_no] = {
                "state": "SUCCESS",
                "total": order.amount_fen,
            }
            body, headers = wechat_notification(
                order=order,
                mchid=WECHAT_MCHID,
                appid=WECHAT_APPID,
                apiv3_key=self.stand_in.apiv3_key,
                key=self.keys["platform"],
            )
            meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
            response = Client().post(
                reverse("billing-notify", args=["wechat"]),
                data=body,
                content_type="application/json",
                **meta,
            )
        assert response.status_code == 200
        order.refresh_from_db()
        assert order.status == Order.Status.FULFILLED
        return order

    def refund_calls(self) -> list[str]:
        """The refund number of every refund request the provider received."""
        if self.name == "alipay":
            return [
                json.loads(r["biz_content"])["out_request_no"]
                for r in self.stand_in.requests
                if r.get("method") == "alipay.trade.refund"
            ]
        return [
            json.loads(body)["out_refund_no"]
            for method, path, body in self.stand_in.requests
            if method == "POST" and path == "/v3/refund/domestic/refunds"
        ]

    def movements(self) -> list[tuple[str, int]]:
        """(refund number, fen) of each refund that moved money at the provider."""
        if self.name == "alipay":
            return [
                (r["out_request_no"], round(float(r["refund_amount"]) * 100))
                for r in self.stand_in.refunds
            ]
        return [(r["out_refund_no"], r["amount"]["refund"]) for r in self.stand_in.refunds]


@pytest.fixture(params=["alipay", "wechat"])
def provider(request, keys):
    return Provider(request.param, request.getfixturevalue(request.param), keys)


def _period(order) -> Subscription:
    return Subscription.objects.get(pk=order.subscription_id)


@pytest.mark.django_db
class TestTimeouts:
    def test_a_timed_out_refund_is_retried_with_its_number_and_moves_money_once(
        self, provider, settings
    ):
        order = provider.paid_order()
        settings.PAYMENT_API_TIMEOUT = 0.5
        # The provider refunds, then its answer comes too late for our client.
        provider.stand_in.refund_delays = [1.5]
        refund = services.order_refund(order=order, reason="会员要求退款", by=None)
        assert refund.status == Refund.Status.SUCCEEDED and refund.attempts == 2
        number = f"{order.out_trade_no}-R1"
        assert refund.refund_no == number
        assert provider.refund_calls() == [number, number]
        assert provider.movements() == [(number, order.amount_fen)]
        order.refresh_from_db()
        assert order.status == Order.Status.REFUNDED and order.refunded_fen == order.amount_fen
        assert _period(order).status == Subscription.Status.ENDED
        assert PaymentEvent.objects.filter(
            order=order, accepted=False, detail__contains="暂无确定结果"
        ).exists()

    def test_no_answer_leaves_it_unknown_until_the_job_settles_it_by_query(
        self, provider, settings, django_capture_on_commit_callbacks
    ):
        order = provider.paid_order()
        settings.PAYMENT_API_TIMEOUT = 0.5
        provider.stand_in.refund_delays = [1.5, 1.5]
        refund = services.order_refund(order=order, reason="会员要求退款", by=None)
        # Money moved at the provider, but we do not know it yet: nothing changes here,
        # and the amount stays taken, so nobody can refund it again meanwhile.
        assert refund.status == Refund.Status.UNKNOWN and refund.attempts == 2
        order.refresh_from_db()
        assert order.status == Order.Status.FULFILLED and order.refunded_fen == 0
        assert _period(order).status == Subscription.Status.ACTIVE
        with pytest.raises(services.CheckoutError, match="没有可退金额"):
            services.order_refund(order=order, reason="再退一次", by=None)
        # The job asks about the number (no third refund request) and settles it, once.
        with django_capture_on_commit_callbacks() as emails:
            counts = services.refunds_reconcile(now=timezone.now() + LATER)
            assert services.refunds_reconcile(now=timezone.now() + LATER)["checked"] == 0
        assert counts == {"checked": 1, "succeeded": 1, "failed": 0, "open": 0}
        assert len(emails) == 1
        assert provider.refund_calls() == [refund.refund_no] * 2
        assert len(provider.movements()) == 1
        order.refresh_from_db()
        assert order.status == Order.Status.REFUNDED
        assert _period(order).status == Subscription.Status.ENDED


@pytest.mark.django_db
def test_a_refund_recorded_before_a_crash_is_sent_by_the_job_with_its_number(provider):
    order = provider.paid_order()
    # What is left when the process dies between the commit and the provider call.
    refund = services.refund_request(order=order, reason="会员要求退款", by=None)
    assert refund.status == Refund.Status.PENDING and provider.refund_calls() == []
    # A refund this fresh may still be on its way: the job leaves it alone.
    assert services.refunds_reconcile()["checked"] == 0
    counts = services.refunds_reconcile(now=timezone.now() + LATER)
    assert counts["succeeded"] == 1
    # The provider had no refund of that number (query), so it was sent: once.
    assert provider.refund_calls() == [refund.refund_no]
    assert provider.movements() == [(refund.refund_no, order.amount_fen)]
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.settled_at is not None


@pytest.mark.django_db
def test_a_refund_wechat_is_still_processing_settles_later_once(
    wechat, keys, django_capture_on_commit_callbacks
):
    provider = Provider("wechat", wechat, keys)
    order = provider.paid_order()
    wechat.refund_status = "PROCESSING"
    half = order.amount_fen // 2
    refund = services.order_refund(order=order, reason="退一半", by=None, amount_fen=half)
    assert refund.status == Refund.Status.PENDING and refund.detail == "PROCESSING"
    order.refresh_from_db()
    assert order.refunded_fen == 0
    ends_on = _period(order).ends_on
    assert services.refunds_reconcile(now=timezone.now() + LATER)["open"] == 1
    wechat.refunds[0]["status"] = "SUCCESS"  # WeChat Pay finished it
    with django_capture_on_commit_callbacks() as emails:
        assert services.refunds_reconcile(now=timezone.now() + LATER)["succeeded"] == 1
        assert services.refunds_reconcile(now=timezone.now() + LATER)["checked"] == 0
    assert len(emails) == 1
    order.refresh_from_db()
    assert order.refunded_fen == half and order.status == Order.Status.FULFILLED
    period = _period(order)
    assert period.ends_on < ends_on and period.status == Subscription.Status.ACTIVE
    assert provider.refund_calls() == [refund.refund_no] and len(wechat.refunds) == 1


@pytest.mark.django_db
def test_a_refused_refund_moves_nothing_and_frees_the_amount(alipay, keys):
    provider = Provider("alipay", alipay, keys)
    order = provider.paid_order()
    trade = alipay.trades.pop(order.out_trade_no)  # Alipay does not know the trade
    with pytest.raises(services.CheckoutError, match="交易不存在") as refused:
        services.order_refund(order=order, reason="会员要求退款", by=None)
    assert f"{order.out_trade_no}-R1" in str(refused.value)
    [failed] = order.refunds.all()
    assert failed.status == Refund.Status.FAILED and alipay.refunds == []
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert _period(order).status == Subscription.Status.ACTIVE
    # A refusal moved no money: the whole amount can be refunded, under a new number.
    alipay.trades[order.out_trade_no] = trade
    refund = services.order_refund(order=order, reason="会员要求退款", by=None)
    assert refund.refund_no == f"{order.out_trade_no}-R2"
    assert refund.status == Refund.Status.SUCCEEDED
    assert provider.movements() == [(refund.refund_no, order.amount_fen)]


@pytest.mark.django_db
def test_refunds_never_exceed_what_was_paid(alipay, keys):
    order = Provider("alipay", alipay, keys).paid_order()
    third = order.amount_fen // 3
    for _ in range(3):
        services.order_refund(order=order, reason="分次退款", by=None, amount_fen=third)
    left = order.amount_fen - 3 * third
    with pytest.raises(services.CheckoutError, match=f"可退 1–{left} 分"):
        services.order_refund(order=order, reason="多退", by=None, amount_fen=left + 1)
    with pytest.raises(services.CheckoutError, match="必须填写原因"):
        services.order_refund(order=order, reason=" ", by=None)
    assert order.refunds.count() == 3 and len(alipay.refunds) == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_staff_refunding_an_order_at_once_move_money_once(
    provider, django_user_model, celery_worker, smtp_server
):
    member = UserFactory(email="twice@example.cn")
    order = provider.paid_order(member)
    smtp_server.wait_for(1)  # 支付成功
    editor = django_user_model.objects.create_user(
        "editor", email="editor@example.com", password="x", is_staff=True, is_superuser=True
    )
    staff = [login_with_second_factor(Client(), editor) for _ in range(2)]
    # The first refund is still at the provider when the second is checked.
    provider.stand_in.refund_delays = [0.5]
    url = reverse("admin:billing_order_refund", args=[order.pk])
    pages, start = [], threading.Barrier(2)

    def refund(client):
        start.wait()
        try:
            pages.append(client.post(url, {"reason": "重复购买"}, follow=True).content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(client,)) for client in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum("已成功" in page for page in pages) == 1
    assert sum("没有可退金额" in page for page in pages) == 1
    [refund] = Refund.objects.filter(order=order)
    assert refund.status == Refund.Status.SUCCEEDED and refund.requested_by == editor
    # One request reached the provider; one movement of money.
    assert provider.refund_calls() == [refund.refund_no]
    assert provider.movements() == [(refund.refund_no, order.amount_fen)]
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_fen == order.amount_fen
    assert _period(order).status == Subscription.Status.ENDED
    messages = smtp_server.wait_for(3, timeout=3)
    assert [m["Subject"].count("已退款") for m in messages] == [0, 1]


@pytest.mark.django_db
def test_staff_see_open_refunds_and_can_ask_the_provider_again(
    staff_client, alipay, keys, settings
):
    order = Provider("alipay", alipay, keys).paid_order()
    settings.PAYMENT_API_TIMEOUT = 0.5
    alipay.refund_delays = [1.5, 1.5]
    half = order.amount_fen // 2
    response = staff_client.post(
        reverse("admin:billing_order_refund", args=[order.pk]),
        {"amount_yuan": f"{half / 100:.2f}", "reason": "退一半"},
        follow=True,
    )
    page = response.content.decode()
    number = f"{order.out_trade_no}-R1"
    assert f"退款 {number} 尚无最终结果" in page and "请勿另行发起" in page
    form = staff_client.get(reverse("admin:billing_order_refund", args=[order.pk]))
    form = form.content.decode()
    assert number in form and "结果未知" in form
    assert f"可退金额:¥{fen_to_yuan(order.amount_fen - half)}" in form  # the open half is taken
    listing = staff_client.get(reverse("admin:billing_refund_changelist")).content.decode()
    assert number in listing
    refund = Refund.objects.get(refund_no=number)
    response = staff_client.post(
        reverse("admin:billing_refund_changelist"),
        {"action": "sync", "_selected_action": [refund.pk]},
        follow=True,
    )
    assert f"退款 {number} 已成功" in response.content.decode()
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and len(alipay.refunds) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_refunds_made_before_the_ledger_are_recorded_by_the_migration():
    from django.db.migrations.executor import MigrationExecutor

    def state_at(target):
        executor = MigrationExecutor(connection)
        executor.migrate([target])
        return MigrationExecutor(connection).loader.project_state([target]).apps

    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("billing")[0]
    before = state_at(("billing", "0002_invoice_private_paths"))
    member = before.get_model("members", "User").objects.create(username="old", email="o@x.cn")
    order = before.get_model("billing", "Order").objects.create(
        user_id=member.pk,
        plan_id=plan("custom").pk,
        months=12,
        amount_fen=88800,
        provider="alipay",
        out_trade_no="20261101000000ABCDEF123456",
        status="fulfilled",
        refunded_fen=44400,
        refund_reason="退一半",
    )
    after = state_at(latest)
    [refund] = after.get_model("billing", "Refund").objects.filter(order_id=order.pk)
    assert (refund.status, refund.amount_fen) == ("succeeded", 44400)
    assert refund.refund_no == "20261101000000ABCDEF123456-legacy"
    assert order_refundable_fen(Order.objects.get(pk=order.pk)) == 44400


@pytest.mark.django_db
def test_a_refund_cannot_be_recorded_inside_a_callers_transaction(alipay, keys):
    order = Provider("alipay", alipay, keys).paid_order()
    # Its row must be committed before the provider is called.
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.order_refund(order=order, reason="会员要求退款", by=None)
    assert alipay.refunds == [] and not Refund.objects.exists()
