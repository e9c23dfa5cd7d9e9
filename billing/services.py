"""Checkout: create orders, settle them from verified provider statements, reconcile
unpaid ones, refund. Fulfilment is members.services.subscription_activate — the same
service staff use for hotline sales — so renewals extend from the current end date and the
period records that an order (not a staff user) started it."""

import datetime
import json
import logging
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import providers
from billing.models import Order, PaymentEvent
from billing.providers import InvalidNotification, Notice, ProviderError
from members.models import Plan, Subscription, User
from portal.emails import build_email

logger = logging.getLogger(__name__)
PERIODS = (6, 12, 24)  # months a member can buy online
QUERY_AFTER = datetime.timedelta(minutes=15)
QUERY_EVERY = datetime.timedelta(minutes=5)
CLOSE_AFTER = datetime.timedelta(hours=2)


class CheckoutError(Exception):
    """A request we refuse, with a message for the member or staff."""


def price_fen(plan: Plan, months: int) -> int:
    return plan.yearly_price_fen * months // 12


def order_create(*, user: User, plan: Plan, months: int, provider: str) -> Order:
    if months not in PERIODS:
        raise CheckoutError(_("购买时长 %(m)s 个月无效。") % {"m": months})
    if not (plan.is_offered and plan.yearly_price_fen):
        raise CheckoutError(_("套餐“%(plan)s”不能在线购买。") % {"plan": plan.name})
    if provider not in providers.enabled():
        raise CheckoutError(_("支付方式“%(p)s”不可用。") % {"p": provider})
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
    return Order.objects.create(
        user=user,
        plan=plan,
        months=months,
        amount_fen=price_fen(plan, months),
        provider=provider,
        out_trade_no=f"{stamp}{secrets.token_hex(6).upper()}",
    )


def _event(provider, kind, accepted, detail, *, order=None, payload="", ip=None):
    PaymentEvent.objects.create(
        provider=provider,
        kind=kind,
        order=order,
        accepted=accepted,
        detail=detail[:300],
        payload=payload[:20000],
        ip=ip,
    )
    log = logger.info if accepted else logger.warning
    log("payment %s %s %s: %s", provider, kind, order or "-", detail)


def notification_receive(*, provider_name: str, body: bytes, headers, form, ip=None):
    """A provider's asynchronous notification: the only thing (with `orders_reconcile`'s
    trade query) that marks an order paid. Returns the provider's expected answer."""
    provider = providers.get(provider_name)
    if body:
        payload = body.decode("utf-8", "replace")
    else:
        payload = json.dumps(dict(form), ensure_ascii=False)
    try:
        notice = provider.parse_notification(body=body, headers=headers, form=form)
    except InvalidNotification as exc:
        _event(provider_name, PaymentEvent.Kind.NOTIFY, False, str(exc), payload=payload, ip=ip)
        return provider.reject(str(exc))
    if notice.app_id != provider.app_id:
        detail = _("应用号不符: %(got)s") % {"got": notice.app_id}
        _event(provider_name, PaymentEvent.Kind.NOTIFY, False, detail, payload=payload, ip=ip)
        return provider.reject(detail)
    accepted, detail = settle(
        provider_name, notice, kind=PaymentEvent.Kind.NOTIFY, payload=payload, ip=ip
    )
    return provider.acknowledge() if accepted else provider.reject(detail)


def settle(provider_name: str, notice: Notice, *, kind: str, payload: str = "", ip=None):
    """Apply a verified statement to its order, once: the order row is locked, so repeated
    or concurrent notifications (and a query racing them) fulfil one period."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(out_trade_no=notice.out_trade_no, provider=provider_name)
            .first()
        )
        if order is None:
            detail = _("未知订单 %(no)s") % {"no": notice.out_trade_no}
            _event(provider_name, kind, False, detail, payload=payload, ip=ip)
            return False, detail
        if kind == PaymentEvent.Kind.NOTIFY:
            order.notifications.append(
                {"received_at": timezone.now().isoformat(), "state": notice.state, "raw": payload}
            )
            order.save(update_fields=["notifications"])
        if notice.amount_fen != order.amount_fen:
            detail = _("金额不符: 通知 %(got)s 分,订单 %(want)s 分") % {
                "got": notice.amount_fen,
                "want": order.amount_fen,
            }
            _event(provider_name, kind, False, detail, order=order, payload=payload, ip=ip)
            return False, detail
        if not notice.paid:
            _event(provider_name, kind, True, f"交易状态 {notice.state}", order=order, ip=ip)
            return True, notice.state
        if order.is_settled:
            _event(provider_name, kind, True, _("重复通知,已处理过"), order=order, ip=ip)
            return True, "duplicate"
        # Paid — even after we closed it for want of payment: the money arrived.
        order.status, order.paid_at = Order.Status.PAID, timezone.now()
        order.trade_no = notice.trade_no
        order.save(update_fields=["status", "paid_at", "trade_no"])
        _fulfil(order)
        _event(provider_name, kind, True, _("支付成功,已开通"), order=order, payload=payload, ip=ip)
        order_id = order.pk
        transaction.on_commit(lambda: _notify_member(order_id, "order_paid"))
    return True, "paid"


def _fulfil(order: Order) -> None:
    from members.services import subscription_activate

    subscription = subscription_activate(
        user=order.user,
        plan=order.plan,
        months=order.months,
        by=None,
        order_reference=order.out_trade_no,
        amount_paid_fen=order.amount_fen,
        note=_("在线支付(%(p)s)") % {"p": order.get_provider_display()},
    )
    order.subscription = subscription
    order.status, order.fulfilled_at = Order.Status.FULFILLED, timezone.now()
    order.save(update_fields=["subscription", "status", "fulfilled_at"])


def _notify_member(order_id: int, template: str) -> None:
    from billing.tasks import order_email

    order_email.delay(order_id, template)


def order_email_send(*, order_id: int, template: str) -> None:
    order = Order.objects.select_related("user", "plan", "subscription").get(pk=order_id)
    if not order.user.email:
        return
    build_email(template, to=[order.user.email], context={"order": order}).send()


def orders_reconcile(*, now=None) -> dict:
    """Beat: ask the provider about orders unpaid after 15 minutes (a notification may be
    lost), close those unpaid after 2 hours. Returns counts."""
    now = now or timezone.now()
    counts = {"queried": 0, "paid": 0, "closed": 0, "errors": 0}
    due = Order.objects.filter(status=Order.Status.CREATED, created_at__lte=now - QUERY_AFTER)
    for order in due.order_by("created_at")[:500]:
        try:
            provider = providers.get(order.provider)
        except KeyError:
            continue  # a provider switched off since: staff see the order as unpaid
        recent = order.last_queried_at and order.last_queried_at > now - QUERY_EVERY
        if not recent or order.created_at <= now - CLOSE_AFTER:
            counts["queried"] += 1
            Order.objects.filter(pk=order.pk).update(last_queried_at=now)
            try:
                notice = provider.query(order)
            except ProviderError as exc:
                counts["errors"] += 1
                _event(order.provider, PaymentEvent.Kind.QUERY, False, str(exc), order=order)
                continue
            if notice is not None and notice.paid:
                accepted, _detail = settle(order.provider, notice, kind=PaymentEvent.Kind.QUERY)
                counts["paid"] += accepted
                continue
        if order.created_at <= now - CLOSE_AFTER:
            counts["closed"] += _close(order, provider)
    return counts


def _close(order: Order, provider) -> int:
    try:
        provider.close(order)
    except ProviderError as exc:  # closing is a courtesy: an unpaid order stays unpaid
        _event(order.provider, PaymentEvent.Kind.CLOSE, False, str(exc), order=order)
    closed = Order.objects.filter(pk=order.pk, status=Order.Status.CREATED).update(
        status=Order.Status.CLOSED, closed_at=timezone.now()
    )
    if closed:
        detail = _("超过 2 小时未支付,已关闭")
        _event(order.provider, PaymentEvent.Kind.CLOSE, True, detail, order=order)
    return closed


def order_refund(*, order: Order, reason: str, by: User | None, amount_fen: int | None = None):
    """Refund through the provider, then shorten the period the order bought (or end it
    for a full refund) and email the member. Nothing changes if the provider refuses."""
    reason = (reason or "").strip()
    if not reason:
        raise CheckoutError(_("退款必须填写原因。"))
    if order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
        raise CheckoutError(
            _("订单 %(no)s 状态为“%(s)s”,不能退款。")
            % {"no": order.out_trade_no, "s": order.get_status_display()}
        )
    amount = order.amount_fen - order.refunded_fen if amount_fen is None else amount_fen
    if not 0 < amount <= order.amount_fen - order.refunded_fen:
        raise CheckoutError(
            _("退款金额 %(a)s 分无效:可退 1–%(max)s 分。")
            % {"a": amount, "max": order.amount_fen - order.refunded_fen}
        )
    provider = providers.get(order.provider)
    refund_no = f"{order.out_trade_no}R{order.events.filter(kind='refund').count() + 1}"
    try:
        provider.refund(order, amount_fen=amount, refund_no=refund_no, reason=reason)
    except ProviderError as exc:
        _event(order.provider, PaymentEvent.Kind.REFUND, False, str(exc), order=order)
        raise CheckoutError(str(exc)) from exc
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        order.refunded_fen += amount
        order.refund_reason = reason
        order.refunded_at = timezone.now()
        if order.refunded_fen >= order.amount_fen:
            order.status = Order.Status.REFUNDED
        order.save(update_fields=["refunded_fen", "refund_reason", "refunded_at", "status"])
        if order.subscription_id:
            _shorten(order, reason=reason, by=by)
        _event(
            order.provider,
            PaymentEvent.Kind.REFUND,
            True,
            _("已退款 %(a)s 分") % {"a": amount},
            order=order,
        )
        order_id = order.pk
        transaction.on_commit(lambda: _notify_member(order_id, "order_refunded"))
    return order


def _shorten(order: Order, *, reason: str, by) -> None:
    """Keep the share of the period still paid for; nothing left (or already past): end it."""
    from members.services import subscription_end_early

    period = Subscription.objects.select_for_update().get(pk=order.subscription_id)
    if period.status == Subscription.Status.ENDED:
        return
    paid_share = (order.amount_fen - order.refunded_fen) / order.amount_fen
    days = (period.ends_on - period.starts_on).days + 1
    keep = int(days * paid_share)
    new_end = period.starts_on + datetime.timedelta(days=keep - 1)
    if keep <= 0 or new_end < timezone.localdate():
        subscription_end_early(
            subscription=period, reason=_("订单退款:%(r)s") % {"r": reason}, by=by
        )
        return
    period.ends_on = new_end
    period.note = (period.note + " " + _("部分退款,缩短至 %(d)s") % {"d": new_end}).strip()[:200]
    period.save(update_fields=["ends_on", "note"])
