"""Alert matching against the site's own search, the oracle it must agree with: a saved
search alerts on a bulletin exactly when the list page, with the same words and filters,
lists that bulletin (bench/alerts_bench.py checks the same at 10,000 × 100,000 for speed;
this is the correctness half, in `make test`).

The two share nothing but the n-gram cutting: the list searches PostgreSQL's GIN index
over `news_public_vector`, the matcher files searches in an in-memory index of its own.
"""

import datetime
import random

import pytest
from django.utils import timezone

from members import alerts, digests
from members.models import AlertDelivery, SavedSearch
from members.tests.factories import paid_member
from news.filters import BulletinFilter
from news.models import Bulletin
from news.tests.factories import BulletinFactory, ContactFactory, category, region

pytestmark = pytest.mark.django_db

PLACES = ["江苏-镇江-镇江新区", "江苏-南京-鼓楼区", "上海-上海-普陀区", "浙江-杭州-西湖区"]
CATEGORIES = ["tender", "award", "proposed"]
WORDS = ["管廊", "道路", "污水处理", "学校", "桥", "综合", "改造工程", "镇江", "江苏", "大桥"]
WORDS += ["滨江大道", "提升", "幼儿园", "医院", "排水", "照明", "港南路", "新区"]
FILLER = ["本项目位于城区", "建设内容包括", "计划工期300日历天", "招标控制价3860.52万元"]


def _bulletins(rng: random.Random) -> list[Bulletin]:
    made = []
    for i in range(60):
        title = "".join(rng.sample(WORDS, rng.randint(1, 3))) + "工程招标公告"
        body = "。".join(rng.sample(WORDS + FILLER, rng.randint(3, 7))) + "。"
        if i % 5 == 0:  # contacts are never matched by alerts (nor by public search)
            body += "\n\n联系人:欧阳晓 电话:0511-87654321 手机:139-1234-5678"
        bulletin = BulletinFactory(
            title=title,
            body=body,
            region=region(rng.choice(PLACES)),
            category=category(rng.choice(CATEGORIES)),
        )
        if i % 5 == 0:
            ContactFactory(bulletin=bulletin, person="欧阳晓", phone="0511-87654321")
        made.append(bulletin)
    return made


def _query(rng: random.Random) -> str:
    terms = rng.sample(WORDS, rng.randint(1, 2))
    if rng.random() < 0.3:
        terms.append("-" + rng.choice(WORDS))
    if rng.random() < 0.1:
        terms = ["欧阳晓"]  # a contact: must match nothing
    return " ".join(terms)


def _site_search(search: SavedSearch) -> set[int]:
    """What the list page lists for the search's words and filters (as a visitor)."""
    params = {"q": search.query, "sort": "newest"}
    if search.title_only:
        params["title_only"] = "on"
    for place in search.regions.all():
        if place.parent_id is None:
            params["province"] = str(place.pk)
        else:  # the list's city choices follow its province
            params["province"], params["city"] = str(place.parent_id), str(place.pk)
    for kind in search.categories.all():
        params["category"] = kind.slug
    found = BulletinFilter(params, queryset=Bulletin.objects.published(), allow_scan=False)
    assert found.is_valid(), found.errors
    return set(found.qs.values_list("pk", flat=True))


def test_alerts_match_exactly_what_the_site_search_lists(smtp_server):
    """Instant searches are matched at publish time, digest ones at digest time: both
    must list what the site does (two members, so a bulletin's instant row does not
    keep it out of the other's digest)."""
    rng = random.Random(20241204)
    bulletins = _bulletins(rng)
    members = {
        SavedSearch.Frequency.INSTANT: paid_member(slug="custom"),
        SavedSearch.Frequency.DAILY: paid_member(slug="custom"),
    }
    searches = []
    for i in range(120):
        frequency = rng.choice(list(members))
        search = SavedSearch.objects.create(
            user=members[frequency],
            name=f"订阅{i}",
            query=_query(rng),
            title_only=rng.random() < 0.25,
            frequency=frequency,
            digest_hour=9,
        )
        if rng.random() < 0.4:
            place = region(rng.choice(PLACES))
            search.regions.set([place.parent.parent if rng.random() < 0.5 else place.parent])
        if rng.random() < 0.4:
            search.categories.set([category(rng.choice(CATEGORIES))])
        searches.append(search)
    from members.matching import saved_searches_changed

    saved_searches_changed()
    alerts.alerts_match(bulletin_ids=[b.pk for b in bulletins])
    nine = timezone.make_aware(datetime.datetime(2026, 11, 26, 9, 0))
    assert digests.alerts_send_digests(now=nine) == 1

    matched: dict[int, set[int]] = {s.pk: set() for s in searches}
    for delivery in AlertDelivery.objects.all():
        for reason in delivery.reasons:
            matched[reason["search"]].add(delivery.bulletin_id)
    differing = {
        s.query: (sorted(matched[s.pk] - want), sorted(want - matched[s.pk]))
        for s in searches
        if matched[s.pk] != (want := _site_search(s))
    }
    assert not differing, f"alert vs site search (extra, missing): {differing}"
    for frequency in members:
        found = sum(len(matched[s.pk]) for s in searches if s.frequency == frequency)
        assert found >= 80, f"too few {frequency} matches to mean anything"
