"""Celery tasks: take ids, call services."""

from celery import shared_task

from billing import services


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def order_email(order_id: int, template: str) -> None:
    services.order_email_send(order_id=order_id, template=template)


@shared_task(ignore_result=True)
def orders_reconcile() -> None:
    """Beat, every 5 minutes: query unpaid orders, close stale ones, settle open refunds."""
    services.orders_reconcile()
    services.refunds_reconcile()
