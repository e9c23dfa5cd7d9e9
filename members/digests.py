"""Digests: the daily or weekly email of what a member's digest searches matched, matched
at digest time.

Publishing matches instant searches only (members.alerts) and queues every announced
bulletin here (DigestBulletin). At a search's digest hour it is matched, in memory with
the publish-time matcher (members.matching), against the queued bulletins after its
watermark (`SavedSearch.digested_through`): digest matches, most of them, write nothing
at publish time. An instant search is a digest one for a member whose plan has no
instant alerts (free, lapsed, 标讯查询), and a pending digest row (an instant alert whose
member lost instant alerts before it went out) is listed too.

The hourly beat task matches every search due in one pass (`digests_plan`) and fans the
sending out in tasks of DIGEST_CHUNK members (`digests_send`). A member's digest is one
transaction: lock their due searches, skip those already covered this far, write a
delivery per bulletin (unique per member and bulletin: a bulletin an instant alert or an
earlier digest brought is not listed again), send, mark, advance the watermarks. An SMTP
error rolls it all back, so the next run lists the same bulletins.
"""

import bisect
import contextlib
import datetime
import gc
import json
import logging
import smtplib

from django.conf import settings
from django.core.mail import mailers
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from members.access import alert_member_rights, alert_rights
from members.matching import MATCH_FIELDS, build_index
from members.models import AlertDelivery, DigestBulletin, SavedSearch
from members.unsubscribe_links import unsubscribe_mailto, unsubscribe_token
from news.masking import contact_values, mask_text
from news.models import Bulletin
from news.search import parse_query
from news.snippets import snippet
from portal.emails import build_email

logger = logging.getLogger(__name__)

DIGEST_CHUNK = 100  # members per sending task, over one SMTP connection
QUEUE_DAYS = 8  # a weekly digest's window and a day to spare; older entries are pruned
_QUEUE_LOCK = 7_230_418  # advisory lock: queue ids are handed out one transaction at a time
_BULLETIN_BATCH = 500


class DigestSendError(Exception):
    """Some digests of a chunk could not be sent; the task retries, sent ones are skipped."""


def digest_queue_add(bulletin_ids) -> None:
    """Queue announced bulletins for the digests, inside the transaction that writes their
    instant deliveries. The lock, held until commit, makes queue ids commit in order, so
    a digest that has seen id N never later meets a new id below N (its watermark)."""
    ids = list(dict.fromkeys(bulletin_ids))
    if not ids:
        return
    with transaction.atomic():
        if db_connection.vendor == "postgresql":
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_QUEUE_LOCK])
        DigestBulletin.objects.bulk_create([DigestBulletin(bulletin_id=pk) for pk in ids])


def _due_searches(now) -> list[dict]:
    """The digest searches whose hour it is: daily ones (weekly too on Mondays), and the
    instant ones of members whose plan has no instant alerts now."""
    local = timezone.localtime(now)
    frequencies = [SavedSearch.Frequency.DAILY, SavedSearch.Frequency.INSTANT]
    if local.weekday() == 0:
        frequencies.append(SavedSearch.Frequency.WEEKLY)
    rows = list(
        SavedSearch.objects.filter(
            is_active=True,
            user__is_active=True,
            frequency__in=frequencies,
            digest_hour=local.hour,
        ).values("id", "user_id", "frequency", "digested_through", "created_at")
    )
    instant = SavedSearch.Frequency.INSTANT
    rights = alert_rights({r["user_id"] for r in rows if r["frequency"] == instant})
    return [
        r
        for r in rows
        if r["frequency"] != instant or not rights.get(r["user_id"], (False, False))[1]
    ]


def digest_matches(due: list[dict], *, through: int) -> dict[int, dict[int, list[int]]]:
    """{member: {bulletin: [search ids]}}: each due search against the queued bulletins
    after its watermark up to `through` (a new search: those queued since it was made)
    that are still published; each bulletin looked up once in an index of the due
    searches. A weekly search's longer window (or a stale one) is read with an index of
    just those searches, so on Mondays the daily searches do not meet a week of bulletins."""
    if not due:
        return {}
    lows = _window_starts(due)
    daily = [lows[r["id"]] for r in due if r["frequency"] != SavedSearch.Frequency.WEEKLY]
    cut = min(daily) if daily else through  # entries above it: every due search's window
    latest: dict[int, int] = {}  # bulletin -> its last queue entry (queued twice: once)
    for entry_id, bulletin_id in (
        DigestBulletin.objects.filter(id__gt=min(lows.values()), id__lte=through)
        .order_by("id")
        .values_list("id", "bulletin_id")
    ):
        latest[bulletin_id] = entry_id
    if not latest:
        return {}
    every = build_index(SavedSearch.objects.filter(pk__in=list(lows)))
    longer = [pk for pk, low in lows.items() if low < cut]
    older = build_index(SavedSearch.objects.filter(pk__in=longer)) if longer else None
    found: dict[int, dict[int, list[int]]] = {}
    ids = list(latest)
    collecting = gc.isenabled()
    gc.disable()  # the index is ~a million long-lived objects: collections would walk them
    try:
        for i in range(0, len(ids), _BULLETIN_BATCH):
            bulletins = (
                Bulletin.objects.published()
                .filter(pk__in=ids[i : i + _BULLETIN_BATCH])
                .select_related("category")
                .only(*MATCH_FIELDS)
            )
            for bulletin in bulletins:
                entry_id = latest[bulletin.pk]
                index = every if entry_id > cut else older
                for c, _term in index.matches(bulletin) if index else ():
                    if entry_id > lows[c.id]:  # else covered, or queued before the search
                        found.setdefault(c.user_id, {}).setdefault(bulletin.pk, []).append(c.id)
    finally:
        if collecting:
            gc.enable()
    return found


def _window_starts(due: list[dict]) -> dict[int, int]:
    """{search: the queue id its window starts after}: its watermark, or for a search
    never digested the last entry queued before it was made (one query for all)."""
    lows = {r["id"]: r["digested_through"] for r in due}
    new = [r for r in due if r["digested_through"] is None]
    if new:
        made = sorted({r["created_at"] for r in new})
        ids, reached = [], []  # in id order: the latest announced_at so far (sorted)
        for pk, at in (
            DigestBulletin.objects.filter(announced_at__gte=made[0])
            .order_by("id")
            .values_list("id", "announced_at")
        ):
            ids.append(pk)
            reached.append(max(at, reached[-1]) if reached else at)
        top = DigestBulletin.objects.aggregate(top=Max("id"))["top"] or 0
        for r in new:  # the first entry announced since the search was made
            i = bisect.bisect_left(reached, r["created_at"])
            lows[r["id"]] = ids[i] - 1 if i < len(ids) else top
    return lows


def digests_plan(*, now=None) -> list[dict]:
    """Match the digests due at `now`; returns the sending chunks, each {"through": the
    queue id matched up to, "members": [[member, [due search ids], [[bulletin, [search
    ids]], …]], …]}. Due searches of members with nothing to send are marked covered."""
    now = now or timezone.now()
    pruned_before = timezone.now() - datetime.timedelta(days=QUEUE_DAYS)
    DigestBulletin.objects.filter(announced_at__lt=pruned_before).delete()
    due = _due_searches(now)
    if not due:
        return []
    through = DigestBulletin.objects.aggregate(top=Max("id"))["top"] or 0
    matches = digest_matches(due, through=through)
    searches: dict[int, list[int]] = {}
    for row in due:
        searches.setdefault(row["user_id"], []).append(row["id"])
    waiting = set(
        AlertDelivery.objects.filter(
            user_id__in=list(searches), instant=False, status=AlertDelivery.Status.PENDING
        ).values_list("user_id", flat=True)
    )
    senders = set(matches) | waiting
    quiet = [pk for user_id, ids in searches.items() if user_id not in senders for pk in ids]
    _advance(quiet, through)
    chunks = []
    ordered = sorted(senders)
    for i in range(0, len(ordered), DIGEST_CHUNK):
        members = [
            [user_id, searches[user_id], [[b, s] for b, s in matches.get(user_id, {}).items()]]
            for user_id in ordered[i : i + DIGEST_CHUNK]
        ]
        chunks.append({"through": through, "members": members})
    logger.info("digests: %s members to send, %s searches covered", len(senders), len(quiet))
    return chunks


def _advance(search_ids, through: int) -> None:
    """Mark searches covered up to `through` (never backwards)."""
    SavedSearch.objects.filter(
        Q(digested_through__isnull=True) | Q(digested_through__lt=through), pk__in=search_ids
    ).update(digested_through=through)


def digests_send(*, chunk: dict) -> int:
    """Send a chunk's digests over one SMTP connection; returns emails sent. A member
    whose digest failed is left as it was (DigestSendError after the others)."""
    connection = mailers.default
    sent, failed = 0, []
    try:
        for user_id, search_ids, matched in chunk["members"]:
            try:
                sent += _send_digest(user_id, search_ids, matched, chunk["through"], connection)
            except (OSError, smtplib.SMTPException) as exc:
                logger.warning("digest for member %s not sent: %s", user_id, exc)
                failed.append(user_id)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    if failed:
        raise DigestSendError(f"{len(failed)} digests not sent (members {failed[:5]} …)")
    return sent


def alerts_send_digests(*, now=None) -> int:
    """Every digest due at `now`, in this process (the beat task fans them out)."""
    return sum(digests_send(chunk=chunk) for chunk in digests_plan(now=now))


def _reason(search: SavedSearch) -> dict:
    include = parse_query(search.query).include
    return {"search": search.pk, "name": search.name, "term": include[0] if include else ""}


def _send_digest(user_id: int, search_ids, matched, through: int, connection) -> int:
    with transaction.atomic():
        searches = list(
            SavedSearch.objects.select_for_update().filter(
                pk__in=list(search_ids), user_id=user_id, is_active=True
            )
        )
        due = {s.pk for s in searches}
        # Covered this far by a run before (a task given twice, a retried chunk): their
        # matches are not listed again (nor would they be: a delivery each exists).
        open_ = {
            s.pk: s for s in searches if s.digested_through is None or s.digested_through < through
        }
        reasons = {pk: _reason(s) for pk, s in open_.items()}
        new = []
        for bulletin_id, ids in matched:
            why = [reasons[pk] for pk in ids if pk in open_]
            if why:
                new.append((bulletin_id, json.dumps(why, ensure_ascii=False)))
        waiting = [
            row.pk
            for row in AlertDelivery.objects.select_for_update(skip_locked=True).filter(
                user_id=user_id, instant=False, status=AlertDelivery.Status.PENDING
            )
            if {r.get("search") for r in row.reasons} & due
        ]
        created = _insert_rows(user_id, new)
        _advance(list(open_), through)
        rows = list(
            AlertDelivery.objects.filter(pk__in=waiting + created)
            .select_related("user", "bulletin__category", "bulletin__region")
            .prefetch_related("bulletin__contacts")  # masking each item: one query in all
            .order_by("-bulletin__published_at", "-bulletin_id")
        )
        if not rows:
            return 0
        return _email(rows, due, connection)


def _insert_rows(user_id: int, new: list[tuple[int, str]]) -> list[int]:
    """Pending digest deliveries for (bulletin, reasons JSON); ids of those written (a
    bulletin the member already has a delivery for is left out)."""
    table = AlertDelivery._meta.db_table
    now = timezone.now()
    created = []
    with db_connection.cursor() as cursor:
        for i in range(0, len(new), 500):
            part = new[i : i + 500]
            values = ", ".join(["(%s, %s, %s, %s, %s, 'pending', 0, '')"] * len(part))
            params = [x for b, reasons in part for x in (user_id, b, reasons, False, now)]
            cursor.execute(
                f"INSERT INTO {table} (user_id, bulletin_id, reasons, instant, created_at, "
                f"status, attempts, last_error) VALUES {values} "
                "ON CONFLICT (user_id, bulletin_id) DO NOTHING RETURNING id",
                params,
            )
            created += [row[0] for row in cursor.fetchall()]
    return created


def _email(rows: list[AlertDelivery], search_ids: set[int], connection) -> int:
    """One digest listing rows (newest first) grouped by saved search, masked, within
    the plan's digest_item_limit; the rest counted and marked skipped."""
    user = rows[0].user
    rights = alert_member_rights(user)
    if not rights.digest_alerts or not user.email:
        why = "套餐不含邮件汇总或无邮箱"
        for row in rows:
            row.status, row.last_error = AlertDelivery.Status.SKIPPED, why
        AlertDelivery.objects.bulk_update(rows, ["status", "last_error"])
        return 0
    limit = rights.digest_item_limit
    listed, left_out = (rows[:limit], rows[limit:]) if limit else (rows, [])
    groups: dict[str, list] = {}
    for row in listed:
        name = next(r["name"] for r in row.reasons if r.get("search") in search_ids)
        groups.setdefault(name, []).append(_digest_item(row))
    # The link turns off the searches this digest was sent for, not every search.
    sent_for = [r for row in rows for r in row.reasons if r.get("search") in search_ids]
    token = unsubscribe_token(user_id=user.pk, reasons=sent_for)
    unsubscribe_url = settings.SITE_URL + reverse("alerts-unsubscribe", args=[token])
    # Members who cannot see contacts, or who missed some, are shown what a plan gives.
    upgrade = left_out or not rights.sees_contacts
    message = build_email(
        "digest",
        to=[user.email],
        context={
            "groups": sorted(groups.items()),
            "count": len(rows),
            "more": len(left_out),
            "limit": limit,
            "plans_url": settings.SITE_URL + reverse("membership") if upgrade else "",
            "unsubscribe_url": unsubscribe_url,
            "account_url": settings.SITE_URL + reverse("member-account"),
        },
        unsubscribe_url=unsubscribe_url,
        unsubscribe_mailto=unsubscribe_mailto(token),
    )
    connection.open()  # once per chunk: a no-op while open, and sending keeps it open
    connection.send_messages([message])  # an SMTP error rolls the member's digest back
    now = timezone.now()
    for row in listed:
        row.status, row.sent_at, row.attempts = AlertDelivery.Status.SENT, now, row.attempts + 1
    for row in left_out:  # counted in this email, never listed in a later one
        row.status, row.last_error = AlertDelivery.Status.SKIPPED, f"超出每封汇总 {limit} 条"
    AlertDelivery.objects.bulk_update(rows, ["status", "sent_at", "attempts", "last_error"])
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
        "reasons": [mask_text(r["name"], values=values) for r in row.reasons],
    }
