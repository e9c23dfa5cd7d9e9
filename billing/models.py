"""Online checkout: orders paid through Alipay / WeChat Pay, their notifications, invoices.

Amounts are integers in fen (分) everywhere; providers' yuan strings are converted at the
edge (billing.providers). An order is paid only by a verified asynchronous notification or
by the provider's own answer to a trade query — never by the browser's return."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Order(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("待支付")
        PAID = "paid", _("已支付")
        FULFILLED = "fulfilled", _("已开通")
        CLOSED = "closed", _("已关闭")
        REFUNDED = "refunded", _("已退款")

    class Provider(models.TextChoices):
        ALIPAY = "alipay", _("支付宝")
        WECHAT = "wechat", _("微信支付")
        DEV = "dev", _("模拟支付")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会员"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    plan = models.ForeignKey("members.Plan", verbose_name=_("套餐"), on_delete=models.PROTECT)
    months = models.PositiveSmallIntegerField(_("时长(月)"))
    amount_fen = models.PositiveIntegerField(_("金额(分)"))
    provider = models.CharField(_("支付方式"), max_length=10, choices=Provider.choices)
    out_trade_no = models.CharField(_("商户订单号"), max_length=32, unique=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.CREATED
    )
    trade_no = models.CharField(_("支付平台交易号"), max_length=64, blank=True)
    subscription = models.OneToOneField(
        "members.Subscription",
        verbose_name=_("开通的会员期"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order",
    )
    refunded_fen = models.PositiveIntegerField(_("已退款(分)"), default=0)
    refund_reason = models.CharField(_("退款原因"), max_length=200, blank=True)
    # Every notification received for this order, verbatim (the provider's evidence).
    notifications = models.JSONField(_("支付通知"), default=list, blank=True)
    created_at = models.DateTimeField(_("下单时间"), default=timezone.now)
    paid_at = models.DateTimeField(_("支付时间"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("开通时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("退款时间"), null=True, blank=True)
    last_queried_at = models.DateTimeField(_("最近查询"), null=True, blank=True)

    class Meta:
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="order_unpaid",
                condition=models.Q(status="created"),
            )
        ]

    def __str__(self):
        return self.out_trade_no

    @property
    def amount_yuan(self) -> str:
        return f"{self.amount_fen // 100}.{self.amount_fen % 100:02d}"

    @property
    def is_settled(self) -> bool:
        """Paid, whatever happened after (fulfilled, refunded)."""
        return self.status in (self.Status.PAID, self.Status.FULFILLED, self.Status.REFUNDED)


class Refund(models.Model):
    """One refund asked of the provider. The row (and its number) is written under the
    order's row lock and committed before the provider is called, so a timeout or a crash
    leaves an open row to ask about again with the same number: providers treat a repeated
    number (Alipay out_request_no, WeChat Pay out_refund_no) as the same refund, never as a
    second one. Open rows count against what is left to refund until the provider's
    answer settles them."""

    class Status(models.TextChoices):
        PENDING = "pending", _("处理中")  # not sent yet, or the provider is still at it
        SUCCEEDED = "succeeded", _("已退款")
        FAILED = "failed", _("失败")  # the provider refused: no money moved
        UNKNOWN = "unknown", _("结果未知")  # sent, no answer: ask again with the number

    OPEN = (Status.PENDING, Status.UNKNOWN)

    order = models.ForeignKey(
        Order, verbose_name=_("订单"), on_delete=models.PROTECT, related_name="refunds"
    )
    refund_no = models.CharField(_("退款单号"), max_length=64, unique=True)
    amount_fen = models.PositiveIntegerField(_("退款金额(分)"))
    reason = models.CharField(_("退款原因"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    provider_refund_id = models.CharField(_("支付平台退款号"), max_length=64, blank=True)
    detail = models.CharField(_("最近结果"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("请求次数"), default=0)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("最近请求"), null=True, blank=True)
    settled_at = models.DateTimeField(_("结果时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("退款")
        verbose_name_plural = _("退款")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="refund_amount_gt_0")
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="refund_open",
                condition=models.Q(status__in=["pending", "unknown"]),
            )
        ]

    def __str__(self):
        return self.refund_no

    @property
    def amount_yuan(self) -> str:
        return f"{self.amount_fen // 100}.{self.amount_fen % 100:02d}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class PaymentEvent(models.Model):
    """What arrived from or was asked of a provider, with our verdict: staff read this
    when a member says "I paid" (a bad signature, a wrong amount, an unknown order)."""

    class Kind(models.TextChoices):
        NOTIFY = "notify", _("异步通知")
        QUERY = "query", _("主动查询")
        REFUND = "refund", _("退款")
        CLOSE = "close", _("关闭")

    provider = models.CharField(_("支付方式"), max_length=10, choices=Order.Provider.choices)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    order = models.ForeignKey(
        Order,
        verbose_name=_("订单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    accepted = models.BooleanField(_("已接受"))
    detail = models.CharField(_("说明"), max_length=300)
    payload = models.TextField(_("原始内容"), blank=True)
    ip = models.GenericIPAddressField(_("来源 IP"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("支付事件")
        verbose_name_plural = _("支付事件")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_provider_display()} {self.get_kind_display()} {self.detail}"


def invoice_upload_to(instance, filename) -> str:
    """Private by path too: served only through the member's download view, and named so
    that a web server exposing MEDIA_ROOT by mistake would not make them guessable."""
    return f"invoices/{instance.order.out_trade_no}-{secrets.token_hex(12)}.pdf"


class InvoiceRequest(models.Model):
    """A member's request for a 发票 on a paid order; staff issue it and attach the PDF."""

    class Kind(models.TextChoices):
        NORMAL = "normal", _("增值税普通发票")
        SPECIAL = "special", _("增值税专用发票")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("待开具")
        ISSUED = "issued", _("已开具")

    order = models.OneToOneField(
        Order, verbose_name=_("订单"), on_delete=models.PROTECT, related_name="invoice"
    )
    kind = models.CharField(_("发票类型"), max_length=10, choices=Kind.choices)
    company_name = models.CharField(_("单位名称"), max_length=100)
    tax_id = models.CharField(_("统一社会信用代码"), max_length=18)
    address = models.CharField(_("注册地址"), max_length=150, blank=True)
    phone = models.CharField(_("注册电话"), max_length=30, blank=True)
    bank = models.CharField(_("开户银行"), max_length=100, blank=True)
    bank_account = models.CharField(_("银行账号"), max_length=40, blank=True)
    email = models.EmailField(_("接收邮箱"))
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    pdf = models.FileField(_("发票 PDF"), upload_to=invoice_upload_to, blank=True)
    issued_at = models.DateTimeField(_("开具时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)

    class Meta:
        verbose_name = _("发票申请")
        verbose_name_plural = _("发票申请")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.company_name} · {self.order}"
