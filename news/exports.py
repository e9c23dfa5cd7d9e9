"""Exports of a search's results to Excel (.xlsx) and CSV, for members whose plan allows.

Rows are per-viewer view objects like the pages': titles and contacts masked unless the
member sees that bulletin's contacts. A paying member's export reveals the bulletins it
lists, in order, while today's reveal quota lasts (each bulletin with contacts spends one
reveal, logged as 查看联系方式 logs it; one already revealed today is free); the rest stay
masked and each such row says why. 1,000 rows take well under the 2 s target inline
(bench/export_api_bench.py), so exports are made in the request: CSV streamed, xlsx built
in memory with openpyxl's write-only mode.
"""

import csv
import io
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from members.access import member_rights
from members.services import contact_reveal_many
from news.masking import ContactView, contact_values, contact_view, mask_text
from news.models import Bulletin
from news.selectors import _CONTACTS, _BulletinHeading, _heading, _listing_page

FORMATS = ("xlsx", "csv")


class ExportError(ValueError):
    """The member may not export (message in Chinese, for the page)."""


@dataclass(frozen=True)
class ExportRow(_BulletinHeading):
    amount_yuan: int | None
    bid_deadline: object
    winner: str
    contacts: list[ContactView]
    note: str  # why contacts are hidden, or ""


@dataclass(frozen=True)
class Export:
    rows: list[ExportRow]
    shown: int  # rows whose contacts are shown
    spent: int  # reveals this export spent
    over_quota: int  # rows with contacts left masked because the quota ran out
    limit: int


def search_ids(params, *, viewer, limit: int) -> list[int]:
    """The ids of a list/search URL's first `limit` results, in the page's order (the
    same FilterSet and plans as the list page)."""
    _, _, ids = _listing_page(params, member_rights(viewer), 1, limit)
    return ids


def export_limit(viewer) -> int:
    """Rows per export; raises ExportError for members whose plan has no exports."""
    rights = member_rights(viewer)
    if not rights.export_rows_limit:
        raise ExportError(_("导出标讯需要开通付费会员(标讯查询会员或标讯定制会员)。"))
    return rights.export_rows_limit


def build_export(ids: list[int], *, viewer, ip: str | None) -> Export:
    """View objects of these bulletins for one viewer, revealing within today's quota."""
    limit = export_limit(viewer)
    ids = ids[:limit]
    bulletins = list(
        Bulletin.objects.published()
        .filter(pk__in=ids)
        .select_related("category", "region", "city", "province")
        .only(
            "id",
            "title",
            "published_at",
            "amount_yuan",
            "bid_deadline",
            "winner",
            "category__name",
            "category__slug",
            "region__name",
            "city__name",
            "province__name",
        )
        .prefetch_related(_CONTACTS)
    )
    by_id = {b.pk: b for b in bulletins}
    ordered = [by_id[pk] for pk in ids if pk in by_id]
    rights = member_rights(viewer)
    with_contacts = [b.pk for b in ordered if b.contacts.all()]
    reveal = (
        contact_reveal_many(user=viewer, bulletin_ids=with_contacts, ip=ip)
        if rights.sees_contacts
        else None
    )
    visible = reveal.visible if reveal else frozenset()
    if not rights.sees_contacts:
        hidden_note = _("已隐藏:您的套餐不含查看联系方式")
    else:
        hidden_note = _("已隐藏:今日查看联系方式额度(%(n)s 条)已用完,明日可再导出") % {
            "n": rights.daily_quota
        }
    rows = [_export_row(b, visible=b.pk in visible, hidden_note=hidden_note) for b in ordered]
    return Export(
        rows=rows,
        shown=sum(1 for r in rows if r.contacts and not r.note),
        spent=reveal.newly_spent if reveal else 0,
        over_quota=sum(1 for r in rows if r.contacts and r.note) if rights.sees_contacts else 0,
        limit=limit,
    )


def _export_row(bulletin: Bulletin, *, visible: bool, hidden_note: str) -> ExportRow:
    contacts = list(bulletin.contacts.all())
    values = () if visible else contact_values(contacts)

    def shown(text: str) -> str:
        return text if visible else mask_text(text, values=values)

    return ExportRow(
        **_heading(bulletin, shown(bulletin.title)),
        amount_yuan=bulletin.amount_yuan,
        bid_deadline=bulletin.bid_deadline,
        winner=shown(bulletin.winner),
        contacts=[contact_view(c, visible=visible) for c in contacts],
        note="" if visible or not contacts else hidden_note,
    )


# --- writing ----------------------------------------------------------------------------


def _headers() -> list[str]:
    return [
        _("编号"),
        _("标题"),
        _("分类"),
        _("地区"),
        _("发布时间"),
        _("金额(元)"),
        _("投标截止时间"),
        _("中标单位"),
        _("网址"),
        _("联系单位"),
        _("联系人"),
        _("电话"),
        _("手机"),
        _("电子邮箱"),
        _("联系方式说明"),
    ]


def _local(value) -> str:
    if not value:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _joined(contacts, field: str) -> str:
    return "; ".join(getattr(c, field) for c in contacts if getattr(c, field))


def _values(row: ExportRow) -> list:
    return [
        row.id,
        row.title,
        row.category_name,
        row.region_display,
        _local(row.published_at),
        row.amount_yuan,
        _local(row.bid_deadline),
        row.winner,
        settings.SITE_URL + row.url,
        _joined(row.contacts, "organization"),
        _joined(row.contacts, "person"),
        _joined(row.contacts, "phone"),
        _joined(row.contacts, "mobile"),
        _joined(row.contacts, "email"),
        row.note,
    ]


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): such
# text gets a leading apostrophe, which Excel and LibreOffice show as plain text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def summary(export: Export) -> str:
    text = _("共 %(n)s 条(每次最多导出 %(limit)s 条)。") % {
        "n": len(export.rows),
        "limit": export.limit,
    }
    if export.shown or export.spent:
        text += _("%(shown)s 条显示联系方式,本次新计 %(spent)s 次查看。") % {
            "shown": export.shown,
            "spent": export.spent,
        }
    if export.over_quota:
        text += _("%(n)s 条因今日查看额度用完而隐藏联系方式。") % {"n": export.over_quota}
    return text


class _Echo:
    def write(self, value):
        return value


def csv_chunks(export: Export):
    """The CSV as text chunks: UTF-8 with a BOM (Excel then reads Chinese correctly)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(_headers())
    for row in export.rows:
        yield writer.writerow([safe_cell(v) for v in _values(row)])
    yield writer.writerow([])
    yield writer.writerow([safe_cell(summary(export))])


def xlsx_bytes(export: Export) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("标讯"))
    sheet.append(_headers())
    for row in export.rows:
        sheet.append([safe_cell(v) for v in _values(row)])
    notes = book.create_sheet(_("说明"))
    notes.append([summary(export)])
    notes.append([_("导出时间:%(t)s") % {"t": _local(timezone.now())}])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(fmt: str) -> str:
    return f"bulletins-{timezone.localdate():%Y%m%d}.{fmt}"
