"""RSS 2.0 and Atom feeds of any list / search URL (same query parameters as the page)."""

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from news.models import Bulletin
from news.selectors import bulletin_listing
from news.text import strip_controls


class BulletinFeed(Feed):
    """Feeds are read by anonymous readers and cached by them: contacts are always masked."""

    def get_object(self, request, *args, **kwargs):
        self._query_string = request.GET.urlencode()
        return bulletin_listing(request.GET, viewer=None)

    def title(self, listing):
        q = listing.filter.form.data.get("q") if listing.filter.is_bound else ""
        q = " ".join(strip_controls(q).split())[:60]  # a title, not the raw parameter
        return f"{settings.SITE_NAME} · {q or _('最新标讯')}"

    def link(self, listing):
        return "/bulletins/" + (f"?{self._query_string}" if self._query_string else "")

    def description(self, listing):
        return _("全国建设工程招标、中标、拟建及在建项目信息")

    def items(self, listing):
        return listing.rows

    def item_title(self, row):
        return row.title

    def item_link(self, row):
        return row.url

    def item_pubdate(self, row):
        return row.published_at

    def item_categories(self, row):
        return [row.category_name]

    def item_description(self, row):
        # Rows were masked for an anonymous viewer (viewer=None) by the selector.
        meta = f"{row.category_name} · {row.region_display}"
        if row.snippet:
            return f"{meta}\n{strip_tags(row.snippet)}"
        return f"{meta}\n{Truncator(row.opening).chars(200)}" if row.opening else meta


class BulletinAtomFeed(BulletinFeed):
    feed_type = Atom1Feed

    def subtitle(self, listing):
        return self.description(listing)


class BulletinSitemap(Sitemap):
    changefreq = "weekly"
    limit = 20_000

    def items(self):
        # (id, updated_at) pairs, not rows: the sitemap template never holds a Bulletin.
        return Bulletin.objects.published().order_by("id").values_list("id", "updated_at")

    def location(self, item):
        return reverse("bulletin-detail", args=[item[0]])

    def lastmod(self, item):
        return item[1]
