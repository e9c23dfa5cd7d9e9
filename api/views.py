"""The read-only API (/api/v1/): bulletins, projects, companies (organisations).

Contacts: every list and detail is masked, for every key. The one way to unmasked contacts
is POST …/bulletins/<id>/reveal/ (or …/projects/<id>/reveal/), which spends one of today's
reveals exactly as 查看联系方式 does, logged with the member and IP; a second reveal of
the same bulletin that day is free. So a script cannot read contacts past the plan's quota,
and staff's audit log shows every one it read."""

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from api import ocds, serializers
from members import services as member_services
from news import project_selectors, selectors
from news.filters import BulletinFilter
from news.masking import mask_text
from news.models import Bulletin, Organization, Project
from news.search_plans import bitmap_search


class _Cursor(CursorPagination):
    """Cursor pages: a deep page costs what the first does (an index range, no OFFSET)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class _NewestBulletins(_Cursor):
    ordering = ("-published_at", "-id")


class _RecentProjects(_Cursor):
    ordering = ("-last_activity_at", "-id")


class _Companies(_Cursor):
    ordering = ("-id",)


def _valid(filterset):
    if filterset.is_bound and not filterset.form.is_valid():
        raise ValidationError(filterset.form.errors.get_json_data())
    return filterset


class BulletinList(APIView):
    """?q= &title_only=on &category= &province= &city= &district= &date_from= &date_to=
    (as /bulletins/); newest first. Search covers the public (masked) text only."""

    def get(self, request):
        params = request.query_params
        bulletin_filter = _valid(
            BulletinFilter(params or None, queryset=Bulletin.objects.published(), allow_scan=False)
        )
        paginator = _NewestBulletins()
        matched = bulletin_filter.qs.only("id", "published_at")
        with bitmap_search(bulletin_filter.parsed_query):
            page = paginator.paginate_queryset(matched, request, view=self)
        ids = [b.pk for b in page]
        loaded = Bulletin.objects.filter(pk__in=ids).for_listing()
        by_id = {b.pk: b for b in loaded}
        rows = selectors.bulletin_rows([by_id[i] for i in ids if i in by_id], viewer=None)
        return paginator.get_paginated_response([serializers.bulletin_row(r) for r in rows])


def _bulletin(pk, *, viewer=None):
    try:
        return selectors.bulletin_detail(pk, viewer=viewer)
    except Bulletin.DoesNotExist:
        raise Http404 from None


class BulletinDetail(APIView):
    def get(self, request, pk: int):
        return Response(serializers.bulletin_detail(_bulletin(pk)))


def _reveal(request, **subject):
    """Spend a reveal; None when it went through, else the refusal."""
    try:
        member_services.contact_reveal(
            user=request.user, ip=request.META.get("REMOTE_ADDR"), **subject
        )
    except member_services.NotEntitled:
        return Response(
            {"detail": _("查看联系方式需要开通付费会员。")}, status=status.HTTP_403_FORBIDDEN
        )
    except member_services.QuotaExceeded as exc:
        return Response(
            {
                "detail": _("今日查看联系方式的 %(n)s 条额度已用完,明日自动恢复。")
                % {"n": exc.quota},
                "code": "reveal_quota_exceeded",
            },
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    return None


class BulletinReveal(APIView):
    def post(self, request, pk: int):
        _bulletin(pk)  # 404 before anything is spent
        refused = _reveal(request, bulletin_id=pk)
        if refused:
            return refused
        return Response(serializers.bulletin_detail(_bulletin(pk, viewer=request.user)))


class BulletinOcds(APIView):
    def get(self, request, pk: int):
        package = ocds.release_package(pk)
        if package is None:
            raise Http404
        return Response(package)


class ProjectList(APIView):
    """?q= (name) &stage= &work_type= &province= &city= &district= &amount_min= &amount_max=
    &updated_since= (as /projects/); newest activity first."""

    def get(self, request):
        project_filter = _valid(
            project_selectors.ProjectFilter(
                request.query_params or None, queryset=Project.objects.active()
            )
        )
        paginator = _RecentProjects()
        page = paginator.paginate_queryset(
            project_filter.qs.only("id", "last_activity_at"), request, view=self
        )
        ids = [p.pk for p in page]
        loaded = Project.objects.filter(pk__in=ids).select_related("province", "city", "region")
        by_id = {p.pk: p for p in loaded}
        rows = project_selectors.project_rows([by_id[i] for i in ids if i in by_id], viewer=None)
        return paginator.get_paginated_response([serializers.project_row(r) for r in rows])


def _project(pk, *, viewer=None):
    try:
        return project_selectors.project_detail(pk, viewer=viewer)
    except Project.DoesNotExist:
        raise Http404 from None


class ProjectDetail(APIView):
    def get(self, request, pk: int):
        return Response(serializers.project_detail(_project(pk)))


class ProjectReveal(APIView):
    def post(self, request, pk: int):
        _project(pk)
        refused = _reveal(request, project_id=pk)
        if refused:
            return refused
        return Response(serializers.project_detail(_project(pk, viewer=request.user)))


class ProjectOc4ids(APIView):
    def get(self, request, pk: int):
        package = ocds.project_package(pk)
        if package is None:
            raise Http404
        return Response(package)


class CompanyList(APIView):
    """?q= (part of the name); newest first. Names masked like titles."""

    def get(self, request):
        q = request.query_params.get("q", "").strip()
        if len(q) > 60:
            raise ValidationError({"q": [_("关键词最多 60 个字。")]})
        companies = Organization.objects.only("id", "name")
        if q:
            companies = companies.filter(name__icontains=q)
        paginator = _Companies()
        page = paginator.paginate_queryset(companies, request, view=self)
        return paginator.get_paginated_response(
            [
                {
                    "id": o.pk,
                    "name": mask_text(o.name),
                    "url": serializers._url(o.get_absolute_url()),
                }
                for o in page
            ]
        )


class CompanyDetail(APIView):
    def get(self, request, pk: int):
        try:
            page = project_selectors.organization_page(pk, viewer=None)
        except Organization.DoesNotExist:
            raise Http404 from None
        return Response(
            {
                "id": pk,
                "name": page.name,
                "projects": [
                    {
                        **serializers.project_row(p.project),
                        "role": p.role,
                        "first_seen": serializers._when(p.first_seen),
                        "last_seen": serializers._when(p.last_seen),
                    }
                    for p in page.projects
                ],
            }
        )
