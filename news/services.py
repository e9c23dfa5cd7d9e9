"""Writes and multi-model work for bulletins (imports: news.importing; regions: news.regions)."""

import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from news.models import Bulletin
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
            # A draft turned published joins its project and alerts members now.
            from members.alerts import alerts_enqueue
            from news.linking import projects_link_bulletins

            projects_link_bulletins(changing)
            alerts_enqueue(changing)
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
