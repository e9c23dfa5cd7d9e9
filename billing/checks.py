"""System checks: settings that must never reach production."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def dev_provider_needs_debug(app_configs, **kwargs):
    # An ERROR, not a deploy warning: 模拟支付's cashier marks any order paid with no money
    # moving, so a site with DEBUG off must refuse to start commands (migrate, runserver,
    # check) rather than hand out free memberships.
    if settings.PAYMENT_DEV_PROVIDER and not settings.DEBUG:
        return [
            Error(
                "PAYMENT_DEV_PROVIDER 已开启而 DEBUG 关闭:"
                "模拟支付不付款即可开通会员,不能用于生产。",
                hint="生产环境设置 PAYMENT_DEV_PROVIDER=false(或不设置);"
                "仅本地开发(DEBUG=true)可开启。",
                id="billing.E001",
            )
        ]
    return []
