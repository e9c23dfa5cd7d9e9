"""Companies (企业库): which Organization row a name on a bulletin is.

A company is keyed by its 统一社会信用代码 where a bulletin gives it ("中标人:X(统一社会信用代码:
C)", or a code line right under the organisation's line), else by its normalised name
(news.linking.organization_key). Name variants that share a code are one company: the
first row with the code keeps it, a variant's own row is merged into it and stays as a
pointer (merged_into), so the variant's name, seen later without a code, still finds the
company. A code that fails its check character is ignored (a typo must not merge two
companies).
"""

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from billing.credit_code import validate_credit_code
from news.events import organizations_merged
from news.importing.parser import _ORG_ROLES
from news.models import BidResult, Organization, ProjectContact, ProjectParty

_CODE_LABEL = r"(?:统一社会信用代码|社会信用代码|信用代码)"
# The code written after a name: "X(统一社会信用代码:C)", "X 统一社会信用代码:C", "X,信用代码 C".
_INLINE_CODE = re.compile(
    rf"\s*[,，;；]?\s*[（(]?\s*{_CODE_LABEL}\s*[:：]?\s*([0-9A-Za-z]{{18}})\s*[)）]?"
)
# A line of its own under the organisation's line.
_CODE_LINE = re.compile(rf"^\s*{_CODE_LABEL}\s*[:：]?\s*([0-9A-Za-z]{{18}})\b")
# "招标人:X", "中标单位:X" (the parser's organisation labels): the organisation a code
# line right under it belongs to.
_ORG_LINE = re.compile(
    r"^\s*(?:" + "|".join(sorted(_ORG_ROLES, key=len, reverse=True)) + r")\s*[:：]\s*(.+)$"
)


def valid_code(raw: str) -> str:
    """The normalised code, or "" when it is not a valid 统一社会信用代码."""
    try:
        return validate_credit_code(raw)
    except ValidationError:
        return ""


def split_name(raw: str) -> tuple[str, str]:
    """(name without the code, the code or "") for a name as a bulletin wrote it."""
    match = _INLINE_CODE.search(raw)
    if match is None:
        return raw.strip(), ""
    name = (raw[: match.start()] + raw[match.end() :]).strip(" ,，;；")
    return name, valid_code(match.group(1))


def named_codes(body: str) -> dict[str, str]:
    """{organisation key: code} for the organisations a bulletin gives a code for."""
    from news.linking import organization_key

    if "信用代码" not in body:  # most bulletins: one substring test
        return {}
    found: dict[str, str] = {}
    last_name = ""
    for line in body.splitlines():
        if not line.strip():
            continue  # stored bodies keep a blank line between paragraphs
        org_line = _ORG_LINE.match(line)
        if org_line:
            name, code = split_name(org_line.group(1))
            last_name = "" if code else name
            if code:
                found[organization_key(name)] = code
            continue
        code_line = _CODE_LINE.match(line)
        if code_line and last_name and (code := valid_code(code_line.group(1))):
            found[organization_key(last_name)] = code
        last_name = ""  # only the paragraph right under the organisation's
    return found


def organizations_resolve(names, *, codes: dict[str, str] | None = None) -> dict[str, int]:
    """{name as written: organisation id} for names on bulletins, creating what is missing.

    `codes` maps organisation keys to a code found elsewhere in the bulletin (named_codes).
    A fixed number of queries for any number of names, plus one merge per variant found
    to share a code (rare: once per variant, ever)."""
    from news.linking import organization_key

    codes = codes or {}
    wanted: dict[str, tuple[str, str, str]] = {}  # name as written -> (name, key, code)
    for raw in names:
        name, code = split_name(raw)
        key = organization_key(name)
        if len(key) >= 2:
            wanted[raw] = (name, key, code or codes.get(key, ""))
    if not wanted:
        return {}
    keys = {key for _, key, _ in wanted.values()}
    all_codes = {code for *_, code in wanted.values() if code}

    def load():
        rows = Organization.objects.filter(
            Q(name_key__in=keys) | Q(credit_code__in=all_codes)
        ).values_list("pk", "name_key", "credit_code", "merged_into_id")
        by_key, by_code = {}, {}
        for pk, key, code, merged_into in rows:
            by_key[key] = (pk, code, merged_into)
            if code:
                by_code[code] = pk
        return by_key, by_code

    by_key, by_code = load()
    missing, variants, coded = {}, [], []
    for name, key, code in wanted.values():
        row = by_key.get(key)
        if code and code in by_code:
            if row is None:  # a new variant of a known company: a pointer row
                missing[key] = Organization(name=name, name_key=key, merged_into_id=by_code[code])
            elif row[0] != by_code[code] and not row[1] and row[2] != by_code[code]:
                variants.append((row[0], by_code[code]))
        elif code and row is not None:
            if not row[1] and row[2] is None:
                coded.append((row[0], code))  # a known name now has its code
        elif row is None:
            missing.setdefault(key, Organization(name=name, name_key=key, credit_code=code))
    if missing:
        # Codes of new rows must be unique within the batch too (two names, one code).
        seen_codes = set()
        for org in missing.values():
            if org.credit_code in seen_codes:
                org.credit_code = ""
            elif org.credit_code:
                seen_codes.add(org.credit_code)
        # ignore_conflicts: another import may create the same company meanwhile.
        Organization.objects.bulk_create(missing.values(), ignore_conflicts=True)
    for pk, code in coded:
        _set_code(pk, code)
    for source, target in variants:
        organization_merge(source_id=source, target_id=target)
    if missing or coded or variants:
        by_key, by_code = load()
    # Variants of one code in the same batch, both new: the second becomes a pointer.
    for _name, key, code in wanted.values():
        row, target = by_key.get(key), by_code.get(code)
        if row and target and row[0] != target and not row[1] and row[2] is None:
            organization_merge(source_id=row[0], target_id=target)
            by_key[key] = (row[0], "", target)
    # The code first (two companies may share a normalised name), then the name.
    found = {}
    for raw, (_name, key, code) in wanted.items():
        if code and code in by_code:
            found[raw] = by_code[code]
        elif key in by_key:
            pk, _code, merged_into = by_key[key]
            found[raw] = merged_into or pk
    return found


def _set_code(pk: int, code: str) -> None:
    """Give a known name its code; if another row has just taken that code, the name is a
    variant of it and is merged into it."""
    try:
        with transaction.atomic():
            Organization.objects.filter(pk=pk, credit_code="").update(credit_code=code)
    except IntegrityError:
        target = Organization.objects.filter(credit_code=code).values_list("pk", flat=True).first()
        if target and target != pk:
            organization_merge(source_id=pk, target_id=target)


def organization_ids_by_key(keys) -> dict[str, int]:
    """{normalised name: organisation id} for names already known, variants followed to
    the company they were merged into (one query)."""
    rows = Organization.objects.filter(name_key__in=list(keys)).values_list(
        "name_key", "pk", "merged_into_id"
    )
    return {key: merged_into or pk for key, pk, merged_into in rows}


def organization_merge(*, source_id: int, target_id: int) -> None:
    """Make `source` a pointer to `target`: its project roles, contacts and bid results
    move (a role both have on a project becomes one row, seen from the earlier to the
    later date); members' follows move through news.events.organizations_merged."""
    if source_id == target_id:
        return
    with transaction.atomic():
        for party in ProjectParty.objects.filter(organization_id=source_id):
            kept = ProjectParty.objects.filter(
                project_id=party.project_id, organization_id=target_id, role=party.role
            ).first()
            if kept is None:
                party.organization_id = target_id
                party.save(update_fields=["organization"])
                continue
            kept.first_seen = min(kept.first_seen, party.first_seen)
            kept.last_seen = max(kept.last_seen, party.last_seen)
            kept.save(update_fields=["first_seen", "last_seen"])
            party.delete()
        ProjectContact.objects.filter(organization_id=source_id).update(organization_id=target_id)
        BidResult.objects.filter(organization_id=source_id).update(organization_id=target_id)
        Organization.objects.filter(merged_into_id=source_id).update(merged_into_id=target_id)
        Organization.objects.filter(pk=source_id).update(merged_into_id=target_id, credit_code="")
        organizations_merged.send(sender=None, source_id=source_id, target_id=target_id)
