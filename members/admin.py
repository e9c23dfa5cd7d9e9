from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from members.models import User


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, (_("会员资料"), {"fields": ("phone", "company")}))
    list_display = ("username", "email", "phone", "company", "is_staff", "date_joined")
    search_fields = ("username", "email", "phone", "company")
