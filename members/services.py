"""Writes for memberships: activation, early end, daily upkeep, applications, reveals."""

import datetime
import logging
import smtplib
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import (
    ContactReveal,
    MembershipApplication,
    Plan,
    Subscription,
    Team,
    User,
)
from portal.emails import build_email

logger = logging.getLogger(__name__)

MAX_MONTHS = 60
# Each reminder covers the days down to the next one: a reminder the job could not send
# (SMTP down, the job not run) goes out at the next run while it still says something true.
REMINDER_WINDOWS = {7: 2, 1: 0}  # days before the end -> last day it may still be sent


class MembershipError(ValueError):
    """A request staff or a member can correct; the message says what and why."""


def subscription_activate(
    *,
    user: User,
    plan: Plan,
    months: int = 12,
    starts_on: datetime.date | None = None,
    by: User | None,
    order_reference: str = "",
    amount_paid_fen: int = 0,
    note: str = "",
) -> Subscription:
    """Start a paid period. Without a start date it follows the member's current period
    (a renewal extends from the current end date); nothing earlier is changed."""
    if not 1 <= months <= MAX_MONTHS:
        raise MembershipError(
            _("开通时长 %(m)s 个月无效:应为 1–%(max)s 个月。") % {"m": months, "max": MAX_MONTHS}
        )
    if amount_paid_fen < 0:
        raise MembershipError(_("实收金额不能为负数。"))
    with transaction.atomic():
        # One activation at a time per member, so two renewals cannot both follow one end.
        User.objects.select_for_update().filter(pk=user.pk).first()
        today = timezone.localdate()
        if starts_on is None:
            latest = (
                Subscription.objects.filter(user=user, ends_on__gte=today)
                .exclude(status=Subscription.Status.ENDED)
                .order_by("-ends_on")
                .values_list("ends_on", flat=True)
                .first()
            )
            starts_on = latest + datetime.timedelta(days=1) if latest else today
        ends_on = starts_on + relativedelta(months=months) - datetime.timedelta(days=1)
        subscription = Subscription.objects.create(
            user=user,
            plan=plan,
            starts_on=starts_on,
            ends_on=ends_on,
            status=Subscription.Status.ACTIVE,
            activated_by=by,
            order_reference=order_reference.strip(),
            amount_paid_fen=amount_paid_fen,
            note=note.strip(),
        )
        if plan.seats > 1:  # 企业会员: the buyer's team exists from the first day
            from members.teams import team_for_owner

            team_for_owner(owner=user)
    logger.info("subscription %s activated for user %s by %s", subscription.pk, user.pk, by)
    return subscription


def subscription_end_early(*, subscription: Subscription, reason: str, by: User | None) -> None:
    """End a period before its date; the member loses access on their next request."""
    reason = reason.strip()
    if not reason:
        raise MembershipError(_("提前终止会员必须填写原因。"))
    with transaction.atomic():
        row = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if row.status == Subscription.Status.ENDED:
            raise MembershipError(_("该会员记录已经终止。"))
        row.status = Subscription.Status.ENDED
        row.ended_at = timezone.now()
        row.ended_by = by
        row.end_reason = reason
        row.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
    subscription.refresh_from_db()


@dataclass
class DailyReport:
    expired: int
    reminders_sent: int
    reminders_left: int = 0  # not sent (SMTP down or refused): the next run tries again


def subscriptions_daily(*, today: datetime.date | None = None) -> DailyReport:
    """Mark lapsed periods and send renewal reminders 7 and 1 days before the end.

    A reminder is marked sent only once the SMTP server has accepted it, so an outage
    leaves it for the next run (which says the days really left). Each is sent holding its
    subscription row (FOR UPDATE SKIP LOCKED: one row, one message), so two runs at once
    cannot both send it. A crash after the server accepted a reminder and before its mark
    commits sends that reminder again at the next run: at-least-once, not exactly-once.
    A member whose next period is already booked gets no reminder."""
    today = today or timezone.localdate()
    expired = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE, ends_on__lt=today
    ).update(status=Subscription.Status.EXPIRED)
    due = []
    for days, last in REMINDER_WINDOWS.items():
        field = f"reminded_{days}_at"
        window = (today + datetime.timedelta(days=last), today + datetime.timedelta(days=days))
        due += [
            (subscription, field)
            for subscription in Subscription.objects.filter(
                status=Subscription.Status.ACTIVE,
                ends_on__range=window,
                # A 3-day trial is not renewed: "续费" reminders would be wrong for it.
                trial__isnull=True,
                **{f"{field}__isnull": True},
            ).select_related("user", "plan")
            if not _renewed(subscription)
        ]
    sent = left = 0
    for position, (subscription, field) in enumerate(due):
        try:
            sent += _remind(subscription, field=field, days=(subscription.ends_on - today).days)
        except _Refused:
            left += 1
        except _SmtpDown:
            # The rest would each wait on the same dead server: all wait for the next run.
            left += len(due) - position
            break
    if left:
        logger.warning("renewal reminders: %s not sent, left for the next run", left)
    return DailyReport(expired=expired, reminders_sent=sent, reminders_left=left)


class _SmtpDown(Exception):
    pass


class _Refused(Exception):
    pass


def _remind(subscription: Subscription, *, field: str, days: int) -> int:
    """1 if this reminder went out now; 0 if another run has it, or there is no address."""
    with transaction.atomic():
        mine = (
            Subscription.objects.select_for_update(skip_locked=True)
            .filter(pk=subscription.pk, **{f"{field}__isnull": True})
            .exists()
        )
        if not mine:
            return 0
        if subscription.user.email:
            try:
                _send_reminder(subscription, days)
            except smtplib.SMTPRecipientsRefused as exc:
                logger.warning("renewal reminder %s refused: %s", subscription.pk, exc)
                raise _Refused from exc
            except smtplib.SMTPResponseException as exc:
                logger.warning("renewal reminder %s not sent: %s", subscription.pk, exc)
                raise (_Refused if exc.smtp_code >= 500 else _SmtpDown) from exc
            except (OSError, smtplib.SMTPException) as exc:
                logger.warning("renewal reminder %s not sent: %s", subscription.pk, exc)
                raise _SmtpDown from exc
        Subscription.objects.filter(pk=subscription.pk).update(**{field: timezone.now()})
    return 1 if subscription.user.email else 0


def _renewed(subscription: Subscription) -> bool:
    return (
        Subscription.objects.filter(
            user_id=subscription.user_id, starts_on__gt=subscription.ends_on
        )
        .exclude(status=Subscription.Status.ENDED)
        .exists()
    )


def _send_reminder(subscription: Subscription, days: int) -> None:
    build_email(
        "renewal_reminder",
        to=[subscription.user.email],
        context={"subscription": subscription, "days": days},
    ).send()


def application_submit(
    *, name: str, company: str, mobile: str, plan: Plan | None, message: str, user=None
) -> MembershipApplication:
    """Store an online application; staff are emailed after it commits."""
    from members.tasks import application_notify_staff

    application = MembershipApplication.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        name=name.strip(),
        company=company.strip(),
        mobile=mobile.strip(),
        plan=plan,
        message=message.strip(),
    )
    transaction.on_commit(lambda: application_notify_staff.delay(application.pk))
    return application


def staff_recipients() -> list[str]:
    """Who hears of applications, feedback and conversations: STAFF_NOTIFY_EMAILS, or
    every active staff user with an email."""
    return list(settings.STAFF_NOTIFY_EMAILS) or list(
        User.objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def application_notify_staff(*, application_id: int) -> int:
    application = MembershipApplication.objects.select_related("plan", "user").get(
        pk=application_id
    )
    recipients = staff_recipients()
    if not recipients:
        logger.warning("application %s: no staff email to notify", application_id)
        return 0
    build_email(
        "application_staff",
        to=recipients,
        context={"application": application, "admin_path": _admin_path(application)},
    ).send()
    return len(recipients)


def _admin_path(application: MembershipApplication) -> str:
    from django.urls import reverse

    return reverse("admin:members_membershipapplication_change", args=[application.pk])


class QuotaExceeded(Exception):
    def __init__(self, quota: int):
        super().__init__(quota)
        self.quota = quota


class NotEntitled(Exception):
    pass


def _lock_quota(user: User, rights=None):
    """Lock what today's reveal count belongs to and return the rights to spend under.

    The member's row, then (rights from a team plan) the team's: a team's seats share one
    quota, so its row serialises all their reveals, always locked after the member's.
    The rights are read again under the team's lock, so a member removed meanwhile
    spends nothing. Call inside a transaction."""
    from members.access import member_rights

    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
    rights = rights or member_rights(user, fresh=True)
    if rights.team_id:
        Team.objects.select_for_update().filter(pk=rights.team_id).values_list("pk").first()
        rights = member_rights(user, fresh=True)
    return rights


def contact_reveal(
    *,
    user: User,
    bulletin_id: int | None = None,
    project_id: int | None = None,
    ip: str | None,
    rights=None,
) -> ContactReveal | None:
    """Spend one of today's reveals on a bulletin's or a project's contacts (a second view
    that day is free).

    Returns None for staff (they see everything, nothing is counted). Raises NotEntitled
    without an active plan that shows contacts, QuotaExceeded past the daily quota. The
    member's row is locked while counting, so parallel requests cannot overspend. `rights`:
    the member's rights when the caller has just loaded them (the alert sender, per batch);
    otherwise they are read again under the lock (`_lock_quota`: a team's seats share one
    quota)."""
    if (bulletin_id is None) == (project_id is None):
        raise ValueError("reveal exactly one of a bulletin or a project")
    if user.is_staff:
        return None
    today = timezone.localdate()
    subject = {"bulletin_id": bulletin_id} if bulletin_id else {"project_id": project_id}
    with transaction.atomic():
        rights = _lock_quota(user, rights)
        if not rights.sees_contacts:
            raise NotEntitled
        counted_on = Q(team_id=rights.team_id) if rights.team_id else Q(user=user)
        # Today's count and whether this member revealed this subject, in one query.
        today_reveals = ContactReveal.objects.filter(counted_on | Q(user=user), day=today)
        counted = today_reveals.aggregate(
            used=Count("pk", filter=counted_on),
            found=Max("pk", filter=Q(user=user, **subject)),
        )
        if counted["found"] is not None:
            return today_reveals.get(pk=counted["found"])
        if counted["used"] >= rights.daily_quota:
            raise QuotaExceeded(rights.daily_quota)
        # The row locks serialise these reveals: no conflict to recover.
        return ContactReveal.objects.create(
            user=user, team_id=rights.team_id, day=today, ip=ip or None, **subject
        )


@dataclass(frozen=True)
class BulkReveal:
    """What an export may show: the bulletins whose contacts the member sees, and why the
    others stay masked."""

    visible: frozenset[int]
    newly_spent: int
    quota: int
    over_quota: bool  # some bulletins stayed masked because today's quota ran out


def contact_reveal_many(*, user: User, bulletin_ids: list[int], ip: str | None) -> BulkReveal:
    """Reveal many bulletins' contacts at once (an export), in the given order, while
    today's quota lasts: each bulletin not yet revealed today spends one reveal and is
    logged as 查看联系方式 would log it; those already revealed today are free. Only
    bulletins that have contacts are worth spending on: the caller passes those. The
    member's row (and a team's) is locked as in `contact_reveal`, so exports and clicks
    never overspend."""
    if user.is_staff:
        return BulkReveal(frozenset(bulletin_ids), 0, 0, False)
    today = timezone.localdate()
    with transaction.atomic():
        rights = _lock_quota(user)
        if not rights.sees_contacts:
            return BulkReveal(frozenset(), 0, 0, False)
        counted_on = Q(team_id=rights.team_id) if rights.team_id else Q(user=user)
        used = ContactReveal.objects.filter(counted_on, day=today).count()
        already = set(
            ContactReveal.objects.filter(
                user=user, day=today, bulletin_id__in=bulletin_ids
            ).values_list("bulletin_id", flat=True)
        )
        left = max(rights.daily_quota - used, 0)
        new = [pk for pk in dict.fromkeys(bulletin_ids) if pk not in already][:left]
        ContactReveal.objects.bulk_create(
            [
                ContactReveal(
                    user=user, team_id=rights.team_id, day=today, ip=ip or None, bulletin_id=pk
                )
                for pk in new
            ]
        )
        over = len(already) + len(new) < len(set(bulletin_ids))
        return BulkReveal(frozenset(already | set(new)), len(new), rights.daily_quota, over)
