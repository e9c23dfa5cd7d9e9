"""发票: the credit code's check digit, requests, staff issuing the PDF, member download."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from billing import services
from billing.credit_code import validate_credit_code
from billing.models import InvoiceRequest, Order
from members.tests.factories import UserFactory, plan


@pytest.mark.parametrize(
    "code", ["91350100M000100Y43", "91110000802100433B", " 91350100m000100y43 "]
)
def test_valid_credit_codes(code):
    assert validate_credit_code(code) == code.strip().upper()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "校验位"),
        ("91350100M000100Y4", "18 位"),
        ("91350100M00010OY43", "不允许的字符“O”"),
        ("", "18 位"),
    ],
)
def test_invalid_credit_codes_say_why(code, reason):
    with pytest.raises(ValidationError) as error:
        validate_credit_code(code)
    assert reason in error.value.messages[0]


def _paid_order(user) -> Order:
    order = services.order_create(user=user, plan=plan("custom"), months=12, provider="dev")
    order.status = Order.Status.FULFILLED
    order.save()
    return order


@pytest.mark.django_db
def test_request_issue_and_download(client, staff_client, settings, tmp_path):
    settings.PAYMENT_DEV_PROVIDER = True
    settings.MEDIA_ROOT = tmp_path
    member = UserFactory()
    client.force_login(member)
    order = _paid_order(member)
    url = reverse("invoice-request", args=[order.out_trade_no])
    form = {
        "kind": "special",
        "company_name": "江苏某某建设有限公司",
        "tax_id": "91350100M000100Y44",
        "email": "finance@example.cn",
    }
    page = client.post(url, form).content.decode()
    assert "校验位不正确" in page and "开具增值税专用发票需要填写此项" in page
    assert not InvoiceRequest.objects.exists()
    form |= {
        "tax_id": "91350100M000100Y43",
        "address": "镇江市润州区",
        "phone": "0511-85000000",
        "bank": "工商银行镇江分行",
        "bank_account": "1104020109000000000",
    }
    assert client.post(url, form).status_code == 302
    invoice = InvoiceRequest.objects.get()
    assert invoice.status == InvoiceRequest.Status.REQUESTED
    download = reverse("invoice-download", args=[order.out_trade_no])
    assert client.get(download).status_code == 404
    pdf = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 invoice", content_type="application/pdf")
    change = reverse("admin:billing_invoicerequest_change", args=[invoice.pk])
    assert staff_client.post(change, {"pdf": pdf}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceRequest.Status.ISSUED and invoice.issued_at
    assert invoice.pdf.name.startswith(f"invoices/{order.out_trade_no}-")  # not guessable
    assert len(invoice.pdf.name) > len(f"invoices/{order.out_trade_no}-") + 20
    response = client.get(download)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert "下载发票" in client.get(reverse("member-account")).content.decode()
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(download).status_code == 404
