"""Browser journeys: Debian's Chromium driven by Playwright against a live server, as a
person would use the portal; screenshots of the key pages go to var/screenshots/."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser(live_server):
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (scripts/ensure-chromium.sh)")
    # Playwright's sync API runs an event loop; Django's async-safety check misfires on it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _page(browser, **options):
    context = browser.new_context(locale="zh-CN", **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def desktop(browser):
    return _page(browser, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone(browser):
    return _page(browser, viewport=PHONE, is_mobile=True, has_touch=True)


def shot(page, journey: str, name: str) -> None:
    folder = SHOTS / journey
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def page(desktop):
    return desktop
