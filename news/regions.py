"""Administrative divisions: loading the official table and resolving page names to rows.

The table is jionlp's `china_location` (province → city → county with the official
division codes). jionlp is kept current and is also what the importer uses for money and
phone parsing, so one maintained dependency serves both.
"""

from collections.abc import Iterator
from dataclasses import dataclass


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
