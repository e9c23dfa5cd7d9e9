"""Unsubscribe links of alert emails: what one turns off, and for how long it works.

The signed token names what its email was sent for: the saved searches among the
delivery's reasons (a digest: the searches it grouped) and the follows. One click turns
off those and nothing else, and the pages name them. The token also carries a version
of those searches (their ids and last edits), so a link never acts on a search the
member has changed since, say re-enabled after unsubscribing or given new keywords, and
it works for MAX_AGE. An expired or stale link acts on nothing: its page offers to sign
in and manage alerts instead.
"""

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Follow, SavedSearch

SALT = "members.alerts.unsubscribe"
MAX_AGE = datetime.timedelta(days=60)


class State:
    READY = "ready"  # as when the email was sent: POST turns them off
    DONE = "done"  # everything it names is off already
    STALE = "stale"  # the member changed them since (or the link names nothing left)
    EXPIRED = "expired"  # older than MAX_AGE


@dataclass
class Unsubscribe:
    state: str
    names: list[str] = field(default_factory=list)  # what the link turns (or turned) off
    changed: int = 0  # searches turned off and follows dropped by this request


def unsubscribe_token(*, user_id: int, reasons: Iterable[dict]) -> str:
    """The token for an email sent for these reasons (AlertDelivery.reasons)."""
    reasons = list(reasons)
    search_ids = sorted({r["search"] for r in reasons if r.get("search")})
    follow_ids = sorted({r["follow"] for r in reasons if r.get("follow")})
    searches = SavedSearch.objects.filter(user_id=user_id, pk__in=search_ids)
    payload = {"u": user_id, "s": search_ids, "f": follow_ids, "v": _version(searches)}
    return signing.dumps(payload, salt=SALT)


def unsubscribe_mailto(token: str) -> str:
    """The mailto: form of the unsubscribe link (RFC 2369), when the portal runs the
    unsubscribe mailbox (members.unsubscribe_mailbox); "" otherwise."""
    mailbox = settings.ALERTS_UNSUBSCRIBE_MAILBOX
    return f"mailto:{mailbox}?subject=unsubscribe%20{token}" if mailbox else ""


def unsubscribe_check(*, token: str) -> Unsubscribe:
    """What the link would do now, changing nothing; raises signing.BadSignature for a
    token that is not ours or was altered."""
    return _resolve(token, apply=False)


def unsubscribe_apply(*, token: str) -> Unsubscribe:
    """Turn off what the link names, if it is still as when the email was sent; raises
    signing.BadSignature as unsubscribe_check does."""
    with transaction.atomic():
        return _resolve(token, apply=True)


def _resolve(token: str, *, apply: bool) -> Unsubscribe:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        return Unsubscribe(State.EXPIRED)
    user_id = data["u"]
    searches = SavedSearch.objects.filter(user_id=user_id)
    if apply:
        searches = searches.select_for_update()  # no edit slips in between check and update
    if isinstance(data["s"], int):
        # Links sent before tokens named their searches ({"s": id, or 0: every search});
        # they expire with MAX_AGE like the rest, so this can go by 2027-02.
        searches = list(searches.filter(pk=data["s"]) if data["s"] else searches)
        follows, unchanged = [], True
    else:
        searches = list(searches.filter(pk__in=data["s"]))
        follows = list(
            Follow.objects.filter(user_id=user_id, pk__in=data["f"]).select_related(
                "project", "organization"
            )
        )
        unchanged = (
            len(searches) == len(data["s"])
            and len(follows) == len(data["f"])
            and _version(searches) == data["v"]
        )
    live = [s for s in searches if s.is_active]
    names = [_("订阅:%(name)s") % {"name": s.name} for s in searches]
    names += [_follow_name(f) for f in follows]
    if not live and not follows:
        # Nothing it names is on (a second click): done, unless nothing it named is left.
        return Unsubscribe(State.DONE, names) if searches else Unsubscribe(State.STALE)
    if not unchanged:
        return Unsubscribe(State.STALE)
    if not apply:
        return Unsubscribe(State.READY, names)
    changed = SavedSearch.objects.filter(pk__in=[s.pk for s in live]).update(
        is_active=False, updated_at=timezone.now()
    )
    changed += Follow.objects.filter(pk__in=[f.pk for f in follows]).delete()[0]
    from members.matching import saved_searches_changed

    transaction.on_commit(saved_searches_changed)
    return Unsubscribe(State.DONE, names, changed)


def _version(searches) -> str:
    """Changes whenever one of these searches is edited (updated_at), turned off included."""
    rows = sorted((s.pk, s.updated_at.isoformat()) for s in searches)
    return hashlib.blake2b(repr(rows).encode(), digest_size=6).hexdigest()


def _follow_name(follow: Follow) -> str:
    if follow.project_id:
        return _("关注项目:%(name)s") % {"name": follow.project.name}
    return _("关注单位:%(name)s") % {"name": follow.organization.name}
