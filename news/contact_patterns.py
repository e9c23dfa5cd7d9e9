"""The patterns that find contacts in text, shared by the import parser (which stores
them) and the masking module (which hides them): one definition, so whatever the
parser recognises as a contact, masking recognises too."""

import re

PERSON_LABELS = ("联系人", "项目联系人")
# People named by their job; the parser makes them contacts only if details follow.
TITLED_PERSON_LABELS = ("项目经理", "项目负责人", "技术负责人", "总监理工程师", "项目总监")
# Further job labels that name a person in prose; masking hides the name after them.
OTHER_PERSON_LABELS = (
    "负责人",
    "设计负责人",
    "总监",
    "总工",
    "监理工程师",
    "法定代表人",
    "法人代表",
    "经办人",
    "施工员",
    "安全员",
    "建造师",
)
TITLE_LABELS = ("职务", "职位")
PHONE_LABELS = ("电话", "联系电话", "座机", "办公电话", "固定电话", "联系方式")
MOBILE_LABELS = ("手机", "手机号", "手机号码", "移动电话")
EMAIL_LABELS = ("电子邮件", "电子邮箱", "邮箱", "邮件", "email", "e-mail")
# Labels after which a bare number (83000001, no area code) is a phone number.
NUMBER_LABELS = (*PHONE_LABELS, *MOBILE_LABELS, "传真", "热线", "咨询电话", "tel", "fax")

MOBILE = re.compile(r"(?<![\d-])(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
# (0511)83000001, 0511-83000001, 0511 83000001, 400-156-0001, 83000001 (+ extension).
LANDLINE = re.compile(
    r"(?<![\d-])(?:[(（]0\d{2,3}[)）]\s?|0\d{2,3}[- ]?|[48]00-?\d{3}-?)?\d{4}-?\d{3,4}"
    r"(?:(?:-|转)\d{1,6})?(?!\d)"
)
# Numbers that are phones on their own, with no label: an area code or a 400/800 prefix.
PREFIXED_LANDLINE = re.compile(
    r"(?<![\d-])(?:[(（]0\d{2,3}[)）]\s?\d{7,8}|0\d{2,3}[- ]?\d{7,8}|[48]00-?\d{3}-?\d{4})"
    r"(?:(?:-|转)\d{1,6})?(?!\d)"
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
COLON = "[:：]"


def label_pattern(label: str) -> str:
    # Short labels are often letter-spaced to align with longer ones: "联 系 人:", "电 话:".
    if label.isascii() or len(label) > 3:
        return re.escape(label)
    return r"\s?".join(map(re.escape, label))


def labels_alternation(labels) -> str:
    return "|".join(label_pattern(label) for label in sorted(set(labels), key=len, reverse=True))
