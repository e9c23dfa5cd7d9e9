"""What a person does in a browser: Debian's Chromium driven by Playwright."""

import os
from pathlib import Path

import pytest

from news.tests.factories import BulletinFactory, ContactFactory, category, region

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django's async-safety check misfires on it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.set_default_timeout(10_000)
        yield page
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_find_a_lead_by_province_and_city_then_read_it(live_server, page):
    road = BulletinFactory(
        title="镇江新区港南路道路提升改造工程施工招标公告",
        category=category("tender"),
        region=region("江苏-镇江-镇江新区"),
    )
    ContactFactory(bulletin=road, person="王建明", phone="0511-83000001")
    BulletinFactory(title="常州武进产业园项目", region=region("江苏-常州-武进区"))
    BulletinFactory(title="上海普陀学校项目", region=region("上海-上海-普陀区"))

    page.goto(f"{live_server.url}/bulletins/")
    page.select_option("select[name=province]", label="江苏")
    # The city list is filled by the page's script from the region table.
    page.wait_for_selector("select[name=city] option:text('镇江')", state="attached")
    page.select_option("select[name=city]", label="镇江")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/bulletins/?*city=*")
    titles = page.locator("ul.bulletins a.title").all_inner_texts()
    assert titles == ["镇江新区港南路道路提升改造工程施工招标公告"]

    page.click("text=镇江新区港南路道路提升改造工程施工招标公告")
    assert page.locator("h1").inner_text() == "镇江新区港南路道路提升改造工程施工招标公告"
    assert "江苏-镇江-镇江新区" in page.locator("p.meta").inner_text()
    contacts = page.locator("section.contacts").inner_text()
    assert "0511-8*******" in contacts and "王**" in contacts
    assert "0511-83000001" not in contacts and "王建明" not in contacts
    assert "4000-156-001" in contacts and "查看会员套餐" in contacts


def test_search_from_home_page_highlights_terms(live_server, page):
    BulletinFactory(title="城东污水处理厂扩建工程", body="新建污水处理设施一座。")
    BulletinFactory(title="城西道路工程", body="道路拓宽。")
    page.goto(live_server.url + "/")
    page.fill("form.quick-search input[name=q]", "污水处理")
    page.press("form.quick-search input[name=q]", "Enter")
    page.wait_for_url("**/bulletins/?q=*")
    assert page.locator("ul.bulletins a.title").all_inner_texts() == ["城东污水处理厂扩建工程"]
    assert page.locator("p.snippet mark").first.inner_text() == "污水处理"
