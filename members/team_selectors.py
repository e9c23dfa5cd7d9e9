"""Reads for the 企业会员 team page and a project page's team note: view objects only
(project names and bulletin titles masked for the viewer, as on every page)."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from members.access import member_rights, reveals_today
from members.models import ContactReveal, Team, TeamFollow, TeamMembership
from members.teams import INVITE_MAX_AGE, active_membership, team_plan

REVEAL_LOG_LIMIT = 100
Status = TeamMembership.Status


@dataclass(frozen=True)
class SeatRow:
    membership_id: int
    email: str
    name: str
    is_owner: bool
    status: str
    status_display: str
    invited_at: datetime.datetime
    joined_at: datetime.datetime | None
    invite_expired: bool
    reveals_today: int
    reveals_month: int


@dataclass(frozen=True)
class RevealRow:
    at: datetime.datetime
    member: str
    kind: str  # 标讯 | 项目
    title: str
    url: str


@dataclass(frozen=True)
class TeamFollowRow:
    project_id: int
    project_name: str
    project_url: str
    stage: str
    region_display: str
    note: str
    assignee_id: int | None
    assignee: str
    updated_by: str
    updated_at: datetime.datetime


@dataclass(frozen=True)
class TeamPage:
    team_id: int
    name: str
    is_owner: bool
    plan_name: str
    seats: int
    ends_on: datetime.date | None
    quota: int
    used_today: int
    seat_rows: list[SeatRow]
    seats_taken: int
    reveal_log: list[RevealRow]
    follows: list[TeamFollowRow]
    assignees: list[tuple[int, str]]  # (membership id, label) of active members

    @property
    def editable(self) -> bool:
        return bool(self.plan_name)


def viewer_team(user) -> tuple[Team, bool] | None:
    """The team whose page this user sees and whether they own it (an owner keeps the page
    after the plan lapses, to renew; a member sees it while their seat is active)."""
    owned = Team.objects.filter(owner=user).first() if user.is_authenticated else None
    if owned is not None:
        return owned, True
    membership = active_membership(user)
    return (membership.team, False) if membership else None


def _label(membership: TeamMembership) -> str:
    user = membership.user
    name = user.real_name if user is not None else ""
    return f"{name} ({membership.email})" if name else membership.email


def team_page(team: Team, *, viewer, is_owner: bool) -> TeamPage:
    plan = team_plan(team)
    rights = member_rights(viewer)
    memberships = list(
        team.memberships.exclude(status=Status.REMOVED)
        .select_related("user")
        .order_by("-role", "invited_at")
    )
    now = timezone.now()
    counts = _seat_counts(team) if is_owner else {}
    seat_rows = [
        SeatRow(
            membership_id=m.pk,
            email=m.email,
            name=m.user.real_name if m.user else "",
            is_owner=m.role == TeamMembership.Role.OWNER,
            status=m.status,
            status_display=m.get_status_display(),
            invited_at=m.invited_at,
            joined_at=m.joined_at,
            invite_expired=m.status == Status.INVITED and m.invited_at < now - INVITE_MAX_AGE,
            reveals_today=counts.get(m.user_id, (0, 0))[0],
            reveals_month=counts.get(m.user_id, (0, 0))[1],
        )
        for m in memberships
    ]
    active = [m for m in memberships if m.status == Status.ACTIVE]
    return TeamPage(
        team_id=team.pk,
        name=team.name,
        is_owner=is_owner,
        plan_name=plan.name if plan else "",
        seats=plan.seats if plan else 0,
        ends_on=rights.ends_on if rights.team_id == team.pk else None,
        quota=plan.daily_reveal_quota if plan and plan.sees_contacts else 0,
        used_today=reveals_today(viewer, rights) if rights.team_id == team.pk else 0,
        seat_rows=seat_rows,
        seats_taken=sum(1 for s in seat_rows if s.status == Status.ACTIVE or not s.invite_expired),
        reveal_log=_reveal_log(team, viewer=viewer) if is_owner else [],
        follows=team_follow_rows(team, viewer=viewer),
        assignees=[(m.pk, _label(m)) for m in active],
    )


def _seat_counts(team: Team) -> dict[int, tuple[int, int]]:
    """{user id: (reveals today, this month)} counted on the team's quota."""
    today = timezone.localdate()
    rows = (
        ContactReveal.objects.filter(team=team, day__gte=today.replace(day=1))
        .values("user_id")
        .annotate(today=Count("pk", filter=Q(day=today)), month=Count("pk"))
    )
    return {r["user_id"]: (r["today"], r["month"]) for r in rows}


def _project_rows(ids, *, viewer) -> dict:
    """{id: ProjectRow}, names masked for the viewer."""
    from news.models import Project
    from news.project_selectors import project_rows

    projects = Project.objects.filter(pk__in=list(ids)).select_related("province", "city", "region")
    return {row.id: row for row in project_rows(projects, viewer=viewer)}


def _reveal_log(team: Team, *, viewer) -> list[RevealRow]:
    from news.models import Bulletin
    from news.selectors import bulletin_rows

    reveals = list(
        ContactReveal.objects.filter(team=team)
        .select_related("user")
        .only("revealed_at", "bulletin_id", "project_id", "user__email")[:REVEAL_LOG_LIMIT]
    )
    bulletin_ids = {r.bulletin_id for r in reveals if r.bulletin_id}
    project_ids = {r.project_id for r in reveals if r.project_id}
    # Titles and names masked for the owner, as on the list pages.
    bulletins = {
        row.id: row
        for row in bulletin_rows(
            Bulletin.objects.filter(pk__in=bulletin_ids).for_listing(), viewer=viewer
        )
    }
    projects = _project_rows(project_ids, viewer=viewer)
    log = []
    for r in reveals:
        row = bulletins.get(r.bulletin_id) if r.bulletin_id else projects.get(r.project_id)
        if row is None:
            continue  # deleted since
        kind, title = ("标讯", row.title) if r.bulletin_id else ("项目", row.name)
        log.append(RevealRow(r.revealed_at, r.user.email, kind, title, row.url))
    return log


def team_follow_rows(team: Team, *, viewer, project_id: int | None = None) -> list[TeamFollowRow]:
    follows = list(
        TeamFollow.objects.filter(team=team, **({"project_id": project_id} if project_id else {}))
        .select_related("assignee__user", "updated_by")
        .order_by("-updated_at")
    )
    projects = _project_rows([f.project_id for f in follows], viewer=viewer)
    rows = []
    for f in follows:
        project = projects[f.project_id]
        rows.append(
            TeamFollowRow(
                project_id=f.project_id,
                project_name=project.name,
                project_url=project.url,
                stage=project.stage,
                region_display=project.region_display,
                note=f.note,
                assignee_id=f.assignee_id,
                assignee=_label(f.assignee) if f.assignee else "",
                updated_by=f.updated_by.email if f.updated_by else "",
                updated_at=f.updated_at,
            )
        )
    return rows


@dataclass(frozen=True)
class ProjectTeamPanel:
    """What a project page shows a team member: the team's note and assignee, if the team
    follows it, and whether they may edit."""

    team_name: str
    follow: TeamFollowRow | None
    assignees: list[tuple[int, str]]
    editable: bool


def project_team_panel(user, project_id: int) -> ProjectTeamPanel | None:
    membership = active_membership(user)
    if membership is None:
        return None
    team = membership.team
    rows = team_follow_rows(team, viewer=user, project_id=project_id)
    active = team.memberships.filter(status=Status.ACTIVE).select_related("user")
    return ProjectTeamPanel(
        team_name=team.name,
        follow=rows[0] if rows else None,
        assignees=[(m.pk, _label(m)) for m in active.order_by("-role", "invited_at")],
        editable=team_plan(team) is not None,
    )
