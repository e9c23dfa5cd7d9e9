"""The one FilterSet behind the list page (and later feeds and saved-search previews)."""

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from news.models import Bulletin, Category, Region

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
        method="filter_keyword",
        max_length=MAX_QUERY_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": _("项目名称、单位、地点…"), "type": "search"}),
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
        fields = ["q", "category", "province", "city", "district", "date_from", "date_to"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        # The city list follows the chosen province, the district list the chosen city.
        data = data or {}
        fields = self.form.fields
        province_id = _int_or_none(data.get("province"))
        city_id = _int_or_none(data.get("city"))
        if province_id:
            fields["city"].queryset = Region.objects.children_of(province_id)
        if city_id:
            fields["district"].queryset = Region.objects.children_of(city_id)

    def filter_keyword(self, queryset, name, value):
        value = " ".join(value.split())
        if not value:
            return queryset
        for word in value.split(" "):
            queryset = queryset.filter(Q(title__icontains=word) | Q(body__icontains=word))
        return queryset

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(published_at__gte=_day_start(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(published_at__lt=_day_start(value + datetime.timedelta(days=1)))


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
