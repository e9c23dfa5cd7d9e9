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


def test_a_new_bulletin_shows_at_once(client):
    BulletinFactory(title="旧的标讯")
    client.get("/bulletins/")
    BulletinFactory(title="新发布的标讯")
    assert "新发布的标讯" in client.get("/bulletins/").content.decode()


def test_unpublishing_removes_it_at_once(client):
    bulletin = BulletinFactory(title="将被撤回的标讯")
    assert client.get(bulletin.get_absolute_url()).status_code == 200
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
