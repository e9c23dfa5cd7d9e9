"""Celery tasks: take ids, call services."""

from celery import shared_task

from members import services


@shared_task(ignore_result=True)
def subscriptions_daily() -> None:
    """Beat, every morning: mark lapsed periods, send renewal reminders once each."""
    services.subscriptions_daily()


@shared_task(
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def application_notify_staff(application_id: int) -> None:
    services.application_notify_staff(application_id=application_id)
