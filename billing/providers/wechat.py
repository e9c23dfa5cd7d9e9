"""WeChat Pay (微信支付) Native: the server renders the code_url as a QR code the member
scans. Through wechatpayv3 in "platform public key" mode (WECHATPAY_PUBLIC_KEY and its
id), so no certificate download is needed; API calls go to WECHATPAY_API_BASE.

Notifications are JSON with an AES-GCM encrypted resource (APIv3 key), signed in the
Wechatpay-* headers; the SDK checks the signature and decrypts."""

import json

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from wechatpayv3 import WeChatPay, WeChatPayType

from billing.providers import (
    InvalidNotification,
    Notice,
    PaymentStart,
    ProviderError,
    RefundAnswer,
)

# What a refund's status means for the money (ABNORMAL, absent here: the money left the
# merchant but did not reach the member; staff finish it on the merchant platform).
REFUND_STATES = {
    "SUCCESS": RefundAnswer.SUCCEEDED,
    "PROCESSING": RefundAnswer.PROCESSING,
    "CLOSED": RefundAnswer.FAILED,
}


def _pem(value: str) -> str:
    return value.strip().replace("\\n", "\n")


class WechatProvider:
    name = "wechat"

    def __init__(self):
        self.app_id = settings.WECHATPAY_APPID
        self.mchid = settings.WECHATPAY_MCHID
        try:
            self.client = WeChatPay(
                wechatpay_type=WeChatPayType.NATIVE,
                mchid=self.mchid,
                private_key=_pem(settings.WECHATPAY_PRIVATE_KEY),
                cert_serial_no=settings.WECHATPAY_CERT_SERIAL_NO,
                appid=self.app_id,
                apiv3_key=settings.WECHATPAY_APIV3_KEY,
                notify_url=settings.SITE_URL + reverse("billing-notify", args=["wechat"]),
                public_key=_pem(settings.WECHATPAY_PUBLIC_KEY),
                public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID,
                timeout=(min(5.0, settings.PAYMENT_API_TIMEOUT), settings.PAYMENT_API_TIMEOUT),
            )
        except Exception as exc:  # the SDK raises bare Exception for bad keys
            raise ProviderError(f"微信支付配置无效: {exc}") from exc
        self.client._core._gate_way = settings.WECHATPAY_API_BASE  # production or a stand-in

    def _call(self, what: str, method, **kwargs) -> tuple[int, dict]:
        try:
            code, message = method(**kwargs)
        except Exception as exc:  # network errors and the SDK's signature check
            raise ProviderError(f"微信支付{what}失败: {exc}") from exc
        try:
            data = json.loads(message) if message else {}
        except (TypeError, ValueError):
            data = {}
        return code, data

    def start(self, order, *, mobile: bool) -> PaymentStart:
        code, data = self._call(
            "下单",
            self.client.pay,
            description=f"{settings.SITE_NAME} {order.plan.name} {order.months}个月",
            out_trade_no=order.out_trade_no,
            amount={"total": order.amount_fen, "currency": "CNY"},
        )
        if code != 200 or not data.get("code_url"):
            raise ProviderError(f"微信支付下单失败: {data.get('message') or code}")
        return PaymentStart(code_url=data["code_url"])

    def parse_notification(self, *, body: bytes, headers, form) -> Notice:
        try:
            result = self.client.callback(headers=dict(headers), body=body)
        except Exception as exc:  # unsupported algorithm and the like
            raise InvalidNotification(f"通知无效: {exc}") from exc
        if not result:
            raise InvalidNotification("签名无效或无法解密")
        resource = result.get("resource") or {}
        if resource.get("mchid") != self.mchid:
            raise InvalidNotification("商户号不符")
        try:
            amount = int(resource["amount"]["total"])
            out_trade_no = resource["out_trade_no"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidNotification("通知缺少订单号或金额") from exc
        state = resource.get("trade_state", "")
        return Notice(
            out_trade_no=out_trade_no,
            trade_no=resource.get("transaction_id", ""),
            amount_fen=amount,
            app_id=resource.get("appid", ""),
            paid=state == "SUCCESS",
            state=state,
        )

    def acknowledge(self) -> JsonResponse:
        return JsonResponse({"code": "SUCCESS", "message": "成功"})

    def reject(self, reason: str) -> JsonResponse:
        return JsonResponse({"code": "FAIL", "message": reason}, status=400)

    def query(self, order) -> Notice | None:
        code, data = self._call("查询", self.client.query, out_trade_no=order.out_trade_no)
        if code == 404:
            return None
        if code != 200:
            raise ProviderError(f"微信支付查询失败: {data.get('message') or code}")
        state = data.get("trade_state", "")
        return Notice(
            out_trade_no=data.get("out_trade_no", order.out_trade_no),
            trade_no=data.get("transaction_id", ""),
            amount_fen=int((data.get("amount") or {}).get("total", 0)),
            app_id=data.get("appid", ""),
            paid=state == "SUCCESS",
            state=state,
        )

    def refund(self, order, *, amount_fen: int, refund_no: str, reason: str) -> RefundAnswer:
        code, data = self._call(
            "退款",
            self.client.refund,
            out_refund_no=refund_no,
            amount={"refund": amount_fen, "total": order.amount_fen, "currency": "CNY"},
            out_trade_no=order.out_trade_no,
            reason=reason,
        )
        if code == 200:
            return self._refund_answer(data)
        message = data.get("message") or code
        if code == 429 or code >= 500:  # FREQUENCY_LIMITED, SYSTEM_ERROR: not decided
            raise ProviderError(f"微信支付退款结果未知: {message}")
        return RefundAnswer(RefundAnswer.FAILED, detail=f"微信支付拒绝退款: {message}")

    def refund_query(self, order, *, refund_no: str) -> RefundAnswer | None:
        code, data = self._call("退款查询", self.client.query_refund, out_refund_no=refund_no)
        if code == 404:
            return None
        if code != 200:
            raise ProviderError(f"微信支付退款查询失败: {data.get('message') or code}")
        return self._refund_answer(data)

    def _refund_answer(self, data: dict) -> RefundAnswer:
        status = data.get("status", "")
        if status not in REFUND_STATES:
            raise ProviderError(f"微信支付退款状态 {status or '缺失'},需在商户平台处理")
        amount = (data.get("amount") or {}).get("refund")
        return RefundAnswer(
            REFUND_STATES[status],
            refund_id=data.get("refund_id", ""),
            amount_fen=int(amount) if isinstance(amount, int) else None,
            detail=status,
        )

    def close(self, order) -> None:
        code, data = self._call("关闭订单", self.client.close, out_trade_no=order.out_trade_no)
        if code not in (200, 204):
            raise ProviderError(f"微信支付关闭订单失败: {data.get('message') or code}")
