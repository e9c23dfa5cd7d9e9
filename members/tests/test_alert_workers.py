"""Two real worker processes on one broker and database: every alert goes out once."""

import os
import secrets
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

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
def test_a_worker_killed_mid_send_every_alert_arrives_once_within_90_s(settings, tmp_path):
    """Publish three tenders matching four members' instant searches (twelve alerts, one
    send task); the SMTP server stalls on the first recipient, so the worker process is
    mid-send when it is SIGKILLed: one alert claimed, eleven unclaimed, their task lost
    with the worker (Redis would hand it out again only after an hour). A fresh worker and
    a real `celery beat` running the sweep (every 5 s here, every minute in production)
    deliver every alert exactly once, within 90 s of the kill, with nothing re-sent by
    hand: the claim's lease (30 s, the default) runs out and the sweep enqueues the
    claimed one and the never-claimed ones."""
    import asyncio
    import email
    import email.policy
    import signal
    import socket
    import threading
    import time

    from aiosmtpd.controller import Controller

    from members.tests.test_alerts import _draft, _search
    from news.models import Bulletin
    from news.services import bulletin_set_status
    from portal.celery import app

    stalled, release = threading.Event(), threading.Event()

    class StallsOnTheFirstRecipient:
        def __init__(self):
            self.recipients, self.messages, self.arrived = 0, [], []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            self.recipients += 1
            if self.recipients == 1:
                stalled.set()
                # The worker dies waiting here; this session's client is gone by the end.
                for _ in range(2400):
                    if release.is_set():
                        break
                    await asyncio.sleep(0.05)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
            self.arrived.append(time.monotonic())
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = StallsOnTheFirstRecipient()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    members = [paid_member(slug="custom", email=f"crash{n}@example.cn") for n in range(4)]
    for member in members:
        _search(member, "管廊", "管廊", frequency="instant")
    tenders = [_draft(title=f"综合管廊工程第{n}标段施工招标公告") for n in (1, 2, 3)]
    env = _worker_env(settings, port)
    app.control.purge()
    processes = [_worker(env, "doomed")]
    try:
        bulletin_set_status(
            bulletin_ids=[t.pk for t in tenders], status=Bulletin.Status.PUBLISHED
        )  # committed: alerts_match goes to the worker, which enqueues the send
        assert stalled.wait(60), "the worker never reached the SMTP server"
        os.kill(processes[0].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        processes[0].wait(timeout=20)
        rows = AlertDelivery.objects.all()
        assert rows.count() == 12 and not rows.filter(status="sent").exists()
        assert rows.filter(claimed_at__isnull=False).count() == 1  # the one mid-send
        processes.append(_worker(env, "fresh"))
        processes.append(_beat({**env, "ALERT_SWEEP_SECONDS": "5"}, tmp_path))
        deadline = killed_at + 90
        while time.monotonic() < deadline and rows.exclude(status="sent").exists():
            time.sleep(0.5)
        assert not rows.exclude(status="sent").exists(), "not every alert was sent in 90 s"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)  # a worker finishes its task first: nothing in flight
        release.set()
        controller.stop()
        _forget_unacked(settings.CELERY_BROKER_URL)
    received = Counter(m["X-Alert-Delivery"] for m in handler.messages)
    assert set(received) == {str(pk) for pk in rows.values_list("pk", flat=True)}
    assert max(received.values()) == 1, received.most_common(3)
    assert {m["To"] for m in handler.messages} == {m.email for m in members}
    assert max(handler.arrived) - killed_at < 90


def _beat(env, tmp_path):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "beat",
            "--loglevel=WARNING",
            f"--schedule={tmp_path / 'celerybeat-schedule'}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _forget_unacked(broker_url: str) -> None:
    """Drop the killed worker's unacknowledged message: Redis would hand it to whatever
    worker runs on this broker in an hour, during some later test."""
    import redis

    redis.Redis.from_url(broker_url).delete("unacked", "unacked_index", "unacked_mutex")


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
