from billing.models import Order


def member_orders(user, limit: int = 20) -> list[Order]:
    """A member's orders for the account page, newest first, with their invoice."""
    return list(
        Order.objects.filter(user=user)
        .select_related("plan", "subscription", "invoice")
        .order_by("-created_at")[:limit]
    )
