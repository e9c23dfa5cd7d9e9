"""The one FilterSet behind the list page (and later feeds and saved-search previews)."""

import datetime

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from news.models import Bulletin, Category, Region
from news.search import ParsedQuery, filter_lexemes, parse_query
from news.search_plans import scans_rows
from news.search_windows import skips_the_walk

MAX_QUERY_LENGTH = 100


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class RegionFilter(django_filters.ModelChoiceFilter):
    field_class = RegionChoiceField


def _day_start(day: datetime.date) -> datetime.datetime:
    # Compare the raw column with local-midnight bounds so the date index stays usable.
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class BulletinFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("关键词"),
        method="apply_later",
        max_length=MAX_QUERY_LENGTH,
        widget=forms.TextInput(
            attrs={"placeholder": _('多个词用空格分隔;"引号"精确匹配;-词 排除'), "type": "search"}
        ),
    )
    title_only = django_filters.BooleanFilter(
        label=_("仅搜标题"), method="apply_later", widget=forms.CheckboxInput
    )
    sort = django_filters.ChoiceFilter(
        label=_("排序"),
        method="apply_later",
        choices=[("relevance", _("相关度")), ("newest", _("最新发布"))],
        empty_label=None,
    )
    category = django_filters.ModelChoiceFilter(
        label=_("分类"),
        queryset=Category.objects.all(),
        to_field_name="slug",
        empty_label=_("全部分类"),
    )
    province = RegionFilter(
        label=_("省份"),
        queryset=Region.objects.provinces(),
        field_name="province",
        empty_label=_("全部省份"),
    )
    city = RegionFilter(
        label=_("城市"),
        queryset=Region.objects.none(),
        field_name="city",
        empty_label=_("全部城市"),
    )
    district = RegionFilter(
        label=_("区县"),
        queryset=Region.objects.none(),
        field_name="region",
        empty_label=_("全部区县"),
    )
    date_from = django_filters.DateFilter(
        label=_("起始日期"),
        method="filter_date_from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label=_("截止日期"),
        method="filter_date_to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Bulletin
        fields = [
            "q",
            "title_only",
            "category",
            "province",
            "city",
            "district",
            "date_from",
            "date_to",
            "sort",
        ]

    def __init__(
        self,
        data=None,
        *args,
        search_contacts: bool = False,
        allow_scan=True,
        rows_needed: int = 20,
        **kwargs,
    ):
        super().__init__(data, *args, **kwargs)
        # news.search_plans may test rows instead of reading the index; rows_needed is how
        # many newest matches the page needs (a page's worth, or all that relevance ranks).
        self.allow_scan = allow_scan
        self.rows_needed = rows_needed
        # Only viewers who may see contacts may find bulletins by them (members.access).
        self.search_contacts = search_contacts
        self.scans_rows = False  # set by filter_queryset (news.search_plans)
        # news.search_windows: search only the rows published since this window's start
        self.window = None
        self.filter_lexemes = ()  # the place / category lexemes (set by filter_queryset)
        # The city list follows the chosen province, the district list the chosen city.
        data = data or {}
        fields = self.form.fields
        province_id = int_or_none(data.get("province"))
        city_id = int_or_none(data.get("city"))
        if province_id:
            fields["city"].queryset = Region.objects.children_of(province_id)
        if city_id:
            fields["district"].queryset = Region.objects.children_of(city_id)

    def apply_later(self, queryset, name, value):
        # Search and ordering depend on each other; filter_queryset applies them together.
        return queryset

    def _cleaned(self, name: str):
        # Valid fields still count when another one is invalid (e.g. a stale city id).
        if not self.is_bound:
            return None
        self.form.is_valid()
        return self.form.cleaned_data.get(name)

    @property
    def parsed_query(self) -> ParsedQuery:
        return parse_query(self._cleaned("q") or "")

    @property
    def title_only_selected(self) -> bool:
        return bool(self._cleaned("title_only"))

    @property
    def sort_mode(self) -> str:
        return self._cleaned("sort") or ("relevance" if self.parsed_query.include else "newest")

    def filter_queryset(self, queryset):
        """The filtered rows, searched, unordered (news.selectors.bulletin_listing orders)."""
        queryset = super().filter_queryset(queryset)
        lexemes = filter_lexemes(
            province_id=getattr(self._cleaned("province"), "pk", None),
            city_id=getattr(self._cleaned("city"), "pk", None),
            region_id=getattr(self._cleaned("district"), "pk", None),
            category_id=getattr(self._cleaned("category"), "pk", None),
        )
        self.filter_lexemes = lexemes
        if self.allow_scan and self.window is None:
            self.scans_rows = scans_rows(
                self.parsed_query,
                title_only=self.title_only_selected,
                needed=self.rows_needed,
                filters=lexemes,
            ) and not skips_the_walk(
                self.parsed_query, filters=lexemes, title_only=self.title_only_selected
            )
        return queryset.search(
            self.parsed_query,
            title_only=self.title_only_selected,
            filters=lexemes,
            with_contacts=self.search_contacts,
            scan=self.scans_rows,
            window=self.window,
        )

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(published_at__gte=_day_start(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(published_at__lt=_day_start(value + datetime.timedelta(days=1)))


def int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
