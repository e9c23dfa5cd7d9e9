"""Companies (企业库): keyed by 统一社会信用代码 then by name; the profile's figures; gating."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.credit_code import check_character
from members.models import Follow
from members.tests.factories import UserFactory, paid_member
from news import companies
from news.company_selectors import company_profile
from news.models import BidResult, Bulletin, Organization, Project, ProjectParty
from news.tests.factories import BulletinFactory, category

pytestmark = pytest.mark.django_db


def code(first17: str) -> str:
    return first17 + check_character(first17)


TONGGANG = code("91321100MA1M00001")
RUNYANG = code("91321100MA1M00002")


def _page(tmp_path, name: str, title: str, body: str, day: str = "2024-11-12") -> None:
    """An award page in the sample sites' shape, imported through the real pipeline."""
    y, m, d = day.split("-")
    text = (
        "办理会员咨询热线:4000-156-001\n\n"
        f"{title}\n\n{day} 江苏-镇江-镇江新区\n"
        f"所在地区: 江苏-镇江-镇江新区 发布日期: {y}年{int(m)}月{int(d)}日\n"
        f"中标公告正文\n\n{body}\n"
    )
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_bulletins", str(path), "--json", stdout=out)
    assert '"imported": 1' in out.getvalue(), out.getvalue()


class TestKeying:
    def test_code_in_the_name_is_split_off_and_checked(self):
        assert companies.split_name(
            f"江苏通港路桥建设集团有限公司(统一社会信用代码:{TONGGANG})"
        ) == (
            "江苏通港路桥建设集团有限公司",
            TONGGANG,
        )
        wrong = TONGGANG[:-1] + ("0" if TONGGANG[-1] != "0" else "1")
        # A code failing its check character is dropped, never used to merge companies.
        assert companies.split_name(f"某公司 统一社会信用代码:{wrong}") == ("某公司", "")
        body = f"招标人:镇江某城投有限公司\n统一社会信用代码:{RUNYANG}\n中标价:100万元"
        assert companies.named_codes(body) == {"镇江某城投有限公司": RUNYANG}

    def test_variants_sharing_a_code_are_one_company(self, tmp_path):
        # Known first by name only, with a project: no code yet.
        _page(
            tmp_path,
            "a.txt",
            "镇江新区港南路道路提升改造工程中标结果公示",
            "项目名称:镇江新区港南路道路提升改造工程\n招标人:镇江新区城市建设投资有限公司\n"
            "中标人:江苏通港路桥建设集团有限公司\n中标价:3,712.86万元",
            "2023-05-10",
        )
        first = Organization.objects.get(name="江苏通港路桥建设集团有限公司")
        assert first.credit_code == ""
        # Another name variant, with the code, on another project: a row of its own...
        _page(
            tmp_path,
            "b.txt",
            "丹徒区长香路改造工程中标结果公示",
            "项目名称:丹徒区长香路改造工程\n招标人:镇江市丹徒区交通局\n"
            f"中标人:江苏通港路桥建设集团股份有限公司(统一社会信用代码:{TONGGANG})\n"
            "中标价:812.5万元",
            "2024-03-02",
        )
        coded = Organization.objects.get(credit_code=TONGGANG)
        assert coded.name == "江苏通港路桥建设集团股份有限公司"
        watcher = paid_member(slug="custom")
        Follow.objects.create(user=watcher, organization=first, relation="competitor")
        # ... until the first name is given the same code: merged into the coded company,
        # its project role and its watcher moved.
        _page(
            tmp_path,
            "c.txt",
            "润州区金山路改造工程中标结果公示",
            "项目名称:润州区金山路改造工程\n招标人:镇江市润州区住建局\n"
            f"中标人:江苏通港路桥建设集团有限公司\n统一社会信用代码:{TONGGANG}\n"
            "中标价:420万元",
            "2024-06-02",
        )
        first.refresh_from_db()
        assert first.merged_into_id == coded.pk and first.credit_code == ""
        won = ProjectParty.objects.filter(organization=coded, role=ProjectParty.Role.WINNER)
        assert won.count() == 3
        assert not ProjectParty.objects.filter(organization=first).exists()
        assert Follow.objects.get(user=watcher).organization_id == coded.pk
        # The variant's name without a code still finds the company.
        _page(
            tmp_path,
            "d.txt",
            "京口区学府路改造工程中标结果公示",
            "项目名称:京口区学府路改造工程\n招标人:镇江市京口区住建局\n"
            "中标人:江苏通港路桥建设集团有限公司\n中标价:300万元",
            "2024-08-02",
        )
        assert won.count() == 4
        assert (
            Organization.objects.filter(merged_into__isnull=True, name__contains="通港").count()
            == 1
        )

    def test_the_variants_page_redirects_to_the_company(self, client):
        company = Organization.objects.create(
            name="甲公司", name_key="甲公司", credit_code=TONGGANG
        )
        variant = Organization.objects.create(name="甲有限公司", name_key="甲有限公司")
        companies.organization_merge(source_id=variant.pk, target_id=company.pk)
        response = client.get(variant.get_absolute_url())
        assert response.status_code == 301 and response["Location"] == company.get_absolute_url()


# --- the profile on a small known dataset ------------------------------------------------


def _at(year: int, month: int = 6) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, 1, 12))


@pytest.fixture
def market(db):
    """甲 wins P1 (2023, 100 万, over 丙) and P2 (2024, 300 万); 丙 wins P3 (2024, over 甲).
    乙 is the buyer of all three."""
    a = Organization.objects.create(name="甲建设集团有限公司", name_key="甲建设集团有限公司")
    b = Organization.objects.create(name="乙城投有限公司", name_key="乙城投有限公司")
    c = Organization.objects.create(name="丙路桥有限公司", name_key="丙路桥有限公司")
    award = category("award")
    projects = []
    for i, (year, amount, winner, loser) in enumerate(
        [(2023, 1_000_000, a, c), (2024, 3_000_000, a, None), (2024, 5_000_000, c, a)]
    ):
        project = Project.objects.create(
            name=f"测试项目{i}", name_key=f"测试项目{i}", amount_yuan=amount
        )
        bulletin = BulletinFactory(
            title=f"测试项目{i}中标结果公示",
            category=award,
            published_at=_at(year),
            project=project,
        )
        for org, role in ((b, "owner"), (winner, "winner")):
            ProjectParty.objects.create(
                project=project,
                organization=org,
                role=role,
                first_bulletin=bulletin,
                first_seen=_at(year),
                last_seen=_at(year),
            )
        for position, (org, won) in enumerate(((winner, True), (loser, False))):
            if org is not None:
                BidResult.objects.create(
                    bulletin=bulletin,
                    project=project,
                    bidder=org.name,
                    organization=org,
                    winner=won,
                    rank=position + 1,
                    position=position,
                )
        projects.append(project)
    return a, b, c


class TestProfile:
    def test_figures_for_a_member_with_the_right(self, market):
        a, b, c = market
        profile = company_profile(a.pk, viewer=paid_member(slug="query"))
        assert profile.full
        by_year = {y.year: y for y in profile.years}
        assert (by_year[2023].wins, by_year[2023].bids, by_year[2023].win_amount_yuan) == (
            1,
            1,
            1_000_000,
        )
        assert (by_year[2024].wins, by_year[2024].bids, by_year[2024].win_amount_yuan) == (
            1,
            2,
            3_000_000,
        )
        # Projects it is a party of (winner of two); bids count the 开标结果 rows (three).
        assert (profile.total_wins, profile.total_bids, profile.total_projects) == (2, 3, 2)
        [buyer] = profile.buyers
        assert (buyer.name, buyer.count, buyer.amount_yuan) == (b.name, 2, 4_000_000)
        [rival] = profile.competitors
        assert (rival.name, rival.shared, rival.we_won, rival.they_won) == (c.name, 2, 1, 1)
        # The buyer's side: its tenders by year and whom it awarded them to.
        owner = company_profile(b.pk, viewer=paid_member(slug="query"))
        assert {y.year: y.tenders for y in owner.years} == {2023: 1, 2024: 2}
        assert [(s.name, s.count) for s in owner.suppliers] == [(a.name, 2), (c.name, 1)]
        # The chart: one group per year, bars as tall as their counts.
        assert [g.year for g in profile.chart.groups] == [2023, 2024]

    @pytest.mark.parametrize("who", ["anonymous", "free"])
    def test_teaser_without_the_right(self, client, market, who):
        a, b, c = market
        if who == "free":
            client.force_login(UserFactory())
        profile = company_profile(a.pk, viewer=None)
        assert not profile.full and profile.total_wins == 2
        assert profile.buyers == profile.competitors == profile.regions == []
        assert all(y.win_amount_yuan is None for y in profile.years)
        html = client.get(a.get_absolute_url()).content.decode()
        assert "<svg" in html and "<title" in html and "<desc" in html
        assert "开通付费会员后可查看" in html
        # Buyers, competitors and amounts are not on the page at all.
        assert b.name not in html and c.name not in html
        assert '<th scope="col">中标金额' not in html and "300 万元" not in html
        assert "关注为竞争对手" not in html  # watching needs the plan right too

    def test_paid_page_shows_the_analysis(self, client, market):
        a, b, c = market
        client.force_login(paid_member(slug="query"))
        html = client.get(a.get_absolute_url()).content.decode()
        assert "中标金额" in html and "300 万元" in html
        assert c.name in html and b.name in html
        assert "关注为竞争对手" in html and "开通付费会员后可查看" not in html

    def test_profile_reads_a_fixed_number_of_queries(self, market, django_assert_max_num_queries):
        a, *_ = market
        viewer = paid_member(slug="query")
        with django_assert_max_num_queries(16):
            company_profile(a.pk, viewer=viewer)


def test_bulletins_are_published(market):
    # The fixture's bulletins are public ones (profile counts read published rows only).
    assert not Bulletin.objects.exclude(status=Bulletin.Status.PUBLISHED).exists()
