"""意见反馈 and 在线沟通 pages. Thin: services decide."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from news import selectors
from news.models import Bulletin
from support import services
from support.forms import ConsultMessageForm, ConsultStartForm, FeedbackForm
from support.models import Conversation


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _too_many(request):
    return render(request, "429.html", status=429)


@require_http_methods(["GET", "POST"])
def feedback(request):
    initial = {"kind": request.GET.get("kind") or "other", "bulletin": request.GET.get("bulletin")}
    form = FeedbackForm(request.POST or None, initial=initial)
    bulletin = _bulletin(request.POST.get("bulletin") or request.GET.get("bulletin"))
    # The page names the bulletin by its title, masked as on the bulletin's own page.
    heading = bulletin and selectors.bulletin_heading(bulletin.pk, viewer=request.user)
    if request.method == "POST" and form.is_valid():
        if not form.is_bot:  # a bot gets the same thanks and nothing is stored
            try:
                services.feedback_submit(
                    kind=form.cleaned_data["kind"],
                    content=form.cleaned_data["content"],
                    contact=form.cleaned_data["contact"],
                    bulletin=bulletin,
                    user=request.user,
                    ip=_ip(request),
                )
            except services.RateLimited:
                return _too_many(request)
        messages.success(request, _("感谢您的反馈,我们会尽快核实处理。"))
        return redirect(bulletin.get_absolute_url() if bulletin else "home")
    return render(request, "support/feedback.html", {"form": form, "bulletin": heading})


def _bulletin(value):
    try:
        return Bulletin.objects.published().filter(pk=int(value)).first() if value else None
    except (TypeError, ValueError):
        return None


@require_http_methods(["GET", "POST"])
def consult_start(request):
    initial = {"page": request.GET.get("from", "")[:300]}
    form = ConsultStartForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if form.is_bot:
            return redirect("home")
        data = form.cleaned_data
        try:
            conversation = services.conversation_start(
                user=request.user,
                name=data["name"],
                email=data["email"],
                mobile=data["mobile"],
                body=data["body"],
                page=data["page"],
                ip=_ip(request),
            )
        except services.RateLimited:
            return _too_many(request)
        except services.SupportError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("consult-thread", conversation.token)
    return render(request, "support/consult_start.html", {"form": form})


def _conversation(token: str) -> Conversation:
    return get_object_or_404(Conversation, token=token)


@require_http_methods(["GET", "POST"])
def consult_thread(request, token: str):
    """The private thread: the unguessable token in the link is the key (no login)."""
    conversation = _conversation(token)
    form = ConsultMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.conversation_post(
                conversation=conversation, body=form.cleaned_data["body"], ip=_ip(request)
            )
        except services.RateLimited:
            return _too_many(request)
        except services.SupportError as exc:
            messages.error(request, str(exc))
        return redirect("consult-thread", token)
    context = {
        "conversation": conversation,
        "thread": list(conversation.messages.all()),
        "form": form,
    }
    response = render(request, "support/consult_thread.html", context)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token must not leak in Referer
    return response


def consult_messages(request, token: str):
    """Polled every few seconds by the thread page: messages after a given id."""
    conversation = _conversation(token)
    try:
        after = int(request.GET.get("after", 0))
    except ValueError as exc:
        raise Http404("bad cursor") from exc
    rows = conversation.messages.filter(pk__gt=after)[:100]
    data = {
        "status": conversation.get_status_display(),
        "messages": [
            {
                "id": m.pk,
                "staff": m.author == m.Author.STAFF,
                "author": m.get_author_display(),
                "body": m.body,
                "at": m.created_at.isoformat(),
            }
            for m in rows
        ],
    }
    return JsonResponse(data, headers={"Cache-Control": "private, no-store"})
