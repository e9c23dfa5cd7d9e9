"""Projects: linking on import (as expected.json says), stages, parties, contacts, merges."""

import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from news import linking
from news.models import (
    Bulletin,
    Organization,
    Project,
    ProjectContact,
    ProjectParty,
    ProjectStageChange,
    Stage,
)
from news.tests.factories import BulletinFactory, ContactFactory, category, region

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "demo" / "bulletins"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
NAMES = sorted(n for n in EXPECTED if not n.startswith("_"))


def _import(*names):
    for name in names:
        call_command("import_bulletins", str(SAMPLES / name), stdout=io.StringIO())


def _project_of(name: str) -> Project | None:
    title = EXPECTED[name]["title"]
    return Bulletin.objects.get(title=title).project


class TestSamples:
    def test_samples_link_as_expected_json_says(self):
        _import(*NAMES)  # file order: 001 (tender) before 004 (award)
        for name in NAMES:
            expected = EXPECTED[name]
            project = _project_of(name)
            if "project" not in expected:
                assert project is None, name
                continue
            assert project is not None, name
            assert project.name == expected["project"], name
            assert project.get_stage_display() == expected["project_stage"], name
            if "project_of" in expected:
                assert project == _project_of(expected["project_of"])
        linked = [n for n in NAMES if "project" in EXPECTED[n]]
        assert Project.objects.count() == len({EXPECTED[n]["project"] for n in linked})

    def test_stage_history_and_provenance(self):
        _import("001_tender_gangnan_road.txt", "004_award_gangnan_road.txt")
        project = _project_of("004_award_gangnan_road.txt")
        history = list(project.stage_changes.values_list("stage", "previous", "bulletin__title"))
        assert history == [
            (Stage.TENDER, None, EXPECTED["001_tender_gangnan_road.txt"]["title"]),
            (Stage.AWARD, Stage.TENDER, EXPECTED["004_award_gangnan_road.txt"]["title"]),
        ]
        # 王建明 is named by both notices with the same phone: one row, seen twice.
        wang = ProjectContact.objects.get(project=project, person="王建明")
        assert wang.first_bulletin.title == EXPECTED["001_tender_gangnan_road.txt"]["title"]
        assert wang.last_bulletin.title == EXPECTED["004_award_gangnan_road.txt"]["title"]
        assert wang.first_seen < wang.last_seen
        # 李晓燕: a mobile in 001, the same office phone in 004 — still one person.
        li = ProjectContact.objects.get(project=project, person="李晓燕")
        assert (li.phone, li.mobile) == ("0511-85000002", "13800000002")
        roles = set(project.parties.values_list("role", "organization__name"))
        assert (ProjectParty.Role.OWNER, "镇江新区城市建设投资有限公司") in roles
        assert (ProjectParty.Role.AGENT, "江苏华信工程咨询有限公司") in roles
        assert (ProjectParty.Role.WINNER, "江苏通港路桥建设集团有限公司") in roles

    def test_an_older_notice_imported_later_never_moves_the_stage_back(self):
        _import("004_award_gangnan_road.txt", "001_tender_gangnan_road.txt")
        project = _project_of("001_tender_gangnan_road.txt")
        assert project.stage == Stage.AWARD
        assert project.stage_changes.count() == 1
        assert project.bulletins.count() == 2

    def test_organizations_are_one_row_across_projects(self):
        _import(*NAMES)
        agent = Organization.objects.get(name="江苏华信工程咨询有限公司")
        assert agent.parties.values("project").distinct().count() == 1
        owner = Organization.objects.get(name="镇江新区城市建设投资有限公司")
        assert owner.parties.count() == 1  # the same role on the same project: one row


class TestMatching:
    def _notice(self, title, path="江苏-镇江-镇江新区", days=0, **kw):
        return BulletinFactory(
            title=title,
            region=region(path),
            category=kw.pop("category", category("tender")),
            published_at=timezone.now() - datetime.timedelta(days=30 - days),
            **kw,
        )

    def test_same_name_in_another_city_is_another_project(self):
        a = self._notice("人民路道路改造工程施工招标公告", "江苏-镇江-京口区")
        b = self._notice("人民路道路改造工程施工招标公告", "江苏-常州-武进区")
        for bulletin in (a, b):
            linking.project_link_bulletin(bulletin=bulletin)
        assert a.project != b.project

    def test_width_brackets_and_trailing_words_do_not_split_a_project(self):
        a = self._notice("港南路（大港段）道路提升改造工程施工招标公告")
        b = self._notice(
            "港南路(大港段)道路提升改造工程中标结果公示", category=category("award"), days=5
        )
        for bulletin in (a, b):
            linking.project_link_bulletin(bulletin=bulletin)
        a.refresh_from_db()
        b.refresh_from_db()
        assert a.project == b.project and a.project.stage == Stage.AWARD

    def test_news_starts_no_project(self):
        news = self._notice("镇江召开重大项目推进会", category=category("news"))
        assert linking.project_link_bulletin(bulletin=news).project is None

    def test_merge_moves_everything_and_is_recorded(self, django_user_model):
        a = self._notice("城东污水处理厂扩建工程施工招标公告")
        b = self._notice("城东污水厂扩建项目中标公告", category=category("award"), days=3)
        ContactFactory(bulletin=a, person="周敏", phone="0511-86000001")
        ContactFactory(bulletin=b, person="李强", phone="0511-86000002")
        for bulletin in (a, b):
            linking.project_link_bulletin(bulletin=bulletin)
        a.refresh_from_db()
        b.refresh_from_db()
        assert a.project != b.project  # different names: two projects until staff merge
        staff = django_user_model.objects.create_user("ed", is_staff=True)
        record = linking.project_merge(source=b.project, target=a.project, by=staff)
        a.project.refresh_from_db()
        assert set(a.project.bulletins.all()) == {a, b}
        assert a.project.stage == Stage.AWARD
        assert set(a.project.contacts.values_list("person", flat=True)) == {"周敏", "李强"}
        assert ProjectStageChange.objects.filter(project=a.project).count() == 2
        assert record.moved["bulletins"] == 1 and record.by == staff
        assert Project.objects.active().count() == 1
        with pytest.raises(ValueError):
            linking.project_merge(source=b.project, target=a.project)


def _project(name: str) -> Project:
    return Project.objects.create(name=name, name_key=name)


def _day(n: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, 3, n, 9, 0))


class TestMerge:
    def test_a_contact_and_a_party_both_have_are_seen_from_first_to_last(self):
        target, source = _project("城东污水处理厂扩建工程"), _project("城东污水厂扩建")
        owner = Organization.objects.create(name="镇江水务集团", name_key="镇江水务集团")
        on = {day: BulletinFactory(title=f"3月{day}日公告") for day in (2, 5, 6, 7, 8, 20)}

        def contact(project, first, last, **numbers):
            ProjectContact.objects.create(
                project=project,
                person="周敏",
                identity="周敏|051186000001",
                first_seen=_day(first),
                last_seen=_day(last),
                first_bulletin=on[first],
                last_bulletin=on[last],
                **numbers,
            )

        def party(project, first, last):
            ProjectParty.objects.create(
                project=project,
                organization=owner,
                role=ProjectParty.Role.OWNER,
                first_seen=_day(first),
                last_seen=_day(last),
                first_bulletin=on[first],
            )

        contact(target, 5, 8, phone="0511-86000001")
        contact(source, 6, 20, mobile="13900000001")  # seen again since, in the other project
        party(target, 5, 8)
        party(source, 2, 7)  # named earlier, in the other project
        linking.project_merge(source=source, target=target)
        folded = ProjectContact.objects.get()
        assert folded.project == target
        assert (folded.first_seen, folded.last_seen) == (_day(5), _day(20))
        assert (folded.first_bulletin, folded.last_bulletin) == (on[5], on[20])
        assert (folded.phone, folded.mobile) == ("0511-86000001", "13900000001")
        owner_row = ProjectParty.objects.get()
        assert owner_row.project == target
        assert (owner_row.first_seen, owner_row.last_seen) == (_day(2), _day(8))
        assert owner_row.first_bulletin == on[2]

    def test_a_target_that_was_itself_merged_is_refused_naming_where_it_went(self):
        kept, gone, other = (
            _project("港南路道路提升改造工程"),
            _project("港南路改造"),
            _project("港南路二期"),
        )
        linking.project_merge(source=gone, target=kept)
        bulletin = BulletinFactory(project=other)
        with pytest.raises(linking.ProjectMergeError) as refused:
            linking.project_merge(source=other, target=gone)
        assert "港南路改造" in str(refused.value) and "港南路道路提升改造工程" in str(refused.value)
        bulletin.refresh_from_db()
        assert bulletin.project == other and not Project.objects.get(pk=other.pk).merged_into


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_merge_waits_for_a_concurrent_merge_of_its_target_then_refuses():
    """Staff merge S into T while another merge of T into X is under way: the first holds
    S (the lower id, locked first) and waits for T; when T turns out merged, it refuses."""
    import threading

    from django.db import OperationalError, connection, transaction

    source, target, elsewhere = _project("甲工程"), _project("乙工程"), _project("丙工程")
    assert source.pk < target.pk
    bulletin = BulletinFactory(project=source)
    holding, finish, outcome = threading.Event(), threading.Event(), {}

    def other_merge():  # holds T's row, as project_merge(T → X) does mid-way
        try:
            with transaction.atomic():
                Project.objects.select_for_update().get(pk=target.pk)
                Project.objects.filter(pk=target.pk).update(merged_into=elsewhere)
                holding.set()
                finish.wait(20)
        finally:
            connection.close()

    def this_merge():
        try:
            linking.project_merge(source=source, target=target)
        except Exception as exc:  # noqa: BLE001 - the test asserts which
            outcome["error"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=other_merge), threading.Thread(target=this_merge)]
    threads[0].start()
    assert holding.wait(10)
    threads[1].start()
    try:
        assert _waiting_on_a_lock(), "the merge did not wait for the project being merged"
        with pytest.raises(OperationalError), transaction.atomic():
            Project.objects.select_for_update(nowait=True).get(pk=source.pk)  # held by it
    finally:
        finish.set()
        for thread in threads:
            thread.join(20)
    assert isinstance(outcome.get("error"), linking.ProjectMergeError), outcome
    assert "乙工程" in str(outcome["error"]) and "丙工程" in str(outcome["error"])
    bulletin.refresh_from_db()
    assert bulletin.project_id == source.pk


def _waiting_on_a_lock(timeout: float = 10.0) -> bool:
    import time

    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


class TestPages:
    @pytest.fixture
    def gangnan(self):
        _import("001_tender_gangnan_road.txt", "004_award_gangnan_road.txt")
        return _project_of("004_award_gangnan_road.txt")

    def test_project_page_timeline_parties_and_masked_contacts(self, client, gangnan):
        html = client.get(gangnan.get_absolute_url()).content.decode()
        assert f"<h1>{gangnan.name}</h1>" in html
        assert html.count('class="timeline-bulletin"') == 2
        assert "进入中标阶段" in html and "进入招标阶段" in html
        assert "江苏通港路桥建设集团有限公司" in html and "业主/建设单位" in html
        assert "王**" in html and "王建明" not in html and "0511-8*******" in html

    def test_bulletin_page_links_to_its_project(self, client, gangnan):
        bulletin = gangnan.bulletins.first()
        html = client.get(bulletin.get_absolute_url()).content.decode()
        assert f'href="{gangnan.get_absolute_url()}"' in html

    def test_organization_page_lists_its_projects_by_role(self, client, gangnan):
        org = Organization.objects.get(name="江苏华信工程咨询有限公司")
        html = client.get(org.get_absolute_url()).content.decode()
        assert gangnan.name in html and "招标代理" in html

    def test_project_list_filters(self, client):
        _import(*NAMES)
        page = client.get("/projects/").content.decode()
        assert all(EXPECTED[n]["project"] in page for n in NAMES if "project" in EXPECTED[n])
        award = client.get("/projects/", {"stage": Stage.AWARD}).content.decode()
        assert "上海市普陀区桃浦中学改扩建工程" in award
        assert "常州市武进区智能装备产业园一期项目" not in award
        shanghai = Project.objects.get(name="上海市普陀区桃浦中学改扩建工程").province_id
        only = client.get("/projects/", {"province": shanghai}).content.decode()
        assert "上海市普陀区桃浦中学改扩建工程" in only and "镇江新区港南路" not in only
        big = client.get("/projects/", {"amount_min": 10000}).content.decode()  # ≥ 1 亿
        assert "常州市武进区智能装备产业园一期项目" in big and "镇江新区港南路" not in big
        found = client.get("/projects/", {"q": "桃浦"}).content.decode()
        assert "上海市普陀区桃浦中学改扩建工程" in found and "常州市武进区" not in found

    def test_project_feed_is_masked_and_parses(self, client, gangnan):
        import feedparser

        response = client.get(f"/projects/{gangnan.pk}/feed/rss/")
        feed = feedparser.parse(response.content)
        assert len(feed.entries) == 4  # two bulletins, two stage changes
        assert "王建明" not in response.content.decode()

    def test_merged_project_redirects_to_its_target(self, client, gangnan):
        other = BulletinFactory(title="港南路道路改造配套绿化工程招标公告")
        linking.project_link_bulletin(bulletin=other)
        other.refresh_from_db()
        linking.project_merge(source=other.project, target=gangnan)
        response = client.get(other.project.get_absolute_url())
        assert response.status_code == 301 and response["Location"] == gangnan.get_absolute_url()

    def test_staff_merge_from_the_admin(self, staff_client, gangnan):
        other = BulletinFactory(title="港南路道路提升改造二期工程招标公告")
        linking.project_link_bulletin(bulletin=other)
        other.refresh_from_db()
        url = "/admin/news/project/"
        ids = [gangnan.pk, other.project_id]
        page = staff_client.post(url, {"action": "merge", "_selected_action": ids})
        assert "确认合并" in page.content.decode()
        staff_client.post(url, {"action": "merge", "_selected_action": ids, "target": gangnan.pk})
        other.refresh_from_db()
        assert other.project == gangnan
        assert gangnan.merges.get().by.email == "editor@example.com"
