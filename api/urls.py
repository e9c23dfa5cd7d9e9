from django.urls import path

from api import views

urlpatterns = [
    path("bulletins/", views.BulletinList.as_view(), name="api-bulletins"),
    path("bulletins/<int:pk>/", views.BulletinDetail.as_view(), name="api-bulletin"),
    path("bulletins/<int:pk>/reveal/", views.BulletinReveal.as_view(), name="api-bulletin-reveal"),
    path("bulletins/<int:pk>/ocds.json", views.BulletinOcds.as_view(), name="api-bulletin-ocds"),
    path("projects/", views.ProjectList.as_view(), name="api-projects"),
    path("projects/<int:pk>/", views.ProjectDetail.as_view(), name="api-project"),
    path("projects/<int:pk>/reveal/", views.ProjectReveal.as_view(), name="api-project-reveal"),
    path("projects/<int:pk>/oc4ids.json", views.ProjectOc4ids.as_view(), name="api-project-oc4ids"),
    path("companies/", views.CompanyList.as_view(), name="api-companies"),
    path("companies/<int:pk>/", views.CompanyDetail.as_view(), name="api-company"),
]
