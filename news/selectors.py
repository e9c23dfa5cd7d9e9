"""Non-trivial reads for bulletin pages."""

from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Page
from django.db.models import Prefetch

from news.filters import BulletinFilter, int_or_none
from news.models import Bulletin, Category, Contact, Region
from news.paging import COUNT_CAP, SEARCH_COUNT_CAP, CappedPaginator
from news.snippets import snippet

PAGE_SIZE = 20
# Regions and categories change rarely (an import may add an unverified region, which
# clears its parent's entry); rendering their <option>s from a cached list instead of
# through form widgets is most of what keeps the list page cheap.
OPTIONS_TIMEOUT = 600


def region_options(parent_id: int | None) -> list[tuple[int, str]]:
    return cache.get_or_set(
        f"news:region-options:{parent_id or 0}",
        lambda: list(Region.objects.filter(parent_id=parent_id).values_list("id", "name")),
        OPTIONS_TIMEOUT,
    )


def region_options_forget(parent_id: int | None) -> None:
    cache.delete(f"news:region-options:{parent_id or 0}")


def category_options() -> list[tuple[str, str]]:
    return cache.get_or_set(
        "news:category-options",
        lambda: list(Category.objects.values_list("slug", "name")),
        OPTIONS_TIMEOUT,
    )


def category_options_forget() -> None:
    cache.delete("news:category-options")


def filter_options(bulletin_filter: BulletinFilter) -> dict:
    """Option lists for the filter form: cities follow the province, districts the city."""
    data = bulletin_filter.data or {}
    province, city = int_or_none(data.get("province")), int_or_none(data.get("city"))
    return {
        "categories": category_options(),
        "provinces": region_options(None),
        "cities": region_options(province) if province else [],
        "districts": region_options(city) if city else [],
    }


HOME_ITEMS_PER_CATEGORY = 8


def home_sections() -> list[tuple[Category, list[tuple[Bulletin, str]]]]:
    """Latest published bulletins per category: one query per category, not per row."""
    sections = []
    for category in Category.objects.all():
        items = list(
            Bulletin.objects.published()
            .filter(category=category)
            .for_listing()
            .newest_first()[:HOME_ITEMS_PER_CATEGORY]
        )
        sections.append((category, [(b, "") for b in items]))
    return sections


def bulletin_for_page(pk: int) -> Bulletin:
    """A published bulletin with everything its page shows; raises Bulletin.DoesNotExist."""
    return (
        Bulletin.objects.published()
        .defer("search_vector")
        .select_related("category", "region", "city", "province")
        .prefetch_related(Prefetch("contacts", queryset=Contact.objects.order_by("position", "id")))
        .get(pk=pk)
    )


@dataclass
class Listing:
    filter: BulletinFilter
    page: Page
    rows: list[tuple[Bulletin, str]]  # (bulletin, snippet or "")


def bulletin_listing(params, *, page_number=1, contacts_visible: bool, per_page=PAGE_SIZE):
    """One page of the list / search, the same for the list page and the feeds."""
    bulletin_filter = BulletinFilter(params or None, queryset=Bulletin.objects.published())
    matched = bulletin_filter.qs
    query = bulletin_filter.parsed_query
    cap = SEARCH_COUNT_CAP if query else COUNT_CAP
    if bulletin_filter.sort_mode == "relevance" and query.include:
        # Rank only the newest `cap` matches: bounded cost for very common terms, and the
        # same rows the capped count and the deepest page can reach.
        newest = matched.newest_first().values("pk")[:cap]
        ordered = Bulletin.objects.filter(pk__in=newest).by_relevance(query)
    else:
        ordered = matched.newest_first()
    # Paginate ids only: a deep OFFSET then walks the index alone (an index-only scan),
    # and only the page's 20 rows are read from the table.
    paginator = CappedPaginator(
        ordered.values_list("pk", flat=True), per_page, count_queryset=matched, cap=cap
    )
    page = paginator.get_page(page_number)
    ids = list(page.object_list)
    by_id = Bulletin.objects.filter(pk__in=ids).for_listing(with_body=bool(query.include))
    by_id = {b.pk: b for b in by_id}
    bulletins = [by_id[pk] for pk in ids if pk in by_id]
    terms = query.highlight_terms
    rows = [
        (b, snippet(b.body, terms, contacts_visible=contacts_visible) if terms else "")
        for b in bulletins
    ]
    return Listing(bulletin_filter, page, rows)
