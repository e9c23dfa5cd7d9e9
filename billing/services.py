"""Checkout: create orders, settle them from verified provider statements, reconcile
unpaid ones, refund. Fulfilment is members.services.subscription_activate — the same
service staff use for hotline sales — so renewals extend from the current end date and the
period records that an order (not a staff user) started it.

Refunds move money once: a `Refund` row with its number is committed under the order's
row lock before the provider is called; a timeout is asked again with the same number
(the providers treat it as the same refund), and the period is shortened when the
provider's answer settles the row, which happens once."""

import datetime
import json
import logging
import secrets

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import providers
from billing.models import Order, PaymentEvent, Refund
from billing.providers import InvalidNotification, Notice, ProviderError, RefundAnswer
from members.models import Plan, Subscription, User
from portal.emails import build_email

logger = logging.getLogger(__name__)
PERIODS = (6, 12, 24)  # months a member can buy online
QUERY_AFTER = datetime.timedelta(minutes=15)
QUERY_EVERY = datetime.timedelta(minutes=5)
CLOSE_AFTER = datetime.timedelta(hours=2)
REFUND_ATTEMPTS = 2  # a refund without an answer is sent once more at once, same number
# The job leaves a refund alone this long after it was last sent (it may be in flight).
REFUND_RECHECK_AFTER = datetime.timedelta(minutes=1)


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


def order_refund(
    *, order: Order, reason: str, by: User | None, amount_fen: int | None = None
) -> Refund:
    """Refund through the provider (all that is left when `amount_fen` is None). Returns
    the Refund: succeeded (the period is shortened, or ended for a full refund, and the
    member emailed), or still open when the provider is processing or gave no answer
    (`refunds_reconcile` settles it with the same number). CheckoutError when refused,
    by us or by the provider (then no money moved)."""
    refund = refund_request(order=order, reason=reason, by=by, amount_fen=amount_fen)
    refund = refund_submit(refund=refund)
    if refund.status == Refund.Status.FAILED:
        raise CheckoutError(
            _("退款 %(no)s 未成功,款项未退出:%(d)s") % {"no": refund.refund_no, "d": refund.detail}
        )
    return refund


def refund_request(
    *, order: Order, reason: str, by: User | None, amount_fen: int | None = None
) -> Refund:
    """Record a refund and its number under the order's row lock; the caller sends it
    after this commits. Open refunds count against what is left, so a concurrent request
    can only refund the rest, and a crash before the provider call leaves an open row."""
    reason = (reason or "").strip()
    if not reason:
        raise CheckoutError(_("退款必须填写原因。"))
    # durable: inside a caller's transaction the row would not be committed before the
    # provider call, which is the whole point (Django raises RuntimeError instead).
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
            raise CheckoutError(
                _("订单 %(no)s 状态为“%(s)s”,不能退款。")
                % {"no": order.out_trade_no, "s": order.get_status_display()}
            )
        if order.provider not in providers.enabled():
            raise CheckoutError(
                _("支付方式“%(p)s”未启用,无法退款。") % {"p": order.get_provider_display()}
            )
        refunds = list(order.refunds.all())
        open_fen = sum(r.amount_fen for r in refunds if r.is_open)
        done_fen = sum(r.amount_fen for r in refunds if r.status == Refund.Status.SUCCEEDED)
        refundable = order.amount_fen - open_fen - done_fen
        if refundable <= 0:
            raise CheckoutError(
                _("订单 %(no)s 没有可退金额:已退 %(done)s 分,处理中 %(open)s 分。")
                % {"no": order.out_trade_no, "done": done_fen, "open": open_fen}
            )
        amount = refundable if amount_fen is None else amount_fen
        if not 0 < amount <= refundable:
            raise CheckoutError(
                _("退款金额 %(a)s 分无效:可退 1–%(max)s 分。") % {"a": amount, "max": refundable}
            )
        refund = Refund.objects.create(
            order=order,
            refund_no=f"{order.out_trade_no}-R{len(refunds) + 1}",
            amount_fen=amount,
            reason=reason[:200],
            requested_by=by,
        )
        detail = _("登记退款 %(no)s:%(a)s 分") % {"no": refund.refund_no, "a": amount}
        _event(order.provider, PaymentEvent.Kind.REFUND, True, detail, order=order)
    return refund


def refund_submit(*, refund: Refund) -> Refund:
    """Send an open refund with its number and settle it from the answer. No answer (a
    timeout): sent again at once with the same number; still none: left unknown."""
    order = refund.order
    try:
        provider = providers.get(order.provider)
    except (KeyError, ProviderError) as exc:
        return _refund_unsettled(refund, _("支付方式不可用: %(e)s") % {"e": exc}, sent=False)
    for _attempt in range(REFUND_ATTEMPTS):
        Refund.objects.filter(pk=refund.pk).update(
            attempts=F("attempts") + 1, last_attempt_at=timezone.now()
        )
        try:
            answer = provider.refund(
                order,
                amount_fen=refund.amount_fen,
                refund_no=refund.refund_no,
                reason=refund.reason,
            )
        except ProviderError as exc:
            refund = _refund_unsettled(refund, str(exc), sent=True)
            if not refund.is_open:  # settled meanwhile (the job, another retry)
                return refund
            continue
        return refund_settle(refund=refund, answer=answer)
    return refund


def refund_sync(*, refund: Refund) -> Refund:
    """Settle an open refund from the provider: its answer to a query by the number, or,
    when it has no refund of that number (the request never arrived), by sending it."""
    if not refund.is_open:
        return refund
    order = refund.order
    try:
        provider = providers.get(order.provider)
    except (KeyError, ProviderError) as exc:
        return _refund_unsettled(refund, _("支付方式不可用: %(e)s") % {"e": exc}, sent=False)
    Refund.objects.filter(pk=refund.pk).update(last_attempt_at=timezone.now())
    try:
        answer = provider.refund_query(order, refund_no=refund.refund_no)
    except ProviderError as exc:
        return _refund_unsettled(refund, str(exc), sent=False)
    if answer is None:
        return refund_submit(refund=refund)
    return refund_settle(refund=refund, answer=answer)


def _refund_unsettled(refund: Refund, detail: str, *, sent: bool) -> Refund:
    """No answer: the refund stays open (unknown once sent: the money may have moved)."""
    changes = {"detail": detail[:300]}
    if sent:
        changes["status"] = Refund.Status.UNKNOWN
    # Only while open: a concurrent retry may have settled it meanwhile.
    Refund.objects.filter(pk=refund.pk, status__in=Refund.OPEN).update(**changes)
    text = _("退款 %(no)s 暂无确定结果: %(d)s") % {"no": refund.refund_no, "d": detail}
    _event(refund.order.provider, PaymentEvent.Kind.REFUND, False, text, order=refund.order)
    return Refund.objects.select_related("order").get(pk=refund.pk)


def refund_settle(*, refund: Refund, answer: RefundAnswer) -> Refund:
    """Apply the provider's answer about a refund number, once: under the order's row
    lock a settled refund is left alone, so a retry, the job and a late answer racing
    each other shorten the period and email the member once."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        refund = Refund.objects.select_related("requested_by").get(pk=refund.pk)
        if not refund.is_open:
            return refund
        refund.provider_refund_id = answer.refund_id[:64] or refund.provider_refund_id
        refund.detail = answer.detail[:300]
        fields = ["status", "detail", "provider_refund_id", "settled_at"]
        if answer.amount_fen is not None and answer.amount_fen != refund.amount_fen:
            # Not ours to decide: staff compare with the provider's records.
            refund.status = Refund.Status.UNKNOWN
            refund.detail = _("金额不符: 支付平台 %(got)s 分,退款单 %(want)s 分") % {
                "got": answer.amount_fen,
                "want": refund.amount_fen,
            }
            refund.save(update_fields=fields)
            _event(order.provider, PaymentEvent.Kind.REFUND, False, refund.detail, order=order)
            return refund
        if answer.state == RefundAnswer.PROCESSING:
            refund.status = Refund.Status.PENDING
            refund.save(update_fields=fields)
            return refund
        refund.settled_at = timezone.now()
        if answer.state == RefundAnswer.FAILED:
            refund.status = Refund.Status.FAILED
            refund.save(update_fields=fields)
            detail = _("退款 %(no)s 被拒绝: %(d)s") % {"no": refund.refund_no, "d": answer.detail}
            _event(order.provider, PaymentEvent.Kind.REFUND, False, detail, order=order)
            return refund
        refund.status = Refund.Status.SUCCEEDED
        refund.save(update_fields=fields)
        order.refunded_fen += refund.amount_fen
        order.refund_reason = refund.reason
        order.refunded_at = refund.settled_at
        if order.refunded_fen >= order.amount_fen:
            order.status = Order.Status.REFUNDED
        order.save(update_fields=["refunded_fen", "refund_reason", "refunded_at", "status"])
        if order.subscription_id:
            _shorten(order, reason=refund.reason, by=refund.requested_by)
        detail = _("退款 %(no)s 成功:%(a)s 分") % {"no": refund.refund_no, "a": refund.amount_fen}
        _event(order.provider, PaymentEvent.Kind.REFUND, True, detail, order=order)
        order_id = order.pk
        transaction.on_commit(lambda: _notify_member(order_id, "order_refunded"))
    return refund


def refunds_reconcile(*, now=None) -> dict:
    """Beat (with orders_reconcile): settle refunds left open by a timeout, a crash or a
    provider still processing them. Returns counts by the refunds' status afterwards."""
    now = now or timezone.now()
    due_before = now - REFUND_RECHECK_AFTER
    due = Refund.objects.filter(status__in=Refund.OPEN).filter(
        Q(last_attempt_at__lte=due_before)
        | Q(last_attempt_at__isnull=True, created_at__lte=due_before)
    )
    counts = {"checked": 0, "succeeded": 0, "failed": 0, "open": 0}
    for refund in due.select_related("order").order_by("created_at")[:200]:
        refund = refund_sync(refund=refund)
        counts["checked"] += 1
        counts["open" if refund.is_open else refund.status] += 1
    return counts


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
