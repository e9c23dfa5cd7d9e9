from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from members.access import contacts_visible_to
from news import selectors
from news.masking import contact_view, mask_text
from news.models import Bulletin
from portal.pagecache import cache_anonymous_page


@cache_anonymous_page
def home(request):
    return render(request, "news/home.html", {"sections": selectors.home_sections()})


@cache_anonymous_page
def bulletin_list(request):
    listing = selectors.bulletin_listing(
        request.GET,
        page_number=request.GET.get("page"),
        contacts_visible=contacts_visible_to(user=request.user),
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"listing": listing, "filter": listing.filter, "page": listing.page}
    context["options"] = selectors.filter_options(listing.filter)
    context["query_string"] = query.urlencode()
    return render(request, "news/bulletin_list.html", context)


@cache_anonymous_page
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
    children = selectors.region_options(pk)
    return JsonResponse({"results": [{"id": id_, "name": name} for id_, name in children]})
