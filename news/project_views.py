"""Project and organisation pages (contacts gated by members.access, like bulletins')."""

from django.contrib import messages
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from members import services as member_services
from members.follows import is_following
from members.team_selectors import project_team_panel
from members.watches import watch_state
from news import company_selectors, project_selectors
from news.models import Organization, Project
from news.selectors import filter_options
from portal.pagecache import cache_anonymous_page


@cache_anonymous_page
def project_list(request):
    listing = project_selectors.project_listing(
        request.GET, viewer=request.user, page_number=request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"listing": listing, "page": listing.page, "query_string": query.urlencode()}
    context["options"] = filter_options(listing.filter)
    return render(request, "news/project_list.html", context)


def _project_page(request, pk: int, *, status: int = 200):
    try:
        detail = project_selectors.project_detail(pk, viewer=request.user)
    except Project.DoesNotExist as exc:
        merged_into = getattr(exc, "merged_into", None)
        if merged_into:
            return redirect("project-detail", merged_into, permanent=True)
        raise Http404("project not found") from None
    following = is_following(request.user, project=pk)
    context = {"detail": detail, "following": following}
    if request.user.is_authenticated:  # anonymous pages are cached: never a team's note
        context["team_panel"] = project_team_panel(request.user, pk)
    return render(request, "news/project_detail.html", context, status=status)


@cache_anonymous_page
def project_detail(request, pk: int):
    return _project_page(request, pk)


@require_POST
def project_reveal(request, pk: int):
    """查看联系方式 for a project: the same policy and daily quota as bulletins."""
    detail_url = reverse("project-detail", args=[pk])
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?next={detail_url}")
    if not Project.objects.active().filter(pk=pk).exists():
        raise Http404("project not found")
    try:
        member_services.contact_reveal(
            user=request.user, project_id=pk, ip=request.META.get("REMOTE_ADDR")
        )
    except member_services.NotEntitled:
        messages.warning(request, _("查看联系方式需要开通付费会员。"))
        return _project_page(request, pk, status=403)
    except member_services.QuotaExceeded as exc:
        messages.warning(
            request,
            _("今日查看联系方式的 %(n)s 条额度已用完,明日自动恢复;") % {"n": exc.quota}
            + _("如需更多额度请致电会员热线升级套餐。"),
        )
        return _project_page(request, pk, status=429)
    return redirect(detail_url + "#contacts")


@cache_anonymous_page
def organization_detail(request, pk: int):
    """A company's page (企业库): counts for all, the analysis for plans with the right."""
    try:
        profile = company_selectors.company_profile(pk, viewer=request.user)
    except Organization.DoesNotExist:
        raise Http404("organization not found") from None
    except company_selectors.OrganizationMerged as merged:
        return redirect("organization-detail", merged.target_id, permanent=True)
    context = {"org": profile, "watch": watch_state(request.user, pk)}
    return render(request, "news/organization_detail.html", context)


class ProjectFeed(Feed):
    """A project's updates (bulletins, stage changes); masked like every feed."""

    def get_object(self, request, pk):
        try:
            return project_selectors.project_feed_items(pk)
        except Project.DoesNotExist:
            raise Http404("project not found") from None

    def title(self, detail):
        return _("项目动态:%(name)s") % {"name": detail.name}

    def link(self, detail):
        return detail.url

    def description(self, detail):
        return _("%(name)s 的招标、中标、阶段变化等动态") % {"name": detail.name}

    def items(self, detail):
        return detail.timeline[:50]

    def item_title(self, entry):
        if entry.kind == "stage":
            return _("项目进入%(stage)s阶段") % {"stage": entry.text}
        return entry.text

    def item_link(self, entry):
        return entry.url or self._project_url

    def item_guid(self, entry):
        return f"{entry.kind}:{entry.url or entry.text}:{entry.at.isoformat()}"

    def item_pubdate(self, entry):
        return entry.at

    def item_description(self, entry):
        return entry.category or _("阶段变化")

    def get_feed(self, obj, request):
        self._project_url = obj.url
        return super().get_feed(obj, request)


class ProjectAtomFeed(ProjectFeed):
    feed_type = Atom1Feed
