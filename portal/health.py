"""Health probes for /healthz: each returns (ok, detail) and never raises."""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections

HEARTBEAT_KEY = "portal:worker-heartbeat"


def database_state() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any driver error means "down" to the probe
        return False, f"error: {exc.__class__.__name__}"


# On a standby: seconds since the last replayed commit, or 0 when it has replayed all it
# received (an idle primary commits nothing, and the timestamp alone would look old).
_REPLICA_LAG = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END
"""


def replica_states() -> dict[str, str]:
    """Informational only: each read replica's replay lag ("ok (0.0 s behind)"). A replica
    down makes the pages read from it fail; the primary still serves writes and policy."""
    states = {}
    for alias in settings.DATABASE_REPLICAS:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(_REPLICA_LAG)
                in_recovery, lag = cursor.fetchone()
            states[alias] = (
                f"ok ({float(lag or 0):.1f} s behind)" if in_recovery else "not a standby"
            )
        except Exception as exc:
            states[alias] = f"error: {exc.__class__.__name__}"
    return states


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
