"""The one access policy for gated data (project contacts).

Who may see a bulletin's contacts:
- staff: always;
- a member whose active subscription's plan shows contacts: a bulletin or a project they
  revealed today (查看联系方式, counted against the plan's one daily quota);
- everyone else: never (anonymous visitors, free members, lapsed or ended periods).

企业会员 (teams): a member's current periods are their own and, while they are an active
member of a team, the owner's current periods of a team plan (`Plan.seats` > 1). That rule
is written here only: `_current_periods` (one member, SQL) and `_member_periods` (many,
for alerts). So a removed member loses the team's rights on their next request, and the
whole team's when the owner's period lapses or is ended. Rights that come from a team
plan carry its `team_id`: the team's seats share one daily reveal quota.

Every output path asks here and hands templates masked or unmasked view objects
(`news.selectors`); no template decides. Answers are computed from the database on each
request (a lapsed subscription loses access on the next request) and memoised on the
request's user object only. They are read from the primary, never a replica
(portal/db_routers.py): a replica seconds behind would show a stale 查看联系方式 count, or
mask a bulletin the member has just revealed on another device.
"""

import datetime
from dataclasses import dataclass

from django.db import connections
from django.db.models import Q, Subquery
from django.utils import timezone

from portal.db_routers import PRIMARY

_RIGHTS_ATTR = "_portal_member_rights"


@dataclass(frozen=True)
class MemberRights:
    """What the viewer's plan allows today."""

    is_staff: bool = False
    plan_name: str = ""
    sees_contacts: bool = False
    daily_quota: int = 0
    saved_search_limit: int = 0
    instant_alerts: bool = False
    digest_alerts: bool = False
    digest_item_limit: int = 0  # bulletins listed per digest email; 0: all
    ends_on: object = None
    export_rows_limit: int = 0  # rows per export file; 0: no exports
    api_access: bool = False
    api_rate: str = ""  # e.g. "60/min" (api.throttling reads it)
    sees_bid_results: bool = False  # every bidder, rank and price (开标结果), not only who won
    sees_company_profiles: bool = False  # company pages' amounts, regions, buyers, competitors
    watches_companies: bool = False  # 关注企业 (竞争对手 / 客户) with alerts
    team_id: int | None = None  # rights from this team's plan: its seats share the quota

    @property
    def searches_contacts(self) -> bool:
        """May find bulletins by a contact's phone, email or name."""
        return self.is_staff or self.sees_contacts

    @property
    def shared_pages(self) -> str | None:
        """Which cached, viewer-independent page parts (portal.pagecache.shared_fragment)
        this viewer may be served: parts are rendered masked and shared only between
        viewers who find the same rows. "public" for those who search public text only
        (anonymous, free, lapsed); "contacts" for paying members, whose searches also
        match contacts (their rows are still masked: a row they revealed today is rendered
        for them alone); None for staff, who see everything and share nothing."""
        if self.is_staff:
            return None
        return "contacts" if self.searches_contacts else "public"


ANONYMOUS = MemberRights()
_STAFF = MemberRights(
    is_staff=True,
    sees_contacts=True,
    plan_name="staff",
    digest_alerts=True,
    export_rows_limit=10_000,
    api_access=True,
    api_rate="600/min",
    sees_bid_results=True,
    sees_company_profiles=True,
    watches_companies=True,
)


class _Prepared:
    """An ORM query compiled to SQL once per process, then run with each request's values.

    Every signed-in page asks the policy (member_rights, and the list page which rows the
    member revealed): building those two small queries through the ORM cost ≈ 0.5-0.8 ms of
    CPU each, ten times what running them costs. The query is still written with the ORM
    (`Subscription.objects.current()` stays the one definition of a current period) for
    stand-in values, which are swapped for the real ones in the compiled parameters;
    `any_of` names a column matched against a list given as one array (`ids=`).
    PostgreSQL only (the raw cursor's values are the ORM's there); elsewhere the ORM runs.
    Both run on the primary: these are the policy's own reads.
    """

    def __init__(self, build, *, any_of: str = "", **stand_ins):
        self.build = build  # (**values) -> values_list queryset
        self.any_of = any_of
        self.stand_ins = stand_ins
        self._compiled = None

    def _compile(self):
        sql, params = self.build(**self.stand_ins).query.sql_with_params()
        names = {repr(v): k for k, v in self.stand_ins.items()}
        slots = [names.get(repr(p)) for p in params]
        if set(slots) - {None} != set(self.stand_ins):
            # A stand-in the ORM folded away would leave its real value unused: refuse.
            raise RuntimeError(f"stand-ins not all found in the compiled query: {sql}")
        if self.any_of:
            sql = f"SELECT * FROM ({sql}) AS q WHERE q.{self.any_of} = ANY(%s)"
            params, slots = [*params, None], [*slots, "ids"]
        return sql, list(params), slots

    def rows(self, **values) -> list[tuple]:
        connection = connections[PRIMARY]
        if connection.vendor != "postgresql":
            queryset = self.build(**{k: v for k, v in values.items() if k != "ids"})
            queryset = queryset.using(PRIMARY)
            if self.any_of:
                queryset = queryset.filter(**{f"{self.any_of}__in": values["ids"]})
            return list(queryset)
        if self._compiled is None:
            self._compiled = self._compile()
        sql, params, slots = self._compiled
        params = [values[slot] if slot else p for p, slot in zip(params, slots, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


def _current_periods(*, user_id, day):
    from members.models import Subscription, TeamMembership

    # A scalar subquery (one active team per person): PostgreSQL runs it once and reads
    # both owners' periods through the (user, ends_on) index; `IN (subquery)` inside an OR
    # would filter every subscription row instead.
    owner = TeamMembership.objects.filter(
        user_id=user_id, status=TeamMembership.Status.ACTIVE
    ).values("team__owner_id")[:1]
    return (
        Subscription.objects.current(on=day)
        .filter(Q(user_id=user_id) | Q(user_id=Subquery(owner), plan__seats__gt=1))
        .values_list(*_PERIOD_FIELDS)
    )


# (plan id, ends on, then the plan's fields _rights_from_rows reads)
_PERIOD_FIELDS = (
    "plan_id",
    "ends_on",
    "plan__name",
    "plan__sees_contacts",
    "plan__daily_reveal_quota",
    "plan__saved_search_limit",
    "plan__instant_alerts",
    "plan__position",
    "plan__digest_alerts",
    "plan__digest_item_limit",
    "plan__export_rows_limit",
    "plan__api_access",
    "plan__api_rate",
    "plan__sees_bid_results",
    "plan__sees_company_profiles",
    "plan__watches_companies",
    "plan__seats",
    "user__owned_team__id",
)
# Stand-ins no real row has: a user id below every id, a day before the portal existed.
_STAND_IN_ID = -424242
_STAND_IN_DAY = datetime.date(1901, 2, 3)
_CURRENT_PERIODS = _Prepared(_current_periods, user_id=_STAND_IN_ID, day=_STAND_IN_DAY)


def member_rights(user, *, fresh: bool = False) -> MemberRights:
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    if user.is_staff:
        return _STAFF
    if not fresh and hasattr(user, _RIGHTS_ATTR):
        return getattr(user, _RIGHTS_ATTR)
    periods = _CURRENT_PERIODS.rows(user_id=user.pk, day=timezone.localdate())
    rights = _rights_from_rows(periods)
    setattr(user, _RIGHTS_ATTR, rights)
    return rights


def users_with_rights(user_ids) -> dict:
    """{id: user} with each user's rights loaded: two queries for any number of members
    (alert matching meets thousands per batch)."""
    from members.models import User

    users = {u.pk: u for u in User.objects.filter(pk__in=list(user_ids), is_active=True)}
    periods = _member_periods(list(users), _PERIOD_FIELDS)
    for user in users.values():
        if not user.is_staff:
            setattr(user, _RIGHTS_ATTR, _rights_from_rows(periods.get(user.pk, [])))
    return users


def _member_periods(ids: list[int], fields) -> dict[int, list[tuple]]:
    """{member id: their current periods as `fields` tuples}, for many members at once:
    their own, and an active team member's owner's periods of a team plan, the same rule
    as `_current_periods` (test_teams checks they agree). Three queries in all."""
    from members.models import Subscription, TeamMembership

    memberships = TeamMembership.objects.filter(status=TeamMembership.Status.ACTIVE)
    owner_of = dict(_for_ids(memberships.values_list("user_id", "team__owner_id"), "user_id", ids))
    holders = list(set(ids) | set(owner_of.values()))
    by_holder: dict[int, list[tuple]] = {}
    rows = Subscription.objects.current().values_list("user_id", "plan__seats", *fields)
    for holder, seats, *values in _for_ids(rows, "user_id", holders):
        by_holder.setdefault(holder, []).append((seats, tuple(values)))
    periods = {}
    for member in ids:
        own = [v for _, v in by_holder.get(member, [])]
        owner = owner_of.get(member)
        team = [v for seats, v in by_holder.get(owner, []) if seats > 1] if owner != member else []
        if own or team:
            periods[member] = own + team
    return periods


def alert_rights(user_ids) -> dict[int, tuple[bool, bool]]:
    """{user id: (digest alerts, instant alerts)} for active members, from plain values:
    the alert matcher meets thousands of members per batch and needs only these two.
    The plan that counts is the one `member_rights` would pick; a member without one has
    the free plan's (`alert_member_rights`). Instant alerts need a plan that shows
    contacts; staff get digests."""
    from members.models import User

    ids = list(user_ids)
    users = dict(
        _for_ids(User.objects.filter(is_active=True).values_list("id", "is_staff"), "id", ids)
    )
    fields = (
        "plan__sees_contacts",
        "plan__daily_reveal_quota",
        "plan__position",
        "plan__instant_alerts",
        "plan__digest_alerts",
    )
    rights = {}
    for user_id, periods in _member_periods([i for i in users if not users[i]], fields).items():
        plan = max(periods, key=lambda p: p[:3])  # sees contacts, quota, position
        rights[user_id] = (plan[4], plan[0] and plan[3])
    free = free_plan_rights()
    for user_id, is_staff in users.items():
        if is_staff:
            rights[user_id] = (True, False)
        elif user_id not in rights:
            rights[user_id] = (free.digest_alerts, False)
    return rights


def users_who_watch(user_ids) -> set[int]:
    """Of these members, those whose plan may watch companies (Plan.watches_companies),
    staff included (alert matching asks for watchers only); a team's plan counts for its
    members as on pages (`_member_periods`)."""
    from members.models import User

    ids = list(user_ids)
    if not ids:
        return set()
    users = dict(
        _for_ids(User.objects.filter(is_active=True).values_list("id", "is_staff"), "id", ids)
    )
    members = [i for i, is_staff in users.items() if not is_staff]
    periods = _member_periods(members, ("plan__watches_companies",))
    watchers = {i for i, rows in periods.items() if any(row[0] for row in rows)}
    return watchers | {i for i, is_staff in users.items() if is_staff}


def _for_ids(queryset, column: str, ids: list[int]):
    """The queryset's rows whose `column` is one of `ids`. On PostgreSQL a single array
    parameter (`= ANY(%s)`): an IN list of thousands of ids cost Django more to build
    than the query took. On the primary, as every read of the policy."""
    connection = connections[PRIMARY]
    if connection.vendor != "postgresql":
        return queryset.using(PRIMARY).filter(**{f"{column}__in": ids})
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({sql}) AS q WHERE q.{column} = ANY(%s)", [*params, ids])
        return cursor.fetchall()


def _rights_from_rows(periods) -> MemberRights:
    """Rights from current periods as _PERIOD_FIELDS tuples."""
    if not periods:
        return ANONYMOUS
    # Overlapping periods (an upgrade bought mid-year): the richest plan counts.
    best = max(periods, key=lambda p: (p[3], p[4], p[7]))
    plan_id, _, name, sees_contacts, quota, saved_searches, instant, _, digest, limit = best[:10]
    export_rows, api_access, api_rate = best[10:13]
    seats, owned_team_id = best[16:18]
    return MemberRights(
        plan_name=name,
        sees_contacts=sees_contacts,
        daily_quota=quota if sees_contacts else 0,
        saved_search_limit=saved_searches,
        instant_alerts=instant,
        digest_alerts=digest,
        digest_item_limit=limit,
        ends_on=max(p[1] for p in periods if p[0] == plan_id),
        export_rows_limit=export_rows,
        api_access=api_access,
        api_rate=api_rate,
        # Any current period's plan that gives these gives them (an upgrade mid-year).
        sees_bid_results=any(p[13] for p in periods),
        sees_company_profiles=any(p[14] for p in periods),
        watches_companies=any(p[15] for p in periods),
        team_id=owned_team_id if seats > 1 else None,
    )


FREE_PLAN_SLUG = "free"


def free_plan_rights() -> MemberRights:
    """The rights of a member without a current period (never paid, lapsed, ended): the
    plan with slug "free", read from the database each time (staff edit it). Whatever it
    says, contacts stay hidden and alerts are never instant: both are paid services."""
    from members.models import Plan

    plan = (
        Plan.objects.filter(slug=FREE_PLAN_SLUG)
        .values("name", "saved_search_limit", "digest_alerts", "digest_item_limit")
        .first()
    )
    if plan is None:
        return ANONYMOUS
    return MemberRights(
        plan_name=plan["name"],
        saved_search_limit=plan["saved_search_limit"],
        digest_alerts=plan["digest_alerts"],
        digest_item_limit=plan["digest_item_limit"],
    )


def alert_member_rights(user, *, free: MemberRights | None = None) -> MemberRights:
    """What alert emails to this member follow: their current plan's rights, or the free
    plan's when they have none (`free`: the free plan's rights, read once for a batch).
    Only alerts read this: on pages a member without a period stays ANONYMOUS-like."""
    rights = member_rights(user)
    if rights.is_staff or rights.plan_name:
        return rights
    return free if free is not None else free_plan_rights()


@dataclass(frozen=True)
class ContactAccess:
    """The policy's answer for one viewer and one bulletin."""

    visible: bool
    # staff | revealed | can_reveal | over_quota | no_plan | anonymous
    state: str
    used: int = 0
    quota: int = 0

    @property
    def cache_key(self) -> str:
        """What a cached page may differ by: anything unmasked is never cached."""
        return "open" if self.visible else "masked"


def reveals_today(user, rights: MemberRights | None = None) -> int:
    """Today's reveals counted against the viewer's quota: the team's when their rights
    come from a team plan (every seat's), else their own."""
    from members.models import ContactReveal

    rights = rights or member_rights(user)
    counted = {"team_id": rights.team_id} if rights.team_id else {"user": user}
    return ContactReveal.objects.using(PRIMARY).filter(day=timezone.localdate(), **counted).count()


def _revealed_bulletins(*, user_id, day):
    from members.models import ContactReveal

    return ContactReveal.objects.filter(user_id=user_id, day=day).values_list("bulletin_id")


_REVEALED_BULLETINS = _Prepared(
    _revealed_bulletins, any_of="bulletin_id", user_id=_STAND_IN_ID, day=_STAND_IN_DAY
)


def revealed_ids(user, ids, *, kind: str = "bulletin") -> set[int]:
    """Which of these bulletins (or projects) the member revealed today (one query)."""
    if not ids:
        return set()
    day = timezone.localdate()
    if kind == "bulletin":  # every list page a paying member opens asks this
        rows = _REVEALED_BULLETINS.rows(user_id=user.pk, day=day, ids=list(ids))
        return {row[0] for row in rows}
    from members.models import ContactReveal

    return set(
        ContactReveal.objects.using(PRIMARY)
        .filter(user=user, day=day, **{f"{kind}_id__in": list(ids)})
        .values_list(f"{kind}_id", flat=True)
    )


def contact_access(user, subject_id: int, *, kind: str = "bulletin") -> ContactAccess:
    """The policy for one viewer and one bulletin (kind="bulletin") or project."""
    rights = member_rights(user)
    if rights.is_staff:
        return ContactAccess(True, "staff")
    if user is None or not user.is_authenticated:
        return ContactAccess(False, "anonymous")
    if not rights.sees_contacts:
        return ContactAccess(False, "no_plan")
    used = reveals_today(user, rights)
    if subject_id in revealed_ids(user, [subject_id], kind=kind):
        return ContactAccess(True, "revealed", used, rights.daily_quota)
    state = "can_reveal" if used < rights.daily_quota else "over_quota"
    return ContactAccess(False, state, used, rights.daily_quota)


def visible_bulletin_ids(user, bulletin_ids) -> set[int]:
    """Of these bulletins, those whose contacts this viewer sees unmasked."""
    rights = member_rights(user)
    if rights.is_staff:
        return set(bulletin_ids)
    if not rights.sees_contacts:
        return set()
    return revealed_ids(user, bulletin_ids)


def bid_results_visible(user) -> bool:
    """Whether this viewer sees every bidder's rank, price and duration; everyone sees
    who won. Read from the plan (Plan.sees_bid_results), never from the template."""
    return member_rights(user).sees_bid_results


def contacts_visible_to(user, subject_id: int, *, kind: str = "bulletin") -> bool:
    return contact_access(user, subject_id, kind=kind).visible
