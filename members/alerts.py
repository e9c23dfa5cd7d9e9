"""Alerts: match new bulletins to saved searches, write deliveries, send instant emails.

Each match is an AlertDelivery row, unique per member and bulletin, written in one
transaction with every reason; the instant sender locks pending rows
(select_for_update(skip_locked=True)), checks the member's plan again at send time, sends a
batch over one SMTP connection and marks each row; transient SMTP errors leave the row
pending for the task's retry, permanent ones (5xx) mark it failed with the reason.
"""

import contextlib
import datetime
import logging
import smtplib

from django.conf import settings
from django.core import signing
from django.core.mail import mailers
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from members import sms
from members.access import member_rights, users_with_rights
from members.matching import current_index
from members.models import AlertDelivery, SavedSearch
from news.masking import contact_values, contact_view, mask_text
from news.models import Bulletin
from news.snippets import snippet
from portal.emails import build_email

logger = logging.getLogger(__name__)
UNSUBSCRIBE_SALT = "members.alerts.unsubscribe"


class TransientSendError(Exception):
    """The SMTP server could not take the batch now; the task retries with backoff."""


def alerts_enqueue(bulletin_ids) -> None:
    """Match these bulletins after the current transaction commits (publish, import)."""
    from members.tasks import alerts_match

    ids = list(bulletin_ids)
    if ids:
        transaction.on_commit(lambda: alerts_match.delay(ids))


def alerts_match(*, bulletin_ids) -> list[int]:
    """Write a delivery per matching member and bulletin; returns the instant ones."""
    index = current_index()
    bulletins = (
        Bulletin.objects.published()
        .filter(pk__in=list(bulletin_ids))
        .select_related("category")
        .prefetch_related("contacts")
    )
    matched = []
    for bulletin in bulletins:
        for user_id, reason in _follow_reasons(bulletin):
            matched.append((bulletin, user_id, reason, False))
        for compiled, term in index.matches(bulletin):
            reason = {"search": compiled.id, "name": compiled.name, "term": term}
            matched.append((bulletin, compiled.user_id, reason, compiled.instant))
    users = users_with_rights({user_id for _, user_id, _, _ in matched})
    rows: dict[tuple[int, int], AlertDelivery] = {}
    for bulletin, user_id, reason, instant in matched:
        user = users.get(user_id)
        if user is None:
            continue
        rights = member_rights(user)
        if not rights.sees_contacts:
            continue  # alerts are a paid service
        row = rows.setdefault(
            (user.pk, bulletin.pk),
            AlertDelivery(user=user, bulletin=bulletin, reasons=[], instant=False),
        )
        row.reasons.append(reason)
        # Follows are instant for plans with instant alerts; searches as the member chose.
        row.instant |= rights.instant_alerts and (instant or reason.get("search") is None)
    with transaction.atomic():
        created = AlertDelivery.objects.bulk_create(rows.values(), ignore_conflicts=True)
    # ignore_conflicts returns no ids: read back the instant rows still pending.
    pending = AlertDelivery.objects.filter(
        bulletin_id__in=list(bulletin_ids), instant=True, status=AlertDelivery.Status.PENDING
    ).values_list("pk", flat=True)
    logger.info("alerts: %s deliveries for %s bulletins", len(created), len(bulletin_ids))
    return list(pending)


def _follow_reasons(bulletin):
    """(user id, reason) for members following the bulletin's project or its parties."""
    if not bulletin.project_id:
        return []
    from members.models import Follow
    from news.models import Project, ProjectParty

    project = Project.objects.filter(pk=bulletin.project_id).first()
    if project is None:
        return []
    stage = project.stage_changes.filter(bulletin=bulletin).first()
    event = f"项目进入{stage.get_stage_display()}阶段" if stage else "项目有新动态"
    reasons = [
        (user_id, {"search": None, "name": f"关注项目:{project.name}", "term": "", "event": event})
        for user_id in Follow.objects.filter(project=project).values_list("user_id", flat=True)
    ]
    organizations = ProjectParty.objects.filter(project=project).values("organization")
    for user_id, name in Follow.objects.filter(organization__in=organizations).values_list(
        "user_id", "organization__name"
    ):
        reasons.append((user_id, {"search": None, "name": f"关注单位:{name}", "term": ""}))
    return reasons


def unsubscribe_token(user_id: int, search_id: int | None) -> str:
    return signing.dumps({"u": user_id, "s": search_id or 0}, salt=UNSUBSCRIBE_SALT)


def unsubscribe(token: str) -> int:
    """Turn off one saved search (or all of a member's); raises signing.BadSignature."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    searches = SavedSearch.objects.filter(user_id=data["u"])
    if data["s"]:
        searches = searches.filter(pk=data["s"])
    changed = searches.update(is_active=False, updated_at=timezone.now())
    from members.matching import saved_searches_changed

    saved_searches_changed()
    return changed


def _contacts_for(delivery: AlertDelivery, contacts) -> tuple[bool, list]:
    """Contacts in an instant alert follow the site's policy: a paying member's email shows
    them if today's quota has room (the email spends one reveal, as 查看联系方式 would);
    otherwise they are masked and the email says how to get them."""
    from members.services import NotEntitled, QuotaExceeded, contact_reveal

    try:
        contact_reveal(user=delivery.user, bulletin_id=delivery.bulletin_id, ip=None)
    except (NotEntitled, QuotaExceeded):
        return False, [contact_view(c, visible=False) for c in contacts]
    return True, [contact_view(c, visible=True) for c in contacts]


def _message(delivery: AlertDelivery):
    bulletin = delivery.bulletin
    contacts = list(bulletin.contacts.all())
    values = contact_values(contacts)
    visible, contact_rows = _contacts_for(delivery, contacts)
    terms = [r["term"] for r in delivery.reasons if r["term"]]
    first_search = delivery.reasons[0]["search"] if len(delivery.reasons) == 1 else None
    token = unsubscribe_token(delivery.user_id, first_search)
    unsubscribe_url = settings.SITE_URL + reverse("alerts-unsubscribe", args=[token])
    context = {
        "delivery": delivery,
        "title": mask_text(bulletin.title, values=values),
        "bulletin": bulletin,
        "url": settings.SITE_URL + bulletin.get_absolute_url(),
        "snippet": snippet(bulletin.body, terms, contacts_visible=visible, values=values),
        "contacts": contact_rows,
        "contacts_visible": visible,
        "unsubscribe_url": unsubscribe_url,
        "account_url": settings.SITE_URL + reverse("member-account"),
    }
    message = build_email(
        "alert",
        to=[delivery.user.email],
        context=context,
        unsubscribe_url=unsubscribe_url,
    )
    message.extra_headers["X-Alert-Delivery"] = str(delivery.pk)
    return message


def alerts_send(*, delivery_ids) -> dict:
    """Send pending instant deliveries once each; returns counts by outcome.

    Each delivery is claimed, sent and marked in its own short transaction
    (SELECT … FOR UPDATE SKIP LOCKED): another worker holding the row skips it, a row
    already sent is skipped, and a worker killed mid-batch leaves only unsent rows
    pending. One SMTP connection serves the whole batch."""
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    connection = mailers.default
    try:
        for delivery_id in delivery_ids:
            with transaction.atomic():
                row = (
                    AlertDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(pk=delivery_id, status=AlertDelivery.Status.PENDING)
                    .select_related("user", "bulletin__category", "bulletin__region")
                    .first()
                )
                if row is None:
                    continue  # sent already, or another worker has it
                row.attempts += 1
                outcome = _send_one(row, connection)
                row.save(update_fields=["status", "attempts", "last_error", "sent_at"])
            if outcome == "transient":
                raise TransientSendError(row.last_error)
            counts[outcome] += 1
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    return counts


def _send_one(row: AlertDelivery, connection) -> str:
    if not member_rights(row.user, fresh=True).sees_contacts or not row.user.email:
        row.status, row.last_error = AlertDelivery.Status.SKIPPED, "会员已到期或无邮箱"
        return "skipped"
    try:
        connection.open()  # once per batch: a no-op while open, and send keeps it open
        connection.send_messages([_message(row)])
    except smtplib.SMTPRecipientsRefused as exc:
        row.status, row.last_error = AlertDelivery.Status.FAILED, str(exc)[:300]
        return "failed"
    except smtplib.SMTPResponseException as exc:
        row.last_error = f"{exc.smtp_code} {exc.smtp_error!r}"[:300]
        if 500 <= exc.smtp_code < 600:
            row.status = AlertDelivery.Status.FAILED
            return "failed"
        return "transient"
    except (OSError, smtplib.SMTPException) as exc:
        row.last_error = str(exc)[:300] or exc.__class__.__name__
        return "transient"  # stays pending: the task retries with backoff
    row.status, row.sent_at, row.last_error = AlertDelivery.Status.SENT, timezone.now(), ""
    _sms(row)
    return "sent"


def _sms(row: AlertDelivery) -> None:
    """One line and a link to the member's confirmed mobile, if they opted in."""
    user = row.user
    if not (user.sms_alerts and user.sms_verified_at and user.sms_phone):
        return
    bulletin = row.bulletin
    title = mask_text(bulletin.title, values=contact_values(bulletin.contacts.all()))[:40]
    url = settings.SITE_URL + bulletin.get_absolute_url()
    try:
        sms.send(
            phone=user.sms_phone,
            kind="alert",
            params={"title": title, "url": url},
            text=f"【{settings.SITE_NAME}】新标讯:{title} {url}",
        )
    except Exception:  # the email went out; an SMS failure must not resend it
        logger.exception("SMS alert for delivery %s failed", row.pk)


def _digest_searches_due(now) -> dict[int, list[int]]:
    """Members whose daily (or, on Mondays, weekly) digest hour is now: user -> searches."""
    local = timezone.localtime(now)
    frequencies = [SavedSearch.Frequency.DAILY]
    if local.weekday() == 0:
        frequencies.append(SavedSearch.Frequency.WEEKLY)
    due: dict[int, list[int]] = {}
    rows = SavedSearch.objects.filter(
        is_active=True, frequency__in=frequencies, digest_hour=local.hour
    ).values_list("user_id", "pk")
    for user_id, search_id in rows:
        due.setdefault(user_id, []).append(search_id)
    return due


def alerts_send_digests(*, now=None) -> int:
    """Beat, hourly: one email per member whose digest hour it is, listing every pending
    digest match, grouped by saved search, each bulletin once. Returns emails sent."""
    now = now or timezone.now()
    sent = 0
    for user_id, search_ids in _digest_searches_due(now).items():
        sent += _send_digest(user_id, set(search_ids))
    return sent


def _send_digest(user_id: int, search_ids: set[int]) -> int:
    with transaction.atomic():
        rows = list(
            AlertDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(user_id=user_id, instant=False, status=AlertDelivery.Status.PENDING)
            .select_related("user", "bulletin__category", "bulletin__region")
            .order_by("-bulletin__published_at")
        )
        rows = [r for r in rows if {x.get("search") for x in r.reasons} & search_ids]
        if not rows:
            return 0
        user = rows[0].user
        if not member_rights(user, fresh=True).sees_contacts or not user.email:
            for row in rows:
                row.status, row.last_error = AlertDelivery.Status.SKIPPED, "会员已到期或无邮箱"
            AlertDelivery.objects.bulk_update(rows, ["status", "last_error"])
            return 0
        groups: dict[str, list] = {}
        for row in rows:
            name = next(r["name"] for r in row.reasons if r.get("search") in search_ids)
            groups.setdefault(name, []).append(_digest_item(row))
        token = unsubscribe_token(user_id, None)
        unsubscribe_url = settings.SITE_URL + reverse("alerts-unsubscribe", args=[token])
        message = build_email(
            "digest",
            to=[user.email],
            context={
                "groups": sorted(groups.items()),
                "count": len(rows),
                "unsubscribe_url": unsubscribe_url,
                "account_url": settings.SITE_URL + reverse("member-account"),
            },
            unsubscribe_url=unsubscribe_url,
        )
        message.send()  # an SMTP error rolls back: the rows stay pending for the next hour
        now = timezone.now()
        for row in rows:
            row.status, row.sent_at, row.attempts = AlertDelivery.Status.SENT, now, row.attempts + 1
        AlertDelivery.objects.bulk_update(rows, ["status", "sent_at", "attempts"])
    return 1


def _digest_item(row: AlertDelivery) -> dict:
    bulletin = row.bulletin
    values = contact_values(bulletin.contacts.all())
    terms = [r["term"] for r in row.reasons if r["term"]]
    return {
        "title": mask_text(bulletin.title, values=values),
        "url": settings.SITE_URL + bulletin.get_absolute_url(),
        "date": bulletin.published_at,
        "region": bulletin.region_display,
        "category": bulletin.category.name,
        "snippet": snippet(bulletin.body, terms, contacts_visible=False, values=values),
        "reasons": [r["name"] for r in row.reasons],
    }


def alerts_requeue_pending(*, older_than_minutes: int = 10) -> list[int]:
    """Instant deliveries still pending after a while (a lost task, a broker restart)."""
    before = timezone.now() - datetime.timedelta(minutes=older_than_minutes)
    return list(
        AlertDelivery.objects.filter(
            status=AlertDelivery.Status.PENDING, instant=True, created_at__lt=before
        ).values_list("pk", flat=True)[:5000]
    )
