"""意见反馈 and 在线沟通 end to end: pages, staff email, admin replies, the private link."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from news.tests.factories import BulletinFactory
from support import services
from support.models import Conversation, Feedback, Message


def _admin_save(staff_client, url, fields):
    """Post an admin change form as the browser would: its hidden inputs (inline
    management forms) plus the fields staff fill in."""
    page = staff_client.get(url).content.decode()
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    data.pop("csrfmiddlewaretoken", None)
    return staff_client.post(url, {**data, **fields})


@pytest.fixture
def staff_email(settings):
    settings.STAFF_NOTIFY_EMAILS = ["service@example.cn"]


@pytest.mark.django_db
class TestFeedback:
    def test_correction_link_prefills_the_form_and_the_honeypot_stores_nothing(self, client):
        bulletin = BulletinFactory(title="镇江新区港南路改造工程招标公告")
        detail = client.get(bulletin.get_absolute_url()).content.decode()
        link = re.search(r'href="([^"]*feedback/[^"]*)"[^>]*>纠错', detail).group(1)
        form = client.get(link.replace("&amp;", "&")).content.decode()
        assert "纠错标讯:镇江新区港南路改造工程招标公告" in form
        assert 'value="content_error" checked' in form or (
            '<option value="content_error" selected' in form
        )
        data = {"kind": "content_error", "content": "中标金额有误", "bulletin": bulletin.pk}
        client.post("/feedback/", {**data, "website": "http://spam.example"})
        assert not Feedback.objects.exists()
        response = client.post("/feedback/", data)
        assert response.status_code == 302 and response["Location"] == bulletin.get_absolute_url()
        stored = Feedback.objects.get()
        assert stored.bulletin == bulletin and stored.kind == "content_error"

    def test_rate_limited_per_address(self, client, settings):
        settings.FEEDBACK_RATE = (3, 3600)
        cache.clear()
        data = {"kind": "other", "content": "建议增加导出功能"}
        statuses = [client.post("/feedback/", data).status_code for _ in range(4)]
        assert statuses == [302, 302, 302, 429]
        assert Feedback.objects.count() == 3
        page = client.post("/feedback/", data)
        assert "操作过于频繁" in page.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_feedback_reaches_staff_and_the_reply_reaches_the_visitor(
    staff_client, staff_email, celery_worker, smtp_server
):
    cache.clear()
    Client().post(
        "/feedback/",
        {"kind": "missing_project", "content": "漏了常州的学校项目", "contact": "li@example.cn"},
    )
    [to_staff] = smtp_server.wait_for(1)
    assert to_staff["To"] == "service@example.cn" and "项目遗漏" in to_staff["Subject"]
    assert "漏了常州的学校项目" in to_staff.get_body(("plain",)).get_content()
    item = Feedback.objects.get()
    change = reverse("admin:support_feedback_change", args=[item.pk])
    response = _admin_save(staff_client, change, {"status": "new", "reply": "已补录,谢谢。"})
    assert response.status_code == 302
    messages = smtp_server.wait_for(2)
    assert messages[1]["To"] == "li@example.cn"
    assert "已补录,谢谢。" in messages[1].get_body(("plain",)).get_content()
    item.refresh_from_db()
    assert item.status == "handled" and item.replied_at is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_visitor_consults_and_gets_the_answer_by_email_with_a_private_link(
    staff_client, staff_email, celery_worker, smtp_server
):
    cache.clear()
    visitor = Client()
    response = visitor.post(
        "/consult/",
        {"body": "标讯定制一年多少钱?", "email": "wang@example.cn", "page": "/bulletins/"},
    )
    conversation = Conversation.objects.get()
    thread = reverse("consult-thread", args=[conversation.token])
    assert response["Location"] == thread and len(conversation.token) >= 32
    [to_staff] = smtp_server.wait_for(1)
    assert "标讯定制一年多少钱" in to_staff.get_body(("plain",)).get_content()
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "1 个会话待回复" in index
    change = reverse("admin:support_conversation_change", args=[conversation.pk])
    saved = _admin_save(
        staff_client, change, {"status": "waiting", "reply": "年费 5800 元,可在线开通。"}
    )
    assert saved.status_code == 302
    messages = smtp_server.wait_for(2)
    reply = messages[1]
    assert reply["To"] == "wang@example.cn"
    link = re.search(r"http\S+/consult/\S+/", reply.get_body(("plain",)).get_content()).group(0)
    assert link.endswith(thread)
    page = visitor.get(thread).content.decode()
    assert "年费 5800 元,可在线开通。" in page and "已回复" in page
    first_id = conversation.messages.first().pk
    polled = visitor.get(
        reverse("consult-messages", args=[conversation.token]), {"after": first_id}
    )
    assert [m["body"] for m in polled.json()["messages"]] == ["年费 5800 元,可在线开通。"]
    assert Message.objects.get(author="staff").notice == Message.Notice.SENT
    assert Client().get("/consult/not-the-token/").status_code == 404


@pytest.mark.django_db
def test_a_reply_that_cannot_be_sent_is_kept_retried_and_shown(settings, smtp_server):
    conversation = services.conversation_start(
        user=None, email="zhao@example.cn", body="能开发票吗?", ip="10.0.0.9"
    )
    message = services.conversation_reply(conversation=conversation, body="可以。", by=None)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # nothing listens
        }
    }
    with pytest.raises(OSError):
        services.message_notify_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.notice == Message.Notice.FAILED and message.notice_attempts == 1
    assert message.notice_error
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": smtp_server.port, "timeout": 5},
        }
    }
    services.message_notify_send(message_id=message.pk)  # the task's retry
    message.refresh_from_db()
    assert message.notice == Message.Notice.SENT and message.notice_attempts == 2
    assert smtp_server.wait_for(1)[0]["To"] == "zhao@example.cn"


@pytest.mark.django_db
def test_an_anonymous_visitor_must_leave_a_way_to_reach_them_and_members_see_threads(client):
    cache.clear()
    page = client.post("/consult/", {"body": "你好"}).content.decode()
    assert "请留下邮箱或手机号" in page and not Conversation.objects.exists()
    from members.tests.factories import UserFactory

    member = UserFactory()
    client.force_login(member)
    client.post("/consult/", {"body": "会员续费怎么办理?"})
    conversation = Conversation.objects.get()
    assert conversation.user == member and conversation.email == member.email
    account = client.get(reverse("member-account")).content.decode()
    assert reverse("consult-thread", args=[conversation.token]) in account


@pytest.mark.django_db
def test_every_page_offers_the_consultation_entry(client):
    page = client.get("/").content.decode()
    assert 'class="consult-entry"' in page and "在线沟通" in page
