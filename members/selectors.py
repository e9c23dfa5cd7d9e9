"""Reads for the account, plans and 开标日历 pages."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.access import MemberRights, member_rights, reveals_today
from members.models import MembershipApplication, Plan, Subscription
from news.models import Bulletin


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
        subscriptions=list(user.subscriptions.select_related("plan", "trial")[:20]),
        applications=list(user.applications.select_related("plan")[:5]),
        saved_searches=list(user.saved_searches.prefetch_related("regions", "categories")),
    )


# --- 开标日历: deadlines of followed projects and saved-search matches ----------------------

CALENDAR_DAYS = 60
# Deadline kinds: (DeadlineReminder.Kind value, Bulletin column).
_DEADLINE_KINDS = (
    ("registration", "registration_deadline"),
    ("bid", "bid_deadline"),
    ("opening", "opening_at"),
)


@dataclass(frozen=True)
class DeadlineEntry:
    """One deadline of one bulletin, as the calendar, the feed and the reminder show it:
    the title masked as for the viewer given, never a contact."""

    bulletin_id: int
    kind: str  # registration | bid | opening
    kind_label: str
    at: datetime.datetime  # Asia/Shanghai
    title: str
    url: str
    region_display: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CalendarDay:
    day: datetime.date
    entries: list[DeadlineEntry]


def deadline_window(start, end) -> Q:
    window = Q()
    for _kind, column in _DEADLINE_KINDS:
        window |= Q(**{f"{column}__gte": start, f"{column}__lt": end})
    return window


def _kind_labels() -> dict[str, str]:
    from members.models import DeadlineReminder

    return dict(DeadlineReminder.Kind.choices)


def deadline_entries(pairs, *, start, end, viewer=None) -> dict[int, list[DeadlineEntry]]:
    """{user id: entries} for (user id, bulletin id) pairs that fall in [start, end).

    Titles are masked for `viewer` (None: masked for anyone, as the feed and the emails
    need); a bulletin whose 开标 is its 投标截止 shows once, as 投标截止 / 开标."""
    from news.selectors import bulletin_rows

    pairs = list(pairs)
    ids = {bulletin_id for _user, bulletin_id in pairs}
    if not ids:
        return {}
    columns = [column for _kind, column in _DEADLINE_KINDS]
    deadlines = {
        row[0]: dict(zip(columns, row[1:], strict=True))
        for row in Bulletin.objects.published()
        .filter(pk__in=ids)
        .filter(deadline_window(start, end))
        .values_list("pk", *columns)
    }
    rows = bulletin_rows(
        Bulletin.objects.filter(pk__in=list(deadlines)).for_listing(), viewer=viewer
    )
    rows = {row.id: row for row in rows}
    reasons = _reasons(pairs, set(deadlines))
    labels = _kind_labels()
    result: dict[int, list[DeadlineEntry]] = {}
    for user_id, bulletin_id in dict.fromkeys(pairs):
        if bulletin_id not in deadlines:
            continue
        values, row = deadlines[bulletin_id], rows[bulletin_id]
        for kind, column in _DEADLINE_KINDS:
            at = values[column]
            if at is None or not (start <= at < end):
                continue
            label = labels[kind]
            if kind == "opening" and at == values["bid_deadline"]:
                continue  # said once, by the 投标截止 entry
            if kind == "bid" and at == values["opening_at"]:
                label = _("投标截止 / 开标")
            result.setdefault(user_id, []).append(
                DeadlineEntry(
                    bulletin_id=bulletin_id,
                    kind=kind,
                    kind_label=label,
                    at=timezone.localtime(at),
                    title=row.title,
                    url=row.url,
                    region_display=row.region_display,
                    reasons=reasons.get((user_id, bulletin_id), ()),
                )
            )
    for entries in result.values():
        entries.sort(key=lambda e: (e.at, e.bulletin_id, e.kind))
    return result


def _reasons(pairs, bulletin_ids) -> dict[tuple[int, int], tuple[str, ...]]:
    """Why each (member, bulletin) is there: 关注项目, or the saved searches it matched."""
    from members.models import AlertDelivery, Follow

    users = {user_id for user_id, _b in pairs}
    projects = dict(Bulletin.objects.filter(pk__in=bulletin_ids).values_list("pk", "project_id"))
    followed = set(
        Follow.objects.filter(
            user_id__in=users, project_id__in={p for p in projects.values() if p}
        ).values_list("user_id", "project_id")
    )
    reasons: dict[tuple[int, int], list[str]] = {}
    for user_id, bulletin_id in pairs:
        if (user_id, projects.get(bulletin_id)) in followed:
            reasons.setdefault((user_id, bulletin_id), []).append(_("关注项目"))
    deliveries = AlertDelivery.objects.filter(
        user_id__in=users, bulletin_id__in=bulletin_ids
    ).values_list("user_id", "bulletin_id", "reasons")
    for user_id, bulletin_id, matched in deliveries:
        for reason in matched or ():
            if isinstance(reason, dict) and reason.get("search") and reason.get("name"):
                text = _("订阅:%(name)s") % {"name": reason["name"]}
                reasons.setdefault((user_id, bulletin_id), []).append(text)
    return {key: tuple(dict.fromkeys(value)) for key, value in reasons.items()}


def member_deadline_pairs(user, *, start, end) -> list[tuple[int, int]]:
    """(user id, bulletin id) of this member's followed projects' and saved-search matches'
    bulletins with a deadline in [start, end)."""
    from members.models import AlertDelivery, Follow

    followed = Follow.objects.filter(user=user, project__isnull=False).values("project_id")
    matched = AlertDelivery.objects.filter(user=user).values("bulletin_id")
    ids = (
        Bulletin.objects.published()
        .filter(deadline_window(start, end))
        .filter(Q(project_id__in=followed) | Q(pk__in=matched))
        .values_list("pk", flat=True)
    )
    return [(user.pk, bulletin_id) for bulletin_id in ids]


def member_deadlines(user, *, start, end, viewer=None) -> list[DeadlineEntry]:
    pairs = member_deadline_pairs(user, start=start, end=end)
    return deadline_entries(pairs, start=start, end=end, viewer=viewer).get(user.pk, [])


def deadline_calendar(user, *, now=None, days=CALENDAR_DAYS) -> list[CalendarDay]:
    """The member's 开标日历: the next `days` days' deadlines, grouped by day (Shanghai),
    titles masked as on the site for this member."""
    start = now or timezone.now()
    entries = member_deadlines(
        user, start=start, end=start + datetime.timedelta(days=days), viewer=user
    )
    by_day: dict[datetime.date, list[DeadlineEntry]] = {}
    for entry in entries:
        by_day.setdefault(entry.at.date(), []).append(entry)
    return [CalendarDay(day, items) for day, items in by_day.items()]
