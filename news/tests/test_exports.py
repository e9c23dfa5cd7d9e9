"""Exports (导出 Excel / CSV): plan limits, masking, reveal quota, injection guard."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from members.models import ContactReveal, SavedSearch
from members.tests.factories import UserFactory, paid_member, plan
from news.tests.factories import BulletinFactory, ContactFactory

pytestmark = pytest.mark.django_db


def _bulletins(n, *, contacts=True, **kwargs):
    made = [BulletinFactory(**kwargs) for _ in range(n)]
    if contacts:
        for i, b in enumerate(made):
            ContactFactory(bulletin=b, person=f"王建{'一二三四五六七八九'[i % 9]}")
    return made


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "CSV must start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(body[1:])))


def _export(client, fmt, query=""):
    return client.post(reverse("bulletin-export") + query, {"format": fmt})


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("bulletin-export"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_free_member_sees_why_and_cannot_export(client):
    _bulletins(2)
    client.force_login(UserFactory())
    page = client.get(reverse("bulletin-export"))
    assert page.status_code == 200
    assert "导出 Excel / CSV 需开通付费会员" in page.content.decode()
    assert "导出 Excel</button>" not in page.content.decode()
    refused = _export(client, "csv")
    assert refused.status_code == 403
    assert "导出标讯需要开通付费会员" in refused.content.decode()
    assert not ContactReveal.objects.exists()


def test_csv_shows_contacts_within_quota_and_records_reveals(client):
    newest_first = _bulletins(3)
    BulletinFactory(title="没有联系人的通知")  # no contacts: spends nothing
    member = paid_member(quota=2)
    client.force_login(member)
    page = client.get(reverse("bulletin-export")).content.decode()
    assert "今日已用 0 / 2 条,还可显示 2 条" in page

    rows = _csv(_export(client, "csv"))
    header, data = rows[0], rows[1:5]
    person, note = header.index("联系人"), header.index("联系方式说明")
    by_id = {int(r[0]): r for r in data}
    a, b, c = (by_id[x.pk] for x in newest_first)
    assert (a[person], b[person]) == ("王建一", "王建二")
    assert a[header.index("电话")] == "0511-83000001" and a[note] == ""
    # Past the quota: masked, with the reason in the row.
    assert c[person] == "王**" and "13800000001" not in ",".join(c)
    assert "今日查看联系方式额度(2 条)已用完" in c[note]
    assert "0511-8*******" in c[header.index("电话")]
    assert "2 条显示联系方式,本次新计 2 次查看" in rows[-1][0]
    assert "1 条因今日查看额度用完而隐藏联系方式" in rows[-1][0]
    # The audit log staff rely on: one reveal per bulletin, with the member's IP.
    logged = ContactReveal.objects.filter(user=member)
    assert sorted(logged.values_list("bulletin_id", flat=True)) == sorted(
        [newest_first[0].pk, newest_first[1].pk]
    )
    assert all(r.ip == "127.0.0.1" for r in logged)

    # Again the same day: those two are free, the quota is spent, nothing more is logged.
    again = _csv(_export(client, "csv"))
    assert {r[person] for r in again[1:4]} == {"王建一", "王建二", "王**"}
    assert logged.count() == 2


def test_xlsx_is_masked_for_free_plan_rights_and_guards_formulas(client):
    query_plan = plan("query")
    query_plan.sees_contacts = False  # a plan that exports but shows no contacts
    query_plan.save()
    b = BulletinFactory(title='=HYPERLINK("http://evil","点我") 王建明 13800000001')
    ContactFactory(bulletin=b)
    client.force_login(paid_member())
    response = _export(client, "xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["标讯"]
    header = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    title = row[header.index("标题")]
    assert title.startswith("'="), "a cell starting with = must not be a formula"
    assert "13800000001" not in title and "王建明" not in title
    assert row[header.index("联系人")] == "王**"
    assert "套餐不含查看联系方式" in row[header.index("联系方式说明")]
    assert "说明" in book.sheetnames
    assert not ContactReveal.objects.exists()


def test_rows_are_capped_by_the_plan_and_follow_the_search(client):
    query_plan = plan("query")
    query_plan.export_rows_limit = 2
    query_plan.save()
    _bulletins(3, contacts=False)
    client.force_login(paid_member())
    rows = _csv(_export(client, "csv"))
    assert len([r for r in rows[1:] if r and r[0].isdigit()]) == 2
    assert "每次最多导出 2 条" in rows[-1][0]


def test_filters_of_the_list_apply(client):
    from news.tests.factories import category

    _bulletins(2, contacts=False)
    award = BulletinFactory(category=category("award"), title="某某中标结果公示")
    client.force_login(paid_member())
    rows = _csv(_export(client, "csv", "?category=award"))
    ids = [int(r[0]) for r in rows[1:] if r and r[0].isdigit()]
    assert ids == [award.pk]


def test_bad_format_is_refused_with_a_reason(client):
    client.force_login(paid_member())
    response = _export(client, "pdf")
    assert response.status_code == 400
    assert "导出格式无效" in response.content.decode()


def test_saved_search_export(client):
    from news.tests.factories import category

    member = paid_member()
    _bulletins(2, contacts=False)
    award = BulletinFactory(category=category("award"), title="道路工程中标公示")
    search = SavedSearch.objects.create(user=member, name="中标", query="道路")
    search.categories.set([category("award")])
    client.force_login(member)
    page = client.get(reverse("saved-search-export", args=[search.pk]))
    assert "订阅“中标”匹配的标讯" in page.content.decode()
    response = client.post(reverse("saved-search-export", args=[search.pk]), {"format": "csv"})
    ids = [int(r[0]) for r in _csv(response)[1:] if r and r[0].isdigit()]
    assert ids == [award.pk]
    other = UserFactory()
    client.force_login(other)
    assert client.get(reverse("saved-search-export", args=[search.pk])).status_code == 404


def test_list_page_links_to_export_for_members(client):
    _bulletins(1, contacts=False)
    assert "导出 Excel / CSV" not in client.get(reverse("bulletin-list")).content.decode()
    client.force_login(UserFactory())
    page = client.get(reverse("bulletin-list") + "?category=tender").content.decode()
    assert reverse("bulletin-export") + "?category=tender" in page
