"""The leak matrix: contacts reach only paying members (after a reveal) and staff.

Fixture contacts carry unique marker values, printed in the bulletin's contacts and inline
in its body in the formats masking used to miss (spaced labels, (0511)…, bare local
numbers, 400 numbers, 总监理工程师:…). Every public URL is fetched as each kind of viewer
and the markers — and any fragment longer than what the mask shows — must appear only
for the paid member who revealed the bulletin and for staff.
"""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import login_with_second_factor
from members import services
from members.access import member_rights
from members.models import ContactReveal, Subscription, User
from members.tests.factories import UserFactory, paid_member, plan
from news import linking
from news.models import Organization, Project, ProjectParty
from news.tests.factories import BulletinFactory, ContactFactory, region

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["uncached", "fragment-cache"])
def list_cache(request, settings):
    """Every case runs twice: list pages rendered whole, and with the shared list fragment
    cached (portal.pagecache.shared_fragment) as in production, on a real cache backend."""
    settings.FRAGMENT_CACHE_SECONDS = 60 if request.param == "fragment-cache" else 0
    return request.param


TITLE = "镇江新区滨江大道综合管廊工程施工招标公告"
BODY = (
    "一、招标条件\n\n本招标项目镇江新区滨江大道综合管廊工程已由镇江新区经济发展局批准建设。\n\n"
    "二、联系方式\n\n"
    "招标人:镇江新区滨江建设发展有限公司\n"
    "联 系 人:欧阳晓\n"
    "电 话:(0511)87654321\n"
    "项目经理:慕容复 手机:13912345678\n"
    "总监理工程师:端木蓉\n"
    "电子邮件:marker-lead@zz-example.com\n"
    "办公电话:86661234\n"
    "服务热线:400-820-1234\n"
    # Formats the parser stores nothing for: masking must fail closed on them.
    "现场负责人手机:+86 139 2468 1357,QQ:28641357\n"
    "备用:65432198\n"
    "传真:０５１１－７７６６５５４４"
)
# A title and a project name that carry contacts (a name cut from a body line, a title
# typed by a source site): masked like any text on every public path.
TITLE_WITH_CONTACTS = "滨江大道管廊二期招标公告(联系人:欧阳晓,电话139-1234-5678)"
PROJECT_NAME_WITH_CONTACTS = "镇江新区滨江大道综合管廊工程 联系人:欧阳晓 电话:0511-87654321"
ORGANIZATION_WITH_CONTACTS = "滨江管廊监理部(联系人慕容复 13912345678)"
# Full values and fragments longer than the mask shows (欧** shows one character, 0511-8…
# one digit of the local number, 139… three digits of the mobile).
MARKERS = [
    "欧阳晓",
    "阳晓",
    "欧阳",
    "慕容复",
    "容复",
    "端木蓉",
    "木蓉",
    "87654321",
    "7654321",
    "13912345678",
    "12345678",
    "marker-lead",
    "86661234",
    "6661234",
    "8201234",
    "820-1234",
    "2468 1357",
    "24681357",
    "28641357",
    "65432198",
    "７７６６５５４４",
    "1234-5678",
]
SEARCHES = [
    "欧阳晓",
    "阳晓",
    "慕容复",
    "端木蓉",
    "87654321",
    "0511-87654321",
    "13912345678",
    "marker-lead@zz-example.com",
    "marker",
    "86661234",
    "400-820-1234",
    "139 2468 1357",
    "13924681357",
    "28641357",
    "65432198",
    "139-1234-5678",
]


@pytest.fixture
def lead():
    bulletin = BulletinFactory(title=TITLE, body=BODY, region=region("江苏-镇江-镇江新区"))
    ContactFactory(
        bulletin=bulletin,
        organization="镇江新区滨江建设发展有限公司",
        role="招标人",
        person="欧阳晓",
        phone="(0511)87654321",
        mobile="",
        email="marker-lead@zz-example.com",
    )
    ContactFactory(
        bulletin=bulletin,
        organization="江苏滨江建设集团有限公司",
        role="中标人",
        person="慕容复",
        title="项目经理",
        phone="86661234",
        mobile="13912345678",
        email="",
    )
    linking.project_link_bulletin(bulletin=bulletin)
    bulletin.refresh_from_db()
    assert bulletin.project is not None
    Project.objects.filter(pk=bulletin.project_id).update(name=PROJECT_NAME_WITH_CONTACTS)
    organization = Organization.objects.create(
        name=ORGANIZATION_WITH_CONTACTS,
        name_key=linking.organization_key(ORGANIZATION_WITH_CONTACTS),
    )
    ProjectParty.objects.create(
        project_id=bulletin.project_id,
        organization=organization,
        role=ProjectParty.Role.SUPERVISOR,
        first_seen=bulletin.published_at,
        last_seen=bulletin.published_at,
    )
    return bulletin


@pytest.fixture
def titled(lead):
    """A bulletin whose title itself names a contact."""
    return BulletinFactory(title=TITLE_WITH_CONTACTS, body="二期工程概况。", region=lead.region)


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def viewers(lead):
    """Every kind of viewer; the paid member has revealed `lead` today."""
    today = timezone.localdate()
    lapsed = UserFactory()
    Subscription.objects.create(
        user=lapsed,
        plan=plan("query"),
        starts_on=today - datetime.timedelta(days=366),
        ends_on=today - datetime.timedelta(days=1),
    )
    ended = paid_member()
    services.subscription_end_early(
        subscription=ended.subscriptions.get(), reason="客户退款", by=None
    )
    over_quota = paid_member(slug="query", quota=1)
    other = BulletinFactory(title="另一条标讯")
    services.contact_reveal(user=over_quota, bulletin_id=other.pk, ip="127.0.0.1")
    paid = paid_member(slug="custom")
    services.contact_reveal(user=paid, bulletin_id=lead.pk, ip="127.0.0.1")
    staff = UserFactory(is_staff=True, is_superuser=True)
    return {
        "anonymous": _client(),
        "free": _client(UserFactory()),
        "lapsed": _client(lapsed),
        "ended": _client(ended),
        "over_quota": _client(over_quota),
        "paid_not_revealed": _client(paid_member(slug="custom")),
        "paid": _client(paid),
        "staff": login_with_second_factor(Client(), staff),
    }


MASKED = ["anonymous", "free", "lapsed", "ended", "over_quota", "paid_not_revealed"]


def _public_urls(lead, titled) -> list[str]:
    detail = lead.get_absolute_url()
    return [
        titled.get_absolute_url(),
        reverse("feedback") + f"?bulletin={lead.pk}&kind=error",
        reverse("feedback") + f"?bulletin={titled.pk}&kind=error",
        reverse("home"),
        reverse("bulletin-list"),
        reverse("bulletin-list") + "?q=管廊",
        reverse("bulletin-list") + "?q=联系",
        reverse("bulletin-list") + "?q=电话&title_only=",
        reverse("bulletin-list") + f"?province={lead.province_id}",
        detail,
        reverse("bulletin-feed-rss"),
        reverse("bulletin-feed-atom"),
        reverse("bulletin-feed-rss") + "?q=管廊",
        reverse("bulletin-feed-atom") + "?q=联系人",
        "/sitemap.xml",
        "/sitemap-bulletins.xml",
        reverse("region-children", args=[lead.province_id]),
        reverse("membership"),
        reverse("membership-apply"),
        reverse("project-list"),
        reverse("project-list") + "?q=管廊",
        reverse("project-detail", args=[lead.project_id]),
        reverse("project-feed-rss", args=[lead.project_id]),
        reverse("project-feed-atom", args=[lead.project_id]),
        *(o.get_absolute_url() for o in Organization.objects.all()),
    ]


def _everything(response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return headers + "\n" + response.content.decode()


# Signed-in pages that show bulletins or projects: the saved-search preview (from the
# list's filters) and the account page.
def _member_urls() -> list[str]:
    new = reverse("saved-search-new")
    return [new + "?q=管廊", new + "?q=滨江", reverse("member-account")]


def test_markers_never_reach_viewers_without_the_right(viewers, lead, titled):
    for who in MASKED:
        client = viewers[who]
        urls = _public_urls(lead, titled) + ([] if who == "anonymous" else _member_urls())
        pages = [client.get(url) for url in urls]
        for url, response in zip(urls, pages, strict=False):
            assert response.status_code == 200, (who, url)
            text = _everything(response)
            leaked = [m for m in MARKERS if m in text]
            assert not leaked, f"{who} sees {leaked} on {url}"


def test_masked_page_shows_what_is_hidden_and_how_to_get_it(viewers, lead):
    html = viewers["anonymous"].get(lead.get_absolute_url()).content.decode()
    assert "欧**" in html and "(0511)8*******" in html and "139********" in html
    assert "端**" in html and "8*******" in html and "m***@zz-example.com" in html
    assert "4000-156-001" in html and reverse("membership") in html
    assert reverse("membership-apply") in html
    # Organisation names stay public.
    assert "镇江新区滨江建设发展有限公司" in html


def test_paid_member_who_revealed_and_staff_see_everything(viewers, lead):
    for who in ("paid", "staff"):
        html = viewers[who].get(lead.get_absolute_url()).content.decode()
        for marker in ("欧阳晓", "慕容复", "端木蓉", "87654321", "13912345678", "86661234"):
            assert marker in html, (who, marker)
        assert "marker-lead@zz-example.com" in html
        snippet = viewers[who].get(reverse("bulletin-list") + "?q=联系").content.decode()
        assert "欧阳晓" in snippet, who


def test_searching_a_contact_value_finds_nothing_without_the_right(viewers, lead):
    for who in MASKED:
        if who == "paid_not_revealed" or who == "over_quota":
            continue  # paying members may search contacts (results stay masked)
        for term in SEARCHES:
            for extra in ("", "&title_only=on", "&sort=newest"):
                html = viewers[who].get(f"/bulletins/?q={term}{extra}").content.decode()
                assert TITLE not in html, f"{who} finds the bulletin by {term!r}"
            feed = viewers[who].get(f"/bulletins/feed/rss/?q={term}").content.decode()
            assert TITLE not in feed, f"{who}'s feed finds the bulletin by {term!r}"
    # Excluding a contact value must not reveal it either: the bulletin stays listed.
    html = viewers["anonymous"].get("/bulletins/?q=管廊 -欧阳晓").content.decode()
    assert TITLE in html


def test_members_who_see_contacts_can_search_by_them_results_stay_masked(viewers, lead):
    client = viewers["paid_not_revealed"]
    for term in ("13912345678", "欧阳晓", "marker-lead@zz-example.com", "0511-87654321"):
        html = client.get(f"/bulletins/?q={term}").content.decode()
        # The rows only: links elsewhere on the page (导出) echo the member's own query.
        start = html.index('<ul class="bulletins">')
        results = html[start : html.index("</ul>", start)]
        assert TITLE in results, term
        assert "13912345678" not in results and "欧阳晓" not in results
    assert TITLE in viewers["staff"].get("/bulletins/?q=慕容复").content.decode()


def test_pages_for_signed_in_users_are_private_and_never_cached(viewers, lead, settings):
    settings.PAGE_CACHE_SECONDS = 60
    url = lead.get_absolute_url()
    first = viewers["anonymous"].get(url)
    assert first["X-Page-Cache"] == "miss"
    paid = viewers["paid"].get(url)
    assert "X-Page-Cache" not in paid and "欧阳晓" in paid.content.decode()
    assert "private" in paid["Cache-Control"]
    assert "Cookie" in paid["Vary"]
    again = viewers["anonymous"].get(url)
    assert again["X-Page-Cache"] == "hit" and "欧阳晓" not in again.content.decode()


def test_lapse_and_early_end_take_effect_on_the_next_request(lead):
    member = paid_member()
    client = _client(member)
    assert client.post(reverse("bulletin-reveal", args=[lead.pk])).status_code == 302
    assert "欧阳晓" in client.get(lead.get_absolute_url()).content.decode()
    services.subscription_end_early(
        subscription=member.subscriptions.get(), reason="合同终止", by=None
    )
    html = client.get(lead.get_absolute_url()).content.decode()
    assert "欧阳晓" not in html and "欧**" in html
    assert client.post(reverse("bulletin-reveal", args=[lead.pk])).status_code == 403

    # A period whose end date has passed stops counting at midnight, with no job run.
    other = paid_member()
    client = _client(other)
    client.post(reverse("bulletin-reveal", args=[lead.pk]))
    Subscription.objects.filter(user=other).update(
        ends_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert "欧阳晓" not in client.get(lead.get_absolute_url()).content.decode()


def test_reveal_is_a_post_counted_once_a_day(lead):
    member = paid_member(quota=2)
    client = _client(member)
    detail = lead.get_absolute_url()
    html = client.get(detail).content.decode()
    assert "查看联系方式" in html and "今日已查看 0 / 2 条" in html and "欧阳晓" not in html
    assert client.get(reverse("bulletin-reveal", args=[lead.pk])).status_code == 405
    for _ in range(3):
        client.post(reverse("bulletin-reveal", args=[lead.pk]))
    assert ContactReveal.objects.filter(user=member).count() == 1
    reveal = ContactReveal.objects.get(user=member)
    assert reveal.bulletin_id == lead.pk and reveal.ip == "127.0.0.1"
    assert "1 / 2" in client.get(reverse("member-account")).content.decode()


def test_over_quota_gets_429_and_the_masked_view(lead):
    member = paid_member(quota=1)
    client = _client(member)
    first = BulletinFactory(title="第一条")
    assert client.post(reverse("bulletin-reveal", args=[first.pk])).status_code == 302
    response = client.post(reverse("bulletin-reveal", args=[lead.pk]))
    assert response.status_code == 429
    html = response.content.decode()
    assert "额度已用完" in html and "欧阳晓" not in html and "欧**" in html
    assert ContactReveal.objects.filter(user=member).count() == 1


def test_project_contacts_are_gated_by_the_same_policy_and_quota(lead):
    project_url = reverse("project-detail", args=[lead.project_id])
    html = Client().get(project_url).content.decode()
    assert "欧**" in html and "欧阳晓" not in html and "查看会员套餐" in html
    member = paid_member(quota=2)
    client = _client(member)
    assert "查看联系方式" in client.get(project_url).content.decode()
    assert client.post(reverse("project-reveal", args=[lead.project_id])).status_code == 302
    html = client.get(project_url).content.decode()
    assert "欧阳晓" in html and "13912345678" in html
    # One quota for bulletins and projects: the bulletin takes the second reveal...
    assert client.post(reverse("bulletin-reveal", args=[lead.pk])).status_code == 302
    other = BulletinFactory(title="第三条")
    # ...and a third is refused.
    assert client.post(reverse("bulletin-reveal", args=[other.pk])).status_code == 429
    assert ContactReveal.objects.filter(user=member).count() == 2


def test_anonymous_reveal_goes_to_login_and_spends_nothing(lead):
    response = Client().post(reverse("bulletin-reveal", args=[lead.pk]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
    assert not ContactReveal.objects.exists()


# --- the shared list fragment (portal.pagecache.shared_fragment) ----------------------------

LIST_URLS = [
    "/bulletins/",
    "/bulletins/?q=管廊",
    "/bulletins/?q=联系",
    "/bulletins/?q=电话&title_only=",
    *(f"/bulletins/?q={term}" for term in SEARCHES),
    *(f"/bulletins/?q={term}&sort=newest" for term in SEARCHES),
]


def _marked(response) -> list[str]:
    text = _everything(response)
    return [m for m in MARKERS if m in text]


def test_viewer_classes_that_may_share_a_list_fragment(viewers):
    def share(client):
        user_id = client.session.get("_auth_user_id")
        return member_rights(User.objects.get(pk=user_id) if user_id else None).shared_pages

    classes = {who: share(client) for who, client in viewers.items()}
    assert classes == {
        "anonymous": "public",
        "free": "public",
        "lapsed": "public",
        "ended": "public",
        "over_quota": "contacts",
        "paid_not_revealed": "contacts",
        "paid": "contacts",
        "staff": None,
    }


@pytest.mark.parametrize("list_cache", ["fragment-cache"], indirect=True)
def test_list_fragment_cached_for_those_who_see_more_never_reaches_the_others(viewers, lead):
    # Those who see (or may search) contacts fill the cache first, every list URL...
    for who in ("staff", "paid", "paid_not_revealed", "over_quota"):
        for url in LIST_URLS:
            assert viewers[who].get(url).status_code == 200
    assert "欧阳晓" in viewers["paid"].get("/bulletins/?q=联系").content.decode()
    # ...then no one without the right gets a marker, nor finds the bulletin by a contact
    # (a contact searched for is echoed in the search box and links: only rows count there).
    for who in MASKED:
        for url in LIST_URLS:
            response = viewers[who].get(url)
            if url in LIST_URLS[:4]:
                assert not _marked(response), (who, url, _marked(response))
            html = response.content.decode()
            rows = html.partition('<ul class="bulletins">')[2].partition("</ul>")[0]
            leaked = [m for m in MARKERS if m in rows]
            assert not leaked, (who, url, leaked)
    for who in ("anonymous", "free", "lapsed", "ended"):
        for term in SEARCHES:
            html = viewers[who].get(f"/bulletins/?q={term}").content.decode()
            assert TITLE not in html, f"{who} finds the bulletin by {term!r}"


@pytest.mark.parametrize("list_cache", ["fragment-cache"], indirect=True)
def test_list_fragment_is_served_from_the_cache_and_stays_masked(viewers, lead):
    url = "/bulletins/?q=联系"
    first = viewers["free"].get(url)
    with CaptureQueriesContext(connection) as queries:
        again = viewers["free"].get(url)
    assert not [q for q in queries.captured_queries if "news_bulletin" in q["sql"]], (
        "the second request was answered from the shared fragment"
    )
    main = first.content.decode().partition("<h1>")[2].partition("</main>")[0]
    assert main and main in again.content.decode() and "欧**" in main
    # The same URL for a member who revealed the bulletin: rendered for them, unmasked...
    paid = viewers["paid"].get(url)
    assert "欧阳晓" in paid.content.decode() and "private" in paid["Cache-Control"]
    # ...and not stored: the other viewers still get the masked rows.
    for who in MASKED:
        assert not _marked(viewers[who].get(url)), who
    assert "欧阳晓" in viewers["staff"].get(url).content.decode()


@pytest.mark.parametrize("list_cache", ["fragment-cache"], indirect=True)
def test_revealed_rows_in_a_cached_list_follow_the_policy_on_each_request(lead):
    url = "/bulletins/?q=联系"
    member = paid_member(slug="custom")
    client = _client(member)
    other = _client(paid_member(slug="custom"))
    assert not _marked(other.get(url))  # the "contacts" fragment is cached, masked
    assert not _marked(client.get(url))
    # A reveal shows at once, although the masked fragment is still cached...
    assert client.post(reverse("bulletin-reveal", args=[lead.pk])).status_code == 302
    assert "欧阳晓" in client.get(url).content.decode()
    assert not _marked(other.get(url))
    # ...and does not stick: the period ends, the next request is masked again.
    services.subscription_end_early(
        subscription=member.subscriptions.get(), reason="合同终止", by=None
    )
    response = client.get(url)
    assert not _marked(response) and "欧**" in response.content.decode()
