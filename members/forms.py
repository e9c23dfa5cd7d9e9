import re

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import MembershipApplication, Plan, SavedSearch, Subscription, User
from news.models import Category, Region, Stage

_MOBILE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")


def clean_mobile(value: str) -> str:
    value = value.strip().replace(" ", "")
    if value and not _MOBILE.match(value):
        raise forms.ValidationError(
            _("“%(v)s”不是有效的手机号:应为 11 位数字,以 1 开头。") % {"v": value}
        )
    return value


class ProfileForm(forms.ModelForm):
    regions_of_interest = forms.ModelMultipleChoiceField(
        label=_("关注地区(省份)"),
        queryset=Region.objects.provinces(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    categories_of_interest = forms.ModelMultipleChoiceField(
        label=_("关注分类"),
        queryset=Category.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = User
        fields = User.PROFILE_FIELDS

    def clean_phone(self):
        return clean_mobile(self.cleaned_data["phone"])


class ApplicationForm(forms.ModelForm):
    plan = forms.ModelChoiceField(
        label=_("意向套餐"),
        queryset=Plan.objects.filter(is_offered=True, yearly_price_fen__gt=0),
        empty_label=None,
    )

    class Meta:
        model = MembershipApplication
        fields = ["name", "company", "mobile", "plan", "message"]
        widgets = {"message": forms.Textarea(attrs={"rows": 3})}

    def clean_mobile(self):
        value = clean_mobile(self.cleaned_data["mobile"])
        if not value:
            raise forms.ValidationError(_("请填写手机号,以便客服与您联系。"))
        return value


class SubscriptionActivateForm(forms.ModelForm):
    """Staff activation after a hotline sale (admin add form)."""

    months = forms.IntegerField(label=_("开通时长(月)"), min_value=1, max_value=60, initial=12)
    starts_on = forms.DateField(
        label=_("开始日期"),
        required=False,
        help_text=_("留空:续费从当前会员期的到期日次日开始,新会员从今天开始。"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    amount_paid_yuan = forms.DecimalField(
        label=_("实收金额(元)"), min_value=0, decimal_places=2, max_digits=10
    )

    class Meta:
        model = Subscription
        fields = ["user", "plan", "order_reference", "note"]

    def clean_order_reference(self):
        reference = self.cleaned_data["order_reference"].strip()
        if not reference:
            raise forms.ValidationError(_("请填写订单号(合同号或收款单号),便于对账。"))
        return reference


class SubscriptionEndForm(forms.Form):
    reason = forms.CharField(label=_("终止原因"), max_length=200)


class SavedSearchForm(forms.ModelForm):
    """Regions offered: provinces, plus any region the member came with (a city, a district)."""

    regions = forms.ModelMultipleChoiceField(
        label=_("地区(可多选,含下属地区)"),
        queryset=Region.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("分类"),
        queryset=Category.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    stages = forms.TypedMultipleChoiceField(
        label=_("项目阶段"),
        choices=Stage.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    amount_min = forms.DecimalField(label=_("金额下限(万元)"), required=False, min_value=0)
    amount_max = forms.DecimalField(label=_("金额上限(万元)"), required=False, min_value=0)

    class Meta:
        model = SavedSearch
        fields = ["name", "query", "title_only", "frequency", "digest_hour", "is_active"]
        widgets = {"digest_hour": forms.NumberInput(attrs={"min": 0, "max": 23})}

    def __init__(self, *args, extra_region_ids=(), instant_allowed=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not instant_allowed:
            # Not offered to a plan without instant alerts (an instant search kept from a
            # paid period shows as the daily digest it now is); a posted "instant" still
            # validates, so saving answers with the plan's own message.
            frequency = self.fields["frequency"]
            frequency.widget.choices = [
                c for c in frequency.choices if c[0] != SavedSearch.Frequency.INSTANT
            ]
            if self.initial.get("frequency") == SavedSearch.Frequency.INSTANT:
                self.initial["frequency"] = SavedSearch.Frequency.DAILY
        ids = set(extra_region_ids)
        if self.instance.pk:
            ids |= set(self.instance.regions.values_list("pk", flat=True))
        if self.data:
            ids |= {int(v) for v in self.data.getlist("regions") if str(v).isdigit()}
        self.fields["regions"].queryset = Region.objects.filter(Q(parent=None) | Q(pk__in=ids))
        if self.instance.pk:
            self.initial.setdefault("regions", list(self.instance.regions.all()))
            self.initial.setdefault("categories", list(self.instance.categories.all()))
            self.initial.setdefault("stages", self.instance.stages)
            for field in ("amount_min", "amount_max"):
                value = getattr(self.instance, f"{field}_yuan")
                self.initial.setdefault(field, value / 10_000 if value is not None else None)

    def clean_digest_hour(self):
        hour = self.cleaned_data["digest_hour"]
        if not 0 <= hour <= 23:
            raise forms.ValidationError(_("汇总发送时间应为 0–23 点。"))
        return hour

    def clean_query(self):
        from news.search import parse_query

        query = self.cleaned_data["query"].strip()
        if query and not parse_query(query):
            raise forms.ValidationError(_("关键词“%(q)s”里没有可搜索的字词。") % {"q": query})
        return query

    def clean(self):
        data = super().clean()
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("金额上限不能小于下限。"))
        return data

    def apply_to_instance(self):
        data = self.cleaned_data
        search = self.instance
        search.stages = [int(s) for s in data["stages"]]
        for field in ("amount_min", "amount_max"):
            value = data.get(field)
            setattr(search, f"{field}_yuan", int(value * 10_000) if value is not None else None)
        return search
