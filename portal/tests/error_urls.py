"""The portal's URLs plus one that fails, to see the 500 page as a visitor would."""

from django.urls import path

from portal.urls import handler500
from portal.urls import urlpatterns as portal_urlpatterns


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), *portal_urlpatterns]
__all__ = ["handler500", "urlpatterns"]
