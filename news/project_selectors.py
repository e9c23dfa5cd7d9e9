"""Reads for project and organisation pages: per-viewer view objects, contacts gated."""

from dataclasses import dataclass, field

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from members.access import ContactAccess, contact_access, member_rights
from news.bid_selectors import BidResults, OrganizationBids, bid_results, organization_bids
from news.filters import int_or_none
from news.masking import ContactView, contact_values, contact_view, mask_text
from news.models import (
    Bulletin,
    Organization,
    Project,
    ProjectContact,
    ProjectParty,
    Region,
    Stage,
)
from news.models.projects import WorkType
from news.paging import COUNT_CAP, CappedPaginator
from news.selectors import FilterView, filter_view

PAGE_SIZE = 20


class ProjectFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("项目名称"), field_name="name", lookup_expr="icontains", max_length=60
    )
    stage = django_filters.ChoiceFilter(
        label=_("阶段"), choices=Stage.choices, empty_label=_("全部阶段")
    )
    work_type = django_filters.ChoiceFilter(
        label=_("工程类别"), choices=WorkType.choices, empty_label=_("全部类别")
    )
    province = django_filters.ModelChoiceFilter(
        label=_("省份"), queryset=Region.objects.provinces(), empty_label=_("全部省份")
    )
    city = django_filters.ModelChoiceFilter(
        label=_("城市"), queryset=Region.objects.none(), empty_label=_("全部城市")
    )
    district = django_filters.ModelChoiceFilter(
        label=_("区县"),
        field_name="region",
        queryset=Region.objects.none(),
        empty_label=_("全部区县"),
    )
    amount_min = django_filters.NumberFilter(
        label=_("金额下限(万元)"), method="filter_amount_min", min_value=0
    )
    amount_max = django_filters.NumberFilter(
        label=_("金额上限(万元)"), method="filter_amount_max", min_value=0
    )
    updated_since = django_filters.DateFilter(
        label=_("最近动态晚于"),
        field_name="last_activity_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Project
        fields = ["q", "stage", "work_type", "province", "city", "district"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        # As on the bulletin list: cities follow the province, districts the city.
        data = data or {}
        if province := int_or_none(data.get("province")):
            self.form.fields["city"].queryset = Region.objects.children_of(province)
        if city := int_or_none(data.get("city")):
            self.form.fields["district"].queryset = Region.objects.children_of(city)

    def filter_amount_min(self, queryset, name, value):
        return queryset.filter(amount_yuan__gte=int(value * 10_000))

    def filter_amount_max(self, queryset, name, value):
        return queryset.filter(amount_yuan__lte=int(value * 10_000))


@dataclass(frozen=True)
class ProjectRow:
    """One project of a list, its name masked like a bulletin title: a name cut from a
    body may carry the contacts written after it."""

    id: int
    name: str
    url: str
    stage: str
    region_display: str
    work_type: str
    amount_yuan: int | None
    last_activity_at: object


def _contact_values_by_project(ids) -> dict[int, list[str]]:
    values: dict[int, list[str]] = {}
    rows = ProjectContact.objects.filter(project_id__in=list(ids)).values_list(
        "project_id", "person", "phone", "mobile", "email"
    )
    for project_id, *fields in rows:
        values.setdefault(project_id, []).extend(v for v in fields if v)
    return values


def project_rows(projects, *, viewer) -> list[ProjectRow]:
    """View objects of some projects (regions selected) for one viewer: staff see names as
    stored, everyone else masked with each project's contacts (one query)."""
    projects = list(projects)
    staff = member_rights(viewer).is_staff
    values = {} if staff else _contact_values_by_project(p.pk for p in projects)
    return [
        ProjectRow(
            id=p.pk,
            name=p.name if staff else mask_text(p.name, values=values.get(p.pk, ())),
            url=p.get_absolute_url(),
            stage=p.get_stage_display() if p.stage else "",
            region_display=p.region_display,
            work_type=p.get_work_type_display(),
            amount_yuan=p.amount_yuan,
            last_activity_at=p.last_activity_at,
        )
        for p in projects
    ]


@dataclass
class ProjectListing:
    filter: FilterView
    page: object
    rows: list[ProjectRow]


def project_listing(params, *, viewer=None, page_number=1) -> ProjectListing:
    """Projects newest activity first; stages and regions are public, names masked."""
    project_filter = ProjectFilter(params or None, queryset=Project.objects.active())
    ordered = project_filter.qs.order_by("-last_activity_at", "-id")
    paginator = CappedPaginator(
        ordered.values_list("pk", flat=True), PAGE_SIZE, count_queryset=ordered, cap=COUNT_CAP
    )
    page = paginator.get_page(page_number)
    ids = list(page.object_list)
    rows = Project.objects.filter(pk__in=ids).select_related("province", "city", "region")
    by_id = {p.pk: p for p in rows}
    ordered_rows = [by_id[i] for i in ids if i in by_id]
    return ProjectListing(
        filter_view(project_filter), page, project_rows(ordered_rows, viewer=viewer)
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: object
    kind: str  # "bulletin" | "stage"
    text: str
    url: str = ""
    category: str = ""


@dataclass(frozen=True)
class PartyRow:
    role: str
    organization: str
    url: str
    first_seen: object
    last_seen: object


@dataclass(frozen=True)
class ProjectDetail:
    id: int
    name: str
    url: str
    region_display: str
    stage: str
    work_type: str
    amount_yuan: int | None
    last_activity_at: object
    timeline: list[TimelineEntry]
    parties: list[PartyRow]
    contacts: list[ContactView]
    access: ContactAccess
    bid_results: BidResults = field(default_factory=BidResults)


def project_detail(pk: int, *, viewer) -> ProjectDetail:
    """A project's page for one viewer; a merged project raises Project.DoesNotExist with
    `merged_into` set on the exception for the view to redirect."""
    project = Project.objects.select_related("province", "city", "region").get(pk=pk)
    if project.merged_into_id:
        error = Project.DoesNotExist()
        error.merged_into = project.merged_into_id
        raise error
    access = contact_access(viewer, project.pk, kind="project")
    contacts = list(ProjectContact.objects.filter(project=project).select_related("organization"))
    values = () if access.visible else contact_values(contacts)
    bulletins = list(
        Bulletin.objects.published()
        .filter(project=project)
        .select_related("category")
        .only("id", "title", "published_at", "category__name")
        .order_by("-published_at", "-id")
    )
    timeline = [
        TimelineEntry(
            b.published_at,
            "bulletin",
            b.title if access.visible else mask_text(b.title, values=values),
            b.get_absolute_url(),
            b.category.name,
        )
        for b in bulletins
    ] + [
        TimelineEntry(c.changed_at, "stage", str(c.get_stage_display()))
        for c in project.stage_changes.all()
    ]
    timeline.sort(key=lambda e: (e.at, e.kind == "stage"), reverse=True)
    parties = [
        PartyRow(
            p.get_role_display(),
            p.organization.name if access.visible else mask_text(p.organization.name),
            p.organization.get_absolute_url(),
            p.first_seen,
            p.last_seen,
        )
        for p in ProjectParty.objects.filter(project=project).select_related("organization")
    ]
    return ProjectDetail(
        id=project.pk,
        name=project.name if access.visible else mask_text(project.name, values=values),
        url=project.get_absolute_url(),
        region_display=project.region_display,
        stage=project.get_stage_display() if project.stage else "",
        work_type=project.get_work_type_display(),
        amount_yuan=project.amount_yuan,
        last_activity_at=project.last_activity_at,
        timeline=timeline,
        parties=parties,
        contacts=[_contact_row(c, visible=access.visible) for c in contacts],
        access=access,
        bid_results=bid_results(viewer=viewer, project_id=project.pk),
    )


def _contact_row(contact: ProjectContact, *, visible: bool) -> ContactView:
    return contact_view(_AsContact(contact), visible=visible)


class _AsContact:
    """A ProjectContact in the shape contact_view reads (organisation as a name)."""

    def __init__(self, row: ProjectContact):
        self.organization = row.organization.name if row.organization else ""
        self.role, self.person, self.title = row.role, row.person, row.title
        self.phone, self.mobile, self.email = row.phone, row.mobile, row.email


@dataclass(frozen=True)
class OrganizationProject:
    project: ProjectRow
    role: str
    first_seen: object
    last_seen: object


@dataclass(frozen=True)
class OrganizationPage:
    name: str
    projects: list[OrganizationProject]
    bids: OrganizationBids | None = None


def organization_page(pk: int, *, viewer=None) -> OrganizationPage:
    """An organisation and the projects it took part in; names masked like titles (an
    organisation's name is public, but one cut from a body may carry contacts)."""
    organization = Organization.objects.get(pk=pk)
    parties = list(
        ProjectParty.objects.filter(organization=organization, project__merged_into__isnull=True)
        .select_related("project__province", "project__city", "project__region")
        .order_by("-last_seen")
    )
    rows = project_rows([p.project for p in parties], viewer=viewer)
    staff = member_rights(viewer).is_staff
    return OrganizationPage(
        organization.name if staff else mask_text(organization.name),
        [
            OrganizationProject(row, p.get_role_display(), p.first_seen, p.last_seen)
            for row, p in zip(rows, parties, strict=True)
        ],
        organization_bids(pk, viewer=viewer),
    )


def project_feed_items(pk: int) -> ProjectDetail:
    """A project's page as an anonymous viewer sees it, for its feed (feeds are public
    and cached): name and timeline masked."""
    return project_detail(pk, viewer=None)
