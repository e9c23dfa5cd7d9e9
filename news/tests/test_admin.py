import pytest
from django.urls import reverse

from members.models import User
from news.models import Bulletin
from news.tests.factories import BulletinFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    ["admin:news_bulletin_changelist", "admin:news_bulletin_add", "admin:news_region_changelist"],
)
def test_admin_pages_load_for_staff(staff_client, name):
    BulletinFactory()
    response = staff_client.get(reverse(name))
    assert response.status_code == 200


def test_changelist_filters_by_province_and_searches(staff_client):
    BulletinFactory(title="镇江道路工程")
    html = staff_client.get(
        reverse("admin:news_bulletin_changelist"), {"q": "镇江", "status__exact": "published"}
    ).content.decode()
    assert "镇江道路工程" in html
    assert "省份" in html


def test_change_form_shows_contacts_inline(staff_client):
    contact = ContactFactory(person="王建明")
    html = staff_client.get(
        reverse("admin:news_bulletin_change", args=[contact.bulletin_id])
    ).content.decode()
    assert 'value="王建明"' in html


def test_publish_and_unpublish_actions(staff_client):
    draft = BulletinFactory(status=Bulletin.Status.DRAFT)
    url = reverse("admin:news_bulletin_changelist")
    staff_client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Bulletin.Status.PUBLISHED
    staff_client.post(url, {"action": "unpublish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Bulletin.Status.DRAFT


def test_admin_save_strips_html_from_body(staff_client):
    bulletin = BulletinFactory()
    url = reverse("admin:news_bulletin_change", args=[bulletin.pk])
    form = {
        "title": bulletin.title,
        "category": bulletin.category_id,
        "region": bulletin.region_id,
        "published_at_0": "2024-10-12",
        "published_at_1": "09:00:00",
        "status": "published",
        "body": "<p>第一段<script>x()</script></p><p>第二段</p>",
        "source_url": "",
        "credits": "{}",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
    }
    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    bulletin.refresh_from_db()
    assert bulletin.body == "第一段\n\n第二段"


def test_admin_redirects_anonymous_to_login(client):
    response = client.get(reverse("admin:news_bulletin_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_redirects_non_staff_member(client):
    client.force_login(User.objects.create_user("member", password="x"))
    response = client.get(reverse("admin:news_bulletin_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
