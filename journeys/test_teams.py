"""企业会员 in a browser: the owner invites a colleague on a desktop, the invitation arrives
(worker + SMTP), the colleague accepts on a phone, notes a project for the team and
assigns it; the owner sees it with each seat's reveals. Every team page fits 390 px and
passes axe with no serious or critical violation."""

import re
from urllib.parse import urlsplit

import pytest

from journeys.conftest import shot
from journeys.test_accessibility import _violations
from journeys.test_journeys import _leads, _login
from members.services import contact_reveal, subscription_activate
from members.tests.factories import UserFactory, plan

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

_SMALL_CONTROLS = """() => [...document.querySelectorAll(
       'button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]),'
       + ' select, textarea, a.button, nav a')]
     .filter(e => e.offsetParent !== null && !e.closest('.hp'))
     .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
     .filter(([, h]) => h < 44)"""


def _fits_a_phone(page, path):
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, (path, overflow)
    assert not page.evaluate(_SMALL_CONTROLS), (path, page.evaluate(_SMALL_CONTROLS))
    assert not _violations(page), (path, _violations(page))


def test_invite_accept_on_a_phone_and_share_a_project_note(
    live_server, desktop, phone, celery_worker, smtp_server, settings
):
    settings.SITE_URL = live_server.url
    tender = _leads()
    tender.refresh_from_db()  # linked to its project
    project = tender.project
    owner = UserFactory(email="boss@example.cn", company="镇江某某建设有限公司", real_name="李总")
    subscription_activate(user=owner, plan=plan("team"), months=12, by=None)
    colleague = UserFactory(email="wang@example.cn", real_name="王工")

    # The owner invites on a desktop.
    _login(desktop, live_server, owner)
    desktop.goto(live_server.url + "/accounts/profile/")
    desktop.click("nav.account-nav >> text=企业团队")
    desktop.wait_for_selector("h1:has-text('镇江某某建设有限公司')")
    desktop.fill("#invite-email", "wang@example.cn")
    desktop.click("form.team-invite button")
    desktop.wait_for_selector("text=邀请已发送至 wang@example.cn")
    assert "已用 2 / 5 个" in desktop.locator(".seats-used").inner_text()
    [invitation] = smtp_server.wait_for(1, timeout=30)
    assert invitation["To"] == "wang@example.cn"
    text = invitation.get_body(("plain",)).get_content()
    link = urlsplit(re.search(r"(http://\S+/team/join/\S+/)", text).group(1)).path

    # The colleague opens it on a phone, signs in and joins.
    phone.goto(live_server.url + link)
    assert "wang@example.cn" in phone.locator("main").inner_text()
    _fits_a_phone(phone, "join, signed out")
    shot(phone, "teams", "join-signed-out")
    phone.click("text=登录后加入")
    phone.fill("input[name=login]", colleague.email)
    phone.fill("input[name=password]", "pass-word-2024")
    phone.click("form button[type=submit]")
    phone.wait_for_selector("button:has-text('加入团队')")
    phone.click("button:has-text('加入团队')")
    phone.wait_for_selector("text=您已加入“镇江某某建设有限公司”")
    _fits_a_phone(phone, "team page, member")
    shot(phone, "teams", "team-member")

    # On the project page: add it to the team's list, note it, assign the owner.
    phone.goto(live_server.url + project.get_absolute_url())
    phone.click("button:has-text('加入团队关注')")
    phone.wait_for_selector("text=已加入团队关注列表")
    phone.fill(f"#note-{project.pk}", "周三约业主面谈,带资质材料")
    phone.select_option(f"#assignee-{project.pk}", label="李总 (boss@example.cn)")
    phone.click("button:has-text('保存备注')")
    phone.wait_for_selector("text=团队备注已保存")
    assert phone.input_value(f"#note-{project.pk}") == "周三约业主面谈,带资质材料"
    assert "王建明" not in phone.content()  # the project's contact stays masked
    _fits_a_phone(phone, "project page with the team panel")
    shot(phone, "teams", "project-note")

    # A reveal by the colleague shows on the owner's page, per seat and in the log.
    contact_reveal(user=colleague, bulletin_id=tender.pk, ip=None)
    desktop.reload()
    assert "镇江新区港南路道路提升改造工程" in desktop.locator("#follows").inner_text()
    assert desktop.input_value(f"#note-{project.pk}") == "周三约业主面谈,带资质材料"
    selected = desktop.locator(f"#assignee-{project.pk} option:checked").inner_text()
    assert selected == "李总 (boss@example.cn)"
    seat = desktop.locator("table.seats tr", has_text="wang@example.cn")
    assert seat.locator(".seat-today").inner_text() == "1"
    assert "wang@example.cn" in desktop.locator("table.reveal-log").inner_text()
    assert not _violations(desktop)
    shot(desktop, "teams", "team-owner")

    # The owner's page on a phone too.
    owner_phone = desktop.context.browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ).new_page()
    _login(owner_phone, live_server, owner)
    owner_phone.goto(live_server.url + "/account/team/")
    _fits_a_phone(owner_phone, "team page, owner")
    shot(owner_phone, "teams", "team-owner-phone")
