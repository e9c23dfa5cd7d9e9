"""企业会员: a team plan's seats, invitations, removal and the team's shared follow list.

Seats are counted under the team's row lock: active members (the owner included) plus
invitations still open never exceed the plan's `seats`, however many owners' tabs invite
at once. Invitations are signed, expire after INVITE_MAX_AGE, work once (accepting clears
the row's nonce; sending again replaces it) and only for an account holding the invited
address, verified. Access itself is decided in members.access, from these rows.
"""

import datetime
import logging
import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Plan, Subscription, Team, TeamFollow, TeamMembership, User
from portal.emails import build_email

logger = logging.getLogger(__name__)

INVITE_MAX_AGE = datetime.timedelta(days=7)
NOTE_MAX = 1000
_SALT = "members.team-invite"
Status = TeamMembership.Status


class TeamError(ValueError):
    """A request the member can correct; the message says what and why."""


# --- the team and its plan ----------------------------------------------------------------


def team_for_owner(*, owner: User) -> Team:
    """The owner's team, made on their first team-plan period (staff, checkout or admin),
    with the owner's own seat. An owner who was a member of another team leaves it: one
    team per person."""
    team, _created = Team.objects.get_or_create(
        owner=owner, defaults={"name": owner.company or owner.email}
    )
    if not team.memberships.filter(user=owner, status=Status.ACTIVE).exists():
        left = TeamMembership.objects.filter(user=owner, status=Status.ACTIVE).update(
            status=Status.REMOVED, removed_at=timezone.now()
        )
        if left:
            logger.info("user %s left their team on buying their own team plan", owner.pk)
        TeamMembership.objects.create(
            team=team,
            email=owner.email.lower(),
            user=owner,
            role=TeamMembership.Role.OWNER,
            status=Status.ACTIVE,
            joined_at=timezone.now(),
        )
    return team


def team_plan(team: Team) -> Plan | None:
    """The plan the team's seats run on: the owner's current team-plan period, if any."""
    period = (
        Subscription.objects.current()
        .filter(user_id=team.owner_id, plan__seats__gt=1)
        .select_related("plan")
        .order_by("-plan__seats", "-ends_on")
        .first()
    )
    return period.plan if period else None


def active_membership(user) -> TeamMembership | None:
    """The member's seat in a team (at most one is active)."""
    if not user.is_authenticated:
        return None
    return (
        TeamMembership.objects.filter(user=user, status=Status.ACTIVE)
        .select_related("team")
        .first()
    )


def _seats_taken(team: Team):
    """Active seats and invitations still open (an expired one frees its seat)."""
    since = timezone.now() - INVITE_MAX_AGE
    return team.memberships.filter(
        Q(status=Status.ACTIVE) | Q(status=Status.INVITED, invited_at__gte=since)
    )


def _lock(team: Team) -> Team:
    return Team.objects.select_for_update().get(pk=team.pk)


# --- invitations --------------------------------------------------------------------------


def team_invite(*, team: Team, email: str, by: User) -> TeamMembership:
    """Invite a colleague by email, or send an open invitation again (a new link; the old
    one stops working). The email is sent by the worker once this commits."""
    from members.tasks import team_invite_send

    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise TeamError(_("邮箱“%(email)s”格式不正确,请检查后重试。") % {"email": email}) from None
    with transaction.atomic():
        team = _lock(team)
        plan = team_plan(team)
        if plan is None:
            raise TeamError(_("企业会员已到期或未开通,不能邀请成员。请续费后再试。"))
        existing = team.memberships.filter(
            email=email, status__in=[Status.INVITED, Status.ACTIVE]
        ).first()
        if existing is not None and existing.status == Status.ACTIVE:
            raise TeamError(_("%(email)s 已是团队成员。") % {"email": email})
        taken = _seats_taken(team).exclude(pk=existing.pk if existing else None).count()
        if taken >= plan.seats:
            raise TeamError(
                _(
                    "账号已满:%(plan)s共 %(n)s 个账号(含管理员),已加入的成员和未过期的邀请"
                    "已占满。请先移除成员或撤回邀请。"
                )
                % {"plan": plan.name, "n": plan.seats}
            )
        fields = {"nonce": secrets.token_hex(16), "invited_at": timezone.now(), "invited_by": by}
        if existing is not None:
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save(update_fields=list(fields))
            membership = existing
        else:
            membership = TeamMembership.objects.create(team=team, email=email, **fields)
        transaction.on_commit(lambda: team_invite_send.delay(membership.pk))
    return membership


def invite_token(membership: TeamMembership) -> str:
    return signing.dumps({"m": membership.pk, "n": membership.nonce}, salt=_SALT, compress=True)


def team_invite_send(*, membership_id: int) -> bool:
    """Email an open invitation its link; False when it is no longer open."""
    membership = (
        TeamMembership.objects.select_related("team", "team__owner", "invited_by")
        .filter(pk=membership_id, status=Status.INVITED)
        .first()
    )
    if membership is None:
        return False
    inviter = membership.invited_by or membership.team.owner
    build_email(
        "team_invite",
        to=[membership.email],
        context={
            "team_name": membership.team.name,
            "inviter": inviter.real_name or inviter.email,
            "url": settings.SITE_URL + reverse("team-join", args=[invite_token(membership)]),
            "days": INVITE_MAX_AGE.days,
        },
    ).send()
    return True


class InviteProblem(TeamError):
    """Why an invitation link cannot be used; `code` picks the page's wording."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _open_invitation(token: str, *, lock: bool = False) -> TeamMembership:
    try:
        data = signing.loads(token, salt=_SALT, max_age=INVITE_MAX_AGE)
    except signing.SignatureExpired:
        raise InviteProblem(
            "expired",
            _("邀请链接已过期(有效期 %(d)s 天),请联系管理员重新邀请。")
            % {"d": INVITE_MAX_AGE.days},
        ) from None
    except signing.BadSignature:
        raise InviteProblem(
            "invalid", _("邀请链接无效,请检查是否完整复制了邮件中的链接。")
        ) from None
    rows = TeamMembership.objects.select_related("team")
    membership = (
        (rows.select_for_update(of=("self",)) if lock else rows).filter(pk=data["m"]).first()
    )
    if membership is None or membership.status != Status.INVITED or membership.nonce != data["n"]:
        raise InviteProblem("used", _("此邀请链接已使用或已失效(邀请可能已被撤回或重新发送)。"))
    return membership


def team_invite_check(*, token: str, user) -> TeamMembership:
    """The open invitation a link names, for this viewer; InviteProblem says why not."""
    membership = _open_invitation(token)
    if user.is_authenticated:
        _check_invitee(membership, user)
    return membership


def _check_invitee(membership: TeamMembership, user: User) -> None:
    if not EmailAddress.objects.filter(
        user=user, email__iexact=membership.email, verified=True
    ).exists():
        raise InviteProblem(
            "wrong_email",
            _("此邀请发给 %(invited)s,您当前登录的账号是 %(mine)s。请退出后用受邀邮箱登录或注册。")
            % {"invited": membership.email, "mine": user.email},
        )
    if membership.team.owner_id == user.pk:
        raise InviteProblem("owner", _("您是该团队的管理员,无需接受邀请。"))
    other = active_membership(user)
    if other is not None:
        raise InviteProblem(
            "other_team",
            _("您已是“%(team)s”的成员,一个账号只能加入一个企业团队。") % {"team": other.team.name},
        )


def team_invite_accept(*, token: str, user: User) -> TeamMembership:
    """Take the seat an invitation holds: once, before it expires, by its addressee."""
    with transaction.atomic():
        first = _open_invitation(token)
        _lock(first.team)
        membership = _open_invitation(token, lock=True)  # again, under the team's lock
        _check_invitee(membership, user)
        if team_plan(membership.team) is None:
            raise InviteProblem("lapsed", _("该企业会员已到期,暂时不能加入,请联系管理员续费。"))
        membership.user = user
        membership.status = Status.ACTIVE
        membership.joined_at = timezone.now()
        membership.nonce = ""
        try:
            with transaction.atomic():
                membership.save(update_fields=["user", "status", "joined_at", "nonce"])
        except IntegrityError:  # joined another team a moment ago
            raise InviteProblem(
                "other_team", _("您已是其他企业团队的成员,一个账号只能加入一个企业团队。")
            ) from None
    logger.info("user %s joined team %s", user.pk, membership.team_id)
    return membership


def team_member_remove(*, team: Team, membership_id: int, by: User) -> TeamMembership:
    """Remove a member (their access ends on their next request) or withdraw an
    invitation; the seat is free at once. Projects assigned to them lose their assignee."""
    with transaction.atomic():
        _lock(team)
        membership = team.memberships.filter(pk=membership_id).first()
        if membership is None:
            raise TeamError(_("没有找到该成员。"))
        if membership.role == TeamMembership.Role.OWNER:
            raise TeamError(_("不能移除团队管理员。"))
        if membership.status == Status.REMOVED:
            raise TeamError(_("%(email)s 已被移除。") % {"email": membership.email})
        membership.status = Status.REMOVED
        membership.removed_at = timezone.now()
        membership.nonce = ""
        membership.save(update_fields=["status", "removed_at", "nonce"])
        TeamFollow.objects.filter(assignee=membership).update(assignee=None)
    logger.info("team %s: membership %s removed by %s", team.pk, membership_id, by.pk)
    return membership


# --- the shared follow list ---------------------------------------------------------------


def _editing_membership(user: User) -> TeamMembership:
    membership = active_membership(user)
    if membership is None:
        raise TeamError(_("您还不是企业团队成员。"))
    if team_plan(membership.team) is None:
        raise TeamError(_("企业会员已到期,团队关注列表暂时只读。请联系管理员续费。"))
    return membership


def team_follow_add(*, user: User, project_id: int) -> TeamFollow:
    """Add a project to the team's list (adding it twice changes nothing)."""
    membership = _editing_membership(user)
    follow, _created = TeamFollow.objects.get_or_create(
        team=membership.team,
        project_id=project_id,
        defaults={"added_by": user, "updated_by": user},
    )
    return follow


def team_follow_update(
    *, user: User, project_id: int, note: str, assignee_id: int | None
) -> TeamFollow:
    """Edit the shared note and who is on the project; any member may."""
    membership = _editing_membership(user)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise TeamError(
            _("备注最多 %(max)s 字,现为 %(n)s 字。") % {"max": NOTE_MAX, "n": len(note)}
        )
    with transaction.atomic():
        follow = (
            TeamFollow.objects.select_for_update()
            .filter(team=membership.team, project_id=project_id)
            .first()
        )
        if follow is None:
            raise TeamError(_("该项目不在团队关注列表中。"))
        if (
            assignee_id is not None
            and not membership.team.memberships.filter(
                pk=assignee_id, status=Status.ACTIVE
            ).exists()
        ):
            raise TeamError(_("负责人必须是本团队已加入的成员。"))
        follow.note = note
        follow.assignee_id = assignee_id
        follow.updated_by = user
        follow.save(update_fields=["note", "assignee", "updated_by", "updated_at"])
    return follow


def team_follow_remove(*, user: User, project_id: int) -> bool:
    membership = _editing_membership(user)
    deleted, _rows = TeamFollow.objects.filter(team=membership.team, project_id=project_id).delete()
    return bool(deleted)
