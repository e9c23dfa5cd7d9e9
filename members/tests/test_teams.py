"""企业会员: seats, invitations, removal, the shared quota, the owner's view of each seat's
reveals and the shared follow list, on PostgreSQL (real workers and SMTP where mail goes)."""

import datetime
import re
import threading
import time

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members import services, teams
from members.access import alert_rights, member_rights, users_with_rights
from members.models import ContactReveal, Plan, Team, TeamFollow, TeamMembership
from members.tests.factories import UserFactory, paid_member, plan
from news.models import Project
from news.tests.factories import BulletinFactory, ContactFactory

pytestmark = pytest.mark.django_db


def team_plan(*, seats: int | None = None, quota: int | None = None) -> Plan:
    chosen = plan("team")
    if seats is not None or quota is not None:
        chosen.seats = seats if seats is not None else chosen.seats
        chosen.daily_reveal_quota = quota if quota is not None else chosen.daily_reveal_quota
        chosen.save()
    return chosen


def team_owner(*, seats=None, quota=None, **kwargs):
    owner = UserFactory(company="镇江某某建设有限公司", **kwargs)
    services.subscription_activate(
        user=owner, plan=team_plan(seats=seats, quota=quota), months=12, by=None
    )
    return owner, Team.objects.get(owner=owner)


def join(team, user) -> TeamMembership:
    """Invite and accept, as the two pages do."""
    membership = teams.team_invite(team=team, email=user.email, by=team.owner)
    return teams.team_invite_accept(token=teams.invite_token(membership), user=user)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_plans_keep_one_seat_and_the_team_plan_is_seeded_with_five():
    assert set(Plan.objects.exclude(slug="team").values_list("seats", flat=True)) == {1}
    team = plan("team")
    assert (team.name, team.seats, team.sees_contacts) == ("企业会员", 5, True)


def test_the_plans_page_sells_the_seats(client):
    assert "企业会员:含 5 个账号" in client.get(reverse("membership")).content.decode()


def test_activating_the_team_plan_makes_the_owner_s_team_with_their_seat():
    owner, team = team_owner()
    assert team.name == "镇江某某建设有限公司"
    [seat] = team.memberships.all()
    assert (seat.user, seat.role, seat.status) == (owner, "owner", "active")
    rights = member_rights(owner)
    assert rights.sees_contacts and rights.team_id == team.pk
    # A personal plan makes no team.
    assert not Team.objects.filter(owner=paid_member()).exists()


class TestSeats:
    def test_invitations_count_until_the_seats_are_taken(self):
        owner, team = team_owner(seats=3)
        teams.team_invite(team=team, email="A@Example.cn ", by=owner)
        second = teams.team_invite(team=team, email="b@example.cn", by=owner)
        with pytest.raises(teams.TeamError, match="账号已满:企业会员共 3 个账号"):
            teams.team_invite(team=team, email="c@example.cn", by=owner)
        assert team.memberships.get(email="a@example.cn").status == "invited"
        # Withdrawing an invitation frees its seat at once.
        teams.team_member_remove(team=team, membership_id=second.pk, by=owner)
        teams.team_invite(team=team, email="c@example.cn", by=owner)

    def test_an_expired_invitation_frees_its_seat(self):
        owner, team = team_owner(seats=2)
        old = teams.team_invite(team=team, email="a@example.cn", by=owner)
        TeamMembership.objects.filter(pk=old.pk).update(
            invited_at=timezone.now() - teams.INVITE_MAX_AGE - datetime.timedelta(minutes=1)
        )
        teams.team_invite(team=team, email="b@example.cn", by=owner)

    def test_bad_email_and_a_lapsed_plan_are_refused_with_the_reason(self):
        owner, team = team_owner()
        with pytest.raises(teams.TeamError, match="邮箱“not-an-email”格式不正确"):
            teams.team_invite(team=team, email="not-an-email", by=owner)
        services.subscription_end_early(
            subscription=owner.subscriptions.get(), reason="测试", by=None
        )
        with pytest.raises(teams.TeamError, match="企业会员已到期"):
            teams.team_invite(team=team, email="a@example.cn", by=owner)
        assert team.memberships.count() == 1

    def test_the_owner_page_form_shows_the_refusal(self):
        owner, team = team_owner(seats=2)
        client = client_for(owner)
        client.post(reverse("team-invite"), {"email": "a@example.cn"})
        response = client.post(reverse("team-invite"), {"email": "b@example.cn"}, follow=True)
        assert "账号已满" in response.content.decode()
        assert team.memberships.count() == 2

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_parallel_invitations_cannot_exceed_the_seats(self):
        owner, team = team_owner(seats=3)
        barrier = threading.Barrier(4)
        outcomes = []

        def invite(n):
            try:
                barrier.wait()
                teams.team_invite(team=team, email=f"p{n}@example.cn", by=owner)
                outcomes.append("ok")
            except teams.TeamError:
                outcomes.append("full")
            finally:
                connection.close()

        threads = [threading.Thread(target=invite, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["full", "full", "ok", "ok"]
        assert team.memberships.exclude(status="removed").count() == 3


class TestInvitationLink:
    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_the_invitation_is_mailed_by_the_worker_and_accepted_once(
        self, celery_worker, smtp_server, settings
    ):
        settings.SITE_URL = "http://testserver"
        owner, team = team_owner(real_name="李总")
        colleague = UserFactory(email="wang@example.cn")
        response = client_for(owner).post(
            reverse("team-invite"), {"email": "Wang@Example.cn"}, follow=True
        )
        assert "邀请已发送至 wang@example.cn" in response.content.decode()
        [message] = smtp_server.wait_for(1)
        assert message["To"] == "wang@example.cn"
        assert "李总" in message["Subject"] and "镇江某某建设有限公司" in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        link = re.search(r"http://testserver(/team/join/\S+/)", text).group(1)
        assert link in html
        # Signed out: the page asks to sign in with the invited address; nothing happens.
        anonymous = Client().get(link)
        assert "请用 wang@example.cn 登录" in anonymous.content.decode()
        client = client_for(colleague)
        assert "加入团队" in client.get(link).content.decode()
        assert not member_rights(colleague, fresh=True).sees_contacts  # a GET acts not
        response = client.post(link)
        assert response.status_code == 302 and response["Location"] == reverse("team")
        rights = member_rights(colleague, fresh=True)
        assert rights.sees_contacts and rights.team_id == team.pk
        assert rights.plan_name == "企业会员"
        # Single use: the same link again says so and changes nothing.
        again = client.post(link)
        assert again.status_code == 410 and "已使用或已失效" in again.content.decode()

    def test_an_expired_link_is_refused(self, client, monkeypatch):
        owner, team = team_owner()
        colleague = UserFactory()
        token = teams.invite_token(teams.team_invite(team=team, email=colleague.email, by=owner))
        later = time.time() + teams.INVITE_MAX_AGE.total_seconds() + 60
        monkeypatch.setattr(signing.time, "time", lambda: later)
        with pytest.raises(teams.InviteProblem, match="邀请链接已过期"):
            teams.team_invite_accept(token=token, user=colleague)
        client.force_login(colleague)
        response = client.post(reverse("team-join", args=[token]))
        assert response.status_code == 410
        assert not member_rights(colleague, fresh=True).sees_contacts

    def test_sending_again_retires_the_old_link(self):
        owner, team = team_owner()
        colleague = UserFactory()
        old = teams.invite_token(teams.team_invite(team=team, email=colleague.email, by=owner))
        new = teams.invite_token(teams.team_invite(team=team, email=colleague.email, by=owner))
        with pytest.raises(teams.InviteProblem, match="已使用或已失效"):
            teams.team_invite_accept(token=old, user=colleague)
        teams.team_invite_accept(token=new, user=colleague)
        assert team.memberships.filter(status="active").count() == 2

    def test_a_tampered_link_is_refused(self, client):
        response = client.get(reverse("team-join", args=["abc:def:ghi"]))
        assert response.status_code == 403 and "邀请链接无效" in response.content.decode()

    def test_the_wrong_account_cannot_take_the_seat(self):
        owner, team = team_owner()
        membership = teams.team_invite(team=team, email="wang@example.cn", by=owner)
        link = reverse("team-join", args=[teams.invite_token(membership)])
        other = UserFactory(email="zhao@example.cn")
        response = client_for(other).post(link)
        body = response.content.decode()
        assert response.status_code == 403
        assert "此邀请发给 wang@example.cn" in body and "zhao@example.cn" in body
        membership.refresh_from_db()
        assert membership.status == "invited" and membership.user is None
        assert not member_rights(other, fresh=True).sees_contacts

    def test_an_unverified_address_is_not_enough(self):
        owner, team = team_owner()
        colleague = UserFactory(email="wang@example.cn")
        colleague.emailaddress_set.update(verified=False)
        membership = teams.team_invite(team=team, email=colleague.email, by=owner)
        with pytest.raises(teams.InviteProblem, match="此邀请发给"):
            teams.team_invite_accept(token=teams.invite_token(membership), user=colleague)

    def test_one_team_per_person(self):
        _, first = team_owner()
        _, second = team_owner()
        colleague = UserFactory()
        join(first, colleague)
        membership = teams.team_invite(team=second, email=colleague.email, by=second.owner)
        with pytest.raises(teams.InviteProblem, match="一个账号只能加入一个企业团队"):
            teams.team_invite_accept(token=teams.invite_token(membership), user=colleague)


class TestAccess:
    def test_removal_revokes_access_on_the_next_request(self):
        owner, team = team_owner()
        colleague = UserFactory()
        seat = join(team, colleague)
        tender = BulletinFactory(title="镇江新区道路工程招标公告")
        ContactFactory(bulletin=tender, person="王建明", phone="0511-83000001")
        client = client_for(colleague)
        client.post(reverse("bulletin-reveal", args=[tender.pk]))
        assert "0511-83000001" in client.get(tender.get_absolute_url()).content.decode()
        client_for(owner).post(reverse("team-member-remove", args=[seat.pk]))
        page = client.get(tender.get_absolute_url()).content.decode()
        assert "0511-83000001" not in page and "王**" in page
        other = BulletinFactory(title="另一条")
        assert client.post(reverse("bulletin-reveal", args=[other.pk])).status_code == 403
        assert client.get(reverse("team")).status_code == 404

    def test_the_team_loses_access_with_the_owner_s_period(self):
        owner, team = team_owner()
        colleague = UserFactory()
        join(team, colleague)
        assert member_rights(colleague, fresh=True).sees_contacts
        services.subscription_end_early(
            subscription=owner.subscriptions.get(), reason="退款", by=None
        )
        assert not member_rights(colleague, fresh=True).sees_contacts
        assert "企业会员已到期" in client_for(colleague).get(reverse("team")).content.decode()

    def test_a_member_s_richer_own_plan_counts_on_their_own_quota(self):
        _, team = team_owner(quota=10)
        colleague = paid_member(slug="custom")  # 200 a day, their own
        join(team, colleague)
        rights = member_rights(colleague, fresh=True)
        assert rights.daily_quota == 200 and rights.team_id is None

    def test_batch_rights_agree_with_the_page_policy(self):
        owner, team = team_owner()
        colleague, removed, outsider = UserFactory(), UserFactory(), UserFactory()
        join(team, colleague)
        seat = join(team, removed)
        teams.team_member_remove(team=team, membership_id=seat.pk, by=owner)
        users = [owner, colleague, removed, outsider]
        loaded = users_with_rights(u.pk for u in users)
        alerts = alert_rights(u.pk for u in users)
        for user in users:
            page = member_rights(user, fresh=True)
            assert member_rights(loaded[user.pk]) == page, user
            assert alerts[user.pk][1] == (page.sees_contacts and page.instant_alerts), user
        assert member_rights(loaded[colleague.pk]).team_id == team.pk
        assert not member_rights(loaded[removed.pk]).sees_contacts


class TestSharedQuota:
    def test_every_seat_spends_the_team_s_quota(self):
        owner, team = team_owner(quota=3)
        colleague = UserFactory()
        join(team, colleague)
        bulletins = [BulletinFactory(title=f"共享额度{i}") for i in range(4)]
        for b in bulletins[:2]:
            services.contact_reveal(user=owner, bulletin_id=b.pk, ip=None)
        services.contact_reveal(user=colleague, bulletin_id=bulletins[2].pk, ip=None)
        # Looking again is free; a new one is past the team's quota for everyone.
        services.contact_reveal(user=colleague, bulletin_id=bulletins[2].pk, ip=None)
        with pytest.raises(services.QuotaExceeded):
            services.contact_reveal(user=colleague, bulletin_id=bulletins[3].pk, ip=None)
        with pytest.raises(services.QuotaExceeded):
            services.contact_reveal(user=owner, bulletin_id=bulletins[3].pk, ip=None)
        assert ContactReveal.objects.filter(team=team).count() == 3
        account = client_for(colleague).get(reverse("member-account")).content.decode()
        assert "3 / 3 条" in account

    def test_an_export_spends_the_team_s_quota_too(self):
        owner, team = team_owner(quota=3)
        colleague = UserFactory()
        join(team, colleague)
        bulletins = [BulletinFactory(title=f"导出{i}") for i in range(4)]
        services.contact_reveal(user=owner, bulletin_id=bulletins[0].pk, ip=None)
        bulk = services.contact_reveal_many(
            user=colleague, bulletin_ids=[b.pk for b in bulletins], ip=None
        )
        assert (bulk.newly_spent, bulk.over_quota) == (2, True)
        assert ContactReveal.objects.filter(team=team).count() == 3

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_concurrent_reveals_of_three_seats_cannot_exceed_it(self):
        owner, team = team_owner(quota=5)
        seats = [owner, UserFactory(), UserFactory()]
        for user in seats[1:]:
            join(team, user)
        bulletins = [BulletinFactory(title=f"并发{i}") for i in range(12)]
        jobs = [(seats[i % 3], b) for i, b in enumerate(bulletins)]
        barrier = threading.Barrier(len(jobs))
        outcomes = []

        def reveal(user, bulletin):
            try:
                barrier.wait()
                services.contact_reveal(user=user, bulletin_id=bulletin.pk, ip=None)
                outcomes.append("ok")
            except services.QuotaExceeded:
                outcomes.append("over")
            finally:
                connection.close()

        threads = [threading.Thread(target=reveal, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes.count("ok") == 5 and outcomes.count("over") == 7
        assert ContactReveal.objects.filter(team=team, day=timezone.localdate()).count() == 5


class TestTeamPage:
    def test_the_owner_sees_each_seat_s_reveals_and_the_log_masked(self):
        owner, team = team_owner()
        colleague = UserFactory(email="wang@example.cn", real_name="王工")
        join(team, colleague)
        teams.team_invite(team=team, email="pending@example.cn", by=owner)
        tender = BulletinFactory(title="港南路道路工程联系人王建明")
        ContactFactory(bulletin=tender, person="王建明", phone="0511-83000001")
        other = BulletinFactory(title="学校工程")
        for b in (tender, other):
            services.contact_reveal(user=colleague, bulletin_id=b.pk, ip=None)
        earlier = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
        ContactReveal.objects.create(user=colleague, team=team, bulletin=other, day=earlier)
        services.contact_reveal(user=owner, bulletin_id=other.pk, ip=None)
        html = client_for(owner).get(reverse("team")).content.decode()
        rows = dict(
            re.findall(r'class="seat-email">([^<]+)<.*?class="seat-today">(\d+)<', html, re.S)
        )
        assert rows == {owner.email: "1", "wang@example.cn": "2", "pending@example.cn": "0"}
        months = re.findall(r'class="seat-month">(\d+)<', html)
        assert months == ["1", "2", "0"]  # last month's reveal is not this month's
        assert "已用 3 / 5 个" in html and "团队共享 3 / 500 条" in html
        # The log names the seat; the owner did not reveal the tender: its title is masked.
        log = html.split('class="reveal-log"', 1)[1]
        assert "wang@example.cn" in log and "港南路道路工程联系人王**" in log
        assert "王建明" not in html

    def test_a_member_sees_the_follow_list_but_not_the_seats_or_log(self):
        _, team = team_owner()
        colleague = UserFactory()
        join(team, colleague)
        html = client_for(colleague).get(reverse("team")).content.decode()
        assert "团队关注项目" in html
        assert "reveal-log" not in html and "发送邀请" not in html
        assert (
            client_for(colleague)
            .post(reverse("team-invite"), {"email": "x@example.cn"})
            .status_code
            == 404
        )

    def test_someone_without_a_team_is_told_what_it_is(self):
        response = client_for(UserFactory()).get(reverse("team"))
        assert response.status_code == 404 and "查看会员套餐" in response.content.decode()


class TestSharedFollows:
    def _project(self):
        return Project.objects.create(name="镇江新区综合管廊工程", name_key="镇江新区综合管廊工程")

    def test_members_add_a_project_then_edit_its_note_and_assignee(self):
        owner, team = team_owner()
        wang, zhao = UserFactory(real_name="王工"), UserFactory()
        join(team, wang)
        zhao_seat = join(team, zhao)
        project = self._project()
        client = client_for(wang)
        page = client.get(project.get_absolute_url()).content.decode()
        assert "加入团队关注" in page
        client.post(
            reverse("team-follow", args=[project.pk, "add"]), {"next": project.get_absolute_url()}
        )
        response = client.post(
            reverse("team-follow", args=[project.pk, "edit"]),
            {"note": "周三约业主面谈", "assignee": zhao_seat.pk, "next": "/account/team/"},
        )
        assert response["Location"] == "/account/team/"
        follow = TeamFollow.objects.get(team=team, project=project)
        assert (follow.note, follow.assignee, follow.updated_by) == (
            "周三约业主面谈",
            zhao_seat,
            wang,
        )
        # The owner's team page and the other member's project page show the same.
        team_html = client_for(owner).get(reverse("team")).content.decode()
        assert "周三约业主面谈" in team_html and "镇江新区综合管廊工程" in team_html
        project_html = client_for(zhao).get(project.get_absolute_url()).content.decode()
        assert "周三约业主面谈" in project_html
        assert f'<option value="{zhao_seat.pk}" selected>' in project_html
        # A removed assignee leaves the project unassigned.
        teams.team_member_remove(team=team, membership_id=zhao_seat.pk, by=owner)
        follow.refresh_from_db()
        assert follow.assignee is None and follow.note == "周三约业主面谈"

    def test_bad_edits_say_why_and_change_nothing(self):
        owner, team = team_owner()
        colleague = UserFactory()
        join(team, colleague)
        _, other_team = team_owner()
        project = self._project()
        teams.team_follow_add(user=colleague, project_id=project.pk)
        outsider_seat = other_team.memberships.get()
        with pytest.raises(teams.TeamError, match="负责人必须是本团队已加入的成员"):
            teams.team_follow_update(
                user=colleague, project_id=project.pk, note="x", assignee_id=outsider_seat.pk
            )
        with pytest.raises(teams.TeamError, match="备注最多 1000 字,现为 1001 字"):
            teams.team_follow_update(
                user=colleague, project_id=project.pk, note="长" * 1001, assignee_id=None
            )
        response = client_for(colleague).post(
            reverse("team-follow", args=[project.pk, "edit"]),
            {"note": "y", "assignee": "abc"},
            follow=True,
        )
        assert "负责人选择无效" in response.content.decode()
        assert TeamFollow.objects.get().note == ""
        # Someone outside the team adds nothing and sees no team panel.
        stranger = client_for(UserFactory())
        stranger.post(reverse("team-follow", args=[project.pk, "add"]))
        assert TeamFollow.objects.count() == 1
        assert "团队关注" not in stranger.get(project.get_absolute_url()).content.decode()

    def test_a_lapsed_team_s_list_is_read_only(self):
        owner, team = team_owner()
        colleague = UserFactory()
        join(team, colleague)
        project = self._project()
        teams.team_follow_add(user=colleague, project_id=project.pk)
        teams.team_follow_update(
            user=colleague, project_id=project.pk, note="跟进中", assignee_id=None
        )
        services.subscription_end_early(
            subscription=owner.subscriptions.get(), reason="到期", by=None
        )
        with pytest.raises(teams.TeamError, match="只读"):
            teams.team_follow_update(
                user=colleague, project_id=project.pk, note="改", assignee_id=None
            )
        html = client_for(colleague).get(project.get_absolute_url()).content.decode()
        assert "跟进中" in html and "保存备注" not in html


def test_staff_sell_a_team_plan_in_the_admin_and_see_the_team(staff_client):
    buyer = UserFactory(email="boss@example.cn", company="江苏某建工集团")
    response = staff_client.post(
        reverse("admin:members_subscription_add"),
        {
            "user": buyer.pk,
            "plan": plan("team").pk,
            "months": 12,
            "amount_paid_yuan": "19800",
            "order_reference": "HT-2026-009",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(owner=buyer)
    changelist = staff_client.get(reverse("admin:members_team_changelist")).content.decode()
    assert "江苏某建工集团" in changelist
    change = staff_client.get(reverse("admin:members_team_change", args=[team.pk]))
    assert "boss@example.cn" in change.content.decode()


def test_the_rights_query_can_read_subscriptions_by_index():
    """Every signed-in page runs it: with a team's owner in it, it must still be able to
    reach both members' periods through the (user, ends_on) index, not by filtering every
    subscription (an `IN (subquery)` inside the OR could not). With sequential scans
    priced out, the plan shows which paths exist at all."""
    from members.access import _CURRENT_PERIODS

    _, team = team_owner()
    colleague = UserFactory()
    join(team, colleague)
    sql, params, slots = _CURRENT_PERIODS._compile()
    values = {"user_id": colleague.pk, "day": timezone.localdate()}
    params = [values[slot] if slot else p for p, slot in zip(params, slots, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan_text = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(sql, params)
        assert len(cursor.fetchall()) == 1  # the owner's team-plan period
    assert "Seq Scan on members_subscription" not in plan_text, plan_text
