"""Writes and multi-model work for bulletins (imports: news.importing; regions: news.regions)."""

import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from news.models import Bulletin, Contact
from portal.pagecache import invalidate_pages_after_commit

logger = logging.getLogger(__name__)


def bulletin_set_status(*, bulletin_ids: Sequence[int], status: str) -> int:
    """Publish or unpublish bulletins; returns how many changed."""
    if status not in Bulletin.Status.values:
        raise ValueError(f"未知的状态: {status!r}")
    with transaction.atomic():
        rows = Bulletin.objects.filter(pk__in=bulletin_ids).exclude(status=status)
        changing = list(rows.values_list("pk", flat=True))
        changed = rows.update(status=status, updated_at=timezone.now())
        invalidate_pages_after_commit()  # .update() sends no signals
        if status == Bulletin.Status.PUBLISHED and changing:
            # A draft turned published joins its project and is announced (alerts).
            from news.events import bulletins_announce
            from news.linking import projects_link_bulletins

            projects_link_bulletins(changing)
            bulletins_announce(changing)
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


def bulletins_refresh_vectors(
    *, batch_size: int = 1000, models=None, progress=None, ids: tuple[int, int] | None = None
) -> int:
    """Recompute every bulletin's stored search columns from its text and contacts and
    write the rows whose columns changed; returns how many changed.

    Run after masking learns to hide more (`manage.py refresh_search_vectors`, and the
    migration that shipped fail-closed masking): `hidden_lexemes` decides what public
    search can find, so rows indexed by the older masking would still be found by a
    contact it now hides. `models` lets a migration pass its historical models; `ids`
    (first, last) limits it to a range, so that several processes can share the work."""
    from news.search import bulletin_index_fields

    bulletin_model, contact_model = models or (Bulletin, Contact)
    # A migration's historical model may predate a column (0011 runs before mask_plan).
    known = {f.name for f in bulletin_model._meta.get_fields()}
    fields = [
        f for f in ("hidden_lexemes", "title_vector", "contact_vector", "mask_plan") if f in known
    ]
    compared = [f for f in fields if f in ("hidden_lexemes", "mask_plan")]
    first, stop = ids or (1, None)
    changed, last_id = 0, first - 1
    rows = bulletin_model.objects.filter(pk__lte=stop) if stop else bulletin_model.objects.all()
    while True:
        batch = list(
            rows.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "title", "body", *compared)[:batch_size]
        )
        if not batch:
            return changed
        last_id = batch[-1][0]
        values: dict[int, list[str]] = {}
        # In the order pages read them (position, id): a mask plan's key covers the values.
        contacts = contact_model.objects.filter(bulletin_id__in=[row[0] for row in batch]).order_by(
            "bulletin_id", "position", "id"
        )
        for bulletin_id, *row in contacts.values_list(
            "bulletin_id", "person", "phone", "mobile", "email"
        ):
            values.setdefault(bulletin_id, []).extend(v for v in row if v)
        with transaction.atomic():
            for pk, title, body, *stored in batch:
                indexed = bulletin_index_fields(
                    title=title, body=body, contact_values=values.get(pk, [])
                )
                if [getattr(indexed, f) for f in compared] == stored:
                    continue  # what search finds and pages show is unchanged
                bulletin_model.objects.filter(pk=pk).update(
                    **{field: getattr(indexed, field) for field in fields}
                )
                changed += 1
        if progress:
            progress(last_id, changed)
