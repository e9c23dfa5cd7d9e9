"""Masking of contact data: the one module every output path uses for non-members.

Text is masked two ways together:
1. every stored contact value of the bulletin (person, phone, mobile, email) wherever
   it occurs, however the text happens to format it;
2. the patterns the import parser finds contacts with (`news.contact_patterns`):
   labelled names (联 系 人:王建明, 总监理工程师:陈卫东), mobiles, emails, phones with an
   area code or a 400/800 prefix, and bare local numbers after a phone label.

What stays visible: a name's surname, a phone's area code and first digit, a mobile's
first three digits, an email's first letter and domain; organisation names stay public.
`mask_text_collect` also returns what it hid, for the members-only search vector.
"""

import functools
import re
from dataclasses import dataclass

from news import contact_patterns as patterns

MASK = "*"

_CJK = "\u4e00-\u9fff"
_NAME = (
    rf"(?:[{_CJK}]{{2,4}}?(?=[^{_CJK}]|$|联系|电话|手机|邮|职务|职称|传真|地址)|[{_CJK}]{{2,3}})"
)
_PERSON_LABELS = (
    *patterns.PERSON_LABELS,
    *patterns.TITLED_PERSON_LABELS,
    *patterns.OTHER_PERSON_LABELS,
)
# A person (or a list of them) after a label: 联系人:王建明、李晓燕 / 项目经理: 陈卫东.
_LABELLED_NAMES = re.compile(
    rf"((?:{patterns.labels_alternation(_PERSON_LABELS)})\s*{patterns.COLON}\s*)"
    rf"({_NAME}(?:\s*[、,，/]\s*{_NAME})*)"
)
_NAME_IN_LIST = re.compile(_NAME)
# After a phone label every number in the run is a phone, with or without area code.
_LABELLED_NUMBERS = re.compile(
    rf"((?:{patterns.labels_alternation(patterns.NUMBER_LABELS)})\s*{patterns.COLON}?\s*)"
    r"([\d*()（）\-－—\s转、,，/;；]{7,})",
    re.IGNORECASE,
)
_AREA = re.compile(r"[(（]?(0\d{2,3}|[48]00)")


def mask_name(name: str) -> str:
    """王建明 → 王**: the surname alone tells a lead nothing."""
    name = name.strip()
    return name[:1] + MASK * max(len(name) - 1, 1) if name else ""


def _star_digits(text: str, keep: int) -> str:
    out, seen = [], 0
    for char in text:
        if char.isdigit():
            out.append(char if seen < keep else MASK)
            seen += 1
        else:
            out.append(char)
    return "".join(out)


def mask_number(number: str) -> str:
    """0511-83000001 → 0511-8*******, (0511)83000001 → (0511)8*******,
    13800000002 → 138********, 83000001 → 8*******."""
    number = number.strip()
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    if patterns.MOBILE.fullmatch(number) or re.fullmatch(r"(?:86)?1[3-9]\d{9}", digits):
        return _star_digits(number, len(digits) - 8)
    area = _AREA.match(number)
    if area and len(digits) >= 10:
        return _star_digits(number, len(area.group(1)) + 1)
    return _star_digits(number, 1)


mask_phone = mask_number


def mask_email(email: str) -> str:
    email = email.strip()
    if "@" not in email:
        return mask_number(email) if email else ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{MASK * 3}@{domain}"


_NUMBER_IN_VALUE = re.compile(r"\d[\d\- ]{5,}\d")
_NOT_DIGIT = re.compile(r"\D")

# How each kind of stored value is bounded in text (names have none: Chinese text has no
# spaces). `\w` and `\d` of the regex engine are str.isalnum() + "_" and str.isdecimal().
_BARE, _NUMBER, _EMAIL = 0, 1, 2


def _email_bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    return not (before and (before.isalnum() or before in "_.+-")) and not (
        after and (after.isalnum() or after in "_-")
    )


def _number_bounded(text: str, start: int, end: int) -> bool:
    return not (start and text[start - 1].isdecimal()) and not (
        end < len(text) and text[end].isdecimal()
    )


@functools.lru_cache(maxsize=2048)
def _value_literals(values: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """The literals to look for in text, longest first, each with its kind.

    Cached per set of values: a page masks each title, snippet and paragraph with the
    same contacts."""
    kinds: dict[str, int] = {}
    for value in values:
        value = (value or "").strip()
        if "@" in value:
            kinds[value] = _EMAIL
        elif any(c.isdigit() for c in value):
            for number in _NUMBER_IN_VALUE.findall(value):
                digits = _NOT_DIGIT.sub("", number)
                # The local part alone too: the text may print it without the area code.
                for literal in (number, digits[-8:] if len(digits) > 8 else digits):
                    kinds[literal] = _NUMBER
        elif len(value) >= 2:
            kinds[value] = _BARE
    # Stable: among equally long literals the first given wins, as in a regex alternation.
    return tuple(sorted(kinds.items(), key=lambda item: len(item[0]), reverse=True))


def _value_matches(text: str, literals) -> list[tuple[int, int]]:
    """(start, end) of the stored values in text, as a regex alternation of the literals
    (longest first) would match them scanning left to right, without compiling one per
    bulletin: every literal's occurrences are found with str.find, and at each position
    the first literal in order wins; matches do not overlap."""
    found = []
    for order, (literal, kind) in enumerate(literals):
        start = text.find(literal)
        while start != -1:
            end = start + len(literal)
            if (
                kind == _BARE
                or (kind == _NUMBER and _number_bounded(text, start, end))
                or (kind == _EMAIL and _email_bounded(text, start, end))
            ):
                found.append((start, order, end))
            start = text.find(literal, start + 1)
    matches, cursor = [], 0
    for start, _order, end in sorted(found):
        if start >= cursor:
            matches.append((start, end))
            cursor = end
    return matches


def _mask_value(value: str) -> str:
    if "@" in value:
        return mask_email(value)
    if any(c.isdigit() for c in value):
        return mask_number(value)
    return mask_name(value)


def mask_text_collect(text: str, *, values=()) -> tuple[str, list[str]]:
    """(masked text, the original strings it hid)."""
    hidden: list[str] = []

    def hide(original: str, masked: str) -> str:
        if masked != original:
            hidden.append(original)
        return masked

    # Literal search, not a regex of the values: compiling one per bulletin cost 0.3 ms
    # at import, more than all the matching (BENCHMARKS.md, Import).
    literals = _value_literals(tuple(values))
    if literals:
        parts, last = [], 0
        for start, end in _value_matches(text, literals):
            value = text[start:end]
            parts += (text[last:start], hide(value, _mask_value(value)))
            last = end
        if parts:
            text = "".join(parts) + text[last:]
    text = _LABELLED_NAMES.sub(
        lambda m: (
            m.group(1)
            + _NAME_IN_LIST.sub(lambda n: hide(n.group(0), mask_name(n.group(0))), m.group(2))
        ),
        text,
    )
    text = patterns.EMAIL.sub(lambda m: hide(m.group(0), mask_email(m.group(0))), text)
    text = patterns.MOBILE.sub(lambda m: hide(m.group(0), mask_number(m.group(0))), text)
    text = patterns.PREFIXED_LANDLINE.sub(lambda m: hide(m.group(0), mask_number(m.group(0))), text)
    text = _LABELLED_NUMBERS.sub(
        lambda m: (
            m.group(1)
            + patterns.LANDLINE.sub(lambda n: hide(n.group(0), mask_number(n.group(0))), m.group(2))
        ),
        text,
    )
    return text, hidden


def mask_text(text: str, *, values=()) -> str:
    """Mask phones, mobiles, emails and names in free text (bodies, titles, snippets)."""
    return mask_text_collect(text, values=values)[0]


def contact_values(contacts) -> list[str]:
    """The gated values of some contacts (model rows or views), for `values=`."""
    out = []
    for c in contacts:
        out.extend(v for v in (c.person, c.phone, c.mobile, c.email) if v)
    return out


@dataclass(frozen=True)
class ContactView:
    """What a page may show of one contact."""

    organization: str
    role: str
    person: str
    title: str
    phone: str
    mobile: str
    email: str
    masked: bool


def contact_view(contact, *, visible: bool) -> ContactView:
    if visible:
        return ContactView(
            contact.organization,
            contact.role,
            contact.person,
            contact.title,
            contact.phone,
            contact.mobile,
            contact.email,
            masked=False,
        )
    return ContactView(
        contact.organization,
        contact.role,
        mask_name(contact.person),
        contact.title,
        mask_number(contact.phone),
        mask_number(contact.mobile),
        mask_email(contact.email),
        masked=True,
    )
