"""Celery tasks: take ids, call services."""

from celery import shared_task

from support import services


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def feedback_notify_staff(feedback_id: int) -> None:
    services.feedback_notify_staff(feedback_id=feedback_id)


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def feedback_reply_send(feedback_id: int) -> None:
    services.feedback_reply_send(feedback_id=feedback_id)


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def conversation_notify_staff(conversation_id: int) -> None:
    services.conversation_notify_staff(conversation_id=conversation_id)


@shared_task(
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=10,
    acks_late=True,
)
def message_notify(message_id: int) -> None:
    """A staff reply to the visitor: retried until the mail (or SMS) server takes it."""
    services.message_notify_send(message_id=message_id)
