from celery import shared_task

from portal.health import worker_heartbeat_record


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Sent by beat every minute; /healthz reports how long ago a worker ran it."""
    worker_heartbeat_record()
