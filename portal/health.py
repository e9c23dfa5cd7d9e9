"""Health probes for /healthz: each returns (ok, detail) and never raises."""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

HEARTBEAT_KEY = "portal:worker-heartbeat"


def database_state() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any driver error means "down" to the probe
        return False, f"error: {exc.__class__.__name__}"


def broker_state() -> tuple[bool, str]:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return False, f"error: {exc.__class__.__name__}"


def worker_heartbeat_record() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def worker_state() -> str:
    """Informational only: a stale worker does not fail the probe (web can still serve)."""
    try:
        seen = cache.get(HEARTBEAT_KEY)
    except Exception:
        return "unknown"
    if seen is None:
        return "unknown"
    age = int(time.time() - seen)
    return "ok" if age <= settings.WORKER_HEARTBEAT_MAX_AGE else f"stale ({age}s)"
