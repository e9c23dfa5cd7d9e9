"""Request-wide rules: staff's second factor before the admin; per-user pages stay private."""

from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _


class StaffSecondFactorMiddleware:
    """The admin is reached through allauth's login (which asks for the TOTP code), never
    through Django's own admin login form, and, where STAFF_REQUIRE_MFA is on, only by a
    session that passed a second factor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        admin_root = reverse("admin:index")
        if request.path.startswith(admin_root):
            response = self._guard(request, admin_root)
            if response is not None:
                return response
        return self.get_response(request)

    def _guard(self, request, admin_root):
        if request.path == reverse("admin:login"):
            target = request.GET.get("next") or admin_root
            return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")
        user = request.user
        if not (settings.STAFF_REQUIRE_MFA and user.is_authenticated and user.is_staff):
            return None
        if not is_mfa_enabled(user, ["totp"]):
            messages.warning(request, _("进入编辑后台前,请先为账号启用两步验证(动态口令)。"))
            return redirect("mfa_activate_totp")
        records = get_authentication_records(request, user)
        if not any(record.get("method") == "mfa" for record in records):
            url = reverse("mfa_reauthenticate")
            return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")
        return None


class PrivatePagesMiddleware:
    """What a signed-in user sees may hold unmasked contacts: no shared cache may keep it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
        return response
