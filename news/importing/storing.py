"""Storing parsed pages: duplicates, reposts, and one multi-row INSERT per batch.

A batch (news.importing.pipeline sends 100 files) is parsed, then checked against what is
stored and against its own earlier pages: the same source URL or normalised title + body
is a duplicate, and so is a repost that is not byte-identical (news/importing/
near_duplicates.py), reported with the original and the similarity. The new pages are
written with one INSERT for the bulletins and one for their contacts, in one transaction.
If that INSERT fails (a row another import stored meanwhile, a value the database
refuses), the batch falls back to one savepoint per file, so a bad file leaves nothing
behind and the others are still stored.
"""

import datetime
import functools
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from news.bid_results import bid_results_build
from news.events import bulletins_announce
from news.importing import near_duplicates
from news.importing.parser import ParsedBulletin
from news.importing.preparing import PreparedBatch, batch_prepare, contact_rows
from news.importing.preparing import PreparedPage as _Page
from news.linking import projects_link_bulletins, projects_link_stored
from news.models import BidResult, Bulletin, Category, Contact, LshBucket, Region
from news.regions import RegionIndex, region_resolve
from news.rows import insert_instances
from news.selectors import category_options_forget
from portal.pagecache import invalidate_pages_after_commit, invalidation_batched

logger = logging.getLogger(__name__)

# Candidates verified per page (ranked by shared LSH bands). One agency's template notices
# share bands too and can outrank a repost's original; compare() rejects them cheaply.
NEAR_DUPLICATE_CANDIDATES = 10


@dataclass
class FileResult:
    file: str
    status: str  # "imported" | "duplicate" | "error"
    error: str = ""
    bulletin_id: int | None = None
    url: str = ""
    duplicate_of: int | None = None
    similarity: float | None = None  # set for a near-duplicate (a repost, not identical)

    @property
    def near_duplicate(self) -> bool:
        return self.similarity is not None


def bulletins_import(
    *,
    files: list[tuple[str, bytes]],
    publish: bool = True,
    dry_run: bool = False,
    allow_near_duplicates: bool = False,
    cache: dict | None = None,
) -> list[FileResult]:
    """Import a batch of scraped pages; one result per file, in input order.

    `allow_near_duplicates` stores reposts anyway (staff's "import anyway"); exact
    duplicates are never stored twice, so re-running an import changes nothing.
    """
    return bulletins_store(
        batch_prepare(files),
        publish=publish,
        dry_run=dry_run,
        allow_near_duplicates=allow_near_duplicates,
        cache=cache,
    )


def bulletins_store(
    prepared: PreparedBatch,
    *,
    publish: bool = True,
    dry_run: bool = False,
    allow_near_duplicates: bool = False,
    cache: dict | None = None,
) -> list[FileResult]:
    """The database half of `bulletins_import`, for a batch news.importing.preparing
    parsed (perhaps in another process); one result per file, in input order."""
    cache = {} if cache is None else cache
    results: list[FileResult | None] = [None] * prepared.size
    for i, name, message in prepared.errors:
        results[i] = FileResult(name, "error", error=message)
    pages = prepared.pages
    known = _known_pages(pages)
    stored = _StoredBands([] if allow_near_duplicates else pages)
    fresh: list[_Page] = []
    by_band: dict[int, list[_Page]] = {}  # this batch's pages, for reposts within it
    for page in pages:
        duplicate = _duplicate_in(known, page)
        if duplicate is None and not allow_near_duplicates:
            duplicate = _near_duplicate(page, stored, by_band)
        if duplicate is not None:
            results[page.index] = duplicate
            continue
        fresh.append(page)
        for key in set(page.bands):
            by_band.setdefault(key, []).append(page)
        known[("fp", page.fingerprint)] = 0  # later pages of the batch are duplicates of it
        if page.parsed.source_url:
            known[("url", page.parsed.source_url)] = 0
    if dry_run:
        for page in fresh:
            results[page.index] = FileResult(page.name, "imported")
        return results
    with invalidation_batched(), transaction.atomic():
        for page, result in _store(fresh, publish, cache):
            results[page.index] = result
    return results


# --- duplicates --------------------------------------------------------------------------


def _known_pages(pages: list[_Page]) -> dict[tuple[str, str], int]:
    """Stored bulletins sharing a fingerprint or source URL with these pages, in one query."""
    if not pages:
        return {}
    fingerprints = [p.fingerprint for p in pages]
    urls = [p.parsed.source_url for p in pages if p.parsed.source_url]
    match = Q(fingerprint__in=fingerprints) | (Q(source_url__in=urls) if urls else Q(pk__in=[]))
    known = {}
    rows = Bulletin.objects.filter(match).order_by("pk")
    for pk, fp, url in rows.values_list("pk", "fingerprint", "source_url"):
        known.setdefault(("fp", fp), pk)
        if url:
            known.setdefault(("url", url), pk)
    return known


def _duplicate_in(known: dict, page: _Page) -> FileResult | None:
    found = known.get(("fp", page.fingerprint))
    if found is None and page.parsed.source_url:
        found = known.get(("url", page.parsed.source_url))
    if found is None:
        return None
    return FileResult(page.name, "duplicate", duplicate_of=found or None)


class _StoredBands:
    """The stored bulletins sharing LSH bands with a batch's pages: one index-only scan for
    the whole batch, and the bodies of every page's best candidates in one more query."""

    def __init__(self, pages: list[_Page]):
        keys = {key for page in pages for key in page.bands}
        self.by_key: dict[int, list[int]] = {}
        rows = LshBucket.objects.filter(key__in=keys).values_list("key", "bulletin_id")
        for key, bulletin_id in rows if keys else ():
            self.by_key.setdefault(key, []).append(bulletin_id)
        # Every page's best candidates are known now: their bodies in one query for the
        # batch (one per page cost ~40 small queries per 100 files).
        wanted = {i for page in pages for i in self._best(page.bands)}
        rows = Bulletin.objects.filter(pk__in=wanted).values_list("pk", "body") if wanted else ()
        self.bodies = {pk: near_duplicates.comparable(body) for pk, body in rows}

    def _best(self, bands: list[int]) -> list[int]:
        shared: dict[int, int] = {}
        for key in set(bands):
            for bulletin_id in self.by_key.get(key, ()):
                shared[bulletin_id] = shared.get(bulletin_id, 0) + 1
        return sorted(shared, key=lambda i: (-shared[i], -i))[:NEAR_DUPLICATE_CANDIDATES]

    def candidates(self, bands: list[int]) -> list[tuple[int, near_duplicates.Comparable]]:
        return [(i, self.bodies[i]) for i in self._best(bands) if i in self.bodies]


def _near_duplicate(
    page: _Page, stored: _StoredBands, earlier: dict[int, list[_Page]]
) -> FileResult | None:
    """A stored bulletin (or an earlier page of this batch) this page is a repost of."""
    if not page.bands:
        return None
    shared: dict[int, int] = {}
    pages = {}
    for key in set(page.bands):
        for other in earlier.get(key, ()):
            shared[other.index] = shared.get(other.index, 0) + 1
            pages[other.index] = other
    batch = sorted(shared, key=lambda i: -shared[i])[:NEAR_DUPLICATE_CANDIDATES]
    candidates = stored.candidates(page.bands) + [(None, pages[i].comparable) for i in batch]
    for pk, body in candidates:
        verdict = near_duplicates.compare(page.comparable, body)
        if verdict.duplicate:
            return FileResult(
                page.name,
                "duplicate",
                duplicate_of=pk,
                similarity=round(verdict.similarity, 3),
            )
    return None


def bulletin_buckets(bulletin_id: int, bands: list[int]) -> list[LshBucket]:
    return [LshBucket(key=key, bulletin_id=bulletin_id) for key in set(bands)]


def _insert_buckets(pages: list[tuple[int, list[int]]]) -> None:
    """A batch's LSH rows in one INSERT from two arrays: through bulk_create, 20 model
    instances a file and Django preparing each value cost more than the INSERT itself."""
    rows = [(key, bulletin_id) for bulletin_id, bands in pages for key in set(bands)]
    if connection.vendor != "postgresql":
        LshBucket.objects.bulk_create([LshBucket(key=k, bulletin_id=b) for k, b in rows])
        return
    if not rows:
        return
    sql = (
        f'INSERT INTO "{LshBucket._meta.db_table}" ("key", "bulletin_id") '
        "SELECT * FROM UNNEST(%s::bigint[], %s::bigint[])"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [[k for k, _ in rows], [b for _, b in rows]])


def bulletin_rebucket(*, bulletin_id: int, body: str) -> None:
    """Replace a bulletin's LSH rows after its body changed (admin edits)."""
    LshBucket.objects.filter(bulletin_id=bulletin_id).delete()
    bands = near_duplicates.signature_bands(body)
    LshBucket.objects.bulk_create(bulletin_buckets(bulletin_id, bands))


# --- rows ---------------------------------------------------------------------------------


def _category_for(name: str, cache: dict) -> Category:
    key = ("category", name or "其他")
    if key not in cache:
        category = Category.objects.filter(name=key[1]).first()
        if category is None:
            # A new "X正文" marker: keep the bulletin and let staff tidy the category later.
            slug = slugify(key[1], allow_unicode=True) or "other"
            category, created = Category.objects.get_or_create(name=key[1], defaults={"slug": slug})
            if created:
                category_options_forget()
        cache[key] = category
    return cache[key]


# Paths a run resolves with queries (2-3 each) before it loads every region into memory
# (~3,400 rows, tens of ms): a small import need not pay for that, a large one resolves
# hundreds of paths.
_REGION_QUERIES = 20


def _region_for(names: tuple[str, ...], cache: dict) -> Region | None:
    key = ("region", names)
    if key not in cache:
        resolved = cache["region_paths"] = cache.get("region_paths", 0) + 1
        if resolved > _REGION_QUERIES and "regions" not in cache:
            cache["regions"] = RegionIndex()
        region = region_resolve(names, index=cache.get("regions")) if names else None
        # Only verified rows are stable enough to remember across files of one run.
        if region is None or region.verified:
            cache[key] = region
        return region
    return cache[key]


def _contacts_of(parsed: ParsedBulletin) -> list[Contact]:
    return [
        Contact(
            organization=row.organization,
            role=row.role,
            person=row.person,
            title=row.title,
            phone=row.phone,
            mobile=row.mobile,
            email=row.email,
            position=i,
        )
        for i, row in enumerate(contact_rows(parsed))
    ]


def _bulletin_of(page: _Page, publish: bool, cache: dict) -> tuple[Bulletin, list[Contact]]:
    """An unsaved, validated bulletin with every derived column set, and its contacts."""
    parsed = page.parsed
    bulletin = Bulletin(
        title=parsed.title,
        category=_category_for(parsed.category, cache),
        published_at=timezone.make_aware(
            datetime.datetime.combine(parsed.published, datetime.time.min)
        ),
        body=page.body,
        source_url=parsed.source_url,
        source_name=parsed.source_name[:60],
        credits=parsed.credits,
        amount_yuan=parsed.amount_yuan,
        bid_deadline=parsed.deadline,
        opening_at=parsed.opening_at,
        registration_deadline=parsed.registration_deadline,
        stage=parsed.stage,
        winner=parsed.winner,
        fingerprint=page.fingerprint,
        status=Bulletin.Status.PUBLISHED if publish else Bulletin.Status.DRAFT,
    )
    bulletin.region = _region_for(parsed.region, cache)
    contacts = _contacts_of(parsed)
    bulletin.full_clean(
        exclude=["category", "region"], validate_unique=False, validate_constraints=False
    )
    bulletin.set_region(bulletin.region)
    if page.indexed is None:
        bulletin.refresh_vectors(contacts)
    else:  # computed while preparing, from the same contacts (preparing.contact_values)
        for name in Bulletin.VECTOR_FIELDS:
            setattr(bulletin, name, getattr(page.indexed, name))
    bulletin._index_contacts = contacts  # should the fallback save() derive again
    return bulletin, contacts


def _store(pages: list[_Page], publish: bool, cache: dict) -> list[tuple[_Page, FileResult]]:
    """Write the batch with one INSERT per table; on failure, file by file."""
    built, results = [], []
    for page in pages:
        try:
            built.append((page, *_bulletin_of(page, publish, cache)))
        except ValidationError as exc:
            results.append((page, FileResult(page.name, "error", error=_reasons(page.name, exc))))
    if not built:
        return results
    # On PostgreSQL the batch is linked to its projects before its INSERT, with ids drawn
    # from the sequence (the foreign keys to it are checked at commit): linking after the
    # INSERT meant an UPDATE of each bulletin's project, and every updated row's search
    # index entry computed again (~0.7 ms a file).
    link_first = publish and connection.vendor == "postgresql"
    try:
        with transaction.atomic():
            if link_first:
                ids = _bulletin_ids(len(built))
                for (_, bulletin, _), pk in zip(built, ids, strict=True):
                    bulletin.pk = pk
                projects_link_stored([(bulletin, rows) for _, bulletin, rows in built])
            insert_instances([b for _, b, _ in built])
            contacts = []
            for _, bulletin, rows in built:
                for contact in rows:
                    contact.bulletin = bulletin
                    contacts.append(contact)
            insert_instances(contacts)
            insert_instances(
                bid_results_build(
                    (b, page.parsed.bid_results, page.parsed.budget_yuan) for page, b, _ in built
                )
            )
            _insert_buckets([(b.pk, page.bands) for page, b, _ in built])
    except IntegrityError:
        # Most likely another import stored one of these pages since we checked. Projects
        # the rolled-back linking chose may not exist: each file links again on its own.
        for _, bulletin, _ in built:
            bulletin.project = None
        stored = [(page, _store_one(page, b, rows)) for page, b, rows in built]
        if publish:
            ids = [r.bulletin_id for _, r in stored if r.bulletin_id]
            projects_link_bulletins(ids)
            bulletins_announce(ids)
        return results + stored
    invalidate_pages_after_commit()  # these INSERTs send no signals
    if publish:
        if not link_first:
            projects_link_stored([(bulletin, rows) for _, bulletin, rows in built])
        bulletins_announce([bulletin.pk for _, bulletin, _ in built])
    return results + [(page, _imported(page, bulletin)) for page, bulletin, _ in built]


def _bulletin_ids(n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('news_bulletin', 'id'))"
            " FROM generate_series(1, %s)",
            [n],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _store_one(page: _Page, bulletin: Bulletin, contacts: list[Contact]) -> FileResult:
    bulletin.pk = None
    try:
        with transaction.atomic():
            bulletin.save()
            for contact in contacts:
                contact.pk, contact.bulletin = None, bulletin
            Contact.objects.bulk_create(contacts)  # save() wrote its LSH rows (signals)
            parsed = page.parsed
            BidResult.objects.bulk_create(
                bid_results_build([(bulletin, parsed.bid_results, parsed.budget_yuan)])
            )
    except IntegrityError as exc:
        duplicate = _duplicate_in(_known_pages([page]), page)
        if duplicate is None:
            return FileResult(page.name, "error", error=f"{page.name}: 数据库拒绝写入: {exc}")
        return duplicate
    return _imported(page, bulletin)


def _imported(page: _Page, bulletin: Bulletin) -> FileResult:
    return FileResult(page.name, "imported", bulletin_id=bulletin.pk, url=_detail_url(bulletin.pk))


_URL_PK = 987654321


@functools.cache
def _detail_url_pattern() -> str:
    return Bulletin(pk=_URL_PK).get_absolute_url()


def _detail_url(pk: int) -> str:
    """get_absolute_url() without a reverse() per file (~0.1 ms each, 100 a batch)."""
    return _detail_url_pattern().replace(str(_URL_PK), str(pk))


def _reasons(name: str, exc: ValidationError) -> str:
    reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return f"{name}: {reasons}"
