"""Saved searches (标讯定制): create, edit, delete within the plan's limits; preview."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.access import alert_member_rights, member_rights
from members.matching import saved_searches_changed
from members.models import SavedSearch
from news.models import Bulletin, Region
from news.search import parse_query
from news.search_plans import bitmap_search

PREVIEW_DAYS = 30
PREVIEW_CAP = 1000


class SavedSearchError(ValueError):
    pass


def saved_search_save(*, user, search: SavedSearch, regions, categories) -> SavedSearch:
    """Create or update, enforcing the plan: how many, and instant alerts or not."""
    rights = member_rights(user)
    limit = rights.saved_search_limit if rights.plan_name else _free_limit()
    if search.pk is None and user.saved_searches.count() >= limit:
        raise SavedSearchError(
            _("您的套餐最多可保存 %(n)s 个订阅。请删除不用的订阅,或致电会员热线升级套餐。")
            % {"n": limit}
        )
    if search.frequency == SavedSearch.Frequency.INSTANT and not rights.instant_alerts:
        raise SavedSearchError(_("即时提醒仅对标讯定制会员开放,请选择每日或每周汇总。"))
    with transaction.atomic():
        search.user = user
        search.save()
        search.regions.set(regions)
        search.categories.set(categories)
    transaction.on_commit(saved_searches_changed)
    return search


@dataclass(frozen=True)
class AlertTerms:
    """What the saved-search form offers and promises this member, from their plan."""

    instant: bool  # 即时提醒 is offered
    promise: str
    upgrade: bool  # point to the plans page


def alert_terms(*, user) -> AlertTerms:
    """A member without a current period (free, lapsed, ended) is promised the free plan's
    digest, its numbers read from the plan; paying members the alerts they choose."""
    rights = alert_member_rights(user)
    paying = rights.is_staff or member_rights(user).plan_name
    if paying and (rights.digest_alerts or rights.instant_alerts):
        promise = _("新标讯发布后,符合条件的会按您选择的方式发到您的邮箱。")
        return AlertTerms(instant=rights.instant_alerts, promise=promise, upgrade=False)
    if paying:
        promise = _("您的套餐不含邮件提醒,订阅可用于预览匹配结果。")
    elif not rights.digest_alerts:
        promise = _(
            "免费会员不发送邮件提醒,订阅可用于预览匹配结果;开通标讯定制会员可即时提醒并查看联系方式"
        )
    elif rights.digest_item_limit:
        promise = _(
            "免费会员每天按您设定的时间收到一封邮件汇总,最多 %(n)s 条,联系方式隐藏;"
            "开通标讯定制会员可即时提醒并查看联系方式"
        ) % {"n": rights.digest_item_limit}
    else:
        promise = _(
            "免费会员每天按您设定的时间收到一封邮件汇总,联系方式隐藏;"
            "开通标讯定制会员可即时提醒并查看联系方式"
        )
    return AlertTerms(instant=False, promise=promise, upgrade=True)


def saved_search_delete(*, user, search_id: int) -> None:
    SavedSearch.objects.filter(user=user, pk=search_id).delete()
    transaction.on_commit(saved_searches_changed)


def _free_limit() -> int:
    from members.models import Plan

    free = Plan.objects.filter(slug="free").first()
    return free.saved_search_limit if free else 1


def preview(*, query: str, title_only: bool, regions, categories, stages, amount_min, amount_max):
    """(count capped at PREVIEW_CAP, newest five) of the last 30 days' bulletins."""
    since = timezone.now() - datetime.timedelta(days=PREVIEW_DAYS)
    parsed = parse_query(query)
    matched = _matching(
        Bulletin.objects.published().filter(published_at__gte=since),
        parsed,
        title_only=title_only,
        regions=regions,
        categories=categories,
        stages=stages,
        amount_min=amount_min,
        amount_max=amount_max,
    )
    with bitmap_search(parsed):
        count = matched.values("pk")[: PREVIEW_CAP + 1].count()
        newest = list(matched.newest_first().for_listing()[:5])
    return min(count, PREVIEW_CAP), count > PREVIEW_CAP, newest


def saved_search_ids(search: SavedSearch, *, limit: int) -> list[int]:
    """The newest `limit` published bulletins a saved search matches (an export)."""
    parsed = parse_query(search.query)
    matched = _matching(
        Bulletin.objects.published(),
        parsed,
        title_only=search.title_only,
        regions=list(search.regions.all()),
        categories=list(search.categories.all()),
        stages=search.stages,
        amount_min=search.amount_min_yuan,
        amount_max=search.amount_max_yuan,
    )
    with bitmap_search(parsed):
        return list(matched.newest_first().values_list("pk", flat=True)[:limit])


def _matching(matched, parsed, *, title_only, regions, categories, stages, amount_min, amount_max):
    matched = matched.search(parsed, title_only=title_only)
    if regions:
        by_level = Q()
        for region in regions:
            field = {Region.Level.PROVINCE: "province", Region.Level.CITY: "city"}.get(
                region.level, "region"
            )
            by_level |= Q(**{field: region})
        matched = matched.filter(by_level)
    if categories:
        matched = matched.filter(category__in=list(categories))
    if stages:
        matched = matched.filter(project__stage__in=[int(s) for s in stages])
    if amount_min is not None:
        matched = matched.filter(amount_yuan__gte=amount_min)
    if amount_max is not None:
        matched = matched.filter(amount_yuan__lte=amount_max)
    return matched
