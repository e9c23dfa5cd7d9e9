"""Feedback and conversations: store, rate-limit per IP, tell staff, send replies.

Emails go through Celery after the commit; a reply that cannot be sent stays on the
message with its state and error (admin), and the task retries with backoff."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.services import staff_recipients
from portal.emails import build_email
from support.models import Conversation, Feedback, Message


class RateLimited(Exception):
    """Too many submissions from one address: the page answers 429."""


class SupportError(Exception):
    """Input we refuse, with the reason for the person."""


def _rate_check(bucket: str, ip: str | None, limit: int, window: int) -> None:
    key = f"support:{bucket}:{ip or '-'}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    if count > limit:
        raise RateLimited


def feedback_submit(*, kind, content, contact="", bulletin=None, user=None, ip=None):
    limit, window = settings.FEEDBACK_RATE
    _rate_check("feedback", ip, limit, window)
    with transaction.atomic():
        feedback = Feedback.objects.create(
            kind=kind,
            content=content.strip(),
            contact=contact.strip(),
            bulletin=bulletin,
            user=user if user is not None and user.is_authenticated else None,
            ip=ip,
        )
        feedback_id = feedback.pk
        transaction.on_commit(lambda: _enqueue("feedback_notify_staff", feedback_id))
    return feedback


def _enqueue(task_name: str, object_id: int) -> None:
    from support import tasks

    getattr(tasks, task_name).delay(object_id)


def feedback_notify_staff(*, feedback_id: int) -> int:
    feedback = Feedback.objects.select_related("bulletin", "user").get(pk=feedback_id)
    recipients = staff_recipients()
    if not recipients:
        return 0
    path = reverse("admin:support_feedback_change", args=[feedback.pk])
    build_email(
        "feedback_staff",
        to=recipients,
        context={"feedback": feedback, "admin_url": settings.SITE_URL + path},
    ).send()
    return 1


def feedback_reply(*, feedback: Feedback, reply: str, by) -> Feedback:
    """Staff handle an item; the reply is emailed when there is an address to send it to."""
    reply = reply.strip()
    with transaction.atomic():
        feedback.status, feedback.handled_by = Feedback.Status.HANDLED, by
        if reply and reply != Feedback.objects.get(pk=feedback.pk).reply:
            feedback.reply, feedback.replied_at = reply, timezone.now()
            if feedback.reply_email:
                feedback_id = feedback.pk
                transaction.on_commit(lambda: _enqueue("feedback_reply_send", feedback_id))
        feedback.save()
    return feedback


def feedback_reply_send(*, feedback_id: int) -> None:
    feedback = Feedback.objects.select_related("user").get(pk=feedback_id)
    build_email("feedback_reply", to=[feedback.reply_email], context={"feedback": feedback}).send()


def thread_url(conversation: Conversation) -> str:
    return settings.SITE_URL + reverse("consult-thread", args=[conversation.token])


def conversation_start(*, user, name="", email="", mobile="", body, page="", ip=None):
    signed_in = user is not None and user.is_authenticated
    if not signed_in and not (email.strip() or mobile.strip()):
        raise SupportError(_("请留下邮箱或手机号,客服回复后会通知您。"))
    limit, window = settings.CONSULT_RATE
    _rate_check("consult", ip, limit, window)
    with transaction.atomic():
        conversation = Conversation.objects.create(
            user=user if signed_in else None,
            name=name.strip(),
            email=email.strip() or (user.email if signed_in else ""),
            mobile=mobile.strip(),
            page=page[:300],
        )
        Message.objects.create(conversation=conversation, author=Message.Author.VISITOR, body=body)
        conversation_id = conversation.pk
        transaction.on_commit(lambda: _enqueue("conversation_notify_staff", conversation_id))
    return conversation


def conversation_post(*, conversation: Conversation, body: str, ip=None) -> Message:
    if conversation.status == Conversation.Status.CLOSED:
        raise SupportError(_("该会话已结束,请发起新的咨询。"))
    limit, window = settings.CONSULT_RATE
    _rate_check("consult", ip, limit, window)
    with transaction.atomic():
        message = Message.objects.create(
            conversation=conversation, author=Message.Author.VISITOR, body=body.strip()
        )
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.WAITING, updated_at=timezone.now()
        )
    return message


def conversation_notify_staff(*, conversation_id: int) -> int:
    conversation = Conversation.objects.get(pk=conversation_id)
    recipients = staff_recipients()
    if not recipients:
        return 0
    path = reverse("admin:support_conversation_change", args=[conversation.pk])
    build_email(
        "consult_staff",
        to=recipients,
        context={
            "conversation": conversation,
            "first": conversation.messages.first(),
            "admin_url": settings.SITE_URL + path,
        },
    ).send()
    return 1


def conversation_reply(*, conversation: Conversation, body: str, by) -> Message:
    """A staff answer: shown on the thread at once (the page polls), and sent to the
    visitor by email (or SMS when only a mobile was given) with the private link."""
    body = body.strip()
    if not body:
        raise SupportError(_("回复内容不能为空。"))
    reachable = conversation.email or conversation.mobile
    with transaction.atomic():
        message = Message.objects.create(
            conversation=conversation,
            author=Message.Author.STAFF,
            staff=by,
            body=body,
            notice=Message.Notice.PENDING if reachable else Message.Notice.NONE,
        )
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.ANSWERED, updated_at=timezone.now()
        )
        if reachable:
            message_id = message.pk
            transaction.on_commit(lambda: _enqueue("message_notify", message_id))
    return message


def message_notify_send(*, message_id: int) -> str:
    """Send one staff reply to the visitor; records the outcome, re-raises failures so
    the task retries (nothing is lost: the message itself is already stored)."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    if message.notice == Message.Notice.SENT:
        return "sent"
    conversation = message.conversation
    Message.objects.filter(pk=message_id).update(notice_attempts=message.notice_attempts + 1)
    try:
        if conversation.email:
            build_email(
                "consult_reply",
                to=[conversation.email],
                context={"message": message, "url": thread_url(conversation)},
            ).send()
        else:
            from members import sms

            sms.send(
                phone=conversation.mobile,
                kind="consult",
                params={"url": thread_url(conversation)},
                text=f"【{settings.SITE_NAME}】客服已回复您的咨询:{thread_url(conversation)}",
            )
    except Exception as exc:
        Message.objects.filter(pk=message_id).update(
            notice=Message.Notice.FAILED, notice_error=str(exc)[:300] or exc.__class__.__name__
        )
        raise
    Message.objects.filter(pk=message_id).update(notice=Message.Notice.SENT, notice_error="")
    return "sent"
