"""模拟支付 is refused by a system check ERROR wherever DEBUG is off."""

import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

ROOT = Path(__file__).resolve().parents[2]


def _billing_errors():
    return [m for m in checks.run_checks() if m.id and m.id.startswith("billing.")]


def test_the_dev_provider_without_debug_is_an_error(settings):
    settings.DEBUG, settings.PAYMENT_DEV_PROVIDER = False, True
    [error] = _billing_errors()
    assert error.id == "billing.E001" and error.level == checks.ERROR
    assert "模拟支付" in error.msg and "PAYMENT_DEV_PROVIDER=false" in error.hint
    # Commands that run checks (migrate, runserver, check) refuse to go on.
    with pytest.raises(SystemCheckError, match="billing.E001"):
        call_command("check")


@pytest.mark.parametrize(("debug", "dev"), [(True, True), (True, False), (False, False)])
def test_other_combinations_pass(settings, debug, dev):
    settings.DEBUG, settings.PAYMENT_DEV_PROVIDER = debug, dev
    assert _billing_errors() == []


def _check_deploy_with_env_example(*overrides):
    """`make check-deploy`: the variables of .env.example with a real SECRET_KEY standing in
    for its placeholder (portal.E001 refuses that), then `overrides` (VAR=value)."""
    command = (
        'set -a && . ./.env.example && set +a && exec env "$@" '
        f"{sys.executable} manage.py check --deploy --fail-level WARNING"
    )
    key = f"SECRET_KEY={secrets.token_urlsafe(50)}"
    return subprocess.run(
        ["bash", "-c", command, "bash", key, *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_env_example_and_refuses_the_dev_provider():
    passed = _check_deploy_with_env_example()
    assert passed.returncode == 0, passed.stderr[-2000:]
    refused = _check_deploy_with_env_example("PAYMENT_DEV_PROVIDER=true")
    assert refused.returncode != 0 and "billing.E001" in refused.stderr
