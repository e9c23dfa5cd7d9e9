"""Reads of web pages go to PostgreSQL streaming replicas; everything else to the primary.

A replica replays the primary's WAL some milliseconds (or, under load, seconds) behind, so
a read may go there only where an old answer is harmless: the bulletin, project and search
pages any visitor sees. Hence the default is the primary, and only a web request opts in
(`ReplicaReadsMiddleware`; one replica per request, so a page never mixes two lags):

- outside a request (Celery tasks, management commands, the shell, tests) reads go to the
  primary: they act on what was just committed (a task enqueued on commit must find its
  rows) and they write;
- an unsafe request (POST …) reads the primary, and so does the rest of any request once
  it has written, and any read inside a transaction on the primary (it feeds a write);
- a browser that wrote keeps reading the primary for REPLICA_STICKY_SECONDS (a signed
  cookie), so a member sees what they just did: a followed project, a saved search;
- what decides access reads the primary always (`PRIMARY_MODELS`, and members/access.py
  says so itself): a session, a user's flags, subscription periods and today's contact
  reveals. A member on another device, or past the sticky window while a replica lags,
  must never see a stale 查看联系方式 quota nor skip or double-count a reveal.
"""

import random
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, connections

PRIMARY = DEFAULT_DB_ALIAS

# Models whose rows decide who sees contacts, and the session that says who is asking.
PRIMARY_MODELS = frozenset(
    {"sessions.session", "members.user", "members.subscription", "members.contactreveal"}
)

STICKY_COOKIE = "portal_primary"
_STICKY_SALT = "portal.db_routers.sticky"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class _Reads:
    replica: str | None  # where this request reads; None: the primary
    wrote: bool = False


# None outside a web request: the primary.
_reads: ContextVar[_Reads | None] = ContextVar("portal_db_reads", default=None)


def reading_from() -> str:
    """The alias reads of ordinary models go to now (for raw SQL: news/search_plans.py)."""
    state = _reads.get()
    if state is None or state.replica is None or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    return state.replica


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        alias = reading_from()
        if alias == PRIMARY or model._meta.label_lower in PRIMARY_MODELS:
            return PRIMARY
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            # Related rows of a row already read come from the same database (snapshot).
            return instance._state.db
        return alias

    def db_for_write(self, model, **hints):
        state = _reads.get()
        if state is not None:
            # The rest of this request reads what it wrote, and so does the browser's next
            # requests (the middleware sets the sticky cookie).
            state.wrote = True
            state.replica = None
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Replicas hold the primary's rows: a row read from one may point at one from another.
        ours = {PRIMARY, *settings.DATABASE_REPLICAS}
        if obj1._state.db in ours and obj2._state.db in ours:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Replicas replay the primary's schema changes; they are read-only.
        return db == PRIMARY


class ReplicaReadsMiddleware:
    """Chooses where this request reads (see the module docstring) and marks a browser
    that wrote as sticky to the primary. Placed before SessionMiddleware, so a session
    saved on the way out counts as a write. Not used without replicas."""

    def __init__(self, get_response):
        if not settings.DATABASE_REPLICAS:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        safe = request.method in SAFE_METHODS
        sticky = request.get_signed_cookie(
            STICKY_COOKIE,
            default=None,
            salt=_STICKY_SALT,
            max_age=settings.REPLICA_STICKY_SECONDS,
        )
        replica = random.choice(settings.DATABASE_REPLICAS) if safe and not sticky else None
        state = _Reads(replica=replica)
        token = _reads.set(state)
        try:
            response = self.get_response(request)
        finally:
            _reads.reset(token)
        if state.wrote or not safe:
            response.set_signed_cookie(
                STICKY_COOKIE,
                "1",
                salt=_STICKY_SALT,
                max_age=settings.REPLICA_STICKY_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
