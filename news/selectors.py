"""Non-trivial reads for bulletin pages."""

from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.paginator import Page
from django.db.models import Prefetch, prefetch_related_objects

from members.access import ContactAccess, contact_access, member_rights, visible_bulletin_ids
from news.bid_selectors import BidResults, bid_results
from news.filters import BulletinFilter, int_or_none
from news.mask_plans import masked_title_body
from news.masking import ContactView, contact_values, contact_view, mask_text
from news.models import Bulletin, Category, Contact, Region
from news.paging import COUNT_CAP, SEARCH_COUNT_CAP, CappedPaginator
from news.search_plans import WalkTooLong, bitmap_search, counts_by_walk, row_walk
from news.search_windows import windows
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


@dataclass(frozen=True)
class FilterView:
    """What a template shows of a FilterSet: its form and what the query asked, never the
    FilterSet itself (it holds the QuerySet of raw rows)."""

    form: object
    data: dict
    is_bound: bool
    parsed_query: object = None
    sort_mode: str = ""


def filter_view(filterset) -> FilterView:
    return FilterView(
        form=filterset.form,
        data=dict(filterset.data.items()) if filterset.data else {},
        is_bound=filterset.is_bound,
        parsed_query=getattr(filterset, "parsed_query", None),
        sort_mode=getattr(filterset, "sort_mode", ""),
    )


def filter_options(bulletin_filter) -> dict:
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
_CONTACTS = Prefetch("contacts", queryset=Contact.objects.order_by("position", "id"))


# --- per-viewer views: templates get these, never a Bulletin with its body or contacts --


@dataclass(frozen=True)
class _BulletinHeading:
    """What every view of a bulletin shows; `title` is masked like the body."""

    id: int
    title: str
    url: str
    category_name: str
    category_slug: str
    region_display: str
    published_at: object


def _heading(bulletin: Bulletin, title: str) -> dict:
    return {
        "id": bulletin.pk,
        "title": title,
        "url": bulletin.get_absolute_url(),
        "category_name": bulletin.category.name,
        "category_slug": bulletin.category.slug,
        "region_display": bulletin.region_display,
        "published_at": bulletin.published_at,
    }


@dataclass(frozen=True)
class BulletinRow(_BulletinHeading):
    """One line of a list, feed or home section, masked for its viewer."""

    snippet: str  # safe HTML or ""
    opening: str  # the body's first paragraph, for feeds


def _row(bulletin: Bulletin, *, visible: bool, terms=()) -> BulletinRow:
    body = bulletin.__dict__.get("body")
    title = bulletin.title
    if not visible:
        values = contact_values(bulletin.contacts.all())
        if body is None:
            title = mask_text(title, values=values)
        else:  # the body is masked whole (then cut), along its stored plan when fresh
            title, body = masked_title_body(
                title=title, body=body, values=values, plan=bulletin.mask_plan
            )
    return BulletinRow(
        **_heading(bulletin, title),
        snippet=snippet(body, terms, contacts_visible=True) if terms and body else "",
        opening=body.split("\n\n", 1)[0] if body else "",
    )


def bulletin_rows(bulletins, *, viewer) -> list[BulletinRow]:
    """View objects of some bulletins (read with `for_listing()`), masked for one viewer;
    their contacts are read in one query."""
    bulletins = list(bulletins)
    prefetch_related_objects(bulletins, _CONTACTS)
    visible = visible_bulletin_ids(viewer, [b.pk for b in bulletins])
    return [_row(b, visible=b.pk in visible) for b in bulletins]


def bulletin_heading(pk, *, viewer) -> _BulletinHeading | None:
    """A published bulletin's heading (title masked as on its page) or None: for pages
    that name a bulletin without showing it (意见反馈)."""
    bulletin = (
        Bulletin.objects.published().filter(pk=pk).for_listing().prefetch_related(_CONTACTS).first()
    )
    if bulletin is None:
        return None
    visible = bool(visible_bulletin_ids(viewer, [bulletin.pk]))
    values = () if visible else contact_values(bulletin.contacts.all())
    title = bulletin.title if visible else mask_text(bulletin.title, values=values)
    return _BulletinHeading(**_heading(bulletin, title))


def home_sections(viewer) -> list[tuple[Category, list[BulletinRow]]]:
    """Latest published bulletins per category: one query per category, not per row."""
    sections = []
    for category in Category.objects.all():
        items = list(
            Bulletin.objects.published()
            .filter(category=category)
            .for_listing()
            .prefetch_related(_CONTACTS)
            .newest_first()[:HOME_ITEMS_PER_CATEGORY]
        )
        visible = visible_bulletin_ids(viewer, [b.pk for b in items])
        sections.append((category, [_row(b, visible=b.pk in visible) for b in items]))
    return sections


@dataclass(frozen=True)
class BulletinDetail(_BulletinHeading):
    """Everything the detail page shows, masked or not as the policy decided."""

    amount_yuan: int | None
    bid_deadline: object
    registration_deadline: object
    opening_at: object
    stage: str
    winner: str
    source_url: str
    paragraphs: list[str]
    contacts: list[ContactView]
    access: ContactAccess
    project_name: str = ""
    project_url: str = ""
    project_stage: str = ""
    bid_results: BidResults = field(default_factory=BidResults)


def bulletin_detail(pk: int, *, viewer) -> BulletinDetail:
    """A published bulletin's page for one viewer; raises Bulletin.DoesNotExist."""
    bulletin = (
        Bulletin.objects.published()
        .defer("hidden_lexemes", "title_vector", "contact_vector")
        .select_related("category", "region", "city", "province", "project")
        .prefetch_related(_CONTACTS)
        .get(pk=pk)
    )
    project = bulletin.project if bulletin.project and not bulletin.project.merged_into_id else None
    access = contact_access(viewer, bulletin.pk)
    contacts = list(bulletin.contacts.all())
    values = () if access.visible else contact_values(contacts)
    # The body is masked whole, then cut: a 联系方式 section spans paragraphs, and
    # masking fails closed within it (news/masking.py).
    title, body = bulletin.title, bulletin.body
    if not access.visible:
        title, body = masked_title_body(
            title=title, body=body, values=values, plan=bulletin.mask_plan
        )
    paragraphs = Bulletin.split_paragraphs(body)
    return BulletinDetail(
        **_heading(bulletin, title),
        amount_yuan=bulletin.amount_yuan,
        bid_deadline=bulletin.bid_deadline,
        registration_deadline=bulletin.registration_deadline,
        opening_at=bulletin.opening_at,
        stage=bulletin.stage,
        winner=bulletin.winner,
        source_url=bulletin.source_url,
        paragraphs=paragraphs,
        contacts=[contact_view(c, visible=access.visible) for c in contacts],
        access=access,
        project_name=(project.name if access.visible else mask_text(project.name, values=values))
        if project
        else "",
        project_url=project.get_absolute_url() if project else "",
        project_stage=project.get_stage_display() if project and project.stage else "",
        bid_results=bid_results(viewer=viewer, bulletin_id=bulletin.pk),
    )


@dataclass
class Listing:
    filter: FilterView
    page: Page
    rows: list[BulletinRow]


def bulletin_listing(params, *, viewer, page_number=1, per_page=None, masked=False):
    """One page of the list / search for a viewer (feeds pass viewer=None: masked).

    masked=True: the viewer's rights choose which rows match (contact search) but every
    row is masked, even one they revealed: a page part shared by a class of viewers."""
    rights = member_rights(viewer)
    try:
        bulletin_filter, page, ids = _listing_page(params, rights, page_number, per_page)
    except WalkTooLong:  # common terms that rarely meet: the index answers after all
        bulletin_filter, page, ids = _listing_page(
            params, rights, page_number, per_page, allow_scan=False
        )
    query = bulletin_filter.parsed_query
    by_id = (
        Bulletin.objects.filter(pk__in=ids).for_listing(with_body=True).prefetch_related(_CONTACTS)
    )
    by_id = {b.pk: b for b in by_id}
    visible = set() if masked else visible_bulletin_ids(viewer, ids)
    terms = query.highlight_terms
    rows = [_row(by_id[pk], visible=pk in visible, terms=terms) for pk in ids if pk in by_id]
    return Listing(filter_view(bulletin_filter), page, rows)


def _listing_page(params, rights, page_number, per_page, *, allow_scan=True):
    """(filter, page, ids) of the list / search; news.search_plans chooses the plan and
    news.search_windows how many of the newest weeks a common term's search reads."""
    per_page = per_page or PAGE_SIZE
    number = int_or_none(page_number) or 1
    relevance = (params or {}).get("sort") != "newest"

    def build(*, scan: bool, window=None):
        bulletin_filter = BulletinFilter(
            params or None,
            queryset=Bulletin.objects.published(),
            search_contacts=rights.searches_contacts,
            allow_scan=scan,
            rows_needed=SEARCH_COUNT_CAP if relevance else min(number, 50) * per_page,
        )
        bulletin_filter.window = window
        return bulletin_filter

    bulletin_filter = build(scan=allow_scan)
    query = bulletin_filter.parsed_query
    cap = SEARCH_COUNT_CAP if query else COUNT_CAP
    paginator, walk, walk_count = _paginator(bulletin_filter, build, cap, per_page)
    if not walk:
        for window in windows(
            query,
            filters=bulletin_filter.filter_lexemes,
            title_only=bulletin_filter.title_only_selected,
        ):
            windowed = build(scan=False, window=window)
            candidate = _paginator(windowed, build, cap, per_page)[0]
            with bitmap_search(query):
                if candidate.capped:  # more than the cap: the newest matches are all here
                    bulletin_filter, paginator = windowed, candidate
                    break
    with row_walk() if walk_count else bitmap_search(query):
        paginator.count  # noqa: B018 (the capped count, cached for get_page)
    with row_walk() if walk else bitmap_search(query):
        page = paginator.get_page(page_number)
        ids = list(page.object_list)
    return bulletin_filter, page, ids


def _paginator(bulletin_filter, build, cap, per_page):
    """(paginator of ids, whether it walks rows, whether its count walks too)."""
    matched = bulletin_filter.qs
    query = bulletin_filter.parsed_query
    if bulletin_filter.sort_mode == "relevance" and query.include:
        # Rank only the newest `cap` matches: bounded cost for very common terms, and the
        # same rows the capped count and the deepest page can reach.
        newest = matched.newest_first().values("pk")[:cap]
        ordered = Bulletin.objects.filter(pk__in=newest).by_relevance(query)
    else:
        ordered = matched.newest_first()
    # Paginate ids only: a deep OFFSET then walks the index alone (an index-only scan),
    # and only the page's 20 rows are read from the table.
    walk = bulletin_filter.scans_rows
    walk_count = walk and counts_by_walk(query)
    if walk_count:
        counted = matched.newest_first().values("pk")
    else:
        counted = build(scan=False).qs if walk else matched
    paginator = CappedPaginator(
        ordered.values_list("pk", flat=True),
        per_page,
        count_queryset=counted,
        cap=cap,
        count_ordered=walk_count,
    )
    return paginator, walk, walk_count
