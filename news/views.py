from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from members import services as member_services
from members.access import member_rights, visible_bulletin_ids
from news import selectors
from news.models import Bulletin
from portal.pagecache import cache_anonymous_page, shared_fragment


@cache_anonymous_page
def home(request):
    return render(request, "news/home.html", {"sections": selectors.home_sections(request.user)})


@dataclass(frozen=True)
class ListMain:
    """The list page without its chrome, and what the chrome needs from it."""

    html: str
    is_search: bool
    page_number: int
    query_string: str
    ids: tuple[int, ...]


def _list_main(request, *, masked: bool) -> ListMain:
    listing = selectors.bulletin_listing(
        request.GET, viewer=request.user, page_number=request.GET.get("page"), masked=masked
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"listing": listing, "filter": listing.filter, "page": listing.page}
    context["options"] = selectors.filter_options(listing.filter)
    context["query_string"] = query.urlencode()
    # No request: context processors (user, messages, CSP nonce) cannot reach a part
    # that other viewers are served.
    return ListMain(
        html=render_to_string("news/_bulletin_list_main.html", context),  # a SafeString
        is_search=bool(listing.filter.parsed_query),
        page_number=listing.page.number,
        query_string=context["query_string"],
        ids=tuple(row.id for row in listing.rows),
    )


@cache_anonymous_page
def bulletin_list(request):
    share = member_rights(request.user).shared_pages
    main = shared_fragment(
        request,
        name="bulletin-list",
        share=share,
        build=lambda: _list_main(request, masked=share is not None),
    )
    if share is not None and visible_bulletin_ids(request.user, main.ids):
        # Rows this member revealed today: their page is theirs alone, never stored.
        main = _list_main(request, masked=False)
    return render(request, "news/bulletin_list.html", {"main": main})


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
