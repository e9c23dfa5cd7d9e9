from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from news import linking, services
from news.events import bulletins_announce
from news.importing.jobs import import_job_create, import_job_report
from news.importing.pipeline import run_import
from news.importing.sources import sources_from_upload
from news.models import (
    BidResult,
    Bulletin,
    Category,
    Contact,
    ImportJob,
    Organization,
    Project,
    ProjectMerge,
    ProjectStageChange,
    Region,
)
from news.selectors import category_options_forget, region_options_forget
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
            "source_name",
            "credits",
            "amount_yuan",
            "bid_deadline",
            "stage",
            "winner",
            "project",
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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f]


class ImportForm(forms.Form):
    files = MultipleFileField(
        label=_("标讯文件"), help_text=_("可多选;也可以上传 zip 压缩包(内含多个页面文件)")
    )
    draft = forms.BooleanField(label=_("导入为草稿(不直接发布)"), required=False)
    dry_run = forms.BooleanField(label=_("试运行(只检查,不写入)"), required=False)
    allow_near_duplicates = forms.BooleanField(
        label=_("近似重复(转载)也导入"),
        required=False,
        help_text=_("默认跳过与已有标讯高度相似的转载稿;确认不是同一篇时勾选后重新上传。"),
    )


@admin.register(Bulletin)
class BulletinAdmin(admin.ModelAdmin):
    change_list_template = "admin/news/bulletin/change_list.html"
    form = BulletinAdminForm
    list_display = ("title", "category", "region_label", "published_at", "status")
    list_filter = ("category", ProvinceListFilter, "status", "published_at")
    list_select_related = ("category", "province", "city", "region")
    search_fields = ("title", "source_url")
    date_hierarchy = "published_at"
    autocomplete_fields = ("region", "project")
    inlines = [ContactInline]

    def save_related(self, request, form, formsets, change):
        """After the contacts are saved: link (or unlink) the project staff chose, or find
        one for a published bulletin that has none."""
        super().save_related(request, form, formsets, change)
        bulletin = form.instance
        published = bulletin.status == Bulletin.Status.PUBLISHED
        if published and (not change or form.initial.get("status") != bulletin.status):
            bulletins_announce([bulletin.pk])  # newly published: alerts match it
        if bulletin.project_id:
            linking.project_link(bulletin=bulletin, project=bulletin.project)
        elif "project" in form.changed_data:
            linking.project_unlink(bulletin=bulletin)
        elif bulletin.status == Bulletin.Status.PUBLISHED:
            linking.project_link_bulletin(bulletin=bulletin)

    actions = ["publish", "unpublish"]
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("title", "category", "region", "published_at", "status")}),
        (_("正文"), {"fields": ("body", "source_url", "source_name", "credits")}),
        (
            _("项目信息"),
            {
                "fields": (
                    "project",
                    "amount_yuan",
                    "registration_deadline",
                    "bid_deadline",
                    "opening_at",
                    "stage",
                    "winner",
                )
            },
        ),
        (_("记录"), {"fields": ("created_at", "updated_at")}),
    )

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        job = self.admin_site.admin_view(self.import_job_view)
        return [
            path("import/", view, name="news_bulletin_import"),
            path("import/<int:job_id>/", job, name="news_bulletin_import_job"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload scraped pages (or a zip of them) and see what became of each file."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            options = {
                "publish": not form.cleaned_data["draft"],
                "dry_run": form.cleaned_data["dry_run"],
                "allow_near_duplicates": form.cleaned_data["allow_near_duplicates"],
            }
            sources, queued = [], []
            for upload in form.cleaned_data["files"]:
                data = upload.read()
                members = list(sources_from_upload(upload.name, data))
                if len(members) > settings.IMPORT_INLINE_MAX_FILES:
                    # Large archives run on the worker, not inside this request.
                    queued.append(
                        import_job_create(name=upload.name, data=data, by=request.user, **options)
                    )
                else:
                    sources.extend(members)
            if queued and not sources:
                return redirect("admin:news_bulletin_import_job", queued[0].pk)
            for job in queued:
                messages.info(
                    request,
                    format_html(
                        '{} <a href="{}">{}</a>',
                        _("大文件已转入后台导入:"),
                        reverse("admin:news_bulletin_import_job", args=[job.pk]),
                        job.filename,
                    ),
                )
            report = run_import(sources, **options)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("导入标讯"),
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/news/bulletin/import.html", context)

    def import_job_view(self, request, job_id):
        """Progress of a queued import (the page reloads itself), then its summary."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ImportJob, pk=job_id)
        finished = job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("导入任务:%(name)s") % {"name": job.filename},
            "job": job,
            "finished": finished,
            "report": import_job_report(job) if job.status == ImportJob.Status.DONE else None,
        }
        return TemplateResponse(request, "admin/news/bulletin/import_job.html", context)

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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        region_options_forget(obj.parent_id)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    list_editable = ("position",)
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        category_options_forget()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        category_options_forget()


class ProjectBulletinInline(admin.TabularInline):
    model = Bulletin
    fk_name = "project"
    fields = ("title", "category", "published_at", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # link a bulletin from its own page (所属项目)


class StageChangeInline(admin.TabularInline):
    model = ProjectStageChange
    fields = ("changed_at", "previous", "stage", "bulletin", "recorded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ProjectMergeForm(forms.Form):
    target = forms.ModelChoiceField(label=_("合并到"), queryset=Project.objects.none())


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "region_label", "stage", "work_type", "last_activity_at")
    list_filter = ("stage", "work_type", ProvinceListFilter)
    list_select_related = ("province", "city", "region")
    search_fields = ("name",)
    readonly_fields = ("stage", "last_activity_at", "merged_into", "created_at")
    fields = ("name", "region", "work_type", "amount_yuan", *readonly_fields)
    autocomplete_fields = ("region",)
    inlines = [ProjectBulletinInline, StageChangeInline]
    actions = ["merge"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(merged_into__isnull=True)

    @admin.display(description=_("地区"))
    def region_label(self, obj):
        return obj.region_display

    def save_model(self, request, obj, form, change):
        obj.name_key = linking.name_key(obj.name)
        obj.set_region(obj.region)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("合并所选项目…"))
    def merge(self, request, queryset):
        """Merge the selected projects into the one staff pick (bulletins, parties,
        contacts and stage history move; each merge is recorded)."""
        projects = list(queryset)
        if len(projects) < 2:
            self.message_user(request, _("请至少选择两个项目。"), messages.WARNING)
            return None
        form = ProjectMergeForm(request.POST if "target" in request.POST else None)
        form.fields["target"].queryset = queryset
        if form.is_valid():
            target = form.cleaned_data["target"]
            try:
                for source in projects:
                    if source.pk != target.pk:
                        linking.project_merge(source=source, target=target, by=request.user)
            except linking.ProjectMergeError as exc:  # another merge got there first
                self.message_user(request, str(exc), messages.ERROR)
                return None
            self.message_user(
                request, _("已合并到“%(name)s”。") % {"name": target.name}, messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("合并项目"),
            "projects": projects,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/news/project/merge.html", context)


@admin.register(ProjectMerge)
class ProjectMergeAdmin(admin.ModelAdmin):
    list_display = ("merged_at", "source_name", "target", "by", "moved")
    readonly_fields = ("merged_at", "source_name", "source", "target", "by", "moved")

    def has_add_permission(self, request):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(BidResult)
class BidResultAdmin(admin.ModelAdmin):
    """What the parser read from award notices (read-only: `manage.py backfill_bid_results
    --replace` reads a notice again)."""

    list_display = ("bidder", "lot", "rank", "price_yuan", "duration_text", "winner", "bulletin")
    list_filter = ("winner",)
    search_fields = ("bidder", "bulletin__title")
    list_select_related = ("bulletin",)
    raw_id_fields = ("bulletin", "project", "organization")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
