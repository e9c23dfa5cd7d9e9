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


# One pass matches every search due this hour (60,000 × a day's 10,000 bulletins took
# 140 s on 2 cores shared with other work, BENCHMARKS.md): the default 300 s is too near.
# Nothing is sent before the pass ends, so one stopped by the limit loses nothing.
@shared_task(ignore_result=True, time_limit=1800, soft_time_limit=1700)
def alerts_digest() -> None:
    """Beat, hourly: match the digests due this hour, then send them in chunks of members
    (a chunk's task takes their ids and what matched)."""
    from members import digests

    for chunk in digests.digests_plan():
        alerts_digest_send.delay(chunk)


@shared_task(
    bind=True,
    ignore_result=True,
    max_retries=3,
    acks_late=True,
    reject_on_worker_lost=True,
)
def alerts_digest_send(self, chunk: dict) -> None:
    from members import digests

    try:
        digests.digests_send(chunk=chunk)
    except digests.DigestSendError as exc:
        # Sent digests are skipped on the retry (their searches are covered).
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc


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
