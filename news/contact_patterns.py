"""The patterns that find contacts in text, shared by the import parser (which stores
them) and the masking module (which hides them): one definition, so whatever the
parser recognises as a contact, masking recognises too.

Every pattern here runs on *folded* text (`fold`): full-width forms, dash variants and
odd spaces become their ASCII twins one character for one, so a match's offsets are the
original text's too. Numbers are recognised in the forms Chinese notices write them:
mobiles 13900000054 / 139-0000-0054 / 139 0000 0054 / +86 139…, landlines
0511-83000001 / (0512)68000051 / 0512—68000051 / 0512 6800 0051 / +86-512-…, with
extensions (-8001, 转8001, 分机8001, ext.8001), and 400/800 hotlines.
"""

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
    "联系人员",
    "联络人",
    "对接人",
    "业主代表",
    "监督人",
    "项目总工",
    "技术总工",
    "审核人",
    "经理",
)
TITLE_LABELS = ("职务", "职位")
PHONE_LABELS = ("电话", "联系电话", "座机", "办公电话", "固定电话", "联系方式")
MOBILE_LABELS = ("手机", "手机号", "手机号码", "移动电话")
EMAIL_LABELS = ("电子邮件", "电子邮箱", "邮箱", "邮件", "email", "e-mail")
# Labels after which a bare number (83000001, no area code) is a phone number.
NUMBER_LABELS = (
    *PHONE_LABELS,
    *MOBILE_LABELS,
    "传真",
    "热线",
    "咨询电话",
    "投诉电话",
    "监督电话",
    "举报电话",
    "号码",
    "tel",
    "fax",
    "phone",
    "mobile",
)
# Instant-messaging ids: not stored as contacts, always masked after their label.
IM_LABELS = ("QQ群", "QQ号码", "QQ号", "QQ", "Q Q", "扣扣", "微信号", "微信", "VX", "V信", "WeChat")

# --- folding ---------------------------------------------------------------------------------

# One character for one: offsets in folded text are offsets in the original.
_FOLD_MAP = {
    **{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},
    "\u3000": " ",
    "\u00a0": " ",
    **dict.fromkeys("\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\t", " "),
    # Dashes people type between digit groups: ‐ ‑ ‒ – — ― − ﹣ and the tilde.
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63~\u301c", "-"),
    "\ufe55": ":",
    "\ufe13": ":",
}
_FOLDABLE = re.compile("[" + re.escape("".join(_FOLD_MAP)) + "]")


def fold(text: str) -> str:
    """Full-width, dash and space variants to ASCII, keeping every offset."""
    if not _FOLDABLE.search(text):
        return text
    return _FOLDABLE.sub(lambda m: _FOLD_MAP[m.group(0)], text)


# --- numbers ---------------------------------------------------------------------------------

# Not part of a longer number, code or URL on the left; not an amount on the right.
_LEFT = r"(?<![\dA-Za-z_/=.#&%-])"
_NOT_AMOUNT = r"(?!\d)(?!\.\d)(?!\s?(?:万|元|亿|%|平方|㎡))"
_EXTENSION = r"(?:\s?(?:-|转|分机|ext\.?|EXT\.?|Ext\.?|x|#)\s?\d{1,6}(?!\d))?"
_CHINA = r"(?:(?:\+|00)\s?86\s?-?\s?|\(\+?86\)\s?|86-)"

# 13900000054, 139-0000-0054, 139 0000 0054, 1391 508 6274, +86 139…, (+86)139…
# Each pattern opens with a lookahead on its first character: a cheap test at every
# position of a 3 KB body before the costlier lookbehind runs.
MOBILE = re.compile(rf"(?=[+(081]){_LEFT}{_CHINA}?1[3-9]\d(?:[- .]?\d){{8}}{_NOT_AMOUNT}")
# With an area code (or +86 and the code without its 0), any grouping of the local number.
PREFIXED_LANDLINE = re.compile(
    rf"(?=[+(08]){_LEFT}(?:{_CHINA}(?:\(0\)\s?)?\(?0?\d{{2,3}}\)?|\(0\d{{2,3}}\)|0\d{{2,3}})"
    rf"\s?-{{0,2}}\s?[1-9]\d{{2,3}}[- ]?\d{{4}}{_EXTENSION}{_NOT_AMOUNT}"
)
# 400-820-1234, 4008-201-234, 400 615 2380, 8008205163.
HOTLINE = re.compile(rf"(?=[48]){_LEFT}[48]00(?:[- ]?\d){{7}}{_EXTENSION}{_NOT_AMOUNT}")
# A number after a phone label, area code or not: 83000001, 8300-0001, 5261387.
LANDLINE = re.compile(
    r"(?<![\d-])(?:[(]0\d{2,3}[)]\s?|0\d{2,3}[- ]?|[48]00-?\d{3}-?)?\d{3,4}[- ]?\d{3,4}"
    r"(?:(?:-|转)\d{1,6})?(?!\d)"
)
EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+(?:@|\s@\s|\s?\((?:at|AT)\)\s?|\[(?:at|AT)\])"
    r"[A-Za-z0-9\u4e00-\u9fff-]+(?:\.[A-Za-z0-9\u4e00-\u9fff-]+)*"
    r"\.(?:[A-Za-z]{2,10}|中国|公司|网络)(?![A-Za-z])"
    # The obfuscated "name#126.com" of notices that fear spam robots.
    r"|[A-Za-z0-9._%+-]+#[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|cn|net|org)(?![A-Za-z])"
)
COLON = "[:：]"


def label_pattern(label: str) -> str:
    # Short labels are often letter-spaced to align with longer ones: "联系人:", "电  话:".
    if label.isascii() or len(label) > 3:
        return re.escape(label)
    return r"\s{0,2}".join(map(re.escape, label))


def labels_alternation(labels) -> str:
    return "|".join(label_pattern(label) for label in sorted(set(labels), key=len, reverse=True))
