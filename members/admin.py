import datetime
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from members import services
from members.forms import SubscriptionActivateForm, SubscriptionEndForm
from members.models import (
    AlertDelivery,
    ContactReveal,
    Follow,
    MembershipApplication,
    Plan,
    SavedSearch,
    Subscription,
    Team,
    TeamFollow,
    TeamMembership,
    Trial,
    User,
)


class TrialFilter(admin.SimpleListFilter):
    title = _("开通类型")
    parameter_name = "trial"

    def lookups(self, request, model_admin):
        return [("yes", _("免费试用")), ("no", _("付费/客服开通"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(trial__isnull=self.value() == "no")
        return queryset


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    fk_name = "user"
    extra = 0
    can_delete = False
    fields = ("plan", "starts_on", "ends_on", "status", "activated_by", "order_reference")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # activation goes through the service (subscription add form)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("会员资料"), {"fields": User.PROFILE_FIELDS}),
    )
    filter_horizontal = (*UserAdmin.filter_horizontal, "regions_of_interest")
    list_display = ("email", "real_name", "phone", "company", "is_staff", "date_joined")
    search_fields = ("username", "email", "real_name", "phone", "company")
    inlines = [SubscriptionInline]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "yearly_price_fen",
        "sees_contacts",
        "sees_bid_results",
        "sees_company_profiles",
        "watches_companies",
        "daily_reveal_quota",
        "saved_search_limit",
        "instant_alerts",
        "digest_alerts",
        "digest_item_limit",
        "seats",
        "export_rows_limit",
        "api_access",
        "is_offered",
        "position",
    )
    list_editable = ("is_offered", "position")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Add = activate after a hotline sale (through the service: renewals extend from
    the current end, history is never overwritten); rows are then read-only, and staff
    end one early with a reason."""

    list_display = (
        "user",
        "plan",
        "starts_on",
        "ends_on",
        "status",
        "amount_paid",
        "order_reference",
        "activated_via",
    )
    list_filter = ("status", "plan", TrialFilter)
    search_fields = ("user__email", "user__real_name", "user__company", "order_reference")
    list_select_related = ("user", "plan", "activated_by", "order", "trial")
    autocomplete_fields = ("user",)
    date_hierarchy = "starts_on"
    readonly_fields = (
        "user",
        "plan",
        "starts_on",
        "ends_on",
        "status",
        "activated_via",
        "order_reference",
        "amount_paid_fen",
        "note",
        "created_at",
        "ended_at",
        "ended_by",
        "end_reason",
        "reminded_7_at",
        "reminded_1_at",
        "end_early_link",
    )

    @admin.display(description=_("实收金额(元)"))
    def amount_paid(self, obj):
        return f"{Decimal(obj.amount_paid_fen) / 100:,.2f}"

    @admin.display(description=_("开通方式"))
    def activated_via(self, obj):
        """Who or what started the period: a staff user (hotline sale), an online order or
        the member's free trial."""
        trial = getattr(obj, "trial", None) if obj.pk else None
        if trial is not None:
            url = reverse("admin:members_trial_change", args=[trial.pk])
            return format_html('<a href="{}">{}</a>', url, _("免费试用"))
        order = getattr(obj, "order", None) if obj.pk else None
        if order is not None:
            url = reverse("admin:billing_order_change", args=[order.pk])
            return format_html('{} <a href="{}">{}</a>', _("在线订单"), url, order.out_trade_no)
        return obj.activated_by or "-"

    @admin.display(description=_("提前终止"))
    def end_early_link(self, obj):
        if obj.pk is None or obj.status == Subscription.Status.ENDED:
            return "-"
        url = reverse("admin:members_subscription_end", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("提前终止…"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = SubscriptionActivateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return (
                "user",
                "plan",
                "months",
                "starts_on",
                "amount_paid_yuan",
                "order_reference",
                "note",
            )
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # history is kept; end early instead

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        created = services.subscription_activate(
            user=data["user"],
            plan=data["plan"],
            months=data["months"],
            starts_on=data["starts_on"],
            by=request.user,
            order_reference=data["order_reference"],
            amount_paid_fen=int(data["amount_paid_yuan"] * 100),
            note=data.get("note", ""),
        )
        obj.pk = created.pk
        obj.starts_on, obj.ends_on = created.starts_on, created.ends_on

    def get_urls(self):
        return [
            path(
                "<int:pk>/end/",
                self.admin_site.admin_view(self.end_view),
                name="members_subscription_end",
            ),
            *super().get_urls(),
        ]

    def end_view(self, request, pk):
        subscription = get_object_or_404(Subscription, pk=pk)
        if not self.has_change_permission(request, subscription):
            return redirect("admin:index")
        form = SubscriptionEndForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.subscription_end_early(
                    subscription=subscription, reason=form.cleaned_data["reason"], by=request.user
                )
            except services.MembershipError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("会员已提前终止,该会员下次访问即失去查看权限。"))
            return redirect("admin:members_subscription_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("提前终止会员"),
            "subscription": subscription,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/subscription/end.html", context)


@admin.register(MembershipApplication)
class MembershipApplicationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "name", "company", "mobile", "plan", "status", "user")
    list_filter = ("status", "plan")
    list_editable = ("status",)
    search_fields = ("name", "company", "mobile", "user__email")
    readonly_fields = ("user", "name", "company", "mobile", "plan", "message", "created_at")
    fields = (*readonly_fields, "status", "staff_note")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plan", "user")


@admin.register(ContactReveal)
class ContactRevealAdmin(admin.ModelAdmin):
    """The audit of who saw which contacts, and a report of the heaviest viewers."""

    list_display = ("revealed_at", "user", "bulletin", "ip")
    list_filter = ("day",)
    search_fields = ("user__email", "user__company", "ip")
    date_hierarchy = "day"
    list_select_related = ("user", "bulletin")
    change_list_template = "admin/members/contactreveal/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "report/",
                self.admin_site.admin_view(self.report_view),
                name="members_contactreveal_report",
            ),
            *super().get_urls(),
        ]

    def report_view(self, request):
        try:
            days = max(1, min(int(request.GET.get("days", 30)), 365))
        except ValueError:
            days = 30
        since = timezone.localdate() - datetime.timedelta(days=days - 1)
        rows = (
            ContactReveal.objects.filter(day__gte=since)
            .values("user__id", "user__email", "user__real_name", "user__company")
            .annotate(
                reveals=Count("id"),
                active_days=Count("day", distinct=True),
                last=Max("revealed_at"),
                ips=Count("ip", distinct=True),
            )
            .order_by("-reveals")[:50]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("联系方式查看排行(最近 %(days)s 天)") % {"days": days},
            "rows": rows,
            "days": days,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/contactreveal/report.html", context)


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "query", "frequency", "digest_hour", "is_active")
    list_filter = ("frequency", "is_active")
    search_fields = ("name", "query", "user__email")
    raw_id_fields = ("user",)
    filter_horizontal = ("regions", "categories")


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: honest status per email, and sent/failed per day."""

    list_display = ("created_at", "user", "bulletin", "instant", "status", "attempts", "last_error")
    list_filter = ("status", "instant", "created_at")
    search_fields = ("user__email", "bulletin__title")
    list_select_related = ("user", "bulletin")
    date_hierarchy = "created_at"
    change_list_template = "admin/members/alertdelivery/change_list.html"
    readonly_fields = [f.name for f in AlertDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        since = timezone.now() - datetime.timedelta(days=14)
        days = (
            AlertDelivery.objects.filter(created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values("day")
            .annotate(
                sent=Count("id", filter=Q(status=AlertDelivery.Status.SENT)),
                failed=Count("id", filter=Q(status=AlertDelivery.Status.FAILED)),
                pending=Count("id", filter=Q(status=AlertDelivery.Status.PENDING)),
            )
            .order_by("day")
        )
        peak = max([d["sent"] + d["failed"] for d in days] or [1])
        chart = [
            {**d, "sent_pct": d["sent"] * 100 // peak, "failed_pct": d["failed"] * 100 // peak}
            for d in days
        ]
        return super().changelist_view(request, {**(extra_context or {}), "chart": chart})


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("user", "project", "organization", "created_at")
    raw_id_fields = ("user", "project", "organization")


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    """Free trials, one per email and per mobile: read-only (trial_start writes them)."""

    list_display = ("user", "email", "phone", "started_at", "ends_on", "ip")
    search_fields = ("email", "phone", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in Trial._meta.fields]

    def get_search_results(self, request, queryset, search_term):
        # Stored mobiles are 11 digits: "+86 139-1234-5678" finds them too.
        from members.trials import normalise_phone

        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        if mobile := normalise_phone(search_term):
            queryset |= self.model.objects.filter(phone=mobile)
        return queryset, duplicates

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    can_delete = False
    fields = ("email", "user", "role", "status", "invited_at", "joined_at", "removed_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # seats are taken through invitations (members.teams), counted there


class TeamFollowInline(admin.TabularInline):
    model = TeamFollow
    extra = 0
    fields = ("project", "note", "assignee", "updated_by", "updated_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """企业会员 teams. A hotline sale: 会员开通记录 → 增加 with the 企业会员 plan for the
    company's administrator account creates the team; rename it here."""

    list_display = ("name", "owner", "active_seats", "created_at")
    search_fields = ("name", "owner__email", "owner__company", "memberships__email")
    readonly_fields = ("owner", "created_at")
    fields = ("name", "owner", "created_at")
    inlines = [TeamMembershipInline, TeamFollowInline]

    def has_add_permission(self, request):
        return False  # made by activating a team plan, which gives it its seats

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner")
            .annotate(_active=Count("memberships", filter=Q(memberships__status="active")))
        )

    @admin.display(description=_("已加入成员"), ordering="_active")
    def active_seats(self, obj):
        return obj._active
