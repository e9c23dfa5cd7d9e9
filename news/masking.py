"""Masking of contact data: the one function every output path uses for non-members."""

import re
from dataclasses import dataclass

MASK = "*"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_PHONE = re.compile(r"(?<![\d-])(0\d{2,3})[-－ ]?(\d{7,8})(?![\d])")
# A person named after a contact label: 联系人:王建明 / 项目经理:陈卫东.
_LABELLED_NAME = re.compile(
    r"((?:联系人|项目经理|项目负责人|设计负责人|技术负责人|负责人|总监|法定代表人)\s*[:：]\s*)"
    r"([\u4e00-\u9fff]{2,4})"
)


def mask_name(name: str) -> str:
    """王建明 → 王**: the surname alone tells a lead nothing."""
    name = name.strip()
    return name[:1] + MASK * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    """0511-83000001 → 0511-8*******; keeps the area code so the region stays visible."""
    phone = phone.strip()
    if not phone:
        return ""
    head, sep, tail = phone.rpartition("-")
    if sep and head:
        return f"{head}-{tail[:1]}{MASK * (len(tail) - 1)}"
    return phone[:3] + MASK * max(len(phone) - 3, 4)


def mask_email(email: str) -> str:
    email = email.strip()
    if "@" not in email:
        return mask_phone(email) if email else ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{MASK * 3}@{domain}"


def mask_text(text: str) -> str:
    """Mask phones, mobiles, emails and labelled names in free text (bodies, snippets)."""
    text = _LABELLED_NAME.sub(lambda m: m.group(1) + mask_name(m.group(2)), text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = _MOBILE.sub(lambda m: m.group(1) + MASK * 8, text)
    return _PHONE.sub(
        lambda m: f"{m.group(1)}-{m.group(2)[:1]}{MASK * (len(m.group(2)) - 1)}", text
    )


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
        mask_phone(contact.phone),
        mask_phone(contact.mobile),
        mask_email(contact.email),
        masked=True,
    )
