import pytest

from billing.tests.stand_ins import (
    WECHAT_PUBLIC_KEY_ID,
    AlipayGateway,
    KeyPair,
    WechatApi,
)

ALIPAY_APP_ID = "2021000000000001"
WECHAT_MCHID, WECHAT_APPID = "1900000109", "wx8888888888888888"
APIV3_KEY = "a12d3924fd499edac8a5efc1e2f3a4b5"  # 32 bytes


@pytest.fixture(scope="session")
def keys():
    """Locally generated stand-ins for the app's, Alipay's, the merchant's and WeChat
    Pay's platform keys (generated once: RSA-2048 takes a moment)."""
    return {name: KeyPair() for name in ("app", "alipay", "merchant", "platform")}


@pytest.fixture
def alipay(settings, keys):
    with AlipayGateway(alipay_key=keys["alipay"], app_key=keys["app"]) as gateway:
        settings.ALIPAY_APP_ID = ALIPAY_APP_ID
        settings.ALIPAY_APP_PRIVATE_KEY = keys["app"].private_pem(pkcs1=True)
        settings.ALIPAY_PUBLIC_KEY = keys["alipay"].public_pem()
        settings.ALIPAY_GATEWAY = f"{gateway.base_url}/gateway.do"
        gateway.app_id = ALIPAY_APP_ID
        yield gateway


@pytest.fixture
def wechat(settings, keys):
    with WechatApi(
        platform_key=keys["platform"],
        merchant_key=keys["merchant"],
        mchid=WECHAT_MCHID,
        appid=WECHAT_APPID,
    ) as api:
        settings.WECHATPAY_MCHID = WECHAT_MCHID
        settings.WECHATPAY_APPID = WECHAT_APPID
        settings.WECHATPAY_PRIVATE_KEY = keys["merchant"].private_pem()
        settings.WECHATPAY_CERT_SERIAL_NO = "444F4864EA9B34415A9C5F3B2E1D0C7B6A59F1E2"
        settings.WECHATPAY_APIV3_KEY = APIV3_KEY
        settings.WECHATPAY_PUBLIC_KEY = keys["platform"].public_pem()
        settings.WECHATPAY_PUBLIC_KEY_ID = WECHAT_PUBLIC_KEY_ID
        settings.WECHATPAY_API_BASE = api.base_url
        api.apiv3_key = APIV3_KEY
        yield api


@pytest.fixture
def dev_provider(settings, tmp_path):
    settings.PAYMENT_DEV_PROVIDER = True
    settings.PAYMENT_DEV_KEY_PATH = str(tmp_path / "dev.pem")
