from django.contrib import admin
from django.urls import include, path

from api import account_views as api_account_views
from members import team_views
from members import views as member_views
from portal import views

admin.site.site_header = "中国建设招标网 · 编辑后台"
admin.site.site_title = "编辑后台"
admin.site.index_title = "内容与会员管理"

urlpatterns = [
    path("", include("news.urls")),
    path("", include("billing.urls")),
    path("", include("support.urls")),
    path("membership/", member_views.plans, name="membership"),
    path("membership/apply/", member_views.apply, name="membership-apply"),
    path("membership/trial/", member_views.trial_start, name="membership-trial"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("api.urls")),
    path("account/api-tokens/", api_account_views.tokens, name="api-tokens"),
    path(
        "account/api-tokens/<int:pk>/revoke/",
        api_account_views.token_revoke,
        name="api-token-revoke",
    ),
    # Before allauth's own: the same login, answering 429 when throttled.
    path("accounts/login/", member_views.ThrottledLoginView.as_view(), name="account_login"),
    path("accounts/profile/", member_views.account, name="member-account"),
    path(
        "accounts/sms/<str:step>/",
        member_views.sms_optin,
        name="sms-optin",
    ),
    path("account/calendar/", member_views.deadline_calendar, name="deadline-calendar"),
    path(
        "account/calendar/regenerate/",
        member_views.deadline_calendar_regenerate,
        name="deadline-calendar-regenerate",
    ),
    path("account/team/", team_views.team_page, name="team"),
    path("account/team/invite/", team_views.team_invite, name="team-invite"),
    path(
        "account/team/members/<int:pk>/remove/",
        team_views.team_member_remove,
        name="team-member-remove",
    ),
    path(
        "account/team/follows/<int:project_id>/<str:action>/",
        team_views.team_follow,
        name="team-follow",
    ),
    path("team/join/<str:token>/", team_views.team_join, name="team-join"),
    path("calendar/<str:token>.ics", member_views.calendar_feed, name="calendar-feed"),
    path("alerts/new/", member_views.saved_search_edit, name="saved-search-new"),
    path("alerts/<int:pk>/", member_views.saved_search_edit, name="saved-search-edit"),
    path("alerts/<int:pk>/delete/", member_views.saved_search_delete, name="saved-search-delete"),
    path("companies/<int:pk>/watch/", member_views.company_watch, name="company-watch"),
    path(
        "follow/<str:kind>/<int:pk>/",
        member_views.follow_toggle,
        name="follow-toggle",
    ),
    path(
        "alerts/unsubscribe/<str:token>/",
        member_views.alerts_unsubscribe,
        name="alerts-unsubscribe",
    ),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "portal.views.server_error"
