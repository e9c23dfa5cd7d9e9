from django.http import JsonResponse
from django.shortcuts import render
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
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)


def feedback(request):
    return render(request, "feedback.html")
