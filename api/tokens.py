"""Member API keys: create (the key is returned once), revoke, and look up by key."""

import datetime
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import ApiToken
from members.access import member_rights
from members.models import User

KEY_PREFIX = "bk_"
MAX_ACTIVE = 10
# last_used_at is written at most this often per key: not one UPDATE per request.
TOUCH_EVERY = datetime.timedelta(minutes=5)


class TokenError(ValueError):
    pass


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """(row, key): the key exists only in this return value."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("请填写密钥名称(如“ERP 同步”),便于日后辨认和撤销。"))
    if len(name) > 60:
        raise TokenError(_("密钥名称最多 60 个字。"))
    if not member_rights(user).api_access:
        raise TokenError(_("您的套餐不含数据接口(API),请开通付费会员。"))
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        # The member's row lock keeps two parallel requests from passing the limit.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
        if ApiToken.objects.filter(user=user, revoked_at=None).count() >= MAX_ACTIVE:
            raise TokenError(
                _("最多同时保留 %(n)s 个有效密钥,请先撤销不用的密钥。") % {"n": MAX_ACTIVE}
            )
        token = ApiToken.objects.create(
            user=user, name=name, prefix=key[: len(KEY_PREFIX) + 6], key_hash=_digest(key)
        )
    return token, key


def api_token_revoke(*, user, token_id: int) -> bool:
    """Revoke one of the member's keys; False when it is not theirs or already revoked."""
    return bool(
        ApiToken.objects.filter(user=user, pk=token_id, revoked_at=None).update(
            revoked_at=timezone.now()
        )
    )


def api_token_user(key: str):
    """The active user a key belongs to, or None (unknown, revoked, user inactive)."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_digest(key), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
