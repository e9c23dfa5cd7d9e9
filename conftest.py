import pytest


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    # Tests see fresh pages; test_pagecache.py turns the cache on where it is the subject.
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    # Option lists are cached; a row one test created must not leak into the next.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
