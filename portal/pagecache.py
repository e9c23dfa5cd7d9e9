"""Whole-page cache for anonymous visitors.

Anonymous traffic (search engines, first-time visitors, feed readers) is most of the load
and sees the same page for the same URL, so its HTML is cached for PAGE_CACHE_SECONDS.
Signed-in members are never served from or stored into it: once contacts are gated, a
member's unmasked page must not reach anyone else. Any change to a bulletin bumps a
generation number that is part of every key, so editors see their changes at once.
Pages served from here must not use the CSP nonce (it would be stale).

Signed-in members get no whole page, but the costly, viewer-independent part of a page (the
list's filter form, count, rows and pager) is cached as a fragment per URL and per class of
viewer that may share it (`shared_fragment`, FRAGMENT_CACHE_SECONDS), under the same
generation; the header, messages and account links around it are rendered per request.
"""

import contextvars
import hashlib
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import get_language

GENERATION_KEY = "pagecache:generation"
_batched: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "pagecache_batch", default=None
)


@contextmanager
def invalidation_batched():
    """Within this block changes are noted, and invalidate once after commit (imports)."""
    token = _batched.set([])
    try:
        yield
    finally:
        pending = _batched.get()
        _batched.reset(token)
        if pending:
            transaction.on_commit(invalidate_pages)


def invalidate_pages_after_commit() -> None:
    """What a change calls: invalidating before commit would let a concurrent request
    cache the old page again."""
    pending = _batched.get()
    if pending is not None:
        pending.append(1)
    else:
        transaction.on_commit(invalidate_pages)


def invalidate_pages() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet: any value differs from "absent"
        cache.set(GENERATION_KEY, 1, timeout=None)


def _access_key(request) -> str:
    """The access policy's answer for this viewer: only pages that mask are cacheable."""
    from members.access import member_rights

    return "open" if member_rights(request.user).sees_contacts else "masked"


def _key(request, access: str) -> str:
    generation = cache.get(GENERATION_KEY, 0)
    query = "&".join(f"{k}={v}" for k, v in sorted(request.GET.lists()))
    raw = f"{generation}|{access}|{get_language()}|{request.get_host()}|{request.path}|{query}"
    return "pagecache:" + hashlib.sha256(raw.encode()).hexdigest()


def cache_anonymous_page(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        seconds = settings.PAGE_CACHE_SECONDS
        if seconds <= 0 or request.method != "GET" or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        access = _access_key(request)
        if access != "masked":
            return view(request, *args, **kwargs)
        key = _key(request, access)
        hit = cache.get(key)
        if hit is not None:
            content, content_type = hit
            response = HttpResponse(content, content_type=content_type)
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not getattr(response, "streaming", False):
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            cache.set(key, (response.content, response["Content-Type"]), seconds)
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper


def shared_fragment(request, *, name: str, share: str | None, build):
    """`build()`'s value, cached per URL (path, query, host, language) and per `share`.

    `share` is the class of viewers who may all be served one rendering
    (`members.access.MemberRights.shared_pages`): it is part of the key, so a fragment
    built for one class never reaches another; None means this viewer shares nothing and
    `build()` runs uncached. What `build()` renders must depend on nothing but the URL and
    `share` (never the user, session, messages or CSP nonce)."""
    seconds = settings.FRAGMENT_CACHE_SECONDS
    if share is None or seconds <= 0 or request.method != "GET":
        return build()
    key = _key(request, f"fragment:{name}:{share}")
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, seconds)
    return value
