"""A company's page (企业库): its tenders and wins by year, regions, buyers, competitors.

Counts are public (they are what any visitor could add up from the bulletins); amounts,
regions, buyers, suppliers and competitors are paid analysis (Plan.sees_company_profiles,
members.access) and are not even read for a viewer without the right, so no template can
print them. Names are masked like titles (a name cut from a body may carry contacts);
no contact is read here at all.

Every figure is an indexed GROUP BY over news_projectparty (index party_org_role: one
company's rows by role) joined to its projects, or over news_bidresult by organisation:
a fixed number of queries, each reading one company's rows only.
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import ExtractYear
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.access import member_rights
from news.bid_selectors import OrganizationBids, organization_bids
from news.masking import mask_text
from news.models import BidResult, Bulletin, Organization, ProjectParty
from news.project_selectors import ProjectRow, project_rows

OWNER, WINNER = ProjectParty.Role.OWNER, ProjectParty.Role.WINNER
TOP = 10  # rows in each ranking table
RECENT_PROJECTS = 20


@dataclass(frozen=True)
class YearRow:
    year: int
    tenders: int  # projects it put out to tender (招标人 / 业主)
    bids: int  # tenders it bid in (开标结果 rows)
    wins: int  # projects it won (中标人)
    tender_amount_yuan: int | None = None  # None unless the viewer has the right
    win_amount_yuan: int | None = None


@dataclass(frozen=True)
class RankRow:
    name: str
    url: str
    count: int
    amount_yuan: int | None


@dataclass(frozen=True)
class CompetitorRow:
    name: str
    url: str
    shared: int  # projects both bid for or won a lot of
    we_won: int  # ... of which this company won and the other did not
    they_won: int


@dataclass(frozen=True)
class ChartBar:
    x: float
    y: float
    height: float
    css: str
    label: str  # e.g. "2024年 中标 12 个"


@dataclass(frozen=True)
class ChartGroup:
    year: int
    x: float  # where the year's label goes
    bars: list[ChartBar]


@dataclass(frozen=True)
class YearChart:
    """Geometry of the inline SVG bar chart, in viewBox units (the template draws it)."""

    width: int
    height: int
    baseline: float
    bar_width: float
    top: int  # the largest count, for the axis label
    groups: list[ChartGroup]
    series: list[tuple[str, str]]  # (css class, label) for the legend


@dataclass(frozen=True)
class CompanyProfile:
    id: int
    name: str
    url: str
    credit_code: str
    full: bool  # the viewer sees the analysis (amounts, regions, buyers, competitors)
    total_projects: int
    total_tenders: int
    total_wins: int
    total_bids: int
    years: list[YearRow]
    chart: YearChart | None
    projects: list[tuple[ProjectRow, str]]  # the most recent, with its role here
    regions: list[RankRow] = field(default_factory=list)
    buyers: list[RankRow] = field(default_factory=list)  # owners of the projects it won
    suppliers: list[RankRow] = field(default_factory=list)  # winners of its own tenders
    competitors: list[CompetitorRow] = field(default_factory=list)
    bids: OrganizationBids | None = None  # i19-bids: award-to-budget ratio, bidders


class OrganizationMerged(Exception):
    """The organisation is a name variant merged into another: the view redirects."""

    def __init__(self, target_id: int):
        super().__init__(target_id)
        self.target_id = target_id


def company_profile(pk: int, *, viewer) -> CompanyProfile:
    """One company's page for one viewer (Organization.DoesNotExist for an unknown id)."""
    organization = Organization.objects.get(pk=pk)
    if organization.merged_into_id:
        raise OrganizationMerged(organization.merged_into_id)
    rights = member_rights(viewer)
    full = rights.sees_company_profiles
    staff = rights.is_staff
    name = (lambda text: text) if staff else mask_text
    parties = ProjectParty.objects.filter(organization_id=pk, project__merged_into__isnull=True)
    years = _years(pk, parties, full=full)
    recent = list(
        parties.select_related("project__province", "project__city", "project__region").order_by(
            "-last_seen", "-id"
        )[:RECENT_PROJECTS]
    )
    rows = project_rows([p.project for p in recent], viewer=viewer)
    profile = dict(
        id=pk,
        name=name(organization.name),
        url=reverse("organization-detail", args=[pk]),
        credit_code=organization.credit_code,
        full=full,
        total_projects=parties.values("project_id").distinct().count(),
        total_tenders=sum(y.tenders for y in years),
        total_wins=sum(y.wins for y in years),
        total_bids=sum(y.bids for y in years),
        years=years,
        chart=year_chart(years),
        projects=[(row, p.get_role_display()) for row, p in zip(rows, recent, strict=True)],
        bids=organization_bids(pk, viewer=viewer),
    )
    if full:
        profile.update(
            regions=_regions(parties),
            buyers=_counterparts(pk, mine=WINNER, theirs=OWNER, name=name),
            suppliers=_counterparts(pk, mine=OWNER, theirs=WINNER, name=name),
            competitors=_competitors(pk, name=name),
        )
    return CompanyProfile(**profile)


def _years(pk: int, parties, *, full: bool) -> list[YearRow]:
    """Tenders and wins by the year the company was first named on the project; bids by
    the award notice's year. Two GROUP BY queries."""
    by_year: dict[int, dict] = {}
    role_rows = (
        parties.filter(role__in=[OWNER, WINNER])
        .annotate(year=ExtractYear("first_seen"))
        .values("year", "role")
        .annotate(n=Count("id"), amount=Sum("project__amount_yuan"))
    )
    for row in role_rows:
        entry = by_year.setdefault(row["year"], {})
        kind = "tenders" if row["role"] == OWNER else "wins"
        entry[kind], entry[f"{kind}_amount"] = row["n"], row["amount"]
    bid_rows = (
        BidResult.objects.filter(organization_id=pk, bulletin__status=Bulletin.Status.PUBLISHED)
        .annotate(year=ExtractYear("bulletin__published_at"))
        .values("year")
        .annotate(n=Count("bulletin_id", distinct=True))
    )
    for row in bid_rows:
        by_year.setdefault(row["year"], {})["bids"] = row["n"]
    return [
        YearRow(
            year=year,
            tenders=entry.get("tenders", 0),
            bids=entry.get("bids", 0),
            wins=entry.get("wins", 0),
            tender_amount_yuan=entry.get("tenders_amount") if full else None,
            win_amount_yuan=entry.get("wins_amount") if full else None,
        )
        for year, entry in sorted(by_year.items(), reverse=True)
    ]


def _regions(parties) -> list[RankRow]:
    """Provinces (then cities) of the projects it bid for, won or put out to tender."""
    rows = (
        parties.filter(project__province__isnull=False)
        .values("project__province__name", "project__city__name")
        .annotate(n=Count("project_id", distinct=True), amount=Sum("project__amount_yuan"))
        .order_by("-n", "project__province__name", "project__city__name")[:TOP]
    )
    return [
        RankRow(
            "-".join(filter(None, (r["project__province__name"], r["project__city__name"]))),
            "",
            r["n"],
            r["amount"],
        )
        for r in rows
    ]


def _counterparts(pk: int, *, mine: str, theirs: str, name) -> list[RankRow]:
    """Organisations in role `theirs` on the projects where this one is in role `mine`:
    the buyers it won from (mine=winner, theirs=owner) or the winners of its tenders."""
    projects = ProjectParty.objects.filter(organization_id=pk, role=mine).values("project_id")
    rows = (
        ProjectParty.objects.filter(
            role=theirs, project_id__in=projects, project__merged_into__isnull=True
        )
        .exclude(organization_id=pk)
        .values("organization_id", "organization__name")
        .annotate(n=Count("project_id", distinct=True), amount=Sum("project__amount_yuan"))
        .order_by("-n", "organization__name")[:TOP]
    )
    return [
        RankRow(
            name(r["organization__name"]),
            reverse("organization-detail", args=[r["organization_id"]]),
            r["n"],
            r["amount"],
        )
        for r in rows
    ]


# Projects the company won (中标人) or bid for (开标结果), and whether it won; the other
# organisations on those projects as winners or bidders; head-to-head counts. One query:
# the company's rows by index, then each of its projects' rows by project index.
_COMPETITORS = """
WITH mine AS (
    SELECT project_id, bool_or(won) AS won FROM (
        SELECT project_id, true AS won FROM news_projectparty
        WHERE organization_id = %(pk)s AND role = %(winner)s
        UNION ALL
        SELECT project_id, winner FROM news_bidresult
        WHERE organization_id = %(pk)s AND project_id IS NOT NULL
    ) s GROUP BY project_id
), theirs AS (
    SELECT project_id, organization_id, bool_or(won) AS won FROM (
        SELECT pp.project_id, pp.organization_id, true AS won
        FROM news_projectparty pp JOIN mine USING (project_id)
        WHERE pp.role = %(winner)s AND pp.organization_id <> %(pk)s
        UNION ALL
        SELECT br.project_id, br.organization_id, br.winner
        FROM news_bidresult br JOIN mine USING (project_id)
        WHERE br.organization_id IS NOT NULL AND br.organization_id <> %(pk)s
    ) s GROUP BY project_id, organization_id
)
SELECT t.organization_id, o.name, count(*) AS shared,
       count(*) FILTER (WHERE m.won AND NOT t.won) AS we_won,
       count(*) FILTER (WHERE t.won AND NOT m.won) AS they_won
FROM theirs t
JOIN mine m USING (project_id)
JOIN news_project p ON p.id = t.project_id AND p.merged_into_id IS NULL
JOIN news_organization o ON o.id = t.organization_id
GROUP BY t.organization_id, o.name
ORDER BY shared DESC, o.name
LIMIT %(top)s
"""


def _competitors(pk: int, *, name) -> list[CompetitorRow]:
    with connection.cursor() as cursor:
        cursor.execute(_COMPETITORS, {"pk": pk, "winner": WINNER, "top": TOP})
        rows = cursor.fetchall()
    return [
        CompetitorRow(
            name(org_name), reverse("organization-detail", args=[org_id]), shared, won, lost
        )
        for org_id, org_name, shared, won, lost in rows
    ]


# --- the chart ----------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 360, 200
_PAD_LEFT, _PAD_BOTTOM, _PAD_TOP = 28, 24, 12
_SERIES = (
    ("tenders", "bar-tenders", gettext_lazy("招标")),
    ("bids", "bar-bids", gettext_lazy("投标")),
    ("wins", "bar-wins", gettext_lazy("中标")),
)
CHART_YEARS = 8


def year_chart(years: list[YearRow]) -> YearChart | None:
    """Grouped bars per year (oldest left), scaled to the largest count: geometry only,
    the template draws the SVG with a <title>, a <desc> and the table as its alternative."""
    shown = sorted(years, key=lambda y: y.year)[-CHART_YEARS:]
    series = [s for s in _SERIES if any(getattr(y, s[0]) for y in shown)]
    if not shown or not series:
        return None
    top = max(getattr(y, s[0]) for y in shown for s in series)
    plot_width = CHART_WIDTH - _PAD_LEFT - 4
    plot_height = CHART_HEIGHT - _PAD_BOTTOM - _PAD_TOP
    baseline = CHART_HEIGHT - _PAD_BOTTOM
    slot = plot_width / len(shown)
    bar = min(slot * 0.8 / len(series), 24)
    groups = []
    for i, row in enumerate(shown):
        start = _PAD_LEFT + i * slot + (slot - bar * len(series)) / 2
        bars = []
        for j, (attr, css, label) in enumerate(series):
            value = getattr(row, attr)
            height = round(plot_height * value / top, 1)
            text = _("%(year)s年 %(kind)s %(n)s 个") % {"year": row.year, "kind": label, "n": value}
            bars.append(
                ChartBar(round(start + j * bar, 1), round(baseline - height, 1), height, css, text)
            )
        groups.append(ChartGroup(row.year, round(_PAD_LEFT + i * slot + slot / 2, 1), bars))
    return YearChart(
        CHART_WIDTH,
        CHART_HEIGHT,
        baseline,
        round(bar, 1),
        top,
        groups,
        [(css, str(label)) for _attr, css, label in series],
    )
