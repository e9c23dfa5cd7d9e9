"""Alerts: match new bulletins to instant saved searches and follows, write deliveries,
send instant emails (digests: members.digests, matched at digest time).

Each instant match is an AlertDelivery row, unique per member and bulletin, written in
one transaction with every reason. What a member gets is their plan's data: instant
emails where the plan has instant alerts (and shows contacts), otherwise the daily or
weekly digest, at most the plan's digest_item_limit bulletins, always masked. A member
without a current period (never paid, lapsed, ended) has the free plan's rights.

The instant sender claims a pending row in a short transaction, talks SMTP holding no
lock, then records the outcome in another short one; it checks the member's plan again
at send time (a plan without instant alerts by then: the row waits for the digest) and
sends a batch over one SMTP connection. Transient SMTP errors leave the row pending for
the task's retry, permanent ones (5xx) mark it failed with the reason. Delivery is
at-least-once, not exactly-once: see alerts_send.
"""

import contextlib
import datetime
import io
import json
import logging
import smtplib

from django.conf import settings
from django.core.mail import mailers
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone

from members import sms
from members.access import (
    alert_member_rights,
    alert_rights,
    free_plan_rights,
    users_who_watch,
    users_with_rights,
)
from members.digests import digest_queue_add
from members.matching import MATCH_FIELDS, current_index
from members.models import AlertDelivery
from members.unsubscribe_links import unsubscribe_mailto, unsubscribe_token
from news.masking import contact_values, contact_view, mask_text
from news.models import Bulletin
from news.snippets import snippet
from portal.emails import build_email

logger = logging.getLogger(__name__)


class TransientSendError(Exception):
    """The SMTP server could not take the batch now; the task retries with backoff."""


def alerts_enqueue(bulletin_ids) -> None:
    """Match these bulletins after the current transaction commits (publish, import)."""
    from members.tasks import alerts_match

    ids = list(bulletin_ids)
    if ids:
        transaction.on_commit(lambda: alerts_match.delay(ids))


def alerts_match(*, bulletin_ids) -> list[int]:
    """Write a delivery per member with instant alerts and bulletin matching one of their
    instant searches or follows; queue the bulletins for the digests (members.digests,
    which match digest searches at digest time); returns the pending instant ones.

    Thousands of deliveries per batch: plans are read as plain values and the rows are
    written by COPY, without model instances (building one AlertDelivery per match cost
    more than matching itself)."""
    index = current_index()
    # Title, body and hidden_lexemes give the lexemes the site search matches, masked.
    bulletins = list(
        Bulletin.objects.published()
        .filter(pk__in=list(bulletin_ids))
        .select_related("category")
        .only(*MATCH_FIELDS)
    )
    follows = _follow_reasons(bulletins)
    watchers = {  # bulletin -> members alerted by a company watch
        b: {user_id for user_id, reason in found if reason.get("watch")}
        for b, found in follows.items()
    }
    matched: dict[tuple[int, int], list[str]] = {}  # (user, bulletin) -> reasons as JSON
    for bulletin in bulletins:
        found = [
            (user_id, json.dumps(reason, ensure_ascii=False))
            for user_id, reason in follows.get(bulletin.pk, ())
        ]
        found += [(c.user_id, c.reason_json) for c, _ in index.matches(bulletin)]
        for user_id, reason in found:
            matched.setdefault((user_id, bulletin.pk), []).append(reason)
    rights = alert_rights({user_id for user_id, _ in matched})
    watching = users_who_watch({u for u, b in matched if u in watchers.get(b, ())})
    # Only members whose plan has instant alerts: a free member's instant search is a
    # digest one, matched at their digest hour; a follow alone goes in no digest. A
    # watched company's news is instant too for plans that may watch companies.
    rows = [
        (user_id, bulletin_id, f"[{', '.join(reasons)}]", True)
        for (user_id, bulletin_id), reasons in matched.items()
        if rights.get(user_id, (False, False))[1]
        or (user_id in watching and user_id in watchers.get(bulletin_id, ()))
    ]
    with transaction.atomic():
        created = _insert_deliveries(rows)
        digest_queue_add([b.pk for b in bulletins])
    pending = AlertDelivery.objects.filter(
        bulletin_id__in=list(bulletin_ids), instant=True, status=AlertDelivery.Status.PENDING
    ).values_list("pk", flat=True)
    logger.info("alerts: %s deliveries for %s bulletins", created, len(bulletin_ids))
    return list(pending)


def _insert_deliveries(rows) -> int:
    """New pending deliveries from (user id, bulletin id, reasons as JSON text, instant);
    a (member, bulletin) pair already there is left alone.

    PostgreSQL: pairs already stored for these bulletins (a re-match) are dropped first
    and the rest go in by COPY, several times cheaper than INSERT for the ~200 rows each
    bulletin brings; should a concurrent match of the same bulletin win a pair meanwhile,
    the COPY fails and the batch goes in by INSERT … ON CONFLICT DO NOTHING instead."""
    if not rows:
        return 0
    table = AlertDelivery._meta.db_table
    now = timezone.now()
    if db_connection.vendor == "postgresql":
        stored = set(
            AlertDelivery.objects.filter(bulletin_id__in={r[1] for r in rows}).values_list(
                "user_id", "bulletin_id"
            )
        )
        rows = [r for r in rows if (r[0], r[1]) not in stored]
        try:
            with transaction.atomic():
                _copy_deliveries(table, rows, now)
            return len(rows)
        except IntegrityError:
            pass
    values = [(*row[:3], row[3], now) for row in rows]
    sql = (
        f"INSERT INTO {table} (user_id, bulletin_id, reasons, instant, created_at, status, "
        "attempts, last_error) VALUES (%s, %s, %s, %s, %s, 'pending', 0, '') "
        "ON CONFLICT (user_id, bulletin_id) DO NOTHING"
    )
    created = 0
    with db_connection.cursor() as cursor:
        for start in range(0, len(values), 1000):
            cursor.executemany(sql, values[start : start + 1000])
            created += max(cursor.rowcount, 0)
    return created


def _copy_deliveries(table: str, rows, now) -> None:
    def escape(text: str) -> str:  # COPY text format (JSON has no raw tab or newline)
        return text.replace("\\", "\\\\")

    stamp = now.isoformat()
    data = io.StringIO()
    for user_id, bulletin_id, reasons, instant in rows:
        reasons_json = escape(reasons)
        flag = "t" if instant else "f"
        data.write(f"{user_id}\t{bulletin_id}\t{reasons_json}\t{flag}\t{stamp}\tpending\t0\t\n")
    data.seek(0)
    columns = "user_id, bulletin_id, reasons, instant, created_at, status, attempts, last_error"
    # The raw cursor's errors are wrapped so a unique violation is Django's IntegrityError.
    with db_connection.cursor() as cursor, db_connection.wrap_database_errors:
        cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", data)


def _follow_reasons(bulletins) -> dict[int, list]:
    """{bulletin id: [(user id, reason)]} for members following a bulletin's project, and
    members watching a company the bulletin names or its project has as a party: a fixed
    number of queries for the batch."""
    from members.models import Follow
    from news.models import Project, ProjectStageChange

    by_project: dict[int, list[int]] = {}
    for bulletin in bulletins:
        if bulletin.project_id:
            by_project.setdefault(bulletin.project_id, []).append(bulletin.pk)
    names = dict(Project.objects.filter(pk__in=list(by_project)).values_list("pk", "name"))
    stages = {
        change.bulletin_id: change.get_stage_display()
        for change in ProjectStageChange.objects.filter(
            bulletin_id__in=[b for ids in by_project.values() for b in ids]
        ).only("bulletin_id", "stage")
    }
    reasons: dict[int, list] = {}
    for follow_id, user_id, project_id in Follow.objects.filter(
        project_id__in=list(names)
    ).values_list("pk", "user_id", "project_id"):
        for bulletin_id in by_project[project_id]:
            stage = stages.get(bulletin_id)
            # "follow": what the email's unsubscribe link turns off (unfollows)
            reason = {
                "search": None,
                "name": f"关注项目:{names[project_id]}",
                "term": "",
                "follow": follow_id,
                "event": f"项目进入{stage}阶段" if stage else "项目有新动态",
            }
            reasons.setdefault(bulletin_id, []).append((user_id, reason))
    for bulletin_id, watch_reasons in _watch_reasons(bulletins).items():
        reasons.setdefault(bulletin_id, []).extend(watch_reasons)
    return reasons


def _watch_reasons(bulletins) -> dict[int, list]:
    """{bulletin id: [(user id, reason)]} for members watching a company (关注企业) that the
    bulletin names (a party's line, the winner) or that is a party of its project."""
    from members.models import Follow
    from news.companies import organization_ids_by_key, split_name
    from news.linking import organization_key
    from news.models import Contact, ProjectParty

    named: dict[int, set[str]] = {}  # bulletin -> organisation keys it names
    written = [(b.pk, b.winner) for b in bulletins if b.winner]
    written += (
        Contact.objects.filter(bulletin_id__in=[b.pk for b in bulletins])
        .exclude(organization="")
        .values_list("bulletin_id", "organization")
    )
    for bulletin_id, organization in written:
        named.setdefault(bulletin_id, set()).add(organization_key(split_name(organization)[0]))
    ids_by_key = organization_ids_by_key({k for keys in named.values() for k in keys})
    organizations: dict[int, set[int]] = {
        bulletin_id: {ids_by_key[k] for k in keys if k in ids_by_key}
        for bulletin_id, keys in named.items()
    }
    by_project: dict[int, list[int]] = {}
    for bulletin in bulletins:
        if bulletin.project_id:
            by_project.setdefault(bulletin.project_id, []).append(bulletin.pk)
    for project_id, organization_id in ProjectParty.objects.filter(
        project_id__in=list(by_project)
    ).values_list("project_id", "organization_id"):
        for bulletin_id in by_project[project_id]:
            organizations.setdefault(bulletin_id, set()).add(organization_id)
    wanted = {o for ids in organizations.values() for o in ids}
    if not wanted:
        return {}
    labels = dict(Follow.Relation.choices)
    watchers: dict[int, list[tuple[int, int, str]]] = {}
    for follow_id, user_id, organization_id, relation, name in Follow.objects.filter(
        organization_id__in=list(wanted)
    ).values_list("pk", "user_id", "organization_id", "relation", "organization__name"):
        label = labels.get(relation or Follow.Relation.COMPETITOR)
        text = f"关注企业({label}):{name}"
        watchers.setdefault(organization_id, []).append((user_id, follow_id, text))
    reasons: dict[int, list] = {}
    for bulletin_id, organization_ids in organizations.items():
        for organization_id in sorted(organization_ids):
            for user_id, follow_id, text in watchers.get(organization_id, ()):
                # "watch": instant for plans with the right (Plan.watches_companies)
                reason = {"search": None, "name": text, "term": "", "follow": follow_id}
                reason["watch"] = True
                reasons.setdefault(bulletin_id, []).append((user_id, reason))
    return reasons


def _contacts_for(delivery: AlertDelivery, contacts, rights) -> tuple[bool, list]:
    """Contacts in an instant alert follow the site's policy: a paying member's email shows
    them if today's quota has room (the email spends one reveal, as 查看联系方式 would);
    otherwise they are masked and the email says how to get them."""
    from members.services import NotEntitled, QuotaExceeded, contact_reveal

    try:
        contact_reveal(user=delivery.user, bulletin_id=delivery.bulletin_id, ip=None, rights=rights)
    except (NotEntitled, QuotaExceeded):
        return False, [contact_view(c, visible=False) for c in contacts]
    return True, [contact_view(c, visible=True) for c in contacts]


def _message(delivery: AlertDelivery, rights):
    bulletin = delivery.bulletin
    contacts = list(bulletin.contacts.all())
    values = contact_values(contacts)
    visible, contact_rows = _contacts_for(delivery, contacts, rights)
    terms = [r["term"] for r in delivery.reasons if r["term"]]
    token = unsubscribe_token(user_id=delivery.user_id, reasons=delivery.reasons)
    unsubscribe_url = settings.SITE_URL + reverse("alerts-unsubscribe", args=[token])
    # View data only, never the delivery or bulletin rows (portal/tests/gating_guard.py).
    # A reason may name a project or organisation cut from a body: masked like the title.
    mask = (lambda text: text) if visible else (lambda text: mask_text(text, values=values))
    context = {
        "reasons": [{**reason, "name": mask(reason["name"])} for reason in delivery.reasons],
        "title": mask(bulletin.title),
        "bulletin": {
            "published_at": bulletin.published_at,
            "category_name": bulletin.category.name,
            "region_display": bulletin.region_display,
        },
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
        unsubscribe_mailto=unsubscribe_mailto(token),
    )
    message.extra_headers["X-Alert-Delivery"] = str(delivery.pk)
    return message


# A pending instant delivery nobody has claimed this long after matching lost its task
# (a worker died holding the message: Redis would hand it out again only after its
# one-hour visibility timeout) or waits behind a backlog; the sweeper enqueues it again,
# harmless either way since a sender claims each row under its lock.
UNCLAIMED_SECONDS = 30


def claim_lease() -> datetime.timedelta:
    """How long a claim keeps other workers off a delivery (ALERT_CLAIM_LEASE_SECONDS).
    A claim covers one message (claim, send, record), which the SMTP timeout bounds well
    below it (system check members.E001); a dead worker's claim runs out after it."""
    return datetime.timedelta(seconds=settings.ALERT_CLAIM_LEASE_SECONDS)


def alerts_send(*, delivery_ids) -> dict:
    """Send pending instant deliveries; returns counts by outcome.

    The batch's deliveries, bulletins, contacts and members' current plans are read up
    front (a handful of queries, so entitlement is as of this send). Then, one delivery at
    a time: a short transaction claims it (SELECT … FOR UPDATE SKIP LOCKED, still pending
    and not claimed within the lease: set claimed_at, count the attempt) and commits; the
    message goes out over the batch's SMTP connection with no row locked, so a slow or
    hung SMTP server never holds up other workers, the sweeper or the admin; a second
    short UPDATE records sent / failed / still pending and clears the claim, only if the
    row still carries this worker's claim (compare-and-set on claimed_at): a send that
    overran its lease has been taken over, and the new claimer's outcome counts.

    Another worker given the same ids skips a claimed or sent row, so two workers do not
    send one alert twice while claims are live. A worker that dies leaves at most the row
    it was sending claimed: the rest of its batch is unclaimed, and the sweeper enqueues
    it again UNCLAIMED_SECONDS after matching, the claimed one once its lease has run out.
    That one row is the at-least-once case: if the server had already accepted the
    message (the crash came between its "250" and the mark), the member gets a duplicate;
    so does one whose send overran its lease. Nothing can tell that case from a crash
    before the server accepted, and losing an alert is worse than sending one twice."""
    counts = {"sent": 0, "skipped": 0, "failed": 0, "digest": 0, "taken_over": 0}
    ids = list(dict.fromkeys(delivery_ids))
    rows = {
        row.pk: row
        for row in AlertDelivery.objects.filter(
            pk__in=ids, instant=True, status=AlertDelivery.Status.PENDING
        )
        .select_related("bulletin__category", "bulletin__region")
        .prefetch_related("bulletin__contacts")
    }
    users = users_with_rights({row.user_id for row in rows.values()})
    free = free_plan_rights() if rows else None
    connection = mailers.default
    try:
        for delivery_id in ids:
            row = rows.get(delivery_id)
            if row is None:
                continue  # sent already (or not instant) when the batch was read
            claim = _claim(delivery_id)
            if claim is None:
                continue  # sent meanwhile, or another worker has it
            row.attempts, claimed_at = claim
            user = users.get(row.user_id)
            rights = alert_member_rights(user, free=free) if user is not None else None
            outcome = _send_one(row, user, rights, connection)
            recorded = AlertDelivery.objects.filter(
                pk=row.pk, status=AlertDelivery.Status.PENDING, claimed_at=claimed_at
            ).update(
                status=row.status,
                last_error=row.last_error,
                sent_at=row.sent_at,
                instant=row.instant,
                claimed_at=None,
            )
            if not recorded:
                # The lease ran out mid-send and another worker claimed the row: its
                # outcome counts (if both sent, the member has it twice: at-least-once).
                logger.warning("alert delivery %s: claim taken over mid-send", row.pk)
                counts["taken_over"] += 1
                continue
            if outcome == "transient":
                raise TransientSendError(row.last_error)
            if outcome == "sent":
                _sms(row)  # once: only the claimer that recorded the send texts
            counts[outcome] += 1
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    return counts


def _claimable() -> Q:
    # The database's clock, not the workers': they may run on several machines.
    return Q(claimed_at__isnull=True) | Q(claimed_at__lt=Now() - claim_lease())


def _claim(delivery_id: int) -> tuple[int, datetime.datetime] | None:
    """Take a pending delivery for this worker, committed at once: (its attempts, the
    claim's time, which recording the outcome compares), or None when it is sent,
    locked or claimed by another worker within the lease."""
    with transaction.atomic():
        attempts = (
            AlertDelivery.objects.select_for_update(skip_locked=True)
            .filter(_claimable(), pk=delivery_id, status=AlertDelivery.Status.PENDING)
            .values_list("attempts", flat=True)
            .first()
        )
        if attempts is None:
            return None
        row = AlertDelivery.objects.filter(pk=delivery_id)
        row.update(claimed_at=Now(), attempts=attempts + 1)
        claimed_at = row.values_list("claimed_at", flat=True).get()
    return attempts + 1, claimed_at


def _send_one(row: AlertDelivery, user, rights, connection) -> str:
    if rights is None or not user.email:
        row.status, row.last_error = AlertDelivery.Status.SKIPPED, "会员已停用或无邮箱"
        return "skipped"
    watched = rights.watches_companies and any(r.get("watch") for r in row.reasons)
    if not (rights.sees_contacts and rights.instant_alerts) and not watched:
        # The plan changed since the match (lapsed, ended, downgraded): the member now has
        # their plan's rights, for a lapsed one the free plan's digest.
        if rights.digest_alerts and any(r.get("search") for r in row.reasons):
            row.instant = False  # pending: the search's next digest lists it
            return "digest"
        row.status, row.last_error = AlertDelivery.Status.SKIPPED, "套餐不含即时提醒"
        return "skipped"
    row.user = user
    try:
        connection.open()  # once per batch: a no-op while open, and send keeps it open
        connection.send_messages([_message(row, rights)])
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


def alerts_requeue_pending(*, unclaimed_for: int = UNCLAIMED_SECONDS) -> list[int]:
    """Instant deliveries to enqueue again, oldest first: claimed by a worker whose lease
    has run out (it died mid-send, or its send overran), or never claimed `unclaimed_for`
    seconds after matching (the task was lost with a dead worker, or a broker restart)."""
    matched_before = timezone.now() - datetime.timedelta(seconds=unclaimed_for)
    stale = Q(claimed_at__lt=Now() - claim_lease())  # the database's clock, as _claim's
    return list(
        AlertDelivery.objects.filter(
            Q(claimed_at__isnull=True, created_at__lt=matched_before) | stale,
            status=AlertDelivery.Status.PENDING,
            instant=True,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:5000]
    )
