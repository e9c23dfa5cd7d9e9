"""Linking bulletins to projects: the project's name, its stage, its parties and contacts.

A bulletin names its project in the body ("本招标项目X已由…", "项目名称:X", "招标项目名称:X")
or in its title ("X施工招标公告", "X中标结果公示"). Names are matched on a key with width,
brackets, punctuation and trailing words (施工/招标/公告/项目…) erased, within one city:
the same road name in another city is another project. News (建设快讯) starts no project.

Stages only move forward (拟建 → … → 竣工); every change is kept with its date and bulletin.
Parties are organisations (one row per normalised name) with a role on the project;
contacts keep the bulletin that first and last named them.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max

from news.models import (
    Bulletin,
    Contact,
    Organization,
    Project,
    ProjectContact,
    ProjectMerge,
    ProjectParty,
    ProjectStageChange,
    Stage,
)
from news.models.projects import WorkType

# --- names ----------------------------------------------------------------------------------

_BODY_NAME = re.compile(
    r"(?:^|\n)\s*(?:招标项目名称|项目名称|工程名称|采购项目名称)\s*[:：]\s*([^\n]{4,120})"
    r"|本(?:招标|采购)?项目\s*([^\n,，。;；]{4,120}?)\s*已由"
)
# What a title adds to a project's name: the notice kind and the works it is about.
_TITLE_TAIL = re.compile(
    r"(?:(?:施工总承包|施工|监理|设计|勘察|EPC|工程总承包|总承包)?"
    r"(?:项目)?(?:公开|邀请)?"
    r"(?:招标公告|招标文件|中标结果公示|中标结果公告|中标候选人公示|中标公告|中标公示|"
    r"成交公告|成交结果公告|评标结果公示|开标结果公示|招标|公告|公示|"
    r"开工|正式开工|顺利开工|竣工|通过竣工验收|竣工验收)"
    r"(?:\(.*\))?)$"
)
# Trailing words dropped from the display name (expected.json: 施工/施工总承包/招标/公告).
_NAME_TAIL = re.compile(r"(?:施工总承包|工程总承包|施工|监理|设计|招标|公告|公示)+$")
# ... and further, for the matching key only: the works a notice is about (EPC, 勘察设计,
# 监理服务) and 工程/项目, which a 拟建 record and a tender use for the same project.
_KEY_TAIL = re.compile(
    r"(?:epc总承包|epc|工程总承包|施工总承包|勘察设计|监理服务|施工|监理|设计|勘察|招标|公告|公示|项目|工程)+$"
)
_NOT_NAME = re.compile(r"[\W_]+")
_FOLD = re.compile(r"[\uff01-\uff5e]")

NEWS_CATEGORY = "建设快讯"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def display_name(raw: str) -> str:
    name = " ".join(_fold(raw).split()).strip(" ,;。:")
    name = _TITLE_TAIL.sub("", name).strip()
    return _NAME_TAIL.sub("", name).strip() or name


def name_key(raw: str) -> str:
    """镇江新区港南路(大港段)道路提升改造工程施工 → 镇江新区港南路大港段道路提升改造工程"""
    key = _NOT_NAME.sub("", display_name(raw)).lower()
    return _KEY_TAIL.sub("", key) or key


def project_name(bulletin: Bulletin) -> str:
    """The project a bulletin is about, or "" (news and unnamed notices start none)."""
    if bulletin.category.name == NEWS_CATEGORY:
        return ""
    match = _BODY_NAME.search(bulletin.body)
    if match:
        candidate = display_name(match.group(1) or match.group(2))
        if len(candidate) >= 4:
            return candidate
    title = display_name(bulletin.title)
    return title if len(title) >= 4 else ""


def organization_key(name: str) -> str:
    return _NOT_NAME.sub("", _fold(name)).lower()


# --- stages and kinds -----------------------------------------------------------------------

_STAGE_WORDS = {s.label: s for s in Stage}
_CATEGORY_STAGE = {
    "招标公告": Stage.TENDER,
    "中标公告": Stage.AWARD,
    "拟建项目": Stage.PROPOSED,
    "在建项目": Stage.CONSTRUCTION,
}
_TITLE_STAGE = (
    (re.compile(r"竣工"), Stage.COMPLETED),
    (re.compile(r"开工|在建"), Stage.CONSTRUCTION),
)
_WORK_WORDS = (
    (WorkType.MUNICIPAL, ("道路", "公路", "桥", "隧道", "管廊", "市政", "轨道", "地铁", "交通")),
    (WorkType.WATER, ("水利", "污水", "供水", "河道", "水库", "堤防", "环保", "排水")),
    (WorkType.ENERGY, ("电站", "光伏", "风电", "变电", "电力", "能源", "燃气", "储能")),
    (WorkType.INDUSTRIAL, ("厂房", "产业园", "工业", "仓储", "物流园")),
    (WorkType.BUILDING, ("学校", "中学", "小学", "医院", "住宅", "大楼", "办公楼", "中心", "房")),
)
_LABELLED_KIND = re.compile(r"(?:项目类别|工程类别|项目类型)\s*[:：]\s*(\S+)")


def bulletin_stage(bulletin: Bulletin) -> Stage | None:
    """A page's own 项目阶段 line wins over its category; titles say 开工 / 竣工."""
    if bulletin.stage and bulletin.stage in _STAGE_WORDS:
        return _STAGE_WORDS[bulletin.stage]
    for pattern, stage in _TITLE_STAGE:
        if pattern.search(bulletin.title):
            return stage
    return _CATEGORY_STAGE.get(bulletin.category.name)


def work_type(name: str, body: str = "") -> str:
    labelled = _LABELLED_KIND.search(body)
    for text in ((labelled.group(1),) if labelled else ()) + (name,):
        for kind, words in _WORK_WORDS:
            if any(word in text for word in words):
                return kind
    return WorkType.OTHER


# --- parties --------------------------------------------------------------------------------

_PARTY_ROLES = {
    "招标人": ProjectParty.Role.OWNER,
    "采购人": ProjectParty.Role.OWNER,
    "建设单位": ProjectParty.Role.OWNER,
    "业主单位": ProjectParty.Role.OWNER,
    "业主": ProjectParty.Role.OWNER,
    "项目业主": ProjectParty.Role.OWNER,
    "项目单位": ProjectParty.Role.OWNER,
    "设计单位": ProjectParty.Role.DESIGNER,
    "勘察单位": ProjectParty.Role.DESIGNER,
    "总包单位": ProjectParty.Role.GENERAL,
    "总承包单位": ProjectParty.Role.GENERAL,
    "施工单位": ProjectParty.Role.BUILDER,
    "监理单位": ProjectParty.Role.SUPERVISOR,
    "招标代理": ProjectParty.Role.AGENT,
    "采购代理": ProjectParty.Role.AGENT,
    "中标人": ProjectParty.Role.WINNER,
}


# --- linking --------------------------------------------------------------------------------


@dataclass
class LinkResult:
    project: Project | None
    created: bool = False
    stage_changed: bool = False


def project_link_bulletin(*, bulletin: Bulletin, contacts=None) -> LinkResult:
    """Find or create the bulletin's project, link it, move the stage, add parties and
    contacts. Idempotent: linking the same bulletin again changes nothing."""
    name = project_name(bulletin)
    if not name:
        return LinkResult(None)
    contacts = list(bulletin.contacts.all()) if contacts is None else contacts
    with transaction.atomic():
        project, created = _find_or_create(name, bulletin)
        if bulletin.project_id != project.pk:
            bulletin.project = project
            Bulletin.objects.filter(pk=bulletin.pk).update(project=project)
        changed = _advance_stage(project, bulletin)
        _touch(project, bulletin)
        _add_parties_and_contacts(project, bulletin, contacts)
    return LinkResult(project, created, changed)


def _find_or_create(name: str, bulletin: Bulletin) -> tuple[Project, bool]:
    key = name_key(name)
    probe = Project(name=name, name_key=key)
    probe.set_region(bulletin.region)
    found = Project.objects.active().filter(name_key=key, place_key=probe.place_key).first()
    if found is not None:
        return found, False
    probe.work_type = work_type(name, bulletin.body)
    probe.amount_yuan = bulletin.amount_yuan
    probe.last_activity_at = bulletin.published_at
    try:
        with transaction.atomic():
            probe.save()
    except IntegrityError:  # another import created it meanwhile
        return Project.objects.active().get(name_key=key, place_key=probe.place_key), False
    return probe, True


def _advance_stage(project: Project, bulletin: Bulletin) -> bool:
    stage = bulletin_stage(bulletin)
    if stage is None or (project.stage is not None and stage <= project.stage):
        return False  # never backwards: an older notice imported later changes nothing
    ProjectStageChange.objects.create(
        project=project,
        stage=stage,
        previous=project.stage,
        changed_at=bulletin.published_at,
        bulletin=bulletin,
    )
    project.stage = stage
    Project.objects.filter(pk=project.pk).update(stage=stage)
    return True


def _touch(project: Project, bulletin: Bulletin) -> None:
    updates = {}
    if bulletin.published_at > project.last_activity_at:
        updates["last_activity_at"] = bulletin.published_at
    # The latest figure wins (an award's price after the tender's ceiling).
    if bulletin.amount_yuan and bulletin.published_at >= project.last_activity_at:
        updates["amount_yuan"] = bulletin.amount_yuan
    if updates:
        Project.objects.filter(pk=project.pk).update(**updates)
        for field, value in updates.items():
            setattr(project, field, value)


def _organization(name: str) -> Organization | None:
    key = organization_key(name)
    if len(key) < 2:
        return None
    organization, _ = Organization.objects.get_or_create(
        name_key=key, defaults={"name": name.strip()}
    )
    return organization


def _add_parties_and_contacts(project: Project, bulletin: Bulletin, contacts) -> None:
    seen = bulletin.published_at
    organizations: dict[str, Organization | None] = {}
    parties = [(c.organization, c.role) for c in contacts if c.organization]
    if bulletin.winner:
        parties.append((bulletin.winner, "中标人"))
    for org_name, role in parties:
        organizations[org_name] = organizations.get(org_name) or _organization(org_name)
        party_role = _PARTY_ROLES.get(role)
        organization = organizations[org_name]
        if organization is None or party_role is None:
            continue
        party, made = ProjectParty.objects.get_or_create(
            project=project,
            organization=organization,
            role=party_role,
            defaults={"first_bulletin": bulletin, "first_seen": seen, "last_seen": seen},
        )
        if not made and seen > party.last_seen:
            ProjectParty.objects.filter(pk=party.pk).update(last_seen=seen)
    for contact in contacts:
        if not contact.person:
            continue
        row = _known_contact(project, contact)
        if row is None:
            try:
                with transaction.atomic():
                    ProjectContact.objects.create(
                        project=project,
                        identity=_identity(contact),
                        organization=organizations.get(contact.organization),
                        role=contact.role,
                        person=contact.person,
                        title=contact.title,
                        phone=contact.phone,
                        mobile=contact.mobile,
                        email=contact.email,
                        first_bulletin=bulletin,
                        last_bulletin=bulletin,
                        first_seen=seen,
                        last_seen=seen,
                    )
            except IntegrityError:
                pass  # linked before (a re-run): nothing new
            continue
        if seen >= row.last_seen:
            # Seen again: newer sighting, and any detail the earlier one lacked.
            row.last_seen, row.last_bulletin = seen, bulletin
        for field in ("title", "phone", "mobile", "email"):
            if not getattr(row, field) and getattr(contact, field):
                setattr(row, field, getattr(contact, field))
        row.save()


def _numbers(contact) -> set[str]:
    values = (re.sub(r"\D", "", contact.phone or ""), re.sub(r"\D", "", contact.mobile or ""))
    return {v for v in values if v} | ({contact.email.lower()} if contact.email else set())


def _known_contact(project: Project, contact: Contact) -> ProjectContact | None:
    """The same person with a number or email in common (or with none given)."""
    numbers = _numbers(contact)
    for row in ProjectContact.objects.filter(project=project, person=contact.person.strip()):
        known = _numbers(row)
        if numbers & known or not numbers or not known:
            return row
    return None


def _identity(contact: Contact) -> str:
    number = re.sub(r"\D", "", contact.mobile or contact.phone or "") or contact.email.lower()
    return f"{contact.person.strip()}|{number}"[:120]


def projects_link_bulletins(bulletin_ids) -> int:
    """Link stored bulletins (the importer calls this once per batch)."""
    linked = 0
    bulletins = (
        Bulletin.objects.filter(pk__in=list(bulletin_ids))
        .select_related("category", "region__parent__parent")
        .prefetch_related("contacts")
        .order_by("published_at", "id")
    )
    for bulletin in bulletins:
        linked += project_link_bulletin(bulletin=bulletin).project is not None
    return linked


# --- staff actions --------------------------------------------------------------------------


def project_unlink(*, bulletin: Bulletin) -> None:
    """Detach a bulletin (a wrong link); the project keeps its history."""
    Bulletin.objects.filter(pk=bulletin.pk).update(project=None)
    bulletin.project = None


def project_link(*, bulletin: Bulletin, project: Project) -> None:
    """Staff attach a bulletin to a chosen project (stage, parties, contacts follow)."""
    with transaction.atomic():
        Bulletin.objects.filter(pk=bulletin.pk).update(project=project)
        bulletin.project = project
        _advance_stage(project, bulletin)
        _touch(project, bulletin)
        _add_parties_and_contacts(project, bulletin, list(bulletin.contacts.all()))


def project_merge(*, source: Project, target: Project, by=None) -> ProjectMerge:
    """Move everything of `source` into `target`; `source` stays as a pointer to it."""
    if source.pk == target.pk:
        raise ValueError("不能把项目合并到它自己。")
    if source.merged_into_id:
        raise ValueError(f"项目“{source}”已合并过。")
    with transaction.atomic():
        moved = {"bulletins": Bulletin.objects.filter(project=source).update(project=target)}
        moved["stage_changes"] = ProjectStageChange.objects.filter(project=source).update(
            project=target
        )
        moved["parties"] = _move_unique(
            ProjectParty.objects.filter(project=source),
            target,
            lambda p: ProjectParty.objects.filter(
                project=target, organization=p.organization_id, role=p.role
            ),
        )
        moved["contacts"] = _move_unique(
            ProjectContact.objects.filter(project=source),
            target,
            lambda c: ProjectContact.objects.filter(project=target, identity=c.identity),
        )
        latest = ProjectStageChange.objects.filter(project=target).order_by("-stage").first()
        last = Bulletin.objects.filter(project=target).aggregate(at=Max("published_at"))["at"]
        Project.objects.filter(pk=target.pk).update(
            stage=latest.stage if latest else target.stage,
            last_activity_at=max(filter(None, [last, target.last_activity_at])),
        )
        Project.objects.filter(pk=source.pk).update(merged_into=target)
        source.merged_into = target
        record = ProjectMerge.objects.create(
            source=source, source_name=source.name, target=target, by=by, moved=moved
        )
    target.refresh_from_db()
    return record


def _move_unique(rows, target, existing) -> int:
    moved = 0
    for row in rows:
        if existing(row).exists():
            row.delete()  # the target already has it
        else:
            row.project = target
            row.save(update_fields=["project"])
            moved += 1
    return moved
