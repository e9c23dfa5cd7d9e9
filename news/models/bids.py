"""Bid results: one row per bidder of an award notice (news/importing/bid_results.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BidResult(models.Model):
    """A bidder of a tender as an award notice lists it. Bidder names are public company
    names, but the list, ranks and prices are what members pay for: pages show them
    through per-viewer view objects only (news/bid_selectors.py)."""

    bulletin = models.ForeignKey(
        "news.Bulletin",
        verbose_name=_("标讯"),
        on_delete=models.CASCADE,
        related_name="bid_results",
    )
    # The bulletin's project, kept in step by news.linking (link, unlink, merge), so a
    # project page reads its rows by one index.
    project = models.ForeignKey(
        "news.Project",
        verbose_name=_("项目"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bid_results",
    )
    lot = models.CharField(_("标段"), max_length=60, blank=True)
    bidder = models.CharField(_("投标人"), max_length=200)
    organization = models.ForeignKey(
        "news.Organization",
        verbose_name=_("单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bid_results",
    )
    rank = models.PositiveSmallIntegerField(_("排名"), null=True, blank=True)
    price_yuan = models.BigIntegerField(_("投标报价(元)"), null=True, blank=True)
    duration_days = models.PositiveIntegerField(_("工期(天)"), null=True, blank=True)
    duration_text = models.CharField(_("工期"), max_length=60, blank=True)
    winner = models.BooleanField(_("中标"), default=False)
    # The tender's ceiling (招标控制价 / 最高投标限价) as the award notice states it.
    budget_yuan = models.BigIntegerField(_("招标控制价(元)"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("开标结果")
        verbose_name_plural = _("开标结果")
        ordering = ["bulletin", "position"]

    def __str__(self):
        return f"{self.lot} {self.bidder}".strip()
