"""What a visitor, a member and staff do in a browser, asserting what they see."""

import re

import pytest
from django.urls import reverse

from journeys.conftest import shot
from members.tests.factories import UserFactory, paid_member
from news.linking import projects_link_bulletins
from news.tests.factories import BulletinFactory, ContactFactory, category, region

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TENDER = "镇江新区港南路道路提升改造工程施工招标公告"


def _leads():
    tender = BulletinFactory(
        title=TENDER,
        body="本工程位于镇江新区港南路,道路全长2.3公里。\n\n招标控制价:3860万元。",
        category=category("tender"),
        region=region("江苏-镇江-镇江新区"),
    )
    ContactFactory(bulletin=tender, person="王建明", phone="0511-83000001", mobile="")
    BulletinFactory(
        title="常州武进道路养护工程招标公告",
        category=category("tender"),
        region=region("江苏-常州-武进区"),
    )
    BulletinFactory(title="上海普陀学校道路项目", region=region("上海-上海-普陀区"))
    projects_link_bulletins([tender.pk])
    return tender


def _login(page, live_server, user):
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", "pass-word-2024")
    page.click("form button[type=submit]")
    page.wait_for_selector("text=我的账户")


def _staff(browser, live_server):
    """An editor signed in to the admin with password + TOTP, as production requires."""
    import time

    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        format_hotp_value,
        generate_totp_secret,
        hotp_value,
    )

    from journeys.conftest import _page
    from members.models import User

    editor = User.objects.create_user(
        "editor",
        email="editor@example.cn",
        password="Editor-2026",
        is_staff=True,
        is_superuser=True,
    )
    EmailAddress.objects.create(user=editor, email=editor.email, verified=True, primary=True)
    secret = generate_totp_secret()
    TOTP.activate(editor, secret)
    staff = _page(browser, viewport={"width": 1280, "height": 900})
    staff.goto(live_server.url + "/accounts/login/?next=/admin/")
    staff.fill("input[name=login]", editor.email)
    staff.fill("input[name=password]", "Editor-2026")
    staff.click("form button[type=submit]")
    staff.wait_for_selector("input[name=code]")
    staff.fill("input[name=code]", format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
    staff.click("form button[type=submit]")
    staff.wait_for_url("**/admin/")
    return staff


def _publish_in_admin(staff, live_server, bulletin):
    staff.goto(live_server.url + reverse("admin:news_bulletin_change", args=[bulletin.pk]))
    staff.select_option("select[name=status]", "published")
    staff.click("input[name=_save]")
    staff.wait_for_selector("text=成功")


def test_1_a_visitor_finds_a_tender_and_its_project(live_server, desktop):
    _leads()
    page = desktop
    page.goto(live_server.url + "/")
    shot(page, "1-visitor", "home")
    page.click("nav.main-nav >> text=全部标讯")
    page.select_option("form.filters select[name=province]", label="江苏")
    page.select_option("form.filters select[name=category]", label="招标公告")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/bulletins/?*province=*")
    page.fill("form.filters input[name=q]", "道路")
    page.press("form.filters input[name=q]", "Enter")
    page.wait_for_url("**q=*")
    titles = page.locator("ul.bulletins a.title").all_inner_texts()
    assert sorted(titles) == sorted([TENDER, "常州武进道路养护工程招标公告"])
    shot(page, "1-visitor", "search")
    page.click(f"text={TENDER}")
    assert page.locator("h1").inner_text() == TENDER
    contacts = page.locator("section.contacts").inner_text()
    assert "王**" in contacts and "0511-8*******" in contacts
    assert "王建明" not in page.content() and "83000001" not in page.content()
    assert "查看会员套餐" in contacts and "4000-156-001" in contacts
    shot(page, "1-visitor", "tender")
    page.click("p.project-link a")
    assert "港南路" in page.locator("h1").inner_text()
    assert "王建明" not in page.content()
    shot(page, "1-visitor", "project")


def test_2_a_visitor_signs_up_confirms_and_still_sees_masked_contacts(
    live_server, desktop, smtp_server
):
    tender = _leads()
    page = desktop
    page.goto(live_server.url + "/accounts/signup/")
    page.fill("input[name=email]", "newlead@example.cn")
    page.fill("input[name=password1]", "Gangnan-Road-2026")
    page.fill("input[name=password2]", "Gangnan-Road-2026")
    shot(page, "2-signup", "form")
    page.click("form button[type=submit]")
    page.wait_for_url("**/confirm-email/**")
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "newlead@example.cn"
    text = message.get_body(("plain",)).get_content()
    # The message's own link, on the live server's address (SITE_URL differs in tests).
    path = re.search(r"/accounts/confirm-email/[^/\s]+/", text).group(0)
    page.goto(live_server.url + path)
    shot(page, "2-signup", "confirm")
    page.click("form button[type=submit]")
    page.goto(live_server.url + tender.get_absolute_url())
    assert "我的账户" in page.locator("header").inner_text()
    contacts = page.locator("section.contacts").inner_text()
    assert "王**" in contacts and "王建明" not in page.content()
    shot(page, "2-signup", "masked-as-free-member")


def test_3_staff_activate_a_member_who_reveals_and_another_buys_online(
    live_server, desktop, browser, settings, tmp_path
):
    from journeys.conftest import _page

    assert settings.STAFF_REQUIRE_MFA  # production settings: staff need the second factor
    tender = _leads()
    member = UserFactory(email="lead-buyer@example.cn")
    staff = _staff(browser, live_server)
    staff.goto(live_server.url + reverse("admin:members_subscription_add") + f"?user={member.pk}")
    staff.select_option("select[name=plan]", label="标讯定制会员")
    staff.fill("input[name=amount_paid_yuan]", "5800")
    staff.fill("input[name=order_reference]", "HOTLINE-0001")
    shot(staff, "3-member", "staff-activates")
    staff.click("input[name=_save]")
    staff.wait_for_selector("text=成功")

    page = desktop
    _login(page, live_server, member)
    page.goto(live_server.url + tender.get_absolute_url())
    page.click("section.contacts button:has-text('查看联系方式')")
    contacts = page.locator("section.contacts").inner_text()
    assert "王建明" in contacts and "0511-83000001" in contacts
    shot(page, "3-member", "revealed")
    page.goto(live_server.url + reverse("member-account"))
    assert page.locator("dd.reveals").inner_text().startswith("1 / ")
    assert "客服开通" in page.locator("table").first.inner_text() or "客服开通" in page.content()

    # A second member buys through 模拟支付 and sees contacts once the result says paid.
    settings.PAYMENT_DEV_PROVIDER = True
    settings.PAYMENT_DEV_KEY_PATH = str(tmp_path / "dev.pem")
    buyer = UserFactory(email="buyer@example.cn")
    other = _page(browser, viewport={"width": 1280, "height": 900})
    _login(other, live_server, buyer)
    other.goto(live_server.url + reverse("membership"))
    other.click("section[aria-labelledby=plan-custom] >> text=立即开通")
    other.check("input[name=provider][value=dev]")
    assert other.locator("#checkout-total").inner_text() == "¥5800.00"
    shot(other, "3-member", "checkout")
    other.click("form.checkout button[type=submit]")
    other.click("button:has-text('确认支付')")
    other.wait_for_selector("text=支付成功")
    shot(other, "3-member", "paid")
    other.goto(live_server.url + tender.get_absolute_url())
    other.click("section.contacts button:has-text('查看联系方式')")
    assert "王建明" in other.locator("section.contacts").inner_text()


def test_5_every_page_fits_a_phone(live_server, phone):
    tender = _leads()
    pages = [
        "/",
        "/bulletins/",
        "/bulletins/?q=道路",
        tender.get_absolute_url(),
        "/projects/",
        "/accounts/signup/",
        "/accounts/login/",
        "/membership/",
        "/feedback/",
        "/consult/",
    ]
    for path in pages:
        phone.goto(live_server.url + path)
        name = path.strip("/").replace("/", "_").replace("?", "_") or "home"
        shot(phone, "5-phone", name)
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
        small = phone.evaluate(
            """() => [...document.querySelectorAll(
                   'button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]),'
                   + ' select, textarea, a.button, nav a, .consult-entry')]
                 .filter(e => e.offsetParent !== null && !e.closest('.hp'))
                 .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
                 .filter(([, h]) => h < 44)"""
        )
        assert not small, (path, small)
        assert phone.locator("nav.main-nav a").first.is_visible()
    # Signed in: the account, a new saved search and the checkout.
    member = paid_member(slug="custom", email="phone@example.cn")
    _login(phone, live_server, member)
    for path in ("/accounts/profile/", "/alerts/new/", "/membership/checkout/"):
        phone.goto(live_server.url + path)
        shot(phone, "5-phone", path.strip("/").replace("/", "_"))
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    phone.goto(live_server.url + "/bulletins/")
    assert phone.locator("form.filters select[name=province]").is_visible() or (
        phone.locator("form.filters summary").is_visible()
    )


def test_6_search_filters_signup_and_login_by_keyboard(live_server, desktop):
    _leads()
    member = UserFactory(email="keys@example.cn")
    page = desktop

    def tab_to(selector, limit=60):
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                outline = page.evaluate(
                    "(() => { const s = getComputedStyle(document.activeElement);"
                    " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0"
                    " || s.boxShadow !== 'none'; })()"
                )
                assert outline, f"no visible focus on {selector}"
                return
        raise AssertionError(f"Tab never reached {selector}")

    page.goto(live_server.url + "/bulletins/")
    tab_to("form.filters input[name=q]")
    page.keyboard.type("道路")
    tab_to("form.filters select[name=category]")  # the filters are reachable in order
    tab_to("form.filters select[name=province]")
    tab_to("form.filters button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=*")
    assert page.locator("ul.bulletins a.title").count() >= 1

    page.goto(live_server.url + "/accounts/login/")
    tab_to("input[name=login]")
    page.keyboard.type(member.email)
    tab_to("input[name=password]")
    page.keyboard.type("pass-word-2024")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/(accounts/profile/|)$"))
    assert "我的账户" in page.locator("header").inner_text()

    signup = page.context.browser.new_context().new_page()
    signup.goto(live_server.url + "/accounts/signup/")
    for _ in range(40):
        signup.keyboard.press("Tab")
        if signup.evaluate("document.activeElement.name") == "email":
            break
    signup.keyboard.type("kb@example.cn")
    signup.keyboard.press("Tab")
    signup.keyboard.type("Keyboard-Only-2026")
    signup.keyboard.press("Tab")
    signup.keyboard.type("Keyboard-Only-2026")
    signup.keyboard.press("Enter")
    signup.wait_for_url("**/confirm-email/**")


def test_4_saved_search_alert_follow_stage_change_and_unsubscribe(
    live_server, desktop, browser, celery_worker, smtp_server
):
    from urllib.parse import urlsplit

    from members.models import AlertDelivery
    from members.tests.task_events import tasks_settled
    from news.models import Bulletin
    from news.services import bulletin_set_status

    _leads()
    member = paid_member(slug="custom", email="alerts@example.cn")
    page = desktop
    _login(page, live_server, member)
    page.goto(live_server.url + "/bulletins/?q=管廊")
    page.click("a.save-search")
    page.fill("input[name=name]", "管廊订阅")
    assert page.locator("input[name=query]").input_value() == "管廊"
    page.select_option("select[name=frequency]", "instant")
    page.click("button[name=preview]")
    assert "最近 30 天" in page.locator("section.preview").inner_text()
    shot(page, "4-alerts", "preview")
    page.click("button[name=save]")
    page.wait_for_selector("text=管廊订阅")

    # Staff publish a matching bulletin in the admin.
    staff = _staff(browser, live_server)
    place = region("江苏-镇江-镇江新区")
    tender = BulletinFactory(
        status=Bulletin.Status.DRAFT,
        title="镇江新区综合管廊工程施工招标公告",
        category=category("tender"),
        region=place,
    )
    _publish_in_admin(staff, live_server, tender)
    [alert] = smtp_server.wait_for(1, timeout=30)
    assert alert["To"] == member.email and "镇江新区综合管廊工程" in alert["Subject"]
    assert "管廊订阅" in alert.get_body(("plain",)).get_content()

    tender.refresh_from_db()
    page.goto(live_server.url + tender.project.get_absolute_url())
    page.click("form.follow button")
    page.wait_for_selector("text=已关注")
    shot(page, "4-alerts", "following")
    award = BulletinFactory(
        status=Bulletin.Status.DRAFT,
        title="镇江新区综合管廊工程中标结果公示",
        body="中标人:某建设集团有限公司",
        category=category("award"),
        region=place,
    )
    _publish_in_admin(staff, live_server, award)
    messages = smtp_server.wait_for(2, timeout=30)
    assert "项目进入中标阶段" in messages[1].get_body(("plain",)).get_content()

    unsubscribe = urlsplit(alert["List-Unsubscribe"].strip("<>")).path
    page.goto(live_server.url + unsubscribe)
    page.click("button:has-text('确认退订')")
    page.wait_for_selector("text=已退订")
    assert page.locator("ul.unsubscribed").inner_text() == "订阅:管廊订阅"  # that one only
    shot(page, "4-alerts", "unsubscribed")
    later = BulletinFactory(
        status=Bulletin.Status.DRAFT,
        title="常州地下综合管廊二期工程招标公告",
        category=category("tender"),
        region=region("江苏-常州-武进区"),
    )
    with tasks_settled() as tasks:
        bulletin_set_status(bulletin_ids=[later.pk], status=Bulletin.Status.PUBLISHED)
        assert "members.tasks.alerts_match" in tasks.wait()  # matched, and any send done
    assert not AlertDelivery.objects.filter(bulletin=later).exists()
    assert len(smtp_server.messages) == 2


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
