from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from members.access import contacts_visible_to
from news import selectors
from news.filters import BulletinFilter
from news.masking import contact_view, mask_text
from news.models import Bulletin, Region

PAGE_SIZE = 20


def home(request):
    return render(request, "news/home.html", {"sections": selectors.home_sections()})


def bulletin_list(request):
    bulletin_filter = BulletinFilter(
        request.GET, queryset=Bulletin.objects.published().for_listing().newest_first()
    )
    page = Paginator(bulletin_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "news/bulletin_list.html",
        {"filter": bulletin_filter, "page": page, "query_string": query.urlencode()},
    )


def bulletin_detail(request, pk: int):
    try:
        bulletin = selectors.bulletin_for_page(pk)
    except Bulletin.DoesNotExist:
        raise Http404("bulletin not found") from None
    visible = contacts_visible_to(user=request.user)
    contacts = [contact_view(c, visible=visible) for c in bulletin.contacts.all()]
    paragraphs = bulletin.paragraphs if visible else [mask_text(p) for p in bulletin.paragraphs]
    context = {
        "bulletin": bulletin,
        "paragraphs": paragraphs,
        "contacts": contacts,
        "contacts_visible": visible,
    }
    return render(request, "news/bulletin_detail.html", context)


@require_GET
def region_children(request, pk: int):
    """Options for the dependent city / district selects of the filter form."""
    children = Region.objects.children_of(pk).values("id", "name")
    return JsonResponse({"results": list(children)})
