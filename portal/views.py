from django.conf import settings
from django.http import HttpResponseServerError, JsonResponse
from django.views.decorators.cache import never_cache

from portal import health


@never_cache
def healthz(request):
    db_ok, db_detail = health.database_state()
    broker_ok, broker_detail = health.broker_state()
    body = {
        "status": "ok" if db_ok and broker_ok else "error",
        "database": db_detail,
        "broker": broker_detail,
        "worker": health.worker_state(),
    }
    if settings.DATABASE_REPLICAS:
        body["replicas"] = health.replica_states()
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)


def server_error(request):
    """500: a page that needs neither the database nor context processors (either may be
    what failed), in Chinese, with the hotline and a way back."""
    from django.template import loader

    context = {"SITE_NAME": settings.SITE_NAME, "hotline": settings.MEMBERSHIP_HOTLINE}
    html = loader.get_template("500.html").render(context)
    return HttpResponseServerError(html)
