from allauth.account.views import LoginView
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from members import (
    deadlines,
    follows,
    saved_searches,
    selectors,
    services,
    trials,
    unsubscribe_links,
    watches,
)
from members import sms_optin as sms_optin_service
from members.forms import ApplicationForm, ProfileForm, SavedSearchForm
from members.models import SavedSearch
from news.selectors import bulletin_rows


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
    from billing.selectors import member_orders

    context = {
        "form": form,
        "summary": selectors.account_summary(request.user),
        "orders": member_orders(request.user),
        "conversations": request.user.conversations.order_by("-updated_at")[:20],
        "trial_offer": trials.trial_offer(request.user),
        "trial": trials.member_trial(request.user),
        "watched": watches.watched_companies(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "members/account.html", context)


def plans(request):
    from billing.providers import enabled

    context = {
        "plans": selectors.offered_plans(),
        "online_checkout": bool(enabled()),
        "trial_offer": trials.trial_offer(request.user),
    }
    return render(request, "members/plans.html", context)


@login_required
@require_POST
def trial_start(request):
    """免费试用 3 天: start the member's trial; back to the page the button was on."""
    back = "membership" if request.POST.get("from") == "plans" else "member-account"
    try:
        period = trials.trial_start(
            user=request.user,
            ip=request.META.get("REMOTE_ADDR"),
            phone=request.POST.get("phone", ""),
        )
    except trials.TrialError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(
        request,
        _("免费试用已开始,至 %(end)s 可查看联系方式(每日 %(n)s 条),到期自动结束,无需付费。")
        % {"end": period.ends_on.strftime("%Y-%m-%d"), "n": period.plan.daily_reveal_quota},
    )
    return redirect("member-account")


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


def _search_context(form, terms, preview_result=None):
    return {"form": form, "terms": terms, "preview": preview_result}


def _preview_of(form, viewer):
    data = form.cleaned_data
    count, capped, newest = saved_searches.preview(
        query=data["query"],
        title_only=data["title_only"],
        regions=data["regions"],
        categories=data["categories"],
        stages=data["stages"],
        amount_min=int(data["amount_min"] * 10_000) if data.get("amount_min") is not None else None,
        amount_max=int(data["amount_max"] * 10_000) if data.get("amount_max") is not None else None,
    )
    # Rows masked for the member, as on the list page.
    return {"count": count, "capped": capped, "newest": bulletin_rows(newest, viewer=viewer)}


@login_required
@require_http_methods(["GET", "POST"])
def saved_search_edit(request, pk: int | None = None):
    """New (optionally from the list page's filters: ?q=…&province=…) or edit; 预览 shows
    what the last 30 days would have caught before anything is saved."""
    instance = get_object_or_404(SavedSearch, pk=pk, user=request.user) if pk else SavedSearch()
    initial, extra = {}, []
    if pk is None and request.method == "GET":
        initial, extra = _initial_from_list_filters(request.GET)
    terms = saved_searches.alert_terms(user=request.user)
    form = SavedSearchForm(
        request.POST or None,
        instance=instance,
        initial=initial,
        extra_region_ids=extra,
        instant_allowed=terms.instant,
    )
    result = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            result = _preview_of(form, request.user)
        else:
            search = form.apply_to_instance()
            try:
                saved_searches.saved_search_save(
                    user=request.user,
                    search=search,
                    regions=form.cleaned_data["regions"],
                    categories=form.cleaned_data["categories"],
                )
            except saved_searches.SavedSearchError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("订阅“%(name)s”已保存。") % {"name": search.name})
                return redirect("member-account")
    elif request.method == "GET" and (pk or initial):
        bound = SavedSearchForm(_as_query_dict(form), instance=instance, extra_region_ids=extra)
        if bound.is_valid():
            result = _preview_of(bound, request.user)
    context = _search_context(form, terms, result)
    return render(request, "members/saved_search_form.html", context)


def _as_query_dict(form):
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data.setlist(name, [getattr(v, "pk", v) for v in value])
        else:
            data[name] = value if not isinstance(value, bool) else ("on" if value else "")
    return data


def _initial_from_list_filters(params):
    """保存为订阅: the list page's query string becomes the new subscription's fields."""
    from news.models import Category, Region

    initial = {"query": params.get("q", ""), "title_only": bool(params.get("title_only"))}
    region_id = next(
        (params.get(k) for k in ("district", "city", "province") if params.get(k, "").isdigit()),
        None,
    )
    names = [initial["query"]] if initial["query"] else []
    extra = []
    if region_id and (region := Region.objects.filter(pk=region_id).first()):
        initial["regions"] = [region]
        extra = [region.pk]
        names.append(region.name)
    if slug := params.get("category"):
        categories = list(Category.objects.filter(slug=slug))
        initial["categories"] = categories
        names += [c.name for c in categories]
    initial["name"] = " ".join(names)[:60] or _("我的订阅")
    return initial, extra


@login_required
@require_POST
def saved_search_delete(request, pk: int):
    saved_searches.saved_search_delete(user=request.user, search_id=pk)
    messages.success(request, _("订阅已删除。"))
    return redirect("member-account")


@csrf_exempt  # RFC 8058 one-click: mail clients POST without our cookies or token
@require_http_methods(["GET", "POST"])
def alerts_unsubscribe(request, token: str):
    """GET names what the link turns off and shows a button (link scanners fetch GETs);
    POST turns it off, no login needed. An expired or stale link changes nothing and
    offers to sign in and manage alerts instead."""
    from django.core import signing

    try:
        if request.method == "POST":
            result = unsubscribe_links.unsubscribe_apply(token=token)
        else:
            result = unsubscribe_links.unsubscribe_check(token=token)
    except signing.BadSignature:
        return render(request, "members/unsubscribe.html", {"invalid": True}, status=400)
    gone = result.state in (unsubscribe_links.State.STALE, unsubscribe_links.State.EXPIRED)
    context = {
        "result": result,
        "login_url": reverse("account_login") + "?next=" + reverse("member-account"),
        "max_age_days": unsubscribe_links.MAX_AGE.days,
    }
    return render(request, "members/unsubscribe.html", context, status=410 if gone else 200)


@login_required
@require_POST
def follow_toggle(request, kind: str, pk: int):
    """关注 / 取消关注 a project or an organisation; back to its page."""
    from news.models import Organization, Project

    model = {"project": Project, "organization": Organization}[kind]
    subject = get_object_or_404(model, pk=pk)
    if kind == "organization":  # companies are watched with a relation, by plan right
        return company_watch(request, pk)
    following = follows.follow_toggle(user=request.user, **{kind: subject})
    messages.success(
        request,
        (_("已关注,有新动态时将通过邮件提醒您。") if following else _("已取消关注。")),
    )
    return redirect(subject.get_absolute_url())


@login_required
@require_POST
def company_watch(request, pk: int):
    """关注企业 as 竞争对手 / 客户, or stop (an empty relation); back to its page."""
    from news.models import Organization

    organization = get_object_or_404(Organization, pk=pk)
    relation = request.POST.get("relation", "")
    back = organization.get_absolute_url() + "#watch"
    if not relation:
        watches.watch_remove(user=request.user, organization_id=pk)
        messages.success(request, _("已取消关注。"))
        return redirect(back)
    try:
        follow = watches.watch_set(user=request.user, organization_id=pk, relation=relation)
    except watches.WatchNotAllowed as exc:
        messages.warning(request, str(exc))
        return redirect(back)
    except watches.WatchError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(
        request,
        _("已关注为%(relation)s,出现在新标讯或项目中时将邮件提醒您。")
        % {"relation": follow.get_relation_display()},
    )
    return redirect(back)


@login_required
@require_POST
def sms_optin(request, step: str):
    """短信提醒: send a code, confirm it, or turn SMS alerts off."""
    try:
        if step == "send":
            sms_optin_service.sms_code_send(user=request.user, phone=request.POST.get("phone", ""))
            messages.success(request, _("验证码已发送,请查收短信。"))
        elif step == "confirm":
            sms_optin_service.sms_code_confirm(user=request.user, code=request.POST.get("code", ""))
            messages.success(request, _("手机号已验证,即时提醒将同时发送短信。"))
        else:
            sms_optin_service.sms_disable(user=request.user)
            messages.success(request, _("已关闭短信提醒。"))
    except (sms_optin_service.SmsOptInError, forms.ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect(reverse("member-account") + "#sms")


@login_required
def deadline_calendar(request):
    """开标日历: the next 60 days' deadlines of followed projects and saved-search matches."""
    context = {
        "days": selectors.deadline_calendar(request.user),
        "calendar_days": selectors.CALENDAR_DAYS,
        "feed_url": request.build_absolute_uri(
            reverse("calendar-feed", args=[deadlines.calendar_feed_token(user=request.user)])
        ),
    }
    return render(request, "members/calendar.html", context)


@login_required
@require_POST
def deadline_calendar_regenerate(request):
    deadlines.calendar_feed_regenerate(user=request.user)
    messages.success(request, _("已生成新的订阅链接,旧链接已失效。请在日历应用中重新订阅。"))
    return redirect("deadline-calendar")


def calendar_feed(request, token: str):
    """The private iCal address: no login (calendar servers fetch it), the token is all."""
    user = deadlines.calendar_feed_user(token=token)
    if user is None:
        raise Http404
    response = HttpResponse(
        deadlines.calendar_feed_ics(user=user), content_type="text/calendar; charset=utf-8"
    )
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    return response
