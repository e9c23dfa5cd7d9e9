"""Celery against the real Redis broker with a real (in-process) worker."""

import pytest

from portal.health import HEARTBEAT_KEY, worker_state


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_heartbeat_task_runs_on_worker_and_shows_in_healthz(celery_worker, client):
    from django.core.cache import cache

    from portal.tasks import heartbeat

    cache.delete(HEARTBEAT_KEY)
    assert worker_state() == "unknown"
    heartbeat.delay()
    # A result backend is off in production; wait on the cache the worker writes instead.
    import time

    deadline = time.monotonic() + 15
    while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get(HEARTBEAT_KEY) is not None, "the worker never ran the heartbeat"
    assert client.get("/healthz").json()["worker"] == "ok"
