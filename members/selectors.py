"""Reads for the account and plans pages."""

from dataclasses import dataclass

from members.access import MemberRights, member_rights, reveals_today
from members.models import MembershipApplication, Plan, Subscription


def offered_plans() -> list[Plan]:
    return list(Plan.objects.filter(is_offered=True))


@dataclass
class AccountSummary:
    rights: MemberRights
    reveals_used: int
    subscriptions: list[Subscription]
    applications: list[MembershipApplication]
    saved_searches: list


def account_summary(user) -> AccountSummary:
    return AccountSummary(
        rights=member_rights(user),
        reveals_used=reveals_today(user),
        subscriptions=list(user.subscriptions.select_related("plan")[:20]),
        applications=list(user.applications.select_related("plan")[:5]),
        saved_searches=list(user.saved_searches.prefetch_related("regions", "categories")),
    )
