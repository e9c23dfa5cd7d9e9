from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from news import services
from news.models import Bulletin, Category, Contact, Region
from news.text import normalize_body


class ProvinceListFilter(admin.SimpleListFilter):
    """Provinces from the region table: no DISTINCT over the bulletin table."""

    title = _("省份")
    parameter_name = "province"

    def lookups(self, request, model_admin):
        return [(str(r.pk), r.name) for r in Region.objects.provinces()]

    def queryset(self, request, queryset):
        return queryset.filter(province_id=self.value()) if self.value() else queryset


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 1
    fields = ("position", "role", "organization", "person", "title", "phone", "mobile", "email")


class BulletinAdminForm(forms.ModelForm):
    class Meta:
        model = Bulletin
        fields = [
            "title",
            "category",
            "region",
            "published_at",
            "status",
            "body",
            "source_url",
            "credits",
            "amount_yuan",
            "bid_deadline",
            "stage",
            "winner",
        ]

    def clean_body(self):
        body = normalize_body(self.cleaned_data["body"])
        if not body:
            raise forms.ValidationError(_("正文不能为空。"))
        return body

    def clean_title(self):
        title = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise forms.ValidationError(_("标题不能为空。"))
        return title


@admin.register(Bulletin)
class BulletinAdmin(admin.ModelAdmin):
    form = BulletinAdminForm
    list_display = ("title", "category", "region_label", "published_at", "status")
    list_filter = ("category", ProvinceListFilter, "status", "published_at")
    list_select_related = ("category", "province", "city", "region")
    search_fields = ("title", "source_url")
    date_hierarchy = "published_at"
    autocomplete_fields = ("region",)
    inlines = [ContactInline]
    actions = ["publish", "unpublish"]
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("title", "category", "region", "published_at", "status")}),
        (_("正文"), {"fields": ("body", "source_url", "credits")}),
        (_("项目信息"), {"fields": ("amount_yuan", "bid_deadline", "stage", "winner")}),
        (_("记录"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("地区"))
    def region_label(self, obj):
        return obj.region_display

    def _set_status(self, request, queryset, status):
        changed = services.bulletin_set_status(
            bulletin_ids=list(queryset.values_list("pk", flat=True)), status=status
        )
        self.message_user(
            request,
            ngettext("已更新 %(n)d 条标讯。", "已更新 %(n)d 条标讯。", changed) % {"n": changed},
            messages.SUCCESS,
        )

    @admin.action(description=_("发布所选标讯"))
    def publish(self, request, queryset):
        self._set_status(request, queryset, Bulletin.Status.PUBLISHED)

    @admin.action(description=_("撤回所选标讯(转为草稿)"))
    def unpublish(self, request, queryset):
        self._set_status(request, queryset, Bulletin.Status.DRAFT)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("name", "full_name", "code", "level", "parent", "verified")
    list_filter = ("level", "verified")
    list_select_related = ("parent__parent",)
    search_fields = ("name", "full_name", "alias", "code")
    raw_id_fields = ("parent",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    list_editable = ("position",)
    prepopulated_fields = {"slug": ("name",)}
