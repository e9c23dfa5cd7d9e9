from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from members import services as member_services
from news import selectors
from news.models import Bulletin
from portal.pagecache import cache_anonymous_page


@cache_anonymous_page
def home(request):
    return render(request, "news/home.html", {"sections": selectors.home_sections(request.user)})


@cache_anonymous_page
def bulletin_list(request):
    listing = selectors.bulletin_listing(
        request.GET, viewer=request.user, page_number=request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"listing": listing, "filter": listing.filter, "page": listing.page}
    context["options"] = selectors.filter_options(listing.filter)
    context["query_string"] = query.urlencode()
    return render(request, "news/bulletin_list.html", context)


def _detail_page(request, pk: int, *, status: int = 200):
    try:
        detail = selectors.bulletin_detail(pk, viewer=request.user)
    except Bulletin.DoesNotExist:
        raise Http404("bulletin not found") from None
    return render(request, "news/bulletin_detail.html", {"detail": detail}, status=status)


@cache_anonymous_page
def bulletin_detail(request, pk: int):
    return _detail_page(request, pk)


@require_POST
def bulletin_reveal(request, pk: int):
    """查看联系方式: spends one of today's reveals (a POST, so prefetching spends nothing)."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?next={reverse('bulletin-detail', args=[pk])}")
    if not Bulletin.objects.published().filter(pk=pk).exists():
        raise Http404("bulletin not found")
    try:
        member_services.contact_reveal(
            user=request.user, bulletin_id=pk, ip=request.META.get("REMOTE_ADDR")
        )
    except member_services.NotEntitled:
        messages.warning(request, _("查看联系方式需要开通付费会员。"))
        return _detail_page(request, pk, status=403)
    except member_services.QuotaExceeded as exc:
        messages.warning(
            request,
            _(
                "今日查看联系方式的 %(n)s 条额度已用完,明日自动恢复;"
                "如需更多额度请致电会员热线升级套餐。"
            )
            % {"n": exc.quota},
        )
        return _detail_page(request, pk, status=429)
    return redirect(reverse("bulletin-detail", args=[pk]) + "#contacts")


@require_GET
def region_children(request, pk: int):
    """Options for the dependent city / district selects of the filter form."""
    children = selectors.region_options(pk)
    return JsonResponse({"results": [{"id": id_, "name": name} for id_, name in children]})
