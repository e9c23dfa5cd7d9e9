"""The two service channels every page advertises: 意见反馈 (feedback, corrections) and
在线沟通 (a conversation with the sales/service team, answered from the admin)."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Feedback(models.Model):
    class Kind(models.TextChoices):
        CONTENT_ERROR = "content_error", _("信息纠错")
        MISSING_PROJECT = "missing_project", _("项目遗漏")
        ACCOUNT = "account", _("账号与会员")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        NEW = "new", _("待处理")
        HANDLED = "handled", _("已处理")

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    content = models.TextField(_("内容"), max_length=2000)
    contact = models.CharField(_("联系方式"), max_length=100, blank=True)
    bulletin = models.ForeignKey(
        "news.Bulletin",
        verbose_name=_("相关标讯"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default="new")
    reply = models.TextField(_("回复"), blank=True)
    replied_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("意见反馈")
        verbose_name_plural = _("意见反馈")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.content[:30]}"

    @property
    def reply_email(self) -> str:
        """Where a reply can go: the contact given, if it is an email, else the member's."""
        if "@" in self.contact:
            return self.contact.strip()
        return self.user.email if self.user_id and self.user.email else ""


def _token() -> str:
    return secrets.token_urlsafe(24)


class Conversation(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("待回复")
        ANSWERED = "answered", _("已回复")
        CLOSED = "closed", _("已结束")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )
    name = models.CharField(_("称呼"), max_length=50, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    mobile = models.CharField(_("手机"), max_length=20, blank=True)
    page = models.CharField(_("发起页面"), max_length=300, blank=True)
    # The private link's secret: unguessable, so a visitor's thread needs no login.
    token = models.CharField(max_length=40, unique=True, default=_token, editable=False)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    created_at = models.DateTimeField(_("发起时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("最近消息"), default=timezone.now)

    class Meta:
        verbose_name = _("在线沟通")
        verbose_name_plural = _("在线沟通")
        ordering = ["-updated_at"]

    def __str__(self):
        who = self.name or (self.user.email if self.user_id else "") or self.email or self.mobile
        return f"{who or _('访客')} · {self.created_at:%Y-%m-%d %H:%M}"


class Message(models.Model):
    class Author(models.TextChoices):
        VISITOR = "visitor", _("访客/会员")
        STAFF = "staff", _("客服")

    class Notice(models.TextChoices):
        NONE = "none", _("无需通知")
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.CharField(_("发送方"), max_length=10, choices=Author.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("客服"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("内容"), max_length=2000)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    # A staff reply is also sent to the visitor (email or SMS); its state is shown to staff.
    notice = models.CharField(
        _("通知状态"), max_length=10, choices=Notice.choices, default=Notice.NONE
    )
    notice_attempts = models.PositiveSmallIntegerField(_("通知尝试次数"), default=0)
    notice_error = models.CharField(_("通知错误"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.body[:40]
