"""Reads of bid results for pages: per-viewer view objects, never BidResult rows.

Who won is public (peers print it, and the notice names it); every other bidder, each
rank, price and duration is paid detail (Plan.sees_bid_results, members.access). Rows a
viewer may not see are left out of the view objects altogether and only counted, so no
template can print them: masking fails closed.
"""

from dataclasses import dataclass, field

from django.db.models import Count
from django.urls import reverse

from members.access import bid_results_visible, member_rights
from news.importing.bid_results import bidder_key, lot_key
from news.masking import mask_text
from news.models import BidResult, Bulletin

TENDER_CATEGORY = "招标公告"


@dataclass(frozen=True)
class BidderRow:
    bidder: str
    url: str  # the bidder's organisation page, or ""
    rank: int | None
    price_yuan: int | None
    duration_text: str
    winner: bool


@dataclass(frozen=True)
class LotResults:
    lot: str  # "" for a notice of one lot
    rows: list[BidderRow]
    bidders: int  # every bidder listed, shown or not
    hidden: int  # bidders this viewer does not see


@dataclass(frozen=True)
class BidResults:
    lots: list[LotResults] = field(default_factory=list)
    complete: bool = False  # the viewer sees every row

    @property
    def hidden(self) -> int:
        return sum(lot.hidden for lot in self.lots)


_FIELDS = (
    "bulletin_id",
    "lot",
    "bidder",
    "organization_id",
    "rank",
    "price_yuan",
    "duration_text",
    "winner",
    "position",
    "bulletin__published_at",
)


def bid_results(*, viewer, bulletin_id: int | None = None, project_id: int | None = None):
    """One bulletin's or one project's results by lot, as this viewer may see them. A
    project with several award notices (候选人公示, then 中标结果) merges them per lot and
    bidder, the newest notice's values first."""
    rows = BidResult.objects.filter(bulletin__status=Bulletin.Status.PUBLISHED)
    if bulletin_id is not None:
        rows = rows.filter(bulletin_id=bulletin_id)
    else:
        rows = rows.filter(project_id=project_id)
    rows = list(
        rows.order_by("-bulletin__published_at", "-bulletin_id", "position").values(*_FIELDS)
    )
    if not rows:
        return BidResults()
    rights = member_rights(viewer)
    complete = bid_results_visible(viewer)
    lots: dict[str, tuple[str, dict[str, dict]]] = {}
    for row in rows:
        lot_name, bidders = lots.setdefault(lot_key(row["lot"]), (row["lot"], {}))
        merged = bidders.setdefault(bidder_key(row["bidder"]), dict(row))
        for name in ("rank", "price_yuan", "organization_id"):
            if merged[name] is None:
                merged[name] = row[name]
        merged["duration_text"] = merged["duration_text"] or row["duration_text"]
        merged["winner"] = merged["winner"] or row["winner"]
    out = []
    for lot_name, bidders in sorted(lots.values(), key=lambda item: lot_key(item[0])):
        ordered = sorted(
            bidders.values(),
            key=lambda r: (not r["winner"], r["rank"] is None, r["rank"] or 0, r["position"]),
        )
        shown = ordered if complete else [r for r in ordered if r["winner"]]
        out.append(
            LotResults(
                lot=lot_name,
                rows=[_view(r, full=complete, staff=rights.is_staff) for r in shown],
                bidders=len(ordered),
                hidden=len(ordered) - len(shown),
            )
        )
    return BidResults(out, complete)


def _view(row: dict, *, full: bool, staff: bool) -> BidderRow:
    # Names cut from a body could carry what follows them: masked like titles.
    name = row["bidder"] if staff else mask_text(row["bidder"])
    url = (
        reverse("organization-detail", args=[row["organization_id"]])
        if row["organization_id"]
        else ""
    )
    if not full:  # the winner only, without its figures
        return BidderRow(name, url, None, None, "", True)
    return BidderRow(name, url, row["rank"], row["price_yuan"], row["duration_text"], row["winner"])


# --- a company's record -------------------------------------------------------------------


@dataclass(frozen=True)
class TenderBid:
    title: str
    url: str
    published_at: object
    lot: str
    winner: bool
    bidders: int  # bidders of that tender (lot)
    rank: int | None  # None unless the viewer sees full results
    price_yuan: int | None
    budget_yuan: int | None
    ratio: float | None  # winning price / budget


@dataclass(frozen=True)
class OrganizationBids:
    bids: int  # tenders (notice + lot) the organisation is listed in
    wins: int
    mean_bidders: float | None
    mean_award_ratio: float | None  # over its wins with a known budget; members only
    tenders: list[TenderBid]
    complete: bool


def organization_bids(organization_id: int, *, viewer, limit: int = 20) -> OrganizationBids:
    """An organisation's bids and wins for a company profile: how many, how many bidders
    each tender had, and its award-to-budget ratio (winning price / the ceiling the award
    notice states, else the amount of the project's tender notice). Counts are public;
    ranks, prices and ratios need Plan.sees_bid_results. A fixed number of queries."""
    complete = bid_results_visible(viewer)
    staff = member_rights(viewer).is_staff
    rows = list(
        BidResult.objects.filter(
            organization_id=organization_id, bulletin__status=Bulletin.Status.PUBLISHED
        )
        .order_by("-bulletin__published_at", "-bulletin_id", "position")
        .values(
            "bulletin_id",
            "lot",
            "rank",
            "price_yuan",
            "winner",
            "budget_yuan",
            "project_id",
            "bulletin__title",
            "bulletin__published_at",
        )
    )
    tenders: dict[tuple[int, str], dict] = {}
    for row in rows:  # one entry per tender, even when a notice lists the bidder twice
        tenders.setdefault((row["bulletin_id"], lot_key(row["lot"])), row)
    counts = _bidder_counts({b for b, _ in tenders})
    budgets = _tender_amounts({r["project_id"] for r in tenders.values() if r["project_id"]})
    entries = []
    for (bulletin_id, lot), row in tenders.items():
        budget = row["budget_yuan"] or budgets.get(row["project_id"])
        ratio = None
        if row["winner"] and row["price_yuan"] and budget:
            ratio = row["price_yuan"] / budget
        entries.append((row, counts.get((bulletin_id, lot), 0), budget, ratio))
    ratios = [ratio for _, _, _, ratio in entries if ratio is not None]
    bidders = [n for _, n, _, _ in entries if n]
    return OrganizationBids(
        bids=len(entries),
        wins=sum(1 for row, *_ in entries if row["winner"]),
        mean_bidders=sum(bidders) / len(bidders) if bidders else None,
        mean_award_ratio=(sum(ratios) / len(ratios) if ratios else None) if complete else None,
        tenders=[
            TenderBid(
                title=row["bulletin__title"] if staff else mask_text(row["bulletin__title"]),
                url=reverse("bulletin-detail", args=[row["bulletin_id"]]),
                published_at=row["bulletin__published_at"],
                lot=row["lot"],
                winner=row["winner"],
                bidders=n,
                rank=row["rank"] if complete else None,
                price_yuan=row["price_yuan"] if complete else None,
                budget_yuan=budget if complete else None,
                ratio=ratio if complete else None,
            )
            for row, n, budget, ratio in entries[:limit]
        ],
        complete=complete,
    )


def _bidder_counts(bulletin_ids) -> dict[tuple[int, str], int]:
    counts: dict[tuple[int, str], int] = {}
    if not bulletin_ids:
        return counts
    rows = (
        BidResult.objects.filter(bulletin_id__in=list(bulletin_ids))
        .values("bulletin_id", "lot")
        .annotate(n=Count("id"))
    )
    for row in rows:
        key = (row["bulletin_id"], lot_key(row["lot"]))
        counts[key] = counts.get(key, 0) + row["n"]
    return counts


def _tender_amounts(project_ids) -> dict[int, int]:
    """The newest tender notice's amount (控制价 / 预算) per project."""
    amounts: dict[int, int] = {}
    if not project_ids:
        return amounts
    rows = (
        Bulletin.objects.published()
        .filter(
            project_id__in=list(project_ids),
            category__name=TENDER_CATEGORY,
            amount_yuan__isnull=False,
        )
        .order_by("project_id", "-published_at")
        .values_list("project_id", "amount_yuan")
    )
    for project_id, amount in rows:
        amounts.setdefault(project_id, amount)
    return amounts
