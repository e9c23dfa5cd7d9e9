"""企业会员 pages: the team page, invitations, removal, the shared follow list."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from members import team_selectors, teams


def _owned_team(request):
    found = team_selectors.viewer_team(request.user)
    if found is None or not found[1]:
        raise Http404("not a team owner")
    return found[0]


@login_required
def team_page(request):
    """The owner: seats, invitations, each seat's reveals and the log; every member: the
    team's shared follow list."""
    found = team_selectors.viewer_team(request.user)
    if found is None:
        return render(request, "members/team.html", {"page": None}, status=404)
    team, is_owner = found
    page = team_selectors.team_page(team, viewer=request.user, is_owner=is_owner)
    return render(request, "members/team.html", {"page": page})


@login_required
@require_POST
def team_invite(request):
    team = _owned_team(request)
    try:
        membership = teams.team_invite(
            team=team, email=request.POST.get("email", ""), by=request.user
        )
    except teams.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("邀请已发送至 %(email)s,链接 %(d)s 天内有效。")
            % {"email": membership.email, "d": teams.INVITE_MAX_AGE.days},
        )
    return redirect("team")


@login_required
@require_POST
def team_member_remove(request, pk: int):
    team = _owned_team(request)
    try:
        membership = teams.team_member_remove(team=team, membership_id=pk, by=request.user)
    except teams.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("已移除 %(email)s,该账号即刻失去企业会员权益。") % {"email": membership.email},
        )
    return redirect("team")


@require_http_methods(["GET", "POST"])
def team_join(request, token: str):
    """GET shows the invitation and a button (mail scanners fetch links); POST, signed in
    with the invited address, takes the seat."""
    response = _team_join(request, token)
    # The token stays off other sites' Referer; "no-referrer" would also make the
    # browser send `Origin: null` with the button's POST, which CSRF checking refuses.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _team_join(request, token: str):
    context = {"token": token, "next": request.get_full_path()}
    try:
        if request.method == "POST" and request.user.is_authenticated:
            membership = teams.team_invite_accept(token=token, user=request.user)
            messages.success(request, _("您已加入“%(team)s”。") % {"team": membership.team.name})
            return redirect("team")
        membership = teams.team_invite_check(token=token, user=request.user)
    except teams.InviteProblem as exc:
        status = 410 if exc.code in ("expired", "used") else 403
        return render(request, "members/team_join.html", {**context, "problem": exc}, status=status)
    context |= {"team_name": membership.team.name, "email": membership.email}
    return render(request, "members/team_join.html", context)


def _back(request, default: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@login_required
@require_POST
def team_follow(request, project_id: int, action: str):
    """Add a project to the team's list, edit its note and assignee, or take it off."""
    from news.models import Project

    if not Project.objects.filter(pk=project_id).exists():
        raise Http404("project not found")
    back = _back(request, reverse("team") + "#follows")
    try:
        if action == "add":
            teams.team_follow_add(user=request.user, project_id=project_id)
            messages.success(request, _("已加入团队关注列表。"))
        elif action == "edit":
            raw = request.POST.get("assignee", "").strip()
            if raw and not raw.isdigit():
                raise teams.TeamError(_("负责人选择无效,请重新选择。"))
            teams.team_follow_update(
                user=request.user,
                project_id=project_id,
                note=request.POST.get("note", ""),
                assignee_id=int(raw) if raw else None,
            )
            messages.success(request, _("团队备注已保存。"))
        elif action == "remove":
            teams.team_follow_remove(user=request.user, project_id=project_id)
            messages.success(request, _("已移出团队关注列表。"))
        else:
            raise Http404("unknown action")
    except teams.TeamError as exc:
        messages.error(request, str(exc))
    return redirect(back)
