"""Alipay (支付宝) 电脑网站支付 / 手机网站支付 through python-alipay-sdk.

Notifications are form posts signed by Alipay over every parameter except `sign` and
`sign_type`; the SDK's `verify` drops `sign_type` itself, so the form goes in as received
(minus `sign`). Trade queries and refunds go to ALIPAY_GATEWAY through the SDK, whose
answers it verifies with Alipay's public key."""

from alipay import AliPay, AliPayConfig
from alipay.exceptions import AliPayException, AliPayValidationError
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse

from billing.providers import (
    InvalidNotification,
    Notice,
    PaymentStart,
    ProviderError,
    RefundAnswer,
    fen_to_yuan,
    yuan_to_fen,
)

PAID_STATES = ("TRADE_SUCCESS", "TRADE_FINISHED")
# Refusals after which the refund may still have happened: answered as "unknown", so the
# same number is asked again (a repeat with other parameters means that number was used).
UNSURE_REFUND_CODES = (
    "ACQ.SYSTEM_ERROR",
    "aop.ACQ.SYSTEM_ERROR",
    "ACQ.DISCORDANT_REPEAT_REQUEST",
)


def _pem(value: str, kind: str) -> str:
    """Keys from the environment: a PEM, or the bare base64 the Alipay console shows."""
    value = value.strip().replace("\\n", "\n")
    if value.startswith("-----"):
        return value
    label = "RSA PRIVATE KEY" if kind == "private" else "PUBLIC KEY"
    return f"-----BEGIN {label}-----\n{value}\n-----END {label}-----"


class AlipayProvider:
    name = "alipay"

    def __init__(self):
        self.app_id = settings.ALIPAY_APP_ID
        try:
            self.client = AliPay(
                appid=self.app_id,
                app_notify_url=settings.SITE_URL + reverse("billing-notify", args=["alipay"]),
                app_private_key_string=_pem(settings.ALIPAY_APP_PRIVATE_KEY, "private"),
                alipay_public_key_string=_pem(settings.ALIPAY_PUBLIC_KEY, "public"),
                sign_type="RSA2",
                config=AliPayConfig(timeout=settings.PAYMENT_API_TIMEOUT),
            )
        except (ValueError, IndexError, TypeError) as exc:
            raise ProviderError(f"支付宝密钥配置无效: {exc}") from exc
        self.client._gateway = settings.ALIPAY_GATEWAY  # production or sandbox (README)

    def start(self, order, *, mobile: bool) -> PaymentStart:
        pay = (
            self.client.api_alipay_trade_wap_pay
            if mobile
            else self.client.api_alipay_trade_page_pay
        )
        query = pay(
            subject=f"{settings.SITE_NAME} {order.plan.name} {order.months}个月",
            out_trade_no=order.out_trade_no,
            total_amount=fen_to_yuan(order.amount_fen),
            return_url=settings.SITE_URL + reverse("order-result", args=[order.out_trade_no]),
        )
        return PaymentStart(redirect_url=f"{settings.ALIPAY_GATEWAY}?{query}")

    def parse_notification(self, *, body: bytes, headers, form) -> Notice:
        data = {key: form.get(key) for key in form}
        signature = data.pop("sign", None)
        if not signature:
            raise InvalidNotification("缺少签名")
        try:
            valid = self.client.verify(dict(data), signature)
        except (AliPayException, ValueError, TypeError) as exc:
            raise InvalidNotification(f"签名无效: {exc}") from exc
        if not valid:
            raise InvalidNotification("签名无效")
        for key in ("out_trade_no", "total_amount", "app_id", "trade_status"):
            if not data.get(key):
                raise InvalidNotification(f"缺少参数 {key}")
        return Notice(
            out_trade_no=data["out_trade_no"],
            trade_no=data.get("trade_no", ""),
            amount_fen=yuan_to_fen(data["total_amount"]),
            app_id=data["app_id"],
            paid=data["trade_status"] in PAID_STATES,
            state=data["trade_status"],
        )

    def acknowledge(self) -> HttpResponse:
        return HttpResponse("success", content_type="text/plain")

    def reject(self, reason: str) -> HttpResponse:
        return HttpResponse("failure", content_type="text/plain", status=400)

    def query(self, order) -> Notice | None:
        try:
            answer = self.client.api_alipay_trade_query(out_trade_no=order.out_trade_no)
        except AliPayValidationError as exc:
            raise ProviderError("支付宝查询结果签名无效") from exc
        except (AliPayException, OSError) as exc:
            raise ProviderError(f"支付宝查询失败: {exc}") from exc
        if answer.get("code") != "10000":
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return None  # the member never opened the cashier
            raise ProviderError(f"支付宝查询失败: {answer.get('sub_msg') or answer.get('msg')}")
        return Notice(
            out_trade_no=answer["out_trade_no"],
            trade_no=answer.get("trade_no", ""),
            amount_fen=yuan_to_fen(answer["total_amount"]),
            app_id=self.app_id,
            paid=answer.get("trade_status") in PAID_STATES,
            state=answer.get("trade_status", ""),
        )

    def _call(self, what: str, method, **kwargs) -> dict:
        try:
            return method(**kwargs)
        except AliPayValidationError as exc:
            raise ProviderError(f"支付宝{what}结果签名无效") from exc
        except (AliPayException, OSError) as exc:  # timeouts are OSError
            raise ProviderError(f"支付宝{what}失败: {exc}") from exc

    def refund(self, order, *, amount_fen: int, refund_no: str, reason: str) -> RefundAnswer:
        answer = self._call(
            "退款",
            self.client.api_alipay_trade_refund,
            refund_amount=fen_to_yuan(amount_fen),
            out_trade_no=order.out_trade_no,
            out_request_no=refund_no,
            refund_reason=reason,
        )
        if answer.get("code") == "10000":
            if answer.get("fund_change") == "Y":
                return RefundAnswer(
                    RefundAnswer.SUCCEEDED,
                    refund_id=answer.get("trade_no", ""),
                    amount_fen=amount_fen,
                    detail="fund_change=Y",
                )
            # "N": this number was refunded before (a retry), or is still being booked;
            # Alipay says to trust only the refund query then.
            confirmed = self.refund_query(order, refund_no=refund_no)
            if confirmed is None:
                raise ProviderError("支付宝受理了退款但查询未确认,稍后用同一退款单号再查")
            return confirmed
        message = answer.get("sub_msg") or answer.get("msg") or answer.get("code")
        if answer.get("code") == "20000" or answer.get("sub_code") in UNSURE_REFUND_CODES:
            raise ProviderError(f"支付宝退款结果未知: {message}")
        return RefundAnswer(RefundAnswer.FAILED, detail=f"支付宝拒绝退款: {message}")

    def refund_query(self, order, *, refund_no: str) -> RefundAnswer | None:
        answer = self._call(
            "退款查询",
            self.client.api_alipay_trade_fastpay_refund_query,
            out_request_no=refund_no,
            out_trade_no=order.out_trade_no,
        )
        if answer.get("code") != "10000":
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return None
            message = answer.get("sub_msg") or answer.get("msg")
            raise ProviderError(f"支付宝退款查询失败: {message}")
        # Alipay answers a number it has not refunded (never received, or refused) with the
        # common fields only: sending the refund again with that number is safe.
        if answer.get("refund_status") != "REFUND_SUCCESS":
            return None
        try:
            amount_fen = yuan_to_fen(answer.get("refund_amount", ""))
        except InvalidNotification as exc:
            raise ProviderError(f"支付宝退款查询结果无效: {exc}") from exc
        return RefundAnswer(
            RefundAnswer.SUCCEEDED,
            refund_id=answer.get("trade_no", ""),
            amount_fen=amount_fen,
            detail="REFUND_SUCCESS",
        )

    def close(self, order) -> None:
        try:
            self.client.api_alipay_trade_close(out_trade_no=order.out_trade_no)
        except (AliPayException, OSError) as exc:
            raise ProviderError(f"支付宝关闭订单失败: {exc}") from exc
