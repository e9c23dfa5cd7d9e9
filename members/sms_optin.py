"""Opting in to SMS alerts: the member confirms the number with a code sent to it."""

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from members import sms
from members.forms import clean_mobile

CODE_SECONDS = 600
RESEND_SECONDS = 60
MAX_TRIES = 5


class SmsOptInError(ValueError):
    pass


def _key(user) -> str:
    return f"sms-optin:{user.pk}"


def _digest(code: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{code}".encode()).hexdigest()


def sms_code_send(*, user, phone: str) -> None:
    phone = clean_mobile(phone)
    if not phone:
        raise SmsOptInError(_("请填写手机号。"))
    if not cache.add(f"{_key(user)}:resend", 1, RESEND_SECONDS):
        raise SmsOptInError(_("验证码已发送,请 1 分钟后再试。"))
    code = f"{secrets.randbelow(1_000_000):06d}"
    cache.set(_key(user), {"phone": phone, "code": _digest(code), "tries": 0}, CODE_SECONDS)
    sms.send(
        phone=phone,
        kind="verify",
        params={"code": code},
        text=_("【%(site)s】您的验证码是 %(code)s,10 分钟内有效。")
        % {"site": settings.SITE_NAME, "code": code},
    )


def sms_code_confirm(*, user, code: str) -> None:
    pending = cache.get(_key(user))
    if pending is None:
        raise SmsOptInError(_("验证码已过期,请重新获取。"))
    if pending["tries"] >= MAX_TRIES:
        cache.delete(_key(user))
        raise SmsOptInError(_("验证码错误次数过多,请重新获取。"))
    if not secrets.compare_digest(_digest(code.strip()), pending["code"]):
        pending["tries"] += 1
        cache.set(_key(user), pending, CODE_SECONDS)
        raise SmsOptInError(_("验证码不正确。"))
    cache.delete(_key(user))
    user.sms_phone, user.sms_verified_at, user.sms_alerts = pending["phone"], timezone.now(), True
    user.save(update_fields=["sms_phone", "sms_verified_at", "sms_alerts"])


def sms_disable(*, user) -> None:
    user.sms_alerts = False
    user.save(update_fields=["sms_alerts"])
