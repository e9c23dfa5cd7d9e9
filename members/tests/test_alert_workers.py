"""Two real worker processes on one broker and database: every alert goes out once."""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from members.models import AlertDelivery
from members.tests.factories import paid_member
from news.tests.factories import BulletinFactory

ROOT = Path(__file__).resolve().parents[2]


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
    database = settings.DATABASES["default"]
    port = settings.MAILERS["default"]["OPTIONS"]["port"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "CACHE_URL": "locmemcache://",
    }
    app.control.purge()
    workers = [_worker(env, "one"), _worker(env, "two")]
    try:
        from members.tasks import alerts_send

        # Every delivery is enqueued twice, in differently cut batches, for both workers.
        for start in range(0, len(ids), 10):
            alerts_send.delay(ids[start : start + 10])
        for start in range(5, len(ids), 10):
            alerts_send.delay(ids[start : start + 10])
        alerts_send.delay(ids[:5])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if AlertDelivery.objects.filter(status="sent").count() == len(ids):
                break
            time.sleep(0.3)
        time.sleep(2)  # let any duplicate arrive
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
    seven before are sent and marked (each in its own commit); after a restart the
    sweeper re-enqueues the rest, and every alert has arrived exactly once."""
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
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "CACHE_URL": "locmemcache://",
    }
    app.control.purge()
    worker = _worker(env, "doomed")
    try:
        alerts_send.delay(ids)
        assert reached.wait(60), "the worker never reached recipient #8"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=20)
        assert AlertDelivery.objects.filter(status="sent").count() == kill_at - 1
        worker = _worker(env, "restarted")
        for batch in [alerts.alerts_requeue_pending(older_than_minutes=0)]:
            alerts_send.delay(batch)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if AlertDelivery.objects.filter(status="sent").count() == len(ids):
                break
            time.sleep(0.3)
        time.sleep(1)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        controller.stop()
    assert AlertDelivery.objects.filter(status="sent").count() == len(ids)
    received = Counter(m["X-Alert-Delivery"] for m in handler.messages)
    assert set(received) == {str(i) for i in ids}
    assert max(received.values()) == 1, received.most_common(3)
