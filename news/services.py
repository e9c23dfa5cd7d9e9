"""Writes and multi-model work for bulletins, regions and contacts."""

import datetime
import logging
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from news.importing.parser import ParsedBulletin, ParseError, normalised_fingerprint, parse_bytes
from news.importing.pipeline import FileResult
from news.models import Bulletin, Category, Contact, Region
from news.regions import name_variants, official_divisions
from news.selectors import category_options_forget, region_options_forget
from news.text import join_paragraphs
from portal.pagecache import invalidate_pages_after_commit, invalidation_batched

logger = logging.getLogger(__name__)


def regions_sync(*, region_model=Region) -> int:
    """Load the official divisions; idempotent. Returns how many rows it created.

    `region_model` lets the data migration pass its historical model.
    """
    by_code = dict(region_model.objects.exclude(code="").values_list("code", "id"))
    created = 0
    for division in official_divisions():
        if division.code in by_code:
            continue
        parent_id = by_code.get(division.parent_code) if division.parent_code else None
        row, made = region_model.objects.get_or_create(
            parent_id=parent_id,
            name=division.name,
            defaults={
                "full_name": division.full_name,
                "alias": division.alias,
                "code": division.code,
                "level": division.level,
                "verified": True,
            },
        )
        if not made and not row.code:
            # An unverified name stored earlier turned out to be official: adopt it.
            row.code, row.full_name, row.alias, row.verified = (
                division.code,
                division.full_name,
                division.alias,
                True,
            )
            row.save(update_fields=["code", "full_name", "alias", "verified"])
        by_code[division.code] = row.id
        created += made
    return created


def _match_child(parent: Region | None, name: str) -> Region | None:
    variants = name_variants(name)
    siblings = Region.objects.filter(parent=parent)
    return (
        siblings.filter(Q(name__in=variants) | Q(full_name__in=variants)).first()
        or siblings.filter(alias__in=variants, alias__regex=r"^.{2,}$").first()
    )


def region_resolve(names: Sequence[str]) -> Region | None:
    """Map a page's region path (江苏-镇江-镇江新区) to the most specific Region.

    A name missing from the official table is stored unverified under its parent rather
    than dropped, so staff can review it in the admin.
    """
    names = [n.strip() for n in names if n and n.strip()][:3]
    parent = None
    for level, name in enumerate(names, start=1):
        if parent is not None and parent.level >= level:
            continue
        found, found_under = _match_child(parent, name), parent
        if found is None and parent is not None and parent.level == Region.Level.PROVINCE:
            # "上海-普陀区": the city level of a municipality was left out.
            only_city = list(parent.children.all()[:2])
            if len(only_city) == 1:
                found_under = only_city[0]
                found_under.parent = parent
                found = _match_child(found_under, name)
        if found is None:
            found_under = parent
            found, created = Region.objects.get_or_create(
                parent=parent, name=name, defaults={"level": level, "verified": False}
            )
            if created:
                logger.info("stored unverified region %s under %s", name, parent)
                region_options_forget(parent.pk if parent else None)
        if found_under is not None:
            found.parent = found_under  # already loaded: spares set_region() a query per level
        parent = found
    return parent


def bulletin_set_status(*, bulletin_ids: Sequence[int], status: str) -> int:
    """Publish or unpublish bulletins; returns how many changed."""
    if status not in Bulletin.Status.values:
        raise ValueError(f"未知的状态: {status!r}")
    with transaction.atomic():
        changed = (
            Bulletin.objects.filter(pk__in=bulletin_ids)
            .exclude(status=status)
            .update(status=status, updated_at=timezone.now())
        )
    invalidate_pages_after_commit()  # .update() sends no signals
    return changed


def bulletin_refresh_vectors(*, bulletin_id: int) -> None:
    """Rebuild one bulletin's search vectors from its current text and contacts."""
    bulletin = Bulletin.objects.filter(pk=bulletin_id).select_related(None).first()
    if bulletin is None:
        return  # deleted together with its contacts
    bulletin.refresh_vectors()
    Bulletin.objects.filter(pk=bulletin_id).update(
        **{field: getattr(bulletin, field) for field in Bulletin.VECTOR_FIELDS}
    )


# --- import -----------------------------------------------------------------------------


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


def _region_for(names: tuple[str, ...], cache: dict) -> Region | None:
    key = ("region", names)
    if key not in cache:
        region = region_resolve(names) if names else None
        # Only verified rows are stable enough to remember across files of one run.
        if region is None or region.verified:
            cache[key] = region
        return region
    return cache[key]


def _known_pages(pages: list[tuple[ParsedBulletin, str]]) -> dict[tuple[str, str], int]:
    """Stored bulletins sharing a fingerprint or source URL with these pages, in one query."""
    fingerprints = [fp for _, fp in pages]
    urls = [p.source_url for p, _ in pages if p.source_url]
    match = Q(fingerprint__in=fingerprints) | (Q(source_url__in=urls) if urls else Q(pk__in=[]))
    known = {}
    for pk, fp, url in (
        Bulletin.objects.filter(match).order_by("pk").values_list("pk", "fingerprint", "source_url")
    ):
        known.setdefault(("fp", fp), pk)
        if url:
            known.setdefault(("url", url), pk)
    return known


def _duplicate_in(known: dict, parsed: ParsedBulletin, fingerprint: str) -> int | None:
    found = known.get(("fp", fingerprint))
    if found is None and parsed.source_url:
        found = known.get(("url", parsed.source_url))
    return found


def _contacts_of(parsed: ParsedBulletin) -> list[Contact]:
    contacts = [
        Contact(
            organization=c.organization,
            role=c.role,
            person=c.name,
            title=c.title,
            phone=c.phone,
            mobile=c.mobile,
            email=c.email,
            position=i,
        )
        for i, c in enumerate(parsed.contacts)
        if c.organization or c.name
    ]
    named = {c.person for c in contacts}
    if parsed.project_manager and parsed.project_manager not in named:
        # The award names a project manager without contact details: still worth a row.
        contacts.append(
            Contact(
                organization=parsed.winner,
                role="中标人",
                person=parsed.project_manager,
                title="项目经理",
                position=len(contacts),
            )
        )
    return contacts


def bulletin_import(
    *, data: bytes, name: str, publish: bool = True, dry_run: bool = False, cache=None
) -> FileResult:
    """Parse one scraped page and store it with its contacts, all or nothing."""
    [result] = bulletins_import(files=[(name, data)], publish=publish, dry_run=dry_run, cache=cache)
    return result


def bulletins_import(
    *, files: list[tuple[str, bytes]], publish: bool = True, dry_run: bool = False, cache=None
) -> list[FileResult]:
    """Import a batch of scraped pages; one result per file, in order.

    Each file is stored under its own savepoint, so a failing file leaves nothing behind
    while the others go on; the batch commits once (a commit per file cost more than the
    insert). A page whose source URL or normalised title + body is already stored, or
    came earlier in the batch, is a duplicate: re-running an import changes nothing.
    """
    cache = {} if cache is None else cache
    results: list[FileResult | None] = [None] * len(files)
    pages = []
    for i, (name, data) in enumerate(files):
        try:
            parsed = parse_bytes(data)
        except ParseError as exc:
            results[i] = FileResult(name, "error", error=f"{name}: {exc}")
            continue
        pages.append((i, name, parsed, normalised_fingerprint(parsed)))
    known = _known_pages([(p, fp) for _, _, p, fp in pages]) if pages else {}
    with invalidation_batched(), transaction.atomic():
        for i, name, parsed, fingerprint in pages:
            duplicate = _duplicate_in(known, parsed, fingerprint)
            if duplicate is not None:
                results[i] = FileResult(name, "duplicate", duplicate_of=duplicate or None)
                continue
            if dry_run:
                results[i] = FileResult(name, "imported")
                bulletin_id = 0  # seen in this batch, never stored
            else:
                results[i] = _store_page(name, parsed, fingerprint, publish, cache)
                bulletin_id = results[i].bulletin_id
            if bulletin_id is not None:
                known[("fp", fingerprint)] = bulletin_id
                if parsed.source_url:
                    known[("url", parsed.source_url)] = bulletin_id
    return results


def _store_page(name, parsed, fingerprint, publish, cache) -> FileResult:
    try:
        with transaction.atomic():
            bulletin = Bulletin(
                title=parsed.title,
                category=_category_for(parsed.category, cache),
                published_at=timezone.make_aware(
                    datetime.datetime.combine(parsed.published, datetime.time.min)
                ),
                body=join_paragraphs(parsed.paragraphs),
                source_url=parsed.source_url,
                credits=parsed.credits,
                amount_yuan=parsed.amount_yuan,
                bid_deadline=parsed.deadline,
                stage=parsed.stage,
                winner=parsed.winner,
                fingerprint=fingerprint,
                status=Bulletin.Status.PUBLISHED if publish else Bulletin.Status.DRAFT,
            )
            bulletin.region = _region_for(parsed.region, cache)
            contacts = _contacts_of(parsed)
            bulletin._index_contacts = contacts  # the vectors mask them without a query
            bulletin.full_clean(
                exclude=["category", "region"], validate_unique=False, validate_constraints=False
            )
            bulletin.save()
            for contact in contacts:
                contact.bulletin = bulletin
            Contact.objects.bulk_create(contacts)
    except IntegrityError as exc:
        # Most likely another import stored the same page between our check and insert.
        duplicate = _duplicate_in(_known_pages([(parsed, fingerprint)]), parsed, fingerprint)
        if duplicate is None:
            return FileResult(name, "error", error=f"{name}: 数据库拒绝写入: {exc}")
        return FileResult(name, "duplicate", duplicate_of=duplicate)
    except ValidationError as exc:
        reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return FileResult(name, "error", error=f"{name}: {reasons}")
    return FileResult(name, "imported", bulletin_id=bulletin.pk, url=bulletin.get_absolute_url())
