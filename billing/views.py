"""Checkout pages, the providers' notification endpoints, invoices. Thin: services decide."""

import logging

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from billing import providers, services
from billing.forms import CheckoutForm, InvoiceForm
from billing.models import InvoiceRequest, Order
from billing.providers import ProviderError

logger = logging.getLogger(__name__)
MOBILE_HINTS = ("Mobile", "Android", "iPhone", "MicroMessenger")


def _own_order(request, out_trade_no: str) -> Order:
    return get_object_or_404(
        Order.objects.select_related("plan", "subscription"),
        out_trade_no=out_trade_no,
        user=request.user,
    )


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request):
    form = CheckoutForm(request.POST or None, initial={"plan": request.GET.get("plan")})
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create(user=request.user, **form.cleaned_data)
        except services.CheckoutError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("order-pay", order.out_trade_no)
    context = {"form": form, "prices": form.prices(), "enabled": providers.enabled()}
    return render(request, "billing/checkout.html", context)


@login_required
def order_pay(request, out_trade_no: str):
    order = _own_order(request, out_trade_no)
    if order.status != Order.Status.CREATED:
        return redirect("order-result", order.out_trade_no)
    try:
        provider = providers.get(order.provider)
        mobile = any(hint in request.headers.get("User-Agent", "") for hint in MOBILE_HINTS)
        start = provider.start(order, mobile=mobile)
    except (KeyError, ProviderError) as exc:
        messages.error(request, _("暂时无法发起支付,请稍后再试或致电客服。(%(e)s)") % {"e": exc})
        return redirect("order-result", order.out_trade_no)
    if start.redirect_url:
        return redirect(start.redirect_url)
    qr = segno.make(start.code_url, error="m")
    context = {"order": order, "qr_svg": qr.svg_inline(scale=6, title=_("微信扫码支付"))}
    return render(request, "billing/pay_qr.html", context)


@login_required
def order_result(request, out_trade_no: str):
    order = _own_order(request, out_trade_no)
    return render(request, "billing/order_result.html", {"order": order})


@login_required
def order_status(request, out_trade_no: str):
    """Polled by the result and QR pages until the notification has arrived."""
    order = _own_order(request, out_trade_no)
    return JsonResponse(
        {
            "status": order.status,
            "label": order.get_status_display(),
            "paid": order.is_settled,
            "ends_on": order.subscription.ends_on.isoformat() if order.subscription else None,
        },
        headers={"Cache-Control": "no-store"},
    )


@csrf_exempt
@require_POST
def notify(request, provider: str):
    """Asynchronous notifications from Alipay / WeChat Pay (and the development provider)."""
    if provider not in providers.enabled():
        raise Http404("provider not enabled")
    try:
        return services.notification_receive(
            provider_name=provider,
            body=request.body,
            headers=request.headers,
            form=request.POST,
            ip=request.META.get("REMOTE_ADDR"),
        )
    except ProviderError:  # our keys are misconfigured: the provider will retry later
        logger.exception("payment notification for %s could not be handled", provider)
        return HttpResponse("provider misconfigured", status=503, content_type="text/plain")


@login_required
@require_http_methods(["GET", "POST"])
def dev_cashier(request, out_trade_no: str):
    """模拟支付's cashier: confirming posts a signed notification through the real path."""
    if "dev" not in providers.enabled():
        raise Http404("development provider not enabled")
    order = _own_order(request, out_trade_no)
    if request.method == "POST" and order.provider == "dev":
        provider = providers.get("dev")
        body, headers = provider.signed_notification(order)
        services.notification_receive(
            provider_name="dev", body=body, headers=headers, form={}, ip="127.0.0.1"
        )
        return redirect("order-result", order.out_trade_no)
    return render(request, "billing/dev_cashier.html", {"order": order})


@login_required
@require_http_methods(["GET", "POST"])
def invoice_request(request, out_trade_no: str):
    order = _own_order(request, out_trade_no)
    if not order.is_settled or order.status == Order.Status.REFUNDED:
        messages.error(request, _("只有已支付的订单可以申请发票。"))
        return redirect("member-account")
    existing = InvoiceRequest.objects.filter(order=order).first()
    if existing is not None:
        return render(request, "billing/invoice.html", {"order": order, "invoice": existing})
    initial = {"company_name": request.user.company, "email": request.user.email}
    form = InvoiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        invoice = form.save(commit=False)
        invoice.order = order
        invoice.save()
        messages.success(request, _("发票申请已提交,开具后可在会员中心下载。"))
        return redirect("member-account")
    return render(request, "billing/invoice.html", {"order": order, "form": form})


@login_required
def invoice_download(request, out_trade_no: str):
    order = _own_order(request, out_trade_no)
    invoice = getattr(order, "invoice", None)
    if invoice is None or not invoice.pdf:
        raise Http404("no issued invoice")
    return FileResponse(
        invoice.pdf.open("rb"),
        as_attachment=True,
        filename=f"发票-{order.out_trade_no}.pdf",
        content_type="application/pdf",
    )
