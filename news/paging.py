"""Pagination that never counts a million rows per request.

The count stops at COUNT_CAP (10,000 = 500 pages of 20): past that the page says
"10,000+ results" and the member narrows the search. A capped count is one bounded
index scan, and page 500 is the deepest OFFSET any request can ask for.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000
# A search result is counted only to 1,000 (50 pages): counting further meant reading
# 10,000 matching rows per request (the GIN index gives no count), and a member narrows a
# search rather than paging past 50.
SEARCH_COUNT_CAP = 1_000


class CappedPaginator(Paginator):
    def __init__(
        self, object_list, per_page, *, count_queryset=None, cap=COUNT_CAP, count_ordered=False
    ):
        super().__init__(object_list, per_page)
        # Count on the unordered, unannotated rows: ranking them only to count is waste.
        # count_ordered keeps count_queryset's order: a search that walks rows
        # (news.search_plans) counts the newest matches, where walking in another index's
        # order may start with rows that rarely match (news has no 有限公司).
        self._count_queryset = count_queryset if count_queryset is not None else object_list
        self._count_ordered = count_ordered
        self.cap = cap

    @cached_property
    def _raw_count(self) -> int:
        rows = self._count_queryset if self._count_ordered else self._count_queryset.order_by()
        return rows[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._raw_count, self.cap)

    @property
    def capped(self) -> bool:
        return self._raw_count > self.cap
