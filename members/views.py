from allauth.account.views import LoginView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from members import selectors, services
from members.forms import ApplicationForm, ProfileForm


class ThrottledLoginView(LoginView):
    """allauth's login, answering 429 once failed logins hit the rate limit (per IP or
    per account), so clients and monitoring see throttling for what it is."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if any(e.code == "too_many_login_attempts" for e in form.non_field_errors().as_data()):
            response.status_code = 429
        return response


@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("资料已保存。"))
        return redirect("member-account")
    context = {"form": form, "summary": selectors.account_summary(request.user)}
    return render(request, "members/account.html", context)


def plans(request):
    return render(request, "members/plans.html", {"plans": selectors.offered_plans()})


@require_http_methods(["GET", "POST"])
def apply(request):
    user = request.user if request.user.is_authenticated else None
    initial = {"plan": request.GET.get("plan")}
    if user is not None:
        initial |= {"name": user.real_name, "company": user.company, "mobile": user.phone}
    form = ApplicationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.application_submit(user=user, **form.cleaned_data)
        messages.success(request, _("申请已提交,客服将在一个工作日内电话联系您。"))
        return redirect("member-account" if user else "membership")
    return render(request, "members/apply.html", {"form": form})
