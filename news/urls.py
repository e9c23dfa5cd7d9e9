from django.urls import path

from news import views

urlpatterns = [
    path("", views.home, name="home"),
    path("bulletins/", views.bulletin_list, name="bulletin-list"),
    path("bulletins/<int:pk>/", views.bulletin_detail, name="bulletin-detail"),
    path("regions/<int:pk>/children/", views.region_children, name="region-children"),
]
