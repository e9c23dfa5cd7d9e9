"""The read-only API: keys, plan access and throttles, masking, reveals, cursors, filters."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from api.models import ApiToken
from api.tokens import api_token_create
from members.models import ContactReveal
from members.tests.factories import UserFactory, paid_member, plan
from news.tests.factories import BulletinFactory, ContactFactory, category, region

pytestmark = pytest.mark.django_db


def _key(user) -> str:
    return api_token_create(user=user, name="ERP")[1]


def _get(client, key, url, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_no_key_bad_key_and_free_plan_are_refused(client):
    url = reverse("api-bulletins")
    assert client.get(url).status_code == 401
    assert _get(client, "bk_nope", url).status_code == 401
    free = UserFactory()
    with pytest.raises(ValueError, match="套餐不含数据接口"):
        api_token_create(user=free, name="x")
    # A key made while paying stops working when the plan no longer allows the API.
    member = paid_member()
    key = _key(member)
    assert _get(client, key, url).status_code == 200
    query = plan("query")
    query.api_access = False
    query.save()
    refused = _get(client, key, url)
    assert refused.status_code == 403 and "套餐不含数据接口" in refused.json()["detail"]


def test_only_the_hash_is_stored_and_revoke_works(client):
    member = paid_member()
    token, key = api_token_create(user=member, name="ERP")
    row = ApiToken.objects.get(pk=token.pk)
    assert key not in (row.key_hash, row.prefix) and key.startswith(row.prefix)
    url = reverse("api-bulletins")
    assert _get(client, key, url).status_code == 200
    client.force_login(member)
    client.post(reverse("api-token-revoke", args=[token.pk]))
    assert _get(client, key, url).status_code == 401
    other = UserFactory()
    client.force_login(other)
    # Someone else's key cannot be revoked by id.
    second, second_key = api_token_create(user=member, name="BI")
    client.post(reverse("api-token-revoke", args=[second.pk]))
    assert _get(client, second_key, url).status_code == 200


def test_list_is_masked_for_a_paying_member_and_never_spends_reveals(client):
    b = BulletinFactory(title="镇江道路工程 联系人王建明 13800000001")
    ContactFactory(bulletin=b)
    key = _key(paid_member())
    data = _get(client, key, reverse("api-bulletins")).json()
    row = data["results"][0]
    assert row["id"] == b.pk and "13800000001" not in row["title"] and "王建明" not in row["title"]
    detail = _get(client, key, reverse("api-bulletin", args=[b.pk])).json()
    assert detail["contacts_masked"] is True
    assert detail["contacts"][0]["person"] == "王**"
    assert "13800000001" not in str(detail)
    assert not ContactReveal.objects.exists()


def test_reveal_endpoint_counts_against_the_quota(client):
    member = paid_member(quota=1)
    key = _key(member)
    first, second = BulletinFactory(), BulletinFactory()
    ContactFactory(bulletin=first)
    ContactFactory(bulletin=second)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}", "REMOTE_ADDR": "10.1.2.3"}
    shown = client.post(reverse("api-bulletin-reveal", args=[first.pk]), **auth)
    assert shown.status_code == 200
    assert shown.json()["contacts"][0]["mobile"] == "13800000001"
    again = client.post(reverse("api-bulletin-reveal", args=[first.pk]), **auth)
    assert again.status_code == 200  # the same bulletin again today: free
    over = client.post(reverse("api-bulletin-reveal", args=[second.pk]), **auth)
    assert over.status_code == 429 and over.json()["code"] == "reveal_quota_exceeded"
    log = ContactReveal.objects.get(user=member)
    assert (log.bulletin_id, log.ip) == (first.pk, "10.1.2.3")
    # The list stays masked even for the revealed bulletin.
    assert "13800000001" not in str(_get(client, key, reverse("api-bulletins")).json())
    missing = client.post(reverse("api-bulletin-reveal", args=[999999]), **auth)
    assert missing.status_code == 404


def test_throttled_at_the_plans_rate(client):
    query = plan("query")
    query.api_rate = "3/min"
    query.save()
    key = _key(paid_member())
    cache.clear()
    codes = [_get(client, key, reverse("api-companies")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another member has their own allowance.
    assert _get(client, _key(paid_member()), reverse("api-companies")).status_code == 200


def test_cursor_pages_walk_everything_once_and_filters_apply(client):
    made = [BulletinFactory() for _ in range(5)]
    award = BulletinFactory(category=category("award"), region=region("江苏-南京-玄武区"))
    key = _key(paid_member())
    seen, url = [], reverse("api-bulletins") + "?page_size=2"
    while url:
        page = client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}").json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted([b.pk for b in made] + [award.pk]) and len(seen) == 6
    only = _get(client, key, reverse("api-bulletins"), category="award").json()["results"]
    assert [r["id"] for r in only] == [award.pk]
    province = region("江苏-南京-玄武区").parent.parent_id
    by_region = _get(client, key, reverse("api-bulletins"), province=province).json()
    assert award.pk in [r["id"] for r in by_region["results"]]
    bad = _get(client, key, reverse("api-bulletins"), date_from="昨天")
    assert bad.status_code == 400 and "date_from" in bad.json()


def test_projects_and_companies(client):
    from news.linking import project_link_bulletin

    b = BulletinFactory(
        title="镇江新区丁卯路道路工程施工招标公告",
        body="本招标项目镇江新区丁卯路道路工程已由镇江新区发改局批准建设。\n\n招标人:镇江新区城市建设投资有限公司",
    )
    ContactFactory(bulletin=b)
    project_link_bulletin(bulletin=b)
    key = _key(paid_member())
    projects = _get(client, key, reverse("api-projects")).json()["results"]
    assert projects, "the bulletin was linked to a project"
    detail = _get(client, key, reverse("api-project", args=[projects[0]["id"]])).json()
    assert detail["contacts_masked"] is True and "13800000001" not in str(detail)
    companies = _get(client, key, reverse("api-companies")).json()["results"]
    if companies:
        one = _get(client, key, reverse("api-company", args=[companies[0]["id"]]))
        assert one.status_code == 200
    assert _get(client, key, reverse("api-project", args=[999999])).status_code == 404


def test_token_page(client):
    client.force_login(UserFactory())
    page = client.get(reverse("api-tokens")).content.decode()
    assert "数据接口需开通付费会员" in page and "创建密钥</button>" not in page
    member = paid_member()
    client.force_login(member)
    page = client.get(reverse("api-tokens")).content.decode()
    assert "60/min" in page
    made = client.post(reverse("api-tokens"), {"name": "ERP 同步"})
    assert "no-store" in made["Cache-Control"]
    html = made.content.decode()
    assert "只显示这一次" in html
    key = html.split('id="new-key" class="key" type="text" readonly value="')[1].split('"')[0]
    assert _get(client, key, reverse("api-bulletins")).status_code == 200
    # Shown once: the list afterwards has only the prefix.
    assert key not in client.get(reverse("api-tokens")).content.decode()
    empty = client.post(reverse("api-tokens"), {"name": " "})
    assert empty.status_code == 400 and "请填写密钥名称" in empty.content.decode()
