from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import views

admin.site.site_header = "中国建设招标网 · 编辑后台"
admin.site.site_title = "编辑后台"
admin.site.index_title = "内容与会员管理"

urlpatterns = [
    path("", include("news.urls")),
    path("membership/", views.membership, name="membership"),
    path("feedback/", views.feedback, name="feedback"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
