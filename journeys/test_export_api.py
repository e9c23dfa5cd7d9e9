"""A paying member on a 390 px phone exports a search to CSV and makes, uses and revokes an
API key; both pages fit the phone, have 44 px targets and pass axe (no serious/critical)."""

from pathlib import Path

import pytest

from journeys.conftest import shot
from journeys.test_accessibility import _violations
from journeys.test_journeys import _leads, _login
from members.models import ContactReveal
from members.tests.factories import paid_member

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _fits(page, path):
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, (path, overflow)
    small = page.evaluate(
        """() => [...document.querySelectorAll(
               'main button, main input:not([type=hidden]), main a.button')]
             .filter(e => e.offsetParent !== null && !e.closest('.hp'))
             .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
             .filter(([, h]) => h < 44)"""
    )
    assert not small, (path, small)
    assert _violations(page) == [], path


def test_export_and_api_key_on_a_phone(live_server, phone):
    _leads()
    member = paid_member(slug="custom", email="export@example.cn")
    _login(phone, live_server, member)

    phone.goto(live_server.url + "/bulletins/?category=tender")
    phone.click("text=导出 Excel / CSV")
    phone.wait_for_selector("text=每次最多导出 5000 条")
    assert "今日已用 0 / 200 条" in phone.locator("main").inner_text()
    shot(phone, "7-export", "export-page")
    _fits(phone, "/bulletins/export/")
    with phone.expect_download() as download:
        phone.click("button:has-text('导出 CSV')")
    data = Path(download.value.path()).read_bytes().decode("utf-8")
    assert data.startswith("\ufeff") and "王建明" in data and "0511-83000001" in data
    assert ContactReveal.objects.filter(user=member).count() == 1

    phone.goto(live_server.url + "/account/api-tokens/")
    _fits(phone, "/account/api-tokens/")
    phone.fill("#token-name", "ERP 同步")
    phone.click("button:has-text('创建密钥')")
    key = phone.input_value("#new-key")
    assert key.startswith("bk_")
    shot(phone, "7-export", "api-key")
    _fits(phone, "/account/api-tokens/ (new key)")
    answer = phone.request.get(
        live_server.url + "/api/v1/bulletins/", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status == 200 and answer.json()["results"]
    phone.click("button:has-text('撤销“ERP 同步”')")
    phone.wait_for_selector("text=密钥已撤销")
    assert key not in phone.content()
    revoked = phone.request.get(
        live_server.url + "/api/v1/bulletins/", headers={"Authorization": f"Bearer {key}"}
    )
    assert revoked.status == 401
