from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from members.access import member_rights


class PlanAllowsApi(permissions.BasePermission):
    """Checked on every request: a member whose plan lapsed loses the API at once."""

    message = _("您的套餐不含数据接口(API),请开通付费会员。")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) and (
            member_rights(request.user).api_access
        )
