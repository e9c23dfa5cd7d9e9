"""Open Contracting data: an OCDS 1.1 release package per tender / award bulletin, an
OC4IDS project package per project (schemas vendored in api/schemas/, see its README).

Built from the same masked view objects an anonymous visitor sees: titles and names
masked, and no contact point at all (OCDS files are public-data formats, copied and kept
by whoever fetches them). The ocid of a bulletin is its project's when it has one (the
tender and the award of one project are one contracting process), else its own."""

from django.conf import settings
from django.urls import reverse

from news import project_selectors, selectors
from news.models import Bulletin, Project, Stage
from news.models.projects import WorkType

TAGS = {"tender": "tender", "award": "award"}  # category slug -> release tag
# A Contact's role (招标人, 招标代理机构, 建设单位 …) -> OCDS partyRole (an open codelist).
_BUYER_WORDS = ("招标人", "建设单位", "业主", "采购人", "项目单位")
_STATUS = {  # our stage -> OC4IDS projectStatus
    Stage.PROPOSED: "identification",
    Stage.APPROVAL: "identification",
    Stage.APPROVED: "preparation",
    Stage.TENDER: "preparation",
    Stage.AWARD: "preparation",
    Stage.CONSTRUCTION: "implementation",
    Stage.COMPLETED: "completed",
}
_SECTORS = {  # work type -> OC4IDS projectSector (open codelist)
    WorkType.MUNICIPAL: ["transport", "transport.road"],
    WorkType.WATER: ["water"],
    WorkType.ENERGY: ["energy"],
    WorkType.BUILDING: ["socialInfrastructure"],
}


def _iso(value):
    return value.isoformat() if value else None


def _abs(path: str) -> str:
    return settings.SITE_URL + path


def _publisher() -> dict:
    return {"name": settings.SITE_NAME, "uri": settings.SITE_URL + "/"}


def _license() -> dict:
    return {"license": settings.OPEN_DATA_LICENSE} if settings.OPEN_DATA_LICENSE else {}


def ocid_for(*, bulletin_id: int, project_id: int | None) -> str:
    suffix = f"p{project_id}" if project_id else f"b{bulletin_id}"
    return f"{settings.OCDS_OCID_PREFIX}-{suffix}"


def _role(contact_role: str) -> str:
    if "代理" in contact_role:
        return "procuringEntity"
    if any(word in contact_role for word in _BUYER_WORDS):
        return "buyer"
    return "interestedParty"


class _Parties:
    """Parties by name, ids local to the release, roles merged."""

    def __init__(self):
        self.by_name: dict[str, dict] = {}

    def add(self, name: str, role: str) -> dict | None:
        if not name:
            return None
        party = self.by_name.get(name)
        if party is None:
            party = {"id": f"org-{len(self.by_name) + 1}", "name": name, "roles": []}
            self.by_name[name] = party
        if role not in party["roles"]:
            party["roles"].append(role)
        return {"id": party["id"], "name": name}

    def all(self) -> list[dict]:
        return list(self.by_name.values())


def release_package(pk: int) -> dict | None:
    """The package of one published 招标公告 / 中标公告, or None for other bulletins."""
    facts = (
        Bulletin.objects.published()
        .filter(pk=pk)
        .values("category__slug", "project_id", "updated_at")
        .first()
    )
    if facts is None or facts["category__slug"] not in TAGS:
        return None
    tag = TAGS[facts["category__slug"]]
    detail = selectors.bulletin_detail(pk, viewer=None)  # masked, as for a visitor
    ocid = ocid_for(bulletin_id=pk, project_id=facts["project_id"])
    parties = _Parties()
    buyer = None
    for contact in detail.contacts:
        ref = parties.add(contact.organization, _role(contact.role))
        if ref and buyer is None and _role(contact.role) == "buyer":
            buyer = ref
    value = {"amount": detail.amount_yuan, "currency": "CNY"} if detail.amount_yuan else None
    tender = {"id": f"{ocid}-tender", "title": detail.title}
    release = {
        "ocid": ocid,
        "id": f"{pk}-{tag}",
        "date": _iso(detail.published_at),
        "tag": [tag],
        "initiationType": "tender",
        "language": "zh",
        "tender": tender,
    }
    if tag == "tender":
        tender["status"] = "active"
        if value:
            tender["value"] = value
        if detail.bid_deadline:
            tender["tenderPeriod"] = {"endDate": _iso(detail.bid_deadline)}
    else:
        award = {"id": f"{pk}-award-1", "title": detail.title, "date": _iso(detail.published_at)}
        award["status"] = "active"
        if value:
            award["value"] = value
        supplier = parties.add(detail.winner, "supplier")
        if supplier:
            award["suppliers"] = [supplier]
        release["awards"] = [award]
    if buyer:
        release["buyer"] = buyer
    if parties.all():
        release["parties"] = parties.all()
    return {
        "uri": _abs(reverse("api-bulletin-ocds", args=[pk])),
        "version": "1.1",
        "publishedDate": _iso(facts["updated_at"]),
        "publisher": _publisher(),
        **_license(),
        "releases": [release],
    }


def project_package(pk: int) -> dict | None:
    """The OC4IDS package of one project (None when unknown or merged away)."""
    facts = Project.objects.active().filter(pk=pk).values("stage", "work_type").first()
    if facts is None:
        return None
    detail = project_selectors.project_detail(pk, viewer=None)
    parties = _Parties()
    for party in detail.parties:
        parties.add(party.organization, "interestedParty")
    linked = (
        Bulletin.objects.published()
        .filter(project_id=pk, category__slug__in=list(TAGS))
        .values_list("pk", "category__slug", "published_at")
        .order_by("published_at", "pk")
    )
    ocid = ocid_for(bulletin_id=0, project_id=pk)
    releases = [
        {
            "id": f"{bid}-{TAGS[slug]}",
            "tag": TAGS[slug],
            "date": _iso(at),
            "url": _abs(reverse("api-bulletin-ocds", args=[bid])),
        }
        for bid, slug, at in linked
    ]
    project = {
        "id": f"{settings.OC4IDS_ID_PREFIX}-{pk}",
        "updated": _iso(detail.last_activity_at),
        "title": detail.name,
        "sector": _SECTORS.get(facts["work_type"], []),
        "locations": [{"id": "1", "description": detail.region_display}]
        if detail.region_display
        else [],
        "parties": parties.all(),
    }
    if facts["stage"]:
        project["status"] = _STATUS[facts["stage"]]
    if detail.amount_yuan:
        project["budget"] = {"amount": {"amount": detail.amount_yuan, "currency": "CNY"}}
    if releases:
        project["contractingProcesses"] = [
            {"id": ocid, "summary": {"ocid": ocid, "title": detail.name}, "releases": releases}
        ]
    return {
        "version": "0.9",
        "uri": _abs(reverse("api-project-oc4ids", args=[pk])),
        "publishedDate": _iso(detail.last_activity_at),
        "publisher": _publisher(),
        **_license(),
        "projects": [{k: v for k, v in project.items() if v != []}],
    }
