"""导出 Excel / CSV: a page explaining the plan's limit and today's quota (GET, no side
effect), and the file (POST: it spends reveals, so a prefetch never does)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from members.access import member_rights, reveals_today
from members.models import SavedSearch
from members.saved_searches import saved_search_ids
from news import exports

_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _page(request, *, action: str, back: str, title: str, status: int = 200, error: str = ""):
    rights = member_rights(request.user)
    context = {
        "rights": rights,
        "action": action,
        "back": back,
        "subject": title,
        "error": error,
        "used": reveals_today(request.user) if rights.sees_contacts else 0,
    }
    if rights.sees_contacts and not rights.is_staff:
        context["left"] = max(rights.daily_quota - context["used"], 0)
    return render(request, "news/export.html", context, status=status)


def _file(request, ids_for_limit, *, action, back, title):
    fmt = request.POST.get("format")
    if fmt not in exports.FORMATS:
        return _page(
            request,
            action=action,
            back=back,
            title=title,
            status=400,
            error=_("导出格式无效:请选择 Excel 或 CSV。"),
        )
    try:
        limit = exports.export_limit(request.user)
    except exports.ExportError as exc:
        return _page(request, action=action, back=back, title=title, status=403, error=str(exc))
    export = exports.build_export(
        ids_for_limit(limit), viewer=request.user, ip=request.META.get("REMOTE_ADDR")
    )
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.csv_chunks(export), content_type=_CONTENT_TYPES[fmt]
        )
    else:
        response = HttpResponse(exports.xlsx_bytes(export), content_type=_CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(fmt)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def bulletin_export(request):
    """The list/search page's results: the same query string, the same rows."""
    params = request.POST if request.method == "POST" else request.GET
    query = params.copy()
    for key in ("page", "format", "csrfmiddlewaretoken"):
        query.pop(key, None)
    back = reverse("bulletin-list") + (f"?{query.urlencode()}" if query else "")
    action = reverse("bulletin-export") + (f"?{query.urlencode()}" if query else "")
    title = _("当前搜索结果")
    if request.method != "POST":
        return _page(request, action=action, back=back, title=title)
    return _file(
        request,
        lambda limit: exports.search_ids(request.GET, viewer=request.user, limit=limit),
        action=action,
        back=back,
        title=title,
    )


@login_required
def saved_search_export(request, pk: int):
    search = get_object_or_404(SavedSearch, pk=pk, user=request.user)
    action = reverse("saved-search-export", args=[pk])
    back = reverse("saved-search-edit", args=[pk])
    title = _("订阅“%(name)s”匹配的标讯") % {"name": search.name}
    if request.method != "POST":
        return _page(request, action=action, back=back, title=title)
    return _file(
        request,
        lambda limit: saved_search_ids(search, limit=limit),
        action=action,
        back=back,
        title=title,
    )
