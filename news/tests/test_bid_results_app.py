"""Bid results in the app: written by the import and the backfill, kept on the bulletin's
project, shown per lot on project and bulletin pages (who won for everyone, the rest for
plans with sees_bid_results), and a company's record for its profile."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from members.models import Plan
from members.tests.factories import UserFactory, paid_member
from news import linking
from news.bid_selectors import organization_bids
from news.models import BidResult, Bulletin, Organization, Project

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "demo" / "bulletins"
AWARD = "004_award_gangnan_road.txt"
TENDER = "001_tender_gangnan_road.txt"
WINNER = "江苏通港路桥建设集团有限公司"
SECOND, THIRD = "镇江市市政工程有限公司", "江苏润扬交通工程有限公司"


def _import(*names):
    for name in names:
        call_command("import_bulletins", str(SAMPLES / name), stdout=io.StringIO())


def _award() -> Bulletin:
    return Bulletin.objects.get(title__startswith="镇江新区港南路", category__name="中标公告")


def test_import_writes_rows_on_the_project_with_the_winner_linked():
    _import(TENDER, AWARD)
    award = _award()
    rows = list(BidResult.objects.filter(bulletin=award).order_by("position"))
    assert [(r.bidder, r.rank, r.price_yuan, r.duration_days, r.winner) for r in rows] == [
        (WINNER, None, 37128600, 300, True),
        (SECOND, 2, 37452000, None, False),
        (THIRD, 3, 37986600, None, False),
    ]
    assert {r.project_id for r in rows} == {award.project_id} and award.project_id
    # Linking made the winner an organisation (a party of the project) before the rows.
    assert rows[0].organization == Organization.objects.get(name=WINNER)
    assert rows[1].organization is None


def test_rows_follow_unlink_and_merge():
    _import(TENDER, AWARD)
    award = _award()
    project = award.project
    linking.project_unlink(bulletin=award)
    assert set(BidResult.objects.filter(bulletin=award).values_list("project", flat=True)) == {None}
    linking.project_link(bulletin=award, project=project)
    other = Project.objects.create(name="另一个项目", name_key="另一个项目")
    linking.project_merge(source=project, target=other)
    assert set(BidResult.objects.filter(bulletin=award).values_list("project", flat=True)) == {
        other.pk
    }


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("page", ["project", "bulletin"])
def test_visitors_and_free_members_see_the_winner_only(client, page):
    _import(TENDER, AWARD)
    award = _award()
    url = award.project.get_absolute_url() if page == "project" else award.get_absolute_url()
    for who in ("anonymous", "free"):
        if who == "free":
            client.force_login(UserFactory())
        html = _page(client, url)
        table = html[html.index('id="bid-results"') :]
        table = table[: table.index("</section>")]
        assert WINNER in table and "中标" in table
        assert SECOND not in table and THIRD not in table
        assert "3,745.2" not in table and "3,712.86" not in table  # no price, not even the winner's
        assert "另有 2 家投标人的排名、报价和工期仅对付费会员开放" in table


@pytest.mark.parametrize("page", ["project", "bulletin"])
def test_paid_members_see_every_bidder_rank_price_and_duration(client, page):
    _import(TENDER, AWARD)
    award = _award()
    url = award.project.get_absolute_url() if page == "project" else award.get_absolute_url()
    client.force_login(paid_member(slug="query"))
    html = _page(client, url)
    table = html[html.index('id="bid-results"') :]
    table = table[: table.index("</section>")]
    for text in (WINNER, SECOND, THIRD, "3,712.86 万元", "3,745.2 万元", "300日历天"):
        assert text in table
    assert table.index(WINNER) < table.index(SECOND) < table.index(THIRD)
    assert "仅对付费会员开放" not in table


def test_the_right_is_plan_data(client):
    # Every paid plan: 标讯查询, 标讯定制 and the 企业会员 team plan (members 0018).
    assert set(Plan.objects.filter(sees_bid_results=True).values_list("slug", flat=True)) == {
        "query",
        "custom",
        "team",
    }
    _import(TENDER, AWARD)
    member = paid_member(slug="query")
    Plan.objects.filter(slug="query").update(sees_bid_results=False)  # staff take it away
    client.force_login(member)
    html = _page(client, _award().get_absolute_url())
    assert SECOND not in html[html.index('id="bid-results"') :].split("</section>")[0]


def test_organization_record_counts_wins_bidders_and_award_to_budget_ratio(client):
    _import(TENDER, AWARD)
    winner = Organization.objects.get(name=WINNER)
    member = paid_member(slug="query")
    record = organization_bids(winner.pk, viewer=member)
    assert (record.bids, record.wins, record.mean_bidders) == (1, 1, 3)
    # 中标价 3,712.86 万元 over the tender notice's 招标控制价 3,860.52 万元.
    assert record.mean_award_ratio == pytest.approx(37128600 / 38605200)
    assert record.tenders[0].winner and record.tenders[0].price_yuan == 37128600
    public = organization_bids(winner.pk, viewer=None)
    assert (public.bids, public.wins, public.mean_bidders) == (1, 1, 3)
    assert public.mean_award_ratio is None and public.tenders[0].price_yuan is None
    html = _page(client, winner.get_absolute_url())
    assert "投标记录" in html and "会员可见" in html


def test_backfill_parses_stored_award_bulletins_once():
    _import(TENDER, AWARD)
    BidResult.objects.all().delete()
    out = io.StringIO()
    call_command("backfill_bid_results", "--batch-size", "1", stdout=out)
    assert "1 条标讯解析出 3 行开标结果" in out.getvalue()
    award = _award()
    rows = BidResult.objects.filter(bulletin=award)
    assert rows.count() == 3 and {r.project_id for r in rows} == {award.project_id}
    assert rows.get(winner=True).organization.name == WINNER
    call_command("backfill_bid_results", stdout=out)
    assert BidResult.objects.count() == 3  # a second run skips what has rows


def test_backfill_refuses_a_bad_batch_size():
    with pytest.raises(Exception, match="--batch-size 必须是正整数"):
        call_command("backfill_bid_results", "--batch-size", "0", stdout=io.StringIO())
