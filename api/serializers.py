"""JSON shapes of the per-viewer view objects (news.selectors, news.project_selectors):
the API, like templates, never sees a Bulletin, Contact or Project with gated fields."""

from django.conf import settings


def _when(value):
    return value.isoformat() if value else None


def _url(path: str) -> str:
    return settings.SITE_URL + path


def contact(c) -> dict:
    return {
        "organization": c.organization,
        "role": c.role,
        "person": c.person,
        "title": c.title,
        "phone": c.phone,
        "mobile": c.mobile,
        "email": c.email,
        "masked": c.masked,
    }


def bulletin_row(row) -> dict:
    return {
        "id": row.id,
        "title": row.title,
        "category": row.category_slug,
        "category_name": row.category_name,
        "region": row.region_display,
        "published_at": _when(row.published_at),
        "url": _url(row.url),
    }


def bulletin_detail(detail) -> dict:
    return {
        **bulletin_row(detail),
        "amount_yuan": detail.amount_yuan,
        "bid_deadline": _when(detail.bid_deadline),
        "stage": detail.stage,
        "winner": detail.winner,
        "source_url": detail.source_url,
        "body": "\n\n".join(detail.paragraphs),
        "project": {"name": detail.project_name, "url": _url(detail.project_url)}
        if detail.project_url
        else None,
        "contacts": [contact(c) for c in detail.contacts],
        "contacts_masked": not detail.access.visible,
    }


def project_row(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "stage": row.stage,
        "region": row.region_display,
        "work_type": row.work_type,
        "amount_yuan": row.amount_yuan,
        "last_activity_at": _when(row.last_activity_at),
        "url": _url(row.url),
    }


def project_detail(detail) -> dict:
    return {
        **project_row(detail),
        "timeline": [
            {"at": _when(e.at), "kind": e.kind, "text": e.text, "category": e.category}
            | ({"url": _url(e.url)} if e.url else {})
            for e in detail.timeline
        ],
        "parties": [
            {
                "role": p.role,
                "organization": p.organization,
                "url": _url(p.url),
                "first_seen": _when(p.first_seen),
                "last_seen": _when(p.last_seen),
            }
            for p in detail.parties
        ],
        "contacts": [contact(c) for c in detail.contacts],
        "contacts_masked": not detail.access.visible,
    }
