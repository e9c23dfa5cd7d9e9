import re

from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import MembershipApplication, Plan, Subscription, User
from news.models import Category, Region

_MOBILE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")


def _clean_mobile(value: str) -> str:
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
        return _clean_mobile(self.cleaned_data["phone"])


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
        value = _clean_mobile(self.cleaned_data["mobile"])
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
