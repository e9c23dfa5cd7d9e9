"""A secret key anyone can read must not sign anything in production.

SECRET_KEY signs sessions, CSRF tokens, password-reset and unsubscribe links. The embedded
default (so `make run` needs nothing) and the .env.example placeholder are published
with the code. With DEBUG off, the web server (portal.wsgi / portal.asgi) and the Celery
worker refuse to start on such a key, and `manage.py check --deploy` reports it as an
Error (portal.E001). Other commands (tests, makemigrations, a migrate) still run on it.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# The embedded default, Django's startproject keys, the .env.example placeholder.
PUBLISHED_PREFIXES = ("dev-only-insecure", "django-insecure-", "replace-me")
HOW = (
    "set SECRET_KEY in the environment, e.g. to the output of "
    "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
)


def secret_key_problem(key: str) -> str:
    """Why this key must not be used in production; "" when it will do."""
    if key.startswith(PUBLISHED_PREFIXES):
        return "SECRET_KEY is the embedded development key or a published placeholder"
    if len(key) < 50 or len(set(key)) < 5:
        return "SECRET_KEY is too short or too simple (at least 50 characters, 5 different)"
    return ""


def require_secret_key() -> None:
    """Raise ImproperlyConfigured when DEBUG is off and the key is insecure; called as the
    web server and the worker start."""
    problem = "" if settings.DEBUG else secret_key_problem(settings.SECRET_KEY)
    if problem:
        raise ImproperlyConfigured(f"{problem} (DEBUG is off): {HOW}")


@checks.register(checks.Tags.security, deploy=True)
def secret_key_check(app_configs=None, **kwargs):
    problem = secret_key_problem(settings.SECRET_KEY)
    return [checks.Error(problem, hint=HOW, id="portal.E001")] if problem else []
