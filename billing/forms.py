from django import forms
from django.utils.translation import gettext_lazy as _

from billing import providers
from billing.credit_code import validate_credit_code
from billing.models import InvoiceRequest, Order
from billing.services import PERIODS, price_fen
from members.models import Plan


class CheckoutForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=_("套餐"),
        queryset=Plan.objects.filter(is_offered=True, yearly_price_fen__gt=0),
        empty_label=None,
        widget=forms.RadioSelect,
    )
    months = forms.TypedChoiceField(
        label=_("时长"),
        coerce=int,
        choices=[(m, _("%(m)s 个月") % {"m": m}) for m in PERIODS],
        initial=12,
        widget=forms.RadioSelect,
    )
    provider = forms.ChoiceField(label=_("支付方式"), widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Order.Provider.choices)
        self.fields["provider"].choices = [(p, labels[p]) for p in providers.enabled()]
        if self.fields["provider"].choices:
            self.fields["provider"].initial = self.fields["provider"].choices[0][0]
        self.fields["plan"].label_from_instance = lambda plan: (
            _("%(name)s(¥%(price)s / 年)") % {"name": plan.name, "price": plan.yearly_price_yuan}
        )

    def prices(self) -> dict:
        """{plan id: {months: yuan}} for the page to show the total before paying."""
        return {
            plan.pk: {m: f"{price_fen(plan, m) / 100:.2f}" for m in PERIODS}
            for plan in self.fields["plan"].queryset
        }


class InvoiceForm(forms.ModelForm):
    class Meta:
        model = InvoiceRequest
        fields = [
            "kind",
            "company_name",
            "tax_id",
            "address",
            "phone",
            "bank",
            "bank_account",
            "email",
        ]
        widgets = {"kind": forms.RadioSelect}

    def clean_tax_id(self):
        return validate_credit_code(self.cleaned_data["tax_id"])

    def clean(self):
        data = super().clean()
        if data.get("kind") == InvoiceRequest.Kind.SPECIAL:
            for field in ("address", "phone", "bank", "bank_account"):
                if not (data.get(field) or "").strip():
                    self.add_error(field, _("开具增值税专用发票需要填写此项。"))
        return data
