"""The router's and the middleware's decisions, without a replica (test_replicas.py runs
them against a real one). No database is touched: the router only names aliases."""

import runpy
import types
from pathlib import Path

import pytest
from django.core import signing
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections
from django.http import HttpResponse
from django.test import RequestFactory

from members.models import ContactReveal, Subscription, User
from news.models import Bulletin
from portal import db_routers
from portal.db_routers import STICKY_COOKIE, PrimaryReplicaRouter, ReplicaReadsMiddleware

router = PrimaryReplicaRouter()


@pytest.fixture
def replicas(settings):
    settings.DATABASE_REPLICAS = ["replica1"]
    settings.REPLICA_STICKY_SECONDS = 10
    return settings


def _serve(request, view=None):
    """Run `view` (default: note where reads go) through the middleware."""
    seen = {}

    def get_response(request):
        if view:
            view(seen)
        seen["bulletin"] = router.db_for_read(Bulletin)
        seen["policy"] = {router.db_for_read(m) for m in (ContactReveal, Subscription, User)}
        return HttpResponse()

    response = ReplicaReadsMiddleware(get_response)(request)
    return seen, response


def test_outside_a_request_everything_reads_the_primary(replicas):
    # Celery tasks, management commands, the shell: they act on what was just committed.
    assert router.db_for_read(Bulletin) == "default"
    assert router.db_for_write(Bulletin) == "default"


def test_without_replicas_the_middleware_steps_aside(settings):
    settings.DATABASE_REPLICAS = []
    with pytest.raises(MiddlewareNotUsed):
        ReplicaReadsMiddleware(lambda request: HttpResponse())


def test_a_get_reads_pages_from_a_replica_and_the_policy_from_the_primary(replicas):
    seen, response = _serve(RequestFactory().get("/"))
    assert seen["bulletin"] == "replica1"
    assert seen["policy"] == {"default"}
    assert STICKY_COOKIE not in response.cookies
    assert router.db_for_read(Bulletin) == "default"  # the request is over


def test_a_post_reads_the_primary_and_makes_the_browser_sticky(replicas):
    seen, response = _serve(RequestFactory().post("/"))
    assert seen["bulletin"] == "default"
    assert response.cookies[STICKY_COOKIE]["max-age"] == 10


def test_a_get_that_writes_reads_the_primary_from_then_on(replicas):
    def writes(seen):
        seen["before"] = router.db_for_read(Bulletin)
        router.db_for_write(Bulletin)

    seen, response = _serve(RequestFactory().get("/"), writes)
    assert seen["before"] == "replica1" and seen["bulletin"] == "default"
    assert STICKY_COOKIE in response.cookies


def _sticky_cookie(replicas, monkeypatch, *, age: float) -> str:
    """A sticky cookie as a POST `age` seconds ago set it."""
    real_time = signing.time.time
    with monkeypatch.context() as patch:
        patch.setattr(signing, "time", types.SimpleNamespace(time=lambda: real_time() - age))
        _, response = _serve(RequestFactory().post("/"))
    return response.cookies[STICKY_COOKIE].value


def test_a_sticky_browser_reads_the_primary_until_the_window_ends(replicas, monkeypatch):
    fresh = _sticky_cookie(replicas, monkeypatch, age=0)
    stale = _sticky_cookie(replicas, monkeypatch, age=11)
    request = RequestFactory().get("/")
    request.COOKIES[STICKY_COOKIE] = fresh
    assert _serve(request)[0]["bulletin"] == "default"
    request.COOKIES[STICKY_COOKIE] = stale
    assert _serve(request)[0]["bulletin"] == "replica1"
    request.COOKIES[STICKY_COOKIE] = "1"  # unsigned: ignored
    assert _serve(request)[0]["bulletin"] == "replica1"


def test_reads_inside_a_transaction_on_the_primary_stay_there(replicas, monkeypatch):
    def in_transaction(seen):
        monkeypatch.setattr(connections["default"], "in_atomic_block", True)

    assert _serve(RequestFactory().get("/"), in_transaction)[0]["bulletin"] == "default"


def test_related_rows_come_from_where_their_row_was_read(replicas):
    def related(seen):
        row = Bulletin()
        row._state.db = "replica1"
        seen["of_replica_row"] = router.db_for_read(Bulletin, instance=row)
        row._state.db = "default"
        seen["of_primary_row"] = router.db_for_read(Bulletin, instance=row)

    seen, _ = _serve(RequestFactory().get("/"), related)
    assert seen["of_replica_row"] == "replica1" and seen["of_primary_row"] == "default"


def test_relations_across_primary_and_replicas_and_migrations_on_the_primary(replicas):
    one, other = Bulletin(), Bulletin()
    one._state.db, other._state.db = "default", "replica1"
    assert router.allow_relation(one, other) is True
    other._state.db = "elsewhere"
    assert router.allow_relation(one, other) is None
    assert router.allow_migrate("default", "news") is True
    assert router.allow_migrate("replica1", "news") is False


def test_replica_urls_become_aliases_mirrored_in_tests(monkeypatch):
    settings_file = Path(db_routers.__file__).with_name("settings.py")
    monkeypatch.setenv("DATABASE_URL", "postgres://portal@db1:5432/portal")
    monkeypatch.setenv(
        "DATABASE_REPLICA_URLS", "postgres://portal@db2:5432/portal,postgres://portal@db3/portal"
    )
    loaded = runpy.run_path(str(settings_file))
    databases = loaded["DATABASES"]
    assert loaded["DATABASE_REPLICAS"] == ["replica1", "replica2"]
    assert databases["replica2"]["HOST"] == "db3"
    assert databases["replica1"]["TEST"] == {"MIRROR": "default"}
    # The same connection options as the primary (search needs work_mem, jit off).
    assert databases["replica1"]["OPTIONS"] == databases["default"]["OPTIONS"]
    assert "work_mem" in databases["replica1"]["OPTIONS"]["options"]

    monkeypatch.setenv("DATABASE_REPLICA_URLS", "")
    assert runpy.run_path(str(settings_file))["DATABASE_REPLICAS"] == []
