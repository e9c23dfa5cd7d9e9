from django.contrib.sitemaps import views as sitemap_views
from django.urls import path

from news import export_views, project_views, views
from news.feeds import BulletinAtomFeed, BulletinFeed, BulletinSitemap

sitemaps = {"bulletins": BulletinSitemap}

urlpatterns = [
    path("", views.home, name="home"),
    path("bulletins/", views.bulletin_list, name="bulletin-list"),
    path("bulletins/export/", export_views.bulletin_export, name="bulletin-export"),
    path(
        "alerts/<int:pk>/export/",
        export_views.saved_search_export,
        name="saved-search-export",
    ),
    path("bulletins/<int:pk>/", views.bulletin_detail, name="bulletin-detail"),
    path("bulletins/<int:pk>/reveal/", views.bulletin_reveal, name="bulletin-reveal"),
    path("bulletins/feed/rss/", BulletinFeed(), name="bulletin-feed-rss"),
    path("bulletins/feed/atom/", BulletinAtomFeed(), name="bulletin-feed-atom"),
    path("regions/<int:pk>/children/", views.region_children, name="region-children"),
    path("projects/", project_views.project_list, name="project-list"),
    path("projects/<int:pk>/", project_views.project_detail, name="project-detail"),
    path("projects/<int:pk>/reveal/", project_views.project_reveal, name="project-reveal"),
    path(
        "projects/<int:pk>/feed/rss/",
        project_views.ProjectFeed(),
        name="project-feed-rss",
    ),
    path(
        "projects/<int:pk>/feed/atom/",
        project_views.ProjectAtomFeed(),
        name="project-feed-atom",
    ),
    path(
        "organizations/<int:pk>/",
        project_views.organization_detail,
        name="organization-detail",
    ),
    path("sitemap.xml", sitemap_views.index, {"sitemaps": sitemaps}, name="sitemap-index"),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": sitemaps},
        name="django.contrib.sitemaps.views.sitemap",
    ),
]
