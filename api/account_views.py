"""会员中心 → 数据接口: a member's API keys (make one, see it once, revoke)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api.models import ApiToken
from api.throttling import DEFAULT_RATE
from api.tokens import TokenError, api_token_create, api_token_revoke
from members.access import member_rights


@login_required
def tokens(request):
    new_key, error, status = "", "", 200
    if request.method == "POST":
        try:
            _token, new_key = api_token_create(user=request.user, name=request.POST.get("name"))
        except TokenError as exc:
            error, status = str(exc), 400
    rights = member_rights(request.user)
    context = {
        "rights": rights,
        "rate": rights.api_rate or DEFAULT_RATE,
        "tokens": list(
            ApiToken.objects.filter(user=request.user).values(
                "pk", "name", "prefix", "created_at", "last_used_at", "revoked_at"
            )
        ),
        "new_key": new_key,
        "error": error,
    }
    response = render(request, "api/tokens.html", context, status=status)
    response["Cache-Control"] = "private, no-store"  # the new key is on this page once
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    if api_token_revoke(user=request.user, token_id=pk):
        messages.success(request, _("密钥已撤销,使用它的请求将被拒绝。"))
    else:
        messages.warning(request, _("没有找到这个有效密钥。"))
    return redirect("api-tokens")
