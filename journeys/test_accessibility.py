"""axe-core (bundled by axe-playwright-python) on every kind of page: no serious or
critical violations."""

import pytest
from django.urls import reverse

from members.models import SavedSearch
from members.tests.factories import paid_member
from news.linking import projects_link_bulletins
from news.tests.factories import BulletinFactory, ContactFactory, category, region

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3], v["help"])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_pages_have_no_serious_or_critical_violations(live_server, desktop, settings, tmp_path):
    settings.PAYMENT_DEV_PROVIDER = True
    settings.PAYMENT_DEV_KEY_PATH = str(tmp_path / "dev.pem")
    tender = BulletinFactory(
        title="镇江新区港南路道路提升改造工程施工招标公告",
        category=category("tender"),
        region=region("江苏-镇江-镇江新区"),
    )
    ContactFactory(bulletin=tender, person="王建明", phone="0511-83000001")
    projects_link_bulletins([tender.pk])
    tender.refresh_from_db()
    project = tender.project
    organization = project.parties.select_related("organization").first()
    member = paid_member(slug="custom", email="axe@example.cn")
    search = SavedSearch.objects.create(user=member, name="道路", query="道路")
    public = [
        "/",
        "/bulletins/",
        "/bulletins/?q=道路",
        tender.get_absolute_url(),
        project.get_absolute_url(),
        "/accounts/signup/",
        "/accounts/login/",
        "/membership/",
        "/feedback/",
        "/consult/",
        "/no-such-page/",
    ]
    assert organization is not None  # the tender's contact names its organisation
    public.append(organization.organization.get_absolute_url())
    from support.services import conversation_start

    thread = conversation_start(user=None, email="v@example.cn", body="年费多少?", ip="10.1.1.1")
    public.append(reverse("consult-thread", args=[thread.token]))
    private = [
        reverse("member-account"),
        reverse("saved-search-edit", args=[search.pk]),
        reverse("saved-search-new"),
        reverse("checkout"),
    ]
    found = {}
    page = desktop
    for path in public:
        page.goto(live_server.url + path)
        found[path] = _violations(page)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", member.email)
    page.fill("input[name=password]", "pass-word-2024")
    page.click("form button[type=submit]")
    page.wait_for_selector("text=我的账户")
    for path in private:
        page.goto(live_server.url + path)
        found[path] = _violations(page)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    bad = {path: v for path, v in found.items() if v}
    assert not bad, bad
