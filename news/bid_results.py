"""Writing bid result rows: from the import (a batch at a time) and the backfill command.
news.linking keeps their project in step with their bulletin's."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from news.companies import organization_ids_by_key
from news.importing.bid_results import RESULT_WORDS, BidRow, parse_bid_results
from news.importing.parser import AWARD_CATEGORY, extract_budget
from news.linking import organization_key
from news.models import BidResult, Bulletin

# The parser answers [] without these words; the backfill reads only bulletins with one.
_MAY_HAVE_RESULTS = Q()
for _word in RESULT_WORDS:
    _MAY_HAVE_RESULTS |= Q(body__contains=_word)


def bid_results_build(found: Iterable[tuple[Bulletin, tuple[BidRow, ...], int | None]]):
    """Unsaved BidResult rows for (bulletin, parsed rows, budget) triples, bidders linked
    to the Organization of the same normalised name: one query for the whole batch."""
    found = [(b, rows, budget) for b, rows, budget in found if rows]
    keys = {organization_key(row.bidder) for _, rows, _ in found for row in rows}
    keys.discard("")
    # Name variants merged into a company (news/companies.py) lead to that company.
    organizations = organization_ids_by_key(keys) if keys else {}
    return [
        BidResult(
            bulletin=bulletin,
            project_id=bulletin.project_id,
            lot=(row.lot or "")[:60],
            bidder=row.bidder[:200],
            organization_id=organizations.get(organization_key(row.bidder)),
            rank=row.rank,
            price_yuan=row.price_yuan,
            duration_days=row.duration_days,
            duration_text=row.duration_text[:60],
            winner=row.winner,
            budget_yuan=budget,
            position=i,
        )
        for bulletin, rows, budget in found
        for i, row in enumerate(rows)
    ]


def bid_results_parse_stored(bulletin: Bulletin) -> tuple[tuple[BidRow, ...], int | None]:
    """What the importer would have found in a stored bulletin (its body is the cleaned
    paragraphs, one a line)."""
    lines = [line.strip() for line in bulletin.body.splitlines() if line.strip()]
    rows = tuple(parse_bid_results(lines, bulletin.title))
    return rows, (extract_budget(bulletin.body) if rows else None)


def bid_results_backfill(*, bulletin_ids: list[int], replace: bool = False) -> tuple[int, int]:
    """Parse stored bulletins and write their rows, in one transaction: (bulletins with
    rows, rows). Bulletins that have rows already are skipped unless `replace`."""
    with transaction.atomic():
        had = set(
            BidResult.objects.filter(bulletin_id__in=bulletin_ids).values_list(
                "bulletin_id", flat=True
            )
        )
        if replace and had:
            BidResult.objects.filter(bulletin_id__in=had).delete()
            had = set()
        bulletins = Bulletin.objects.filter(pk__in=bulletin_ids).exclude(pk__in=had)
        bulletins = bulletins.only("id", "title", "body", "project_id")
        found = [(b, *bid_results_parse_stored(b)) for b in bulletins]
        rows = bid_results_build(found)
        BidResult.objects.bulk_create(rows)
    return len({r.bulletin_id for r in rows}), len(rows)


def bid_results_backfill_all(*, batch_size: int = 500, replace: bool = False, progress=None):
    """Every award notice (category 中标公告) whose text names 中标 / 候选人 / 开标 …, in
    id order, one transaction per batch: an interrupted run keeps its finished batches
    and a second run skips them. Returns (bulletins with rows, rows)."""
    total_bulletins = total_rows = 0
    last_id = 0
    candidates = Bulletin.objects.filter(_MAY_HAVE_RESULTS, category__name=AWARD_CATEGORY)
    candidates = candidates.order_by("pk")
    while True:
        ids = list(candidates.filter(pk__gt=last_id).values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        bulletins, rows = bid_results_backfill(bulletin_ids=ids, replace=replace)
        total_bulletins, total_rows = total_bulletins + bulletins, total_rows + rows
        last_id = ids[-1]
        if progress:
            progress(last_id, total_bulletins, total_rows)
    return total_bulletins, total_rows
