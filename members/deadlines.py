"""开标日历: the member's private iCal address and the day-before deadline reminders."""

import contextlib
import datetime
import logging
import secrets
import smtplib

import icalendar
from django.conf import settings
from django.core.mail import mailers
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import AlertDelivery, CalendarFeed, DeadlineReminder, Follow, User
from members.selectors import DeadlineEntry, deadline_entries, deadline_window, member_deadlines
from news.models import Bulletin

logger = logging.getLogger(__name__)

# What the feed carries: recent deadlines stay a while (calendar apps drop events that
# vanish from a feed), upcoming ones as far as the calendar page looks.
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 60


# --- the private feed address ----------------------------------------------------------------


def calendar_feed_token(*, user: User) -> str:
    """The member's feed token, made on first use."""
    feed = CalendarFeed.objects.filter(user=user).first()
    if feed is not None:
        return feed.token
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(user=user, token=_new_token()).token
    except IntegrityError:  # made meanwhile by another request
        return CalendarFeed.objects.get(user=user).token


def calendar_feed_regenerate(*, user: User) -> str:
    """A new address; the old one answers 404 from now on."""
    token = _new_token()
    CalendarFeed.objects.update_or_create(user=user, defaults={"token": token})
    return token


def calendar_feed_user(*, token: str) -> User | None:
    feed = CalendarFeed.objects.filter(token=token).select_related("user").first()
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


def _new_token() -> str:
    return secrets.token_urlsafe(32)


# --- the feed --------------------------------------------------------------------------------


def calendar_feed_ics(*, user: User, now: datetime.datetime | None = None) -> bytes:
    """RFC 5545 text of the member's deadlines, one VEVENT per bulletin and kind.

    Titles are masked as for an anonymous visitor even for paying members, and no contact
    value is ever written: the feed is fetched and stored by third-party calendar servers
    (Google, Apple, Outlook) on their own schedule, outside the daily quota and the
    audit of who saw which contacts; and a token URL is easily shared."""
    now = now or timezone.now()
    entries = member_deadlines(
        user,
        start=now - datetime.timedelta(days=FEED_PAST_DAYS),
        end=now + datetime.timedelta(days=FEED_FUTURE_DAYS),
        viewer=None,
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{settings.SITE_NAME}//开标日历//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("%(site)s 开标日历") % {"site": settings.SITE_NAME})
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    host = settings.SITE_URL.split("://", 1)[-1]
    for entry in entries:
        calendar.add_component(_event(entry, host=host, stamp=now))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _event(entry: DeadlineEntry, *, host: str, stamp) -> icalendar.Event:
    event = icalendar.Event()
    # Stable per bulletin and kind: a corrected time updates the event, not a second one.
    event.add("uid", f"bulletin-{entry.bulletin_id}-{entry.kind}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", entry.at)  # Asia/Shanghai, written with TZID
    event.add("duration", datetime.timedelta(minutes=30))
    event.add("summary", f"【{entry.kind_label}】{entry.title}")
    event.add("url", settings.SITE_URL + entry.url)
    details = [entry.region_display, *entry.reasons, settings.SITE_URL + entry.url]
    event.add("description", "\n".join(part for part in details if part))
    return event


# --- reminders the day before ----------------------------------------------------------------


def deadline_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Beat, each morning: email every member tomorrow's deadlines (Shanghai days) of the
    projects they follow and the bulletins their saved searches matched, one email each.

    A DeadlineReminder row per (member, bulletin, kind, time) is written first, then sent
    and stamped member by member: a re-run, or a second beat, sends nothing twice, and a
    run cut short by an SMTP failure leaves the rest for the next run."""
    now = now or timezone.now()
    tomorrow = timezone.localdate(now) + datetime.timedelta(days=1)
    start = timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    entries = deadline_entries(_pairs_due(start, end), start=start, end=end, viewer=None)
    rows = [
        DeadlineReminder(user_id=user_id, bulletin_id=e.bulletin_id, kind=e.kind, due_at=e.at)
        for user_id, items in entries.items()
        for e in items
    ]
    DeadlineReminder.objects.bulk_create(rows, ignore_conflicts=True)
    users = list(
        User.objects.filter(
            is_active=True,
            deadline_reminders__sent_at__isnull=True,
            deadline_reminders__due_at__gte=start,
            deadline_reminders__due_at__lt=end,
        )
        .exclude(email="")
        .distinct()
        .values_list("pk", flat=True)
    )
    sent = 0
    connection = mailers.default
    try:
        for user_id in users:
            sent += _remind(user_id, entries.get(user_id, []), start, end, connection)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    logger.info("deadline reminders: %s emails for %s", sent, tomorrow)
    return sent


def _pairs_due(start, end) -> list[tuple[int, int]]:
    """(member, bulletin) for every bulletin with a deadline in [start, end) that a member
    follows the project of or was alerted of by a saved search."""
    due = dict(
        Bulletin.objects.published()
        .filter(deadline_window(start, end))
        .values_list("pk", "project_id")
    )
    if not due:
        return []
    by_project: dict[int, list[int]] = {}
    for bulletin_id, project_id in due.items():
        if project_id:
            by_project.setdefault(project_id, []).append(bulletin_id)
    pairs = [
        (user_id, bulletin_id)
        for user_id, project_id in Follow.objects.filter(
            project_id__in=list(by_project)
        ).values_list("user_id", "project_id")
        for bulletin_id in by_project[project_id]
    ]
    pairs += AlertDelivery.objects.filter(Q(bulletin_id__in=list(due))).values_list(
        "user_id", "bulletin_id"
    )
    return pairs


def _remind(user_id: int, entries: list[DeadlineEntry], start, end, connection) -> int:
    from portal.emails import build_email

    with transaction.atomic():
        # Locked and re-read: a concurrent run waits here, then finds them sent.
        pending = list(
            DeadlineReminder.objects.select_for_update()
            .filter(user_id=user_id, sent_at__isnull=True, due_at__gte=start, due_at__lt=end)
            .values_list("pk", "bulletin_id", "kind")
        )
        wanted = {(bulletin_id, kind) for _pk, bulletin_id, kind in pending}
        items = [e for e in entries if (e.bulletin_id, e.kind) in wanted]
        if items:
            user = User.objects.get(pk=user_id)
            message = build_email(
                "deadline_reminder",
                to=[user.email],
                context={
                    "items": items,
                    "day": timezone.localdate(start),
                    "calendar_url": settings.SITE_URL + reverse("deadline-calendar"),
                },
            )
            connection.open()  # once: a no-op while open, and sending keeps it open
            connection.send_messages([message])
        # Rows whose deadline moved since are stamped too: nothing is left to send for them.
        DeadlineReminder.objects.filter(pk__in=[pk for pk, _b, _k in pending]).update(
            sent_at=timezone.now()
        )
    return 1 if items else 0
