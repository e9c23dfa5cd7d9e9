"""With DEBUG off, the web server and the worker refuse a secret key anyone can read."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = next(
    line.split("=", 1)[1].strip('"')
    for line in (ROOT / ".env.example").read_text().splitlines()
    if line.startswith("SECRET_KEY=")
)
EMBEDDED = object()  # SECRET_KEY unset: the settings' own default


def _run(args, *, key, debug="false", timeout=60):
    env = {**os.environ, "DEBUG": debug, "CACHE_URL": "locmemcache://"}
    env.pop("SECRET_KEY", None)
    if key is not EMBEDDED:
        env["SECRET_KEY"] = key
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    "key",
    [EMBEDDED, PLACEHOLDER, "short-but-random-Zx81"],
    ids=["embedded", "placeholder", "short"],
)
def test_the_web_server_will_not_start_on_a_published_or_weak_key(key):
    started = _run([sys.executable, "-c", "import portal.wsgi"], key=key)
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr and "SECRET_KEY" in started.stderr


def test_the_web_server_starts_on_a_real_key_or_with_debug_on():
    real = _run([sys.executable, "-c", "import portal.wsgi"], key=secrets.token_urlsafe(50))
    assert real.returncode == 0, real.stderr[-2000:]
    make_run = _run([sys.executable, "-c", "import portal.asgi"], key=EMBEDDED, debug="true")
    assert make_run.returncode == 0, make_run.stderr[-2000:]


def test_the_worker_will_not_start_on_the_embedded_key():
    worker = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo"]
    started = _run(worker, key=EMBEDDED)
    assert started.returncode != 0
    output = started.stdout + started.stderr
    assert "ImproperlyConfigured" in output and "SECRET_KEY" in output


def test_check_deploy_reports_the_placeholder_as_an_error():
    check = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    placeholder = _run(check, key=PLACEHOLDER)
    assert placeholder.returncode != 0 and "portal.E001" in placeholder.stderr
    real = _run(check, key=secrets.token_urlsafe(50))
    assert "portal.E001" not in real.stdout + real.stderr
