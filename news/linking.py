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

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils.translation import gettext as _

from news import companies
from news import contact_patterns as patterns
from news.models import (
    BidResult,
    Bulletin,
    Contact,
    Project,
    ProjectContact,
    ProjectMerge,
    ProjectParty,
    ProjectStageChange,
    Stage,
)
from news.models.projects import WorkType
from news.rows import insert_instances, update_rows

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
# Where a name cut from a body line ends: at the next field of the line (项目名称:X 联系人:…
# 电话:…) or a sentence end, so no contact rides along into the name.
_NAME_END = re.compile(
    r"[;；。]|\s+[^\s:：]{1,10}[:：]|(?:"
    + patterns.labels_alternation(
        (
            *patterns.PERSON_LABELS,
            *patterns.TITLED_PERSON_LABELS,
            *patterns.NUMBER_LABELS,
            *patterns.EMAIL_LABELS,
            *patterns.IM_LABELS,
        )
    )
    + r")\s*[:：]",
    re.IGNORECASE,
)
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
        raw = match.group(1) or match.group(2)
        candidate = display_name(_NAME_END.split(raw, maxsplit=1)[0])
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


def project_link_bulletin(*, bulletin: Bulletin, contacts=None) -> LinkResult:
    """Find or create one bulletin's project and link it (see link_bulletins)."""
    if contacts is not None:
        bulletin._prefetched_objects_cache = {"contacts": contacts}
    link_bulletins([bulletin])
    return LinkResult(bulletin.project if bulletin.project_id else None)


def projects_link_bulletins(bulletin_ids) -> int:
    """Link stored bulletins (the importer calls this once per batch)."""
    bulletins = list(
        Bulletin.objects.filter(pk__in=list(bulletin_ids))
        .select_related("category", "region__parent__parent")
        .prefetch_related("contacts")
        .order_by("published_at", "id")
    )
    return link_bulletins(bulletins)


def projects_link_stored(stored) -> int:
    """Link bulletins the importer has just written, from its own (bulletin, contacts)
    instances: reading them back with their ~10 KB vectors cost a third of linking."""
    for bulletin, contacts in stored:
        bulletin._prefetched_objects_cache = {"contacts": contacts}
    return link_bulletins([bulletin for bulletin, _ in stored])


def link_bulletins(bulletins, *, forced: dict | None = None) -> int:
    """Link a batch: find or create each bulletin's project, move stages forward (in
    publish order), record parties and contacts. A fixed number of queries per batch, not
    per bulletin. Idempotent: linking the same bulletins again changes nothing.
    `forced` maps a bulletin id to the project staff chose for it."""
    forced = forced or {}
    named = []
    for bulletin in sorted(bulletins, key=lambda b: (b.published_at, b.pk)):
        if bulletin.pk in forced:
            named.append((bulletin, None))
        elif name := project_name(bulletin):
            named.append((bulletin, name))
    if not named:
        return 0
    with transaction.atomic():
        projects, keys = _projects_for([(b, n) for b, n in named if n])
        chosen = {}
        for bulletin, _name in named:
            chosen[bulletin.pk] = forced.get(bulletin.pk) or projects[keys[bulletin.pk]]
        moved = [b for b, _ in named if b.project_id != chosen[b.pk].pk]
        for bulletin in moved:
            bulletin.project = chosen[bulletin.pk]
        update_rows(Bulletin, moved, ["project"])
        bid_results_follow_projects([b.pk for b in moved])
        _advance(named, chosen)
        _parties_and_contacts(named, chosen)
    return len(named)


def _place_probe(bulletin: Bulletin, name: str) -> Project:
    probe = Project(name=name, name_key=name_key(name))
    probe.set_region(bulletin.region)
    return probe


def _projects_for(named) -> tuple[dict[tuple[str, str], Project], dict[int, tuple[str, str]]]:
    """Existing projects for these (key, place) pairs, the missing ones created; and each
    bulletin's pair (one probe a bulletin: building them cost more than matching)."""
    wanted: dict[tuple[str, str], Project] = {}
    keys: dict[int, tuple[str, str]] = {}
    for bulletin, name in named:
        probe = _place_probe(bulletin, name)
        key = keys[bulletin.pk] = (probe.name_key, probe.place_key)
        if key not in wanted:
            probe.work_type = work_type(name, bulletin.body)
            probe.amount_yuan = bulletin.amount_yuan
            probe.last_activity_at = bulletin.published_at
            wanted[key] = probe

    def existing():
        rows = Project.objects.active().filter(name_key__in={k for k, _ in wanted})
        return {(p.name_key, p.place_key): p for p in rows if (p.name_key, p.place_key) in wanted}

    found = existing()
    missing = [probe for key, probe in wanted.items() if key not in found]
    if missing:
        # ignore_conflicts: another import may create the same project meanwhile.
        insert_instances(missing, ignore_conflicts=True)
        found = existing()
    return found, keys


def _advance(named, chosen) -> None:
    """Stages only forward, every change recorded; the latest date and amount kept."""
    changes, touched = [], {}
    for bulletin, _name in named:
        project = chosen[bulletin.pk]
        stage = bulletin_stage(bulletin)
        if stage is not None and (project.stage is None or stage > project.stage):
            # never backwards: an older notice imported later changes nothing
            changes.append(
                ProjectStageChange(
                    project=project,
                    stage=stage,
                    previous=project.stage,
                    changed_at=bulletin.published_at,
                    bulletin=bulletin,
                )
            )
            project.stage = stage
            touched[project.pk] = project
        if bulletin.published_at > project.last_activity_at:
            project.last_activity_at = bulletin.published_at
            touched[project.pk] = project
        # The latest figure wins (an award's price after the tender's ceiling).
        if bulletin.amount_yuan and bulletin.published_at >= project.last_activity_at:
            project.amount_yuan = bulletin.amount_yuan
            touched[project.pk] = project
    insert_instances(changes)
    update_rows(Project, list(touched.values()), ["stage", "last_activity_at", "amount_yuan"])


def _parties_and_contacts(named, chosen) -> None:
    project_ids = {p.pk for p in chosen.values()}
    per_bulletin = []
    names = set()
    codes: dict[str, str] = {}  # organisation key -> 统一社会信用代码 named in a body
    for bulletin, _name in named:
        codes.update(companies.named_codes(bulletin.body))
        contacts = list(bulletin.contacts.all())
        parties = [(c.organization, c.role) for c in contacts if c.organization]
        if bulletin.winner:
            parties.append((bulletin.winner, "中标人"))
        names.update(n for n, _ in parties)
        per_bulletin.append((bulletin, contacts, parties))
    # Keyed by credit code where a bulletin gives one, else by normalised name.
    organizations = companies.organizations_resolve(names, codes=codes)
    party_rows = {
        (p.project_id, p.organization_id, p.role): p
        for p in ProjectParty.objects.filter(project_id__in=project_ids)
    }
    contact_rows: dict[tuple[int, str], list[ProjectContact]] = {}
    for row in ProjectContact.objects.filter(project_id__in=project_ids):
        contact_rows.setdefault((row.project_id, row.person), []).append(row)
    new_parties, new_contacts, changed_parties, changed_contacts = [], [], {}, {}
    for bulletin, contacts, parties in per_bulletin:
        project, seen = chosen[bulletin.pk], bulletin.published_at
        for org_name, role in parties:
            organization_id, party_role = organizations.get(org_name), _PARTY_ROLES.get(role)
            if organization_id is None or party_role is None:
                continue
            key = (project.pk, organization_id, party_role)
            party = party_rows.get(key)
            if party is None:
                party_rows[key] = party = ProjectParty(
                    project=project,
                    organization_id=organization_id,
                    role=party_role,
                    first_bulletin=bulletin,
                    first_seen=seen,
                    last_seen=seen,
                )
                new_parties.append(party)
            elif seen > party.last_seen:
                party.last_seen = seen
                if party.pk:
                    changed_parties[party.pk] = party
        for contact in contacts:
            if not contact.person:
                continue
            rows = contact_rows.setdefault((project.pk, contact.person.strip()), [])
            row = _same_person(rows, contact)
            if row is None:
                row = ProjectContact(
                    project=project,
                    identity=_identity(contact),
                    organization_id=organizations.get(contact.organization),
                    role=contact.role,
                    person=contact.person.strip(),
                    title=contact.title,
                    phone=contact.phone,
                    mobile=contact.mobile,
                    email=contact.email,
                    first_bulletin=bulletin,
                    last_bulletin=bulletin,
                    first_seen=seen,
                    last_seen=seen,
                )
                rows.append(row)
                new_contacts.append(row)
                continue
            if row.last_bulletin_id == bulletin.pk:
                continue  # linked before: nothing new
            if seen >= row.last_seen:
                row.last_seen, row.last_bulletin = seen, bulletin
            for field in ("title", "phone", "mobile", "email"):
                if not getattr(row, field) and getattr(contact, field):
                    setattr(row, field, getattr(contact, field))
            if row.pk:
                changed_contacts[row.pk] = row
    insert_instances(new_parties, ignore_conflicts=True)
    update_rows(ProjectParty, list(changed_parties.values()), ["last_seen"])
    insert_instances(new_contacts, ignore_conflicts=True)
    update_rows(
        ProjectContact,
        list(changed_contacts.values()),
        ["last_seen", "last_bulletin", "title", "phone", "mobile", "email"],
    )


def _numbers(contact) -> set[str]:
    values = (re.sub(r"\D", "", contact.phone or ""), re.sub(r"\D", "", contact.mobile or ""))
    return {v for v in values if v} | ({contact.email.lower()} if contact.email else set())


def _same_person(rows, contact) -> ProjectContact | None:
    """The same person with a number or email in common (or with none given)."""
    numbers = _numbers(contact)
    for row in rows:
        known = _numbers(row)
        if numbers & known or not numbers or not known:
            return row
    return None


def _identity(contact: Contact) -> str:
    number = re.sub(r"\D", "", contact.mobile or contact.phone or "") or contact.email.lower()
    return f"{contact.person.strip()}|{number}"[:120]


# --- staff actions --------------------------------------------------------------------------


def bid_results_follow_projects(bulletin_ids) -> int:
    """Give these bulletins' bid result rows their bulletin's current project (one
    UPDATE; none when no id is given)."""
    ids = list(bulletin_ids)
    if not ids:
        return 0
    project = Bulletin.objects.filter(pk=OuterRef("bulletin_id")).values("project_id")[:1]
    return BidResult.objects.filter(bulletin_id__in=ids).update(project_id=Subquery(project))


def project_unlink(*, bulletin: Bulletin) -> None:
    """Detach a bulletin (a wrong link); the project keeps its history."""
    Bulletin.objects.filter(pk=bulletin.pk).update(project=None)
    bulletin.project = None
    bid_results_follow_projects([bulletin.pk])


def project_link(*, bulletin: Bulletin, project: Project) -> None:
    """Staff attach a bulletin to a chosen project (stage, parties, contacts follow)."""
    link_bulletins([bulletin], forced={bulletin.pk: project})


class ProjectMergeError(ValueError):
    """A merge that cannot be done; the message (Chinese, for staff) says why."""


def project_merge(*, source: Project, target: Project, by=None) -> ProjectMerge:
    """Move everything of `source` into `target`; `source` stays as a pointer to it.

    Both project rows are locked and read again before anything moves, lower id first so
    that two merges of one pair (in either direction) wait for each other rather than
    deadlock: a source merged meanwhile, or a target that was itself merged, is refused
    with the reason. A party or contact both projects have becomes one row, seen from
    the earliest first_seen to the newest last_seen."""
    if source.pk == target.pk:
        raise ProjectMergeError(_("不能把项目合并到它自己。"))
    with transaction.atomic():
        locked = {
            pk: Project.objects.select_for_update().get(pk=pk)
            for pk in sorted((source.pk, target.pk))
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id:
            raise ProjectMergeError(
                _("项目“%(name)s”已合并到“%(into)s”,不能再次合并。")
                % {"name": source.name, "into": _final(source).name}
            )
        if target.merged_into_id:
            raise ProjectMergeError(
                _("不能合并到项目“%(name)s”:它已合并到“%(into)s”,请选择“%(into)s”作为目标。")
                % {"name": target.name, "into": _final(target).name}
            )
        moved = {"bulletins": Bulletin.objects.filter(project=source).update(project=target)}
        moved["bid_results"] = BidResult.objects.filter(project=source).update(project=target)
        moved["stage_changes"] = ProjectStageChange.objects.filter(project=source).update(
            project=target
        )
        moved["parties"] = _fold_into(
            ProjectParty.objects.filter(project=source),
            target,
            lambda p: ProjectParty.objects.filter(
                project=target, organization=p.organization_id, role=p.role
            ),
        )
        moved["contacts"] = _fold_into(
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


def _final(project: Project) -> Project:
    """Where a merged project's bulletins are now (merges can chain)."""
    seen = {project.pk}
    while project.merged_into_id and project.merged_into_id not in seen:
        seen.add(project.merged_into_id)
        project = Project.objects.get(pk=project.merged_into_id)
    return project


def _fold_into(rows, target, existing) -> int:
    """Move rows to `target`; a row the target has already is folded into its own (seen
    from the earlier first sighting to the later last one) and deleted. Returns moved."""
    moved = 0
    for row in rows:
        kept = existing(row).first()
        if kept is None:
            row.project = target
            row.save(update_fields=["project"])
            moved += 1
            continue
        changed = []
        if row.first_seen < kept.first_seen:
            kept.first_seen, kept.first_bulletin_id = row.first_seen, row.first_bulletin_id
            changed += ["first_seen", "first_bulletin"]
        if row.last_seen > kept.last_seen:
            kept.last_seen = row.last_seen
            changed.append("last_seen")
            if hasattr(kept, "last_bulletin_id"):
                kept.last_bulletin_id = row.last_bulletin_id
                changed.append("last_bulletin")
        for name in ("title", "phone", "mobile", "email"):  # contacts: fill what is missing
            if hasattr(kept, name) and not getattr(kept, name) and getattr(row, name):
                setattr(kept, name, getattr(row, name))
                changed.append(name)
        if changed:
            kept.save(update_fields=changed)
        row.delete()
    return moved
