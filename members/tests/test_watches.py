"""关注企业: watch a company as 竞争对手 / 客户 → a bulletin names it → one alert email."""

import pytest
from django.urls import reverse

from members import alerts
from members.models import Follow
from members.tests.factories import UserFactory, paid_member
from news.models import Bulletin, Organization
from news.services import bulletin_set_status
from news.tests.factories import BulletinFactory, category, region

pytestmark = pytest.mark.django_db

WINNER = "江苏通港路桥建设集团有限公司"


def _award(title: str) -> Bulletin:
    """A draft award notice naming the company as 中标人 (no project: news-like)."""
    return BulletinFactory(
        status=Bulletin.Status.DRAFT,
        title=title,
        body=f"中标人:{WINNER}\n中标价:420万元",
        winner=WINNER,
        category=category("award"),
        region=region("江苏-镇江-镇江新区"),
    )


def _publish_and_send(bulletin) -> None:
    bulletin_set_status(bulletin_ids=[bulletin.pk], status=Bulletin.Status.PUBLISHED)
    alerts.alerts_send(delivery_ids=alerts.alerts_match(bulletin_ids=[bulletin.pk]))


def test_watch_publish_one_email_then_unwatch(client, smtp_server):
    company = Organization.objects.create(name=WINNER, name_key=WINNER)
    # 标讯查询: no instant alerts for searches, but it may watch companies.
    member = paid_member(slug="query", email="watcher@example.cn")
    client.force_login(member)
    response = client.post(reverse("company-watch", args=[company.pk]), {"relation": "client"})
    assert response.status_code == 302
    page = client.get(company.get_absolute_url()).content.decode()
    assert "已关注为客户" in page
    assert WINNER in client.get(reverse("member-account")).content.decode()

    award = _award("润州区金山路改造工程中标结果公示")
    _publish_and_send(award)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "watcher@example.cn"
    text = message.get_body(("plain",)).get_content()
    assert f"关注企业(客户):{WINNER}" in text
    # Matching and sending again changes nothing: exactly one email.
    alerts.alerts_send(delivery_ids=alerts.alerts_match(bulletin_ids=[award.pk]))
    assert len(smtp_server.wait_for(2, timeout=3)) == 1

    client.post(reverse("company-watch", args=[company.pk]), {"relation": ""})
    assert not Follow.objects.filter(user=member).exists()
    _publish_and_send(_award("京口区学府路改造工程中标结果公示"))
    assert len(smtp_server.wait_for(2, timeout=3)) == 1


def test_watching_needs_the_plan_right(client):
    company = Organization.objects.create(name=WINNER, name_key=WINNER)
    client.force_login(UserFactory())  # free member
    html = client.get(company.get_absolute_url()).content.decode()
    assert "关注企业(竞争对手、客户)并接收提醒需开通付费会员" in html
    for url in (
        reverse("company-watch", args=[company.pk]),
        reverse("follow-toggle", args=["organization", company.pk]),
    ):
        client.post(url, {"relation": "competitor"})
    assert not Follow.objects.exists()


def test_bad_relation_is_refused_by_name(client):
    company = Organization.objects.create(name=WINNER, name_key=WINNER)
    client.force_login(paid_member(slug="query"))
    response = client.post(
        reverse("company-watch", args=[company.pk]), {"relation": "friend"}, follow=True
    )
    assert "关注类型“friend”无效" in response.content.decode()
    assert not Follow.objects.exists()
