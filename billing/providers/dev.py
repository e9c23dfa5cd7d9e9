"""模拟支付: a development provider so a person can try the whole checkout with no
provider account (`make run`). Its cashier page "pays" by building a notification exactly
as a provider would — a JSON body signed with an RSA key generated locally on first use —
and handing it to the same service the notification endpoint calls, which verifies the
signature with the public half. Never enabled in production (PAYMENT_DEV_PROVIDER)."""

import base64
import json
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.http import HttpResponse

from billing.providers import InvalidNotification, Notice, PaymentStart, RefundAnswer

SIGNATURE_HEADER = "X-Dev-Pay-Signature"
APP_ID = "dev-portal"


def _private_key():
    path = Path(settings.PAYMENT_DEV_KEY_PATH)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


class DevProvider:
    name = "dev"
    app_id = APP_ID

    def start(self, order, *, mobile: bool) -> PaymentStart:
        from django.urls import reverse

        return PaymentStart(redirect_url=reverse("billing-dev-cashier", args=[order.out_trade_no]))

    def signed_notification(self, order, *, state: str = "SUCCESS") -> tuple[bytes, dict]:
        """What the simulated provider posts when the member confirms on its cashier."""
        body = json.dumps(
            {
                "app_id": APP_ID,
                "out_trade_no": order.out_trade_no,
                "trade_no": f"DEV{secrets.token_hex(8).upper()}",
                "total_fen": order.amount_fen,
                "trade_state": state,
            },
            ensure_ascii=False,
        ).encode()
        signature = _private_key().sign(body, padding.PKCS1v15(), hashes.SHA256())
        return body, {SIGNATURE_HEADER: base64.b64encode(signature).decode()}

    def parse_notification(self, *, body: bytes, headers, form) -> Notice:
        signature = headers.get(SIGNATURE_HEADER, "")
        try:
            _private_key().public_key().verify(
                base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256()
            )
            data = json.loads(body)
            return Notice(
                out_trade_no=str(data["out_trade_no"]),
                trade_no=str(data.get("trade_no", "")),
                amount_fen=int(data["total_fen"]),
                app_id=str(data.get("app_id", "")),
                paid=data.get("trade_state") == "SUCCESS",
                state=str(data.get("trade_state", "")),
            )
        except (InvalidSignature, ValueError, KeyError, TypeError) as exc:
            raise InvalidNotification(f"签名无效或格式错误: {exc.__class__.__name__}") from exc

    def acknowledge(self) -> HttpResponse:
        return HttpResponse("success", content_type="text/plain")

    def reject(self, reason: str) -> HttpResponse:
        return HttpResponse("failure", content_type="text/plain", status=400)

    def query(self, order) -> Notice | None:
        return None  # the simulated provider keeps no ledger: only its notification pays

    def refund(self, order, *, amount_fen: int, refund_no: str, reason: str) -> RefundAnswer:
        return RefundAnswer(
            RefundAnswer.SUCCEEDED, refund_id=f"DEV{refund_no}", amount_fen=amount_fen
        )

    def refund_query(self, order, *, refund_no: str) -> RefundAnswer | None:
        return None  # no ledger: sending the refund again is harmless

    def close(self, order) -> None:
        return None
