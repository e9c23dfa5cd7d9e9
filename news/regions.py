"""Administrative divisions: loading the official table and resolving page names to rows.

The table is jionlp's `china_location` (province → city → county with the official
division codes); nothing else of jionlp is used (the importer parses money, dates and
phones with its own regular expressions).
"""

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db.models import Q

from news.models import Region
from news.selectors import region_options_forget

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Division:
    code: str
    name: str  # the form the portal shows: 江苏 / 镇江 / 普陀区
    full_name: str
    alias: str
    level: int
    parent_code: str


def _alias(value) -> str:
    if isinstance(value, list | tuple):
        return value[0] if value else ""
    return value or ""


def official_divisions() -> Iterator[Division]:
    """Yield every division, parents before children."""
    import jionlp  # heavy import (≈1 s): only when the table is (re)loaded

    table = jionlp.china_location_loader()
    for province_full, province in table.items():
        province_code = province["_admin_code"]
        province_alias = _alias(province["_alias"]) or province_full
        yield Division(province_code, province_alias, province_full, province_alias, 1, "")
        for city_full, city in province.items():
            if city_full.startswith("_"):
                continue
            city_code = city["_admin_code"]
            if city_code == province_code:
                # Municipalities (上海-上海-普陀区) reuse the province code for the city
                # level; the official code of that level is the 市辖区 one, xx0100.
                city_code = province_code[:2] + "0100"
            city_alias = _alias(city["_alias"]) or city_full
            yield Division(city_code, city_alias, city_full, city_alias, 2, province_code)
            for district_full, district in city.items():
                if district_full.startswith("_"):
                    continue
                yield Division(
                    district["_admin_code"],
                    district_full,
                    district_full,
                    _alias(district["_alias"]),
                    3,
                    city_code,
                )


def name_variants(name: str) -> set[str]:
    """Forms a page may use for one division: 江苏 / 江苏省, 镇江 / 镇江市."""
    name = name.strip()
    variants = {name}
    for suffix in ("省", "市", "自治区", "特别行政区", "地区", "自治州", "盟"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            variants.add(name[: -len(suffix)])
    return variants


def regions_sync(*, region_model=None) -> int:
    """Load the official divisions; idempotent. Returns how many rows it created.

    `region_model` lets the data migration pass its historical model.
    """
    region_model = region_model or Region
    by_code = dict(region_model.objects.exclude(code="").values_list("code", "id"))
    created = 0
    for division in official_divisions():
        if division.code in by_code:
            continue
        parent_id = by_code.get(division.parent_code) if division.parent_code else None
        row, made = region_model.objects.get_or_create(
            parent_id=parent_id,
            name=division.name,
            defaults={
                "full_name": division.full_name,
                "alias": division.alias,
                "code": division.code,
                "level": division.level,
                "verified": True,
            },
        )
        if not made and not row.code:
            # An unverified name stored earlier turned out to be official: adopt it.
            row.code, row.full_name, row.alias, row.verified = (
                division.code,
                division.full_name,
                division.alias,
                True,
            )
            row.save(update_fields=["code", "full_name", "alias", "verified"])
        by_code[division.code] = row.id
        created += made
    return created


def _match_child(parent: Region | None, name: str, index=None) -> Region | None:
    variants = name_variants(name)
    if index is not None and (found := index.match_child(parent, variants)) is not None:
        return found  # a miss asks the table: a row stored since the index was loaded
    siblings = Region.objects.filter(parent=parent)
    return (
        siblings.filter(Q(name__in=variants) | Q(full_name__in=variants)).first()
        or siblings.filter(alias__in=variants, alias__regex=r"^.{2,}$").first()
    )


class RegionIndex:
    """Every region in memory, for a run that resolves many paths (an import): one query
    for the run instead of two or three per new path (300 paths cost 0.3 s of a 3,000-file
    import). Matches exactly as the queries of `_match_child` do, in the table's order.
    Rows stored unverified meanwhile are not added (a run that rolls back must not keep
    them): a name the index lacks is looked up in the table."""

    def __init__(self):
        rows = list(Region.objects.all())  # Meta.ordering: code, name
        self.by_id = {r.pk: r for r in rows}
        self.children: dict[int | None, list[Region]] = {}
        for row in rows:
            self.children.setdefault(row.parent_id, []).append(row)
            if row.parent_id is not None:
                row.parent = self.by_id[row.parent_id]  # set_region() walks up: no queries

    def match_child(self, parent: Region | None, variants: set[str]) -> Region | None:
        siblings = self.children_of(parent)
        for row in siblings:
            if row.name in variants or row.full_name in variants:
                return row
        for row in siblings:
            if row.alias in variants and len(row.alias) >= 2:
                return row
        return None

    def children_of(self, parent: Region | None) -> list[Region]:
        return self.children.get(parent.pk if parent else None, [])


def region_resolve(names: Sequence[str], *, index: RegionIndex | None = None) -> Region | None:
    """Map a page's region path (江苏-镇江-镇江新区) to the most specific Region.

    A name missing from the official table is stored unverified under its parent rather
    than dropped, so staff can review it in the admin. `index` answers from memory.
    """
    names = [n.strip() for n in names if n and n.strip()][:3]
    parent = None
    for level, name in enumerate(names, start=1):
        if parent is not None and parent.level >= level:
            continue
        found, found_under = _match_child(parent, name, index), parent
        if found is None and parent is not None and parent.level == Region.Level.PROVINCE:
            # "上海-普陀区": the city level of a municipality was left out.
            if index is not None:
                only_city = index.children_of(parent)[:2]
            else:
                only_city = list(parent.children.all()[:2])
            if len(only_city) == 1:
                found_under = only_city[0]
                found_under.parent = parent
                found = _match_child(found_under, name, index)
        if found is None:
            found_under = parent
            found, created = Region.objects.get_or_create(
                parent=parent, name=name, defaults={"level": level, "verified": False}
            )
            if created:
                logger.info("stored unverified region %s under %s", name, parent)
                region_options_forget(parent.pk if parent else None)
        if found_under is not None:
            found.parent = found_under  # already loaded: spares set_region() a query per level
        parent = found
    return parent
