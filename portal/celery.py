import os

from celery import Celery
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
def _refuse_an_insecure_secret_key(**kwargs):
    """`celery worker` signs links in emails: with DEBUG off, an embedded or placeholder
    SECRET_KEY stops it (SystemExit: Celery logs and ignores a handler's exceptions)."""
    from django.core.exceptions import ImproperlyConfigured

    from portal.checks import require_secret_key

    try:
        require_secret_key()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"ImproperlyConfigured: {exc}") from exc
