import pytest
from django.urls import reverse

from members.models import User
from news.models import Bulletin
from news.services import bulletin_set_status
from news.tests.factories import BulletinFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 60


def test_anonymous_pages_are_served_from_cache(client):
    BulletinFactory(title="第一条标讯")
    first = client.get("/bulletins/")
    second = client.get("/bulletins/")
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert "第一条标讯" in second.content.decode()


def test_query_strings_are_separate_pages(client):
    BulletinFactory(title="镇江道路")
    client.get("/bulletins/", {"q": "镇江"})
    response = client.get("/bulletins/", {"q": "上海"})
    assert response["X-Page-Cache"] == "miss"
    assert "镇江道路" not in response.content.decode()


def test_a_new_bulletin_shows_once_committed(client, django_capture_on_commit_callbacks):
    BulletinFactory(title="旧的标讯")
    client.get("/bulletins/")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        BulletinFactory(title="新发布的标讯")
    assert callbacks, "saving a bulletin schedules the invalidation for after commit"
    assert "新发布的标讯" in client.get("/bulletins/").content.decode()


def test_an_import_invalidates_once(client, django_capture_on_commit_callbacks):
    from pathlib import Path

    from django.core.cache import cache

    from news.importing.pipeline import run_import
    from news.importing.sources import sources_from_paths
    from portal.pagecache import GENERATION_KEY

    client.get("/bulletins/")
    before = cache.get(GENERATION_KEY, 0)
    with django_capture_on_commit_callbacks(execute=True):
        run_import(sources_from_paths([Path(__file__).resolve().parents[2] / "demo" / "bulletins"]))
    assert cache.get(GENERATION_KEY, 0) == before + 1
    assert "上海市普陀区桃浦中学" in client.get("/bulletins/").content.decode()


def test_unpublishing_removes_it_at_once(client, django_capture_on_commit_callbacks):
    bulletin = BulletinFactory(title="将被撤回的标讯")
    assert client.get(bulletin.get_absolute_url()).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        bulletin_set_status(bulletin_ids=[bulletin.pk], status=Bulletin.Status.DRAFT)
    assert client.get(bulletin.get_absolute_url()).status_code == 404
    assert "将被撤回的标讯" not in client.get("/bulletins/").content.decode()


def test_signed_in_members_are_never_cached(client):
    BulletinFactory()
    client.force_login(User.objects.create_user("m", password="x"))
    client.get(reverse("bulletin-list"))
    response = client.get(reverse("bulletin-list"))
    assert "X-Page-Cache" not in response
    # …and what a member saw is not what an anonymous visitor then gets.
    client.logout()
    assert client.get(reverse("bulletin-list"))["X-Page-Cache"] == "miss"
