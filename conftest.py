import pytest
from django.test.signals import template_rendered

from portal.tests.gating_guard import GatingGuard


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    # Tests see fresh pages; test_pagecache.py turns the cache on where it is the subject.
    settings.PAGE_CACHE_SECONDS = 0
    settings.FRAGMENT_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _gated_models_never_reach_templates(request):
    """Every test: no Bulletin, Contact, Project or ProjectContact reaches a template
    rendered for anyone but staff, pages and emails alike (portal/tests/gating_guard.py)."""
    guard = GatingGuard()
    template_rendered.connect(guard, dispatch_uid="gating-guard")
    try:
        yield guard
    finally:
        template_rendered.disconnect(dispatch_uid="gating-guard")
    assert not guard.violations, "gated models handed to templates:\n" + "\n".join(
        sorted(set(guard.violations))
    )


@pytest.fixture(autouse=True)
def _empty_cache():
    # Option lists are cached; a row one test created must not leak into the next.
    from django.core.cache import cache

    from news.search_plans import forget_local_shares

    cache.clear()
    forget_local_shares()  # the in-process copy of the sampled lexeme shares
    yield
    cache.clear()
    forget_local_shares()


def login_with_second_factor(client, user):
    """Sign a staff user in as allauth does after password + TOTP (production settings
    send staff without a second factor away from the admin)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    if not user.authenticator_set.exists():
        TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    session = client.session
    session["account_authentication_methods"] = [{"method": "mfa", "at": 0, "type": "totp"}]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


@pytest.fixture
def staff_client(django_user_model):
    from django.test import Client

    editor = django_user_model.objects.create_user(
        "editor", email="editor@example.com", password="x", is_staff=True, is_superuser=True
    )
    # A client of its own: tests compare what staff and an anonymous `client` see.
    return login_with_second_factor(Client(), editor)


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback (aiosmtpd); mail goes there and is parsed back."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(message)
            return "250 OK"

        def wait_for(self, count, timeout=15.0):
            import time

            deadline = time.monotonic() + timeout
            while len(self.messages) < count and time.monotonic() < deadline:
                time.sleep(0.05)
            return self.messages

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    inbox.port = port
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def celery_worker(settings):
    """A real Celery worker (in this process) consuming the Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    assert settings.CELERY_BROKER_URL.startswith("redis://"), "tests need the Redis broker"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10
        ) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = eager
