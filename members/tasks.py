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


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def team_invite_send(membership_id: int) -> None:
    """企业会员: email an invitation its link (SMTP down: retried with backoff)."""
    from members import teams

    teams.team_invite_send(membership_id=membership_id)


@shared_task(ignore_result=True)
def alerts_match(bulletin_ids: list[int]) -> None:
    """After a publish: write deliveries, then send the instant ones."""
    from members import alerts

    pending = alerts.alerts_match(bulletin_ids=bulletin_ids)
    for start in range(0, len(pending), ALERT_BATCH):
        alerts_send.delay(pending[start : start + ALERT_BATCH])


ALERT_BATCH = 50  # messages per SMTP connection and task


@shared_task(
    bind=True,
    ignore_result=True,
    max_retries=8,
    acks_late=True,
    reject_on_worker_lost=True,
)
def alerts_send(self, delivery_ids: list[int]) -> None:
    from members import alerts

    try:
        alerts.alerts_send(delivery_ids=delivery_ids)
    except alerts.TransientSendError as exc:
        # 30 s, 60 s, 120 s … while the SMTP server is down.
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task(ignore_result=True)
def alerts_digest() -> None:
    """Beat, hourly: digests for the members whose hour it is."""
    from members import alerts

    alerts.alerts_send_digests()


@shared_task(ignore_result=True)
def alerts_sweep() -> None:
    """Beat: re-enqueue instant deliveries left pending (the sender skips sent rows)."""
    from members import alerts

    pending = alerts.alerts_requeue_pending()
    for start in range(0, len(pending), ALERT_BATCH):
        alerts_send.delay(pending[start : start + ALERT_BATCH])


@shared_task(ignore_result=True)
def deadline_reminders() -> None:
    """Beat, every morning: tomorrow's deadlines, one email per member, once each."""
    from members import deadlines

    deadlines.deadline_reminders_send()
