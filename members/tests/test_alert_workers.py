"""Two real worker processes on one broker and database: every alert goes out once."""

import datetime
import os
import secrets
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import F

from members.models import AlertDelivery
from members.tests.factories import paid_member
from members.tests.task_events import with_result
from news.tests.factories import BulletinFactory

ROOT = Path(__file__).resolve().parents[2]
WORKER_SECRET_KEY = secrets.token_urlsafe(50)


def _worker(env, name):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "-n",
            f"{name}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_worker_processes_send_each_alert_once(smtp_server):
    from portal.celery import app

    member = paid_member(slug="custom", email="twice@example.cn")
    bulletins = BulletinFactory.create_batch(60)
    ids = [
        AlertDelivery.objects.create(user=member, bulletin=b, reasons=[], instant=True).pk
        for b in bulletins
    ]
    port = settings.MAILERS["default"]["OPTIONS"]["port"]
    env = _worker_env(settings, port)
    app.control.purge()
    workers = [_worker(env, "one"), _worker(env, "two")]
    try:
        from members.tasks import alerts_send

        # Every delivery is enqueued twice, in differently cut batches, for both workers.
        batches = [ids[start : start + 10] for start in range(0, len(ids), 10)]
        batches += [ids[start : start + 10] for start in range(5, len(ids), 10)]
        batches.append(ids[:5])
        results = [
            with_result(alerts_send, batch, backend_url=env["CELERY_RESULT_BACKEND"])
            for batch in batches
        ]
        for result in results:
            result.get(timeout=60)  # every task has finished: nothing more can arrive
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
    assert AlertDelivery.objects.filter(status="sent").count() == len(ids)
    received = Counter(m["X-Alert-Delivery"] for m in smtp_server.messages)
    assert set(received) == {str(i) for i in ids}
    assert max(received.values()) == 1, received.most_common(3)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_killed_mid_batch_then_restarted_sends_each_alert_once(settings):
    """SIGKILL the worker while it waits on the SMTP server's answer to recipient #8: the
    seven before are sent and marked (each in its own commit), #8 stays claimed, the rest
    untouched. After a restart the sweeper re-enqueues the twelve unclaimed ones at once
    and #8 once its claim has run out (the worker may have died after the server took
    it), and every alert has arrived exactly once."""
    import asyncio
    import email
    import email.policy
    import signal
    import socket
    import threading

    from aiosmtpd.controller import Controller

    from members import alerts
    from members.tasks import alerts_send
    from portal.celery import app

    kill_at = 8
    reached = threading.Event()

    class SlowAtRecipient:
        def __init__(self):
            self.count, self.messages = 0, []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            self.count += 1
            if self.count == kill_at:
                reached.set()
                await asyncio.sleep(3)  # the worker dies while waiting here
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = SlowAtRecipient()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    member = paid_member(slug="custom", email="killed@example.cn")
    ids = [
        AlertDelivery.objects.create(user=member, bulletin=b, reasons=[], instant=True).pk
        for b in BulletinFactory.create_batch(20)
    ]
    env = _worker_env(settings, port)
    backend = env["CELERY_RESULT_BACKEND"]
    app.control.purge()
    worker = _worker(env, "doomed")
    try:
        alerts_send.delay(ids)
        assert reached.wait(60), "the worker never reached recipient #8"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=20)
        assert AlertDelivery.objects.filter(status="sent").count() == kill_at - 1
        in_flight = AlertDelivery.objects.get(pk=ids[kill_at - 1])
        assert in_flight.status == "pending" and in_flight.claimed_at is not None
        worker = _worker(env, "restarted")
        # The sweeper leaves the dead worker's claim alone until it runs out …
        requeued = alerts.alerts_requeue_pending(older_than_minutes=0)
        assert sorted(requeued) == sorted(ids[kill_at:])
        with_result(alerts_send, requeued, backend_url=backend).get(timeout=60)
        assert AlertDelivery.objects.filter(status="sent").count() == len(ids) - 1
        # … then sends that one too.
        AlertDelivery.objects.filter(pk=in_flight.pk).update(
            claimed_at=F("claimed_at") - datetime.timedelta(seconds=alerts.CLAIM_SECONDS)
        )
        requeued = alerts.alerts_requeue_pending(older_than_minutes=0)
        assert requeued == [in_flight.pk]
        with_result(alerts_send, requeued, backend_url=backend).get(timeout=60)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        controller.stop()
    assert AlertDelivery.objects.filter(status="sent").count() == len(ids)
    received = Counter(m["X-Alert-Delivery"] for m in handler.messages)
    assert set(received) == {str(i) for i in ids}
    assert max(received.values()) == 1, received.most_common(3)


def _worker_env(settings, smtp_port: int) -> dict:
    """The environment of a worker process on the test database, broker and SMTP server;
    task results (when a test asks for them) go to the broker's Redis."""
    database = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_BROKER_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "CACHE_URL": "locmemcache://",
        "SECRET_KEY": WORKER_SECRET_KEY,  # DEBUG is off: the worker refuses the embedded one
    }
