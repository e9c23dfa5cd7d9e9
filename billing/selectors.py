from django.db.models import Sum

from billing.models import Order, Refund


def member_orders(user, limit: int = 20) -> list[Order]:
    """A member's orders for the account page, newest first, with their invoice."""
    return list(
        Order.objects.filter(user=user)
        .select_related("plan", "subscription", "invoice")
        .order_by("-created_at")[:limit]
    )


def order_refundable_fen(order: Order) -> int:
    """What is left to refund: paid minus every refund not refused (open ones included,
    their money may be moving). Services read it again under the order's row lock."""
    if order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
        return 0
    taken = order.refunds.exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount_fen"))
    return order.amount_fen - (taken["s"] or 0)
