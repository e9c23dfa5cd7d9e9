"""关注企业: members watch a company as a 竞争对手 or a 客户 (Plan.watches_companies).

A watch is a Follow of the organisation with its relation; members.alerts sends an alert
when a newly published bulletin names the company or belongs to a project it is a party
of. Watches move with the company when news merges a name variant into it.
"""

from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from members.access import member_rights
from members.models import Follow


class WatchNotAllowed(Exception):
    """The member's plan does not include watching companies; the message says so."""


class WatchError(ValueError):
    """Bad input (the message, in Chinese, names it and why)."""


def watch_set(*, user, organization_id: int, relation: str) -> Follow:
    """Watch a company as `relation` (competitor / client), or change the relation."""
    if relation not in Follow.Relation.values:
        raise WatchError(
            _("关注类型“%(value)s”无效,应为“竞争对手”或“客户”。") % {"value": relation}
        )
    if not member_rights(user).watches_companies:
        raise WatchNotAllowed(_("关注企业需要开通付费会员。"))
    with transaction.atomic():
        follow, _created = Follow.objects.update_or_create(
            user=user, organization_id=organization_id, defaults={"relation": relation}
        )
    return follow


def watch_remove(*, user, organization_id: int) -> bool:
    """Stop watching (allowed whatever the plan: a lapsed member can still clean up)."""
    deleted, _ = Follow.objects.filter(user=user, organization_id=organization_id).delete()
    return bool(deleted)


def watch_relation(user, organization_id: int) -> str:
    """The member's relation to this company ("" when not watching)."""
    if not user.is_authenticated:
        return ""
    follow = Follow.objects.filter(user=user, organization_id=organization_id).first()
    if follow is None:
        return ""
    return follow.relation or Follow.Relation.COMPETITOR


@dataclass(frozen=True)
class WatchState:
    """What the company page's 关注 box shows this viewer."""

    allowed: bool  # the plan may watch companies
    relation: str  # "" when not watching
    relation_label: str


def watch_state(user, organization_id: int) -> WatchState:
    relation = watch_relation(user, organization_id)
    label = dict(Follow.Relation.choices).get(relation, "")
    return WatchState(member_rights(user).watches_companies, relation, str(label))


@dataclass(frozen=True)
class WatchedCompany:
    name: str
    url: str
    relation: str  # label: 竞争对手 / 客户
    since: object


def watched_companies(user) -> list[WatchedCompany]:
    """The account page's list: names are public, no contact is read."""
    labels = dict(Follow.Relation.choices)
    rows = (
        Follow.objects.filter(user=user, organization__isnull=False)
        .order_by("-created_at")
        .values_list("organization_id", "organization__name", "relation", "created_at")
    )
    return [
        WatchedCompany(
            name,
            reverse("organization-detail", args=[pk]),
            str(labels.get(relation or Follow.Relation.COMPETITOR)),
            created_at,
        )
        for pk, name, relation, created_at in rows
    ]


def follows_move(*, source_id: int, target_id: int) -> None:
    """news merged organisation `source` into `target`: its watchers now watch the target
    (a member watching both keeps their watch of the target)."""
    with transaction.atomic():
        both = Follow.objects.filter(organization_id=target_id).values("user_id")
        Follow.objects.filter(organization_id=source_id, user_id__in=both).delete()
        Follow.objects.filter(organization_id=source_id).update(organization_id=target_id)
