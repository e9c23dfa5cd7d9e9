from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing import selectors, services
from billing.models import InvoiceRequest, Order, PaymentEvent, Refund
from billing.providers import fen_to_yuan


class RefundForm(forms.Form):
    amount_yuan = forms.DecimalField(
        label=_("退款金额(元)"),
        required=False,
        min_value=0.01,
        decimal_places=2,
        help_text=_("留空则退还全部未退金额;部分退款按比例缩短会员期。"),
    )
    reason = forms.CharField(label=_("退款原因"), max_length=200)


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "accepted", "detail", "ip")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ("refund_no", "amount", "status", "detail", "attempts", "created_at", "settled_at")
    readonly_fields = fields

    @admin.display(description=_("退款金额(元)"))
    def amount(self, obj):
        return obj.amount_yuan

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "out_trade_no",
        "user",
        "plan",
        "months",
        "amount",
        "provider",
        "status",
        "created_at",
        "paid_at",
    )
    list_filter = ("status", "provider", "plan")
    search_fields = ("out_trade_no", "trade_no", "user__email", "user__company")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Order._meta.fields] + ["refund_link"]
    inlines = [RefundInline, PaymentEventInline]

    @admin.display(description=_("金额(元)"))
    def amount(self, obj):
        return obj.amount_yuan

    @admin.display(description=_("退款"))
    def refund_link(self, obj):
        if obj.status not in (Order.Status.PAID, Order.Status.FULFILLED):
            return "-"
        url = reverse("admin:billing_order_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("退款…"))

    def has_add_permission(self, request):
        return False  # members create orders at checkout

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:pk>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_order_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request, pk):
        order = get_object_or_404(Order, pk=pk)
        if not self.has_change_permission(request, order):
            return redirect("admin:index")
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            amount = form.cleaned_data["amount_yuan"]
            try:
                refund = services.order_refund(
                    order=order,
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    amount_fen=int(amount * 100) if amount is not None else None,
                )
            except services.CheckoutError as exc:
                messages.error(request, str(exc))
            else:
                _refund_message(request, refund)
            return redirect("admin:billing_order_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("订单退款"),
            "order": order,
            "refunds": order.refunds.all(),
            "refundable_yuan": fen_to_yuan(selectors.order_refundable_fen(order)),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/order/refund.html", context)


def _refund_message(request, refund: Refund) -> None:
    if refund.status == Refund.Status.SUCCEEDED:
        messages.success(
            request,
            _("退款 %(no)s 已成功,会员期已相应缩短或终止,并已邮件通知会员。")
            % {"no": refund.refund_no},
        )
    elif refund.is_open:
        messages.warning(
            request,
            _(
                "退款 %(no)s 尚无最终结果(%(d)s)。系统会用同一退款单号向支付平台查询或重试,"
                "不会重复退款;请勿另行发起。"
            )
            % {"no": refund.refund_no, "d": refund.detail or refund.get_status_display()},
        )
    else:
        messages.error(
            request, _("退款 %(no)s 未成功:%(d)s") % {"no": refund.refund_no, "d": refund.detail}
        )


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "refund_no",
        "order",
        "amount_yuan",
        "status",
        "attempts",
        "detail",
        "requested_by",
    )
    list_filter = ("status", "order__provider")
    search_fields = ("refund_no", "order__out_trade_no", "order__user__email")
    readonly_fields = [f.name for f in Refund._meta.fields]
    actions = ["sync"]

    @admin.display(description=_("退款金额(元)"))
    def amount_yuan(self, obj):
        return obj.amount_yuan

    def has_add_permission(self, request):
        return False  # refunds start from the order (订单 → 退款…)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description=_("向支付平台查询所选退款(未收到的用原单号重发)"), permissions=["change"]
    )
    def sync(self, request, queryset):
        for refund in queryset.select_related("order"):
            _refund_message(request, services.refund_sync(refund=refund))


@admin.register(PaymentEvent)
class PaymentEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "provider", "kind", "accepted", "order", "detail", "ip")
    list_filter = ("accepted", "provider", "kind")
    search_fields = ("order__out_trade_no", "detail")
    readonly_fields = [f.name for f in PaymentEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceRequest)
class InvoiceRequestAdmin(admin.ModelAdmin):
    list_display = ("created_at", "company_name", "tax_id", "kind", "order", "status")
    list_filter = ("status", "kind")
    search_fields = ("company_name", "tax_id", "order__out_trade_no", "email")
    readonly_fields = (
        "order",
        "kind",
        "company_name",
        "tax_id",
        "address",
        "phone",
        "bank",
        "bank_account",
        "email",
        "status",
        "issued_at",
        "created_at",
    )
    fields = (*readonly_fields[:9], "pdf", "status", "issued_at", "created_at")

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        # Attaching the PDF is what issues the invoice.
        if obj.pdf and obj.status == InvoiceRequest.Status.REQUESTED:
            obj.status, obj.issued_at = InvoiceRequest.Status.ISSUED, timezone.now()
            messages.info(request, _("发票已标记为已开具,会员可在会员中心下载。"))
        super().save_model(request, obj, form, change)
