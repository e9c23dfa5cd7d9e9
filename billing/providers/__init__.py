"""Payment providers behind one small interface, so checkout, notifications, the
reconciliation job and refunds do not care which one took the money.

Each provider turns an order into something the member pays (a redirect URL or a QR
code), turns a provider's asynchronous notification into a verified `Notice` (or raises
`InvalidNotification`), asks the provider about a trade (`query`), refunds (`refund`) and
asks about a refund by its number (`refund_query`). Keys, app ids and gateway URLs come
from settings (environment); see README, 在线支付.

Refunds: `refund` returns the provider's `RefundAnswer` (succeeded, processing, or failed
when the provider refused and no money moved) and raises ProviderError when there is no
trustworthy answer (timeout, network, a provider system error): the money may or may not
have moved, so the caller asks again with the same refund number, which both providers
treat as the same refund. `refund_query` returns None when the provider has no refund of
that number (it never arrived: sending it again is safe)."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings


class InvalidNotification(Exception):
    """A notification we cannot trust (signature, format): answered with an error."""


class ProviderError(Exception):
    """The provider refused or could not be reached (query, refund, close)."""


@dataclass
class Notice:
    """A provider's verified statement about one trade."""

    out_trade_no: str
    trade_no: str
    amount_fen: int
    app_id: str
    paid: bool
    state: str  # the provider's own word for it (TRADE_SUCCESS, SUCCESS, NOTPAY …)


@dataclass
class RefundAnswer:
    """A provider's verified answer about one refund number."""

    SUCCEEDED, PROCESSING, FAILED = "succeeded", "processing", "failed"

    state: str
    refund_id: str = ""
    amount_fen: int | None = None  # when the provider states it
    detail: str = ""  # the provider's own word (SUCCESS, PROCESSING, its refusal …)


@dataclass
class PaymentStart:
    redirect_url: str = ""  # Alipay: the cashier page
    code_url: str = ""  # WeChat Pay Native: what the QR code holds


def yuan_to_fen(value: str) -> int:
    """'88.00' → 8800; anything else is an invalid notification (never a float)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidNotification(f"金额格式无效: {value!r}") from exc
    fen = amount * 100
    if fen != fen.to_integral_value() or fen < 0:
        raise InvalidNotification(f"金额格式无效: {value!r}")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def enabled() -> list[str]:
    """Providers configured on this site, in the order the checkout offers them."""
    names = []
    if settings.ALIPAY_APP_ID:
        names.append("alipay")
    if settings.WECHATPAY_MCHID:
        names.append("wechat")
    if settings.PAYMENT_DEV_PROVIDER:
        names.append("dev")
    return names


def get(name: str):
    """The configured provider called `name`; KeyError if it is not enabled here."""
    if name not in enabled():
        raise KeyError(name)
    if name == "alipay":
        from billing.providers.alipay import AlipayProvider

        return AlipayProvider()
    if name == "wechat":
        from billing.providers.wechat import WechatProvider

        return WechatProvider()
    from billing.providers.dev import DevProvider

    return DevProvider()
