"""A new member starts the 3-day trial on a phone and sees a tender's contacts."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from journeys.conftest import shot
from journeys.test_journeys import _leads, _login
from members.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _serious(page):
    return [
        (v["id"], v["help"])
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_new_member_tries_the_query_plan_then_reveals_a_contact(live_server, phone):
    tender = _leads()
    member = UserFactory(email="trial@example.cn", phone="")
    page = phone
    _login(page, live_server, member)
    page.goto(live_server.url + tender.get_absolute_url())
    assert "王建明" not in page.content()
    page.goto(live_server.url + "/membership/")
    offer = page.locator("form.trial-offer").first
    offer.locator("input[name=phone]").fill("13912345678")
    shot(page, "trial", "offer")
    assert _serious(page) == []
    offer.locator("button[type=submit]").click()
    page.wait_for_selector("text=免费试用已开始")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "trial", "started")
    assert _serious(page) == []
    page.goto(live_server.url + tender.get_absolute_url())
    page.locator("section.contacts form button[type=submit]").click()
    page.wait_for_selector("section.contacts >> text=王建明")
    assert "0511-83000001" in page.locator("section.contacts").inner_text()
    shot(page, "trial", "revealed")
    # One trial per person: the offer is gone.
    page.goto(live_server.url + "/membership/")
    assert page.locator("form.trial-offer").count() == 0
