from django import forms
from django.utils.translation import gettext_lazy as _

from support.models import Feedback


class HoneypotMixin(forms.Form):
    # Hidden from people (CSS and aria-hidden); bots that fill every field reveal themselves.
    website = forms.CharField(label=_("网站"), required=False)

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class FeedbackForm(HoneypotMixin):
    kind = forms.ChoiceField(label=_("反馈类型"), choices=Feedback.Kind.choices)
    content = forms.CharField(
        label=_("内容"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("请尽量写明标讯标题、错误之处或遗漏的项目名称。"),
    )
    contact = forms.CharField(
        label=_("联系方式(选填)"),
        max_length=100,
        required=False,
        help_text=_("留下邮箱可收到处理结果。"),
    )
    bulletin = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ConsultStartForm(HoneypotMixin):
    body = forms.CharField(
        label=_("您想咨询什么"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    name = forms.CharField(label=_("称呼(选填)"), max_length=50, required=False)
    email = forms.EmailField(label=_("邮箱"), required=False)
    mobile = forms.RegexField(
        label=_("手机号"),
        regex=r"^1[3-9]\d{9}$",
        required=False,
        error_messages={"invalid": _("请填写 11 位手机号。")},
    )
    page = forms.CharField(widget=forms.HiddenInput, required=False)


class ConsultMessageForm(forms.Form):
    body = forms.CharField(
        label=_("回复"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
