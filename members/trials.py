"""免费试用: a new member's one 3-day trial of 标讯查询.

The trial is an ordinary Subscription period (so `members.access` gives it the plan's
rights with no special case) plus a Trial row, written in one transaction. One trial per
email and one per mobile across accounts: the Trial table's unique constraints decide,
so two accounts racing with the same mobile get one trial and one refusal."""

import datetime
import logging
import re
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Plan, Subscription, Trial, User
from members.services import MembershipError

logger = logging.getLogger(__name__)

TRIAL_PLAN_SLUG = "query"
TRIAL_DAYS = 3  # today and the next two days
TRIAL_NOTE = "免费试用"

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class TrialError(MembershipError):
    """Why this member cannot start a trial (shown to them as is)."""


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


def normalise_phone(value: str) -> str:
    """A Chinese mobile as its 11 digits (spaces, dashes, +86 / 0086 dropped); "" when
    it is not one."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if _MOBILE.match(digits) else ""


@dataclass(frozen=True)
class TrialOffer:
    """What the 免费试用 button offers this member."""

    plan: Plan
    days: int
    needs_phone: bool  # the profile has no valid mobile: the form asks for one


def trial_offer(user) -> TrialOffer | None:
    """The offer for a member who never had a period (paid or trial); None otherwise."""
    if not user.is_authenticated or user.is_staff:
        return None
    if Subscription.objects.filter(user=user).exists() or Trial.objects.filter(user=user).exists():
        return None
    plan = Plan.objects.filter(slug=TRIAL_PLAN_SLUG).first()
    if plan is None:
        return None
    return TrialOffer(plan=plan, days=TRIAL_DAYS, needs_phone=not normalise_phone(user.phone))


def member_trial(user) -> Trial | None:
    if not user.is_authenticated:
        return None
    return Trial.objects.filter(user=user).first()


def trial_start(*, user: User, ip: str | None, phone: str = "") -> Subscription:
    """Start the member's 3-day trial of 标讯查询 and return its period.

    The mobile is the profile's (User.phone); `phone` is used, and saved to the profile,
    only when the profile has none. Raises TrialError (a Chinese message) for staff, an
    unconfirmed email, a missing or invalid mobile, a member who has or had any period, or
    an email or mobile that already had a trial on any account."""
    if user.is_staff:
        raise TrialError(_("工作人员账号可查看全部信息,无需试用。"))
    email = normalise_email(user.email)
    confirmed = (
        email
        and EmailAddress.objects.filter(
            user=user, email__iexact=user.email.strip(), verified=True
        ).exists()
    )
    if not confirmed:
        raise TrialError(_("请先验证您的邮箱,再开始免费试用。验证邮件可在“邮箱”页重新发送。"))
    mobile = normalise_phone(user.phone)
    from_form = not mobile
    if from_form:
        if not phone.strip():
            raise TrialError(_("请填写您的手机号,再开始免费试用。"))
        mobile = normalise_phone(phone)
        if not mobile:
            raise TrialError(
                _("“%(v)s”不是有效的手机号:应为 11 位数字,以 1 开头。") % {"v": phone.strip()}
            )
    plan = Plan.objects.filter(slug=TRIAL_PLAN_SLUG).first()
    if plan is None:
        raise TrialError(_("暂不提供免费试用。"))
    try:
        with transaction.atomic():
            # One start at a time per member; across accounts the constraints decide.
            User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
            if refusal := _refusal(user, email=email, mobile=mobile):
                raise TrialError(refusal)
            today = timezone.localdate()
            ends_on = today + datetime.timedelta(days=TRIAL_DAYS - 1)
            subscription = Subscription.objects.create(
                user=user,
                plan=plan,
                starts_on=today,
                ends_on=ends_on,
                status=Subscription.Status.ACTIVE,
                note=TRIAL_NOTE,
            )
            Trial.objects.create(
                user=user,
                plan=plan,
                subscription=subscription,
                ends_on=ends_on,
                email=email,
                phone=mobile,
                ip=ip or None,
            )
            if from_form:
                User.objects.filter(pk=user.pk).update(phone=mobile)
    except IntegrityError as exc:
        # Another account with this email or mobile started one at the same moment: it
        # has committed by now (the unique index waited for it), so say which.
        refusal = _refusal(user, email=email, mobile=mobile)
        if refusal is None:
            raise
        raise TrialError(refusal) from exc
    if from_form:
        user.phone = mobile
    logger.info("trial %s started for user %s", subscription.pk, user.pk)
    return subscription


def _refusal(user, *, email: str, mobile: str) -> str | None:
    if Trial.objects.filter(user=user).exists():
        return _("您已使用过免费试用,每个账号限一次。")
    if Subscription.objects.filter(user=user).exists():
        return _("您已开通过会员,免费试用仅限从未开通过的新会员。")
    used = Trial.objects.filter(Q(email=email) | Q(phone=mobile)).values_list("email", flat=True)
    used = list(used[:2])
    if email in used:
        return _("该邮箱已使用过免费试用,每个邮箱和手机号限一次。")
    if used:
        return _("该手机号已使用过免费试用,每个邮箱和手机号限一次。")
    return None
