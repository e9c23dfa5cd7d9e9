"""Masking of contact data: the one module every output path uses for non-members.

Text is masked in one pass over its *folded* twin (`contact_patterns.fold`: full-width
digits, dash and space variants as ASCII, offsets unchanged). What is hidden:
1. every stored contact value of the bulletin (person, phone, mobile, email) wherever
   it occurs, however the text happens to format it;
2. what the import parser's patterns (`news.contact_patterns`) recognise anywhere:
   mobiles, landlines with an area code, 400/800 hotlines (any grouping of digits, with
   extensions), emails (also name(at)host, name#126.com);
3. what labels announce: the names after 联系人/项目经理/负责人… (also letter-spaced, with
   no colon, or several in a list), QQ numbers and 微信 ids after their labels, a name
   written next to a phone (王工 139…, 139…(吴女士));
4. and, failing closed, **any run of 7 or more digits** in a contact context whether or
   not anything above recognised it: from a 联系方式 heading to the next section, and
   after any contact label to the end of its line or sentence. Dates, times, amounts and
   areas with their units, and codes glued to letters are left alone there.

What stays visible: a name's surname, a phone's area code and first digit, a mobile's
first three digits, an email's first letter and domain, an id's first character;
organisation names stay public. `mask_text_collect` also returns what it hid, for the
members-only search vector (and so that public search cannot find what was hidden).
"""

import functools
import re
from dataclasses import dataclass

from news import contact_patterns as patterns

MASK = "*"

_CJK = "\u4e00-\u9fff"
# Words a name never holds: where a name ends and the next label starts.
_NAME_STOP = (
    "联系|电话|手机|邮|职务|职称|传真|地址|微信|QQ|座机|及|和|与|或|负责|经理|总监|总工|技术"
)
_HONORIFIC = "先生|女士|小姐|经理|工|总"
_NAME = (
    rf"(?:[{_CJK}]{{1,2}}(?:先生|女士|小姐|经理)"
    rf"|[{_CJK}]{{2,4}}?(?=[^{_CJK}]|$|{_NAME_STOP})"
    rf"|(?!{_NAME_STOP})[{_CJK}]{{2,3}})"
)
# Between two names of a list: 王建明、李晓燕 / 胡斌  朱琳 / 高翔 及 马丽.
_NAME_SEP = r"(?:[ ]*[、,，/;；][ ]*|[ ]*(?:及|和|与)[ ]*|[ ]{1,3})"
_PERSON_LABELS = (
    *patterns.PERSON_LABELS,
    *patterns.TITLED_PERSON_LABELS,
    *patterns.OTHER_PERSON_LABELS,
)
_PERSON_LABEL = (
    rf"(?:{patterns.labels_alternation(_PERSON_LABELS)})"
    # 联系人及电话 / 项目负责人(项目经理) / 联系人(甲方)
    r"(?:(?:及|和|/|、)(?:联系)?(?:电话|方式|手机))?(?:\s?\([^()\n]{1,8}\))?"
)
# Labels that end a list of names: 联系人:王建明、电话:… must not take 电话 as a name.
_ANY_LABEL = (
    rf"(?:{patterns.labels_alternation((*_PERSON_LABELS, *patterns.NUMBER_LABELS))}"
    rf"|{patterns.labels_alternation((*patterns.EMAIL_LABELS, *patterns.IM_LABELS))}|地址|职务)"
)
# A person (or a list) after a label: 联系人:王建明、李晓燕 / 项目经理: 陈卫东 /
# 联系人 万里 / 联系人—覃勇 / 联系人王先生.
_LABELLED_NAMES = re.compile(
    rf"{_PERSON_LABEL}(?:[ ]*[:：][ ]*|[ ]*-{{1,2}}[ ]*"
    rf"|(?=[{_CJK}]{{1,2}}(?:{_HONORIFIC}))"
    # No colon: 联系人万里电话… / 项目经理严俊,联系电话… / 监督人 夏雨。 Only before a
    # phone or a sentence end, and never a word (负责人 应当…, 建造师执业资格。).
    rf"|(?P<glued>[ ]{{0,3}}(?=[{_CJK}]{{2,4}}?"
    r"(?:[,，、 ]{0,2}(?:联系)?(?:电话|手机|[:：]?[ ]?[\d(+（])|[。；;]|$))))"
    rf"(?P<names>(?!{_ANY_LABEL}){_NAME}(?:{_NAME_SEP}(?!{_ANY_LABEL}){_NAME})*)",
    re.IGNORECASE,
)
_NAME_IN_LIST = re.compile(rf"(?!{_ANY_LABEL}){_NAME}", re.IGNORECASE)
# A surname and an honorific where people are asked to call: 请与刘工联系 / 陈工:139….
_HONORIFIC_NAME = re.compile(
    rf"(?:(?<=与|找|向|请|致|由|或|询)|(?<![{_CJK}]))"
    rf"(?!施工|石工|化工|电工|木工|人工|员工|职工|竣工|完工|开工|动工|监工|分工|加工|用工|总工)"
    rf"([{_CJK}](?:先生|女士|小姐|工|经理|总))(?=[^{_CJK}]|$|联系|电话|手机|微信)"
)
# A name written beside a phone with no label: 王工 139…, 张海峰 0511-…, 139…(吴女士).
_WORDS_NOT_NAMES = re.compile(
    "电话|手机|传真|热线|联系|方式|号码|邮箱|地址|公司|中心|办公|咨询|投诉|监督|举报|服务"
    "|座机|固话|移动|值班|客服|单位|部门|科室|微信|分机|同号|招标|代理|局|院|所|处|室|站|厂"
    "|其他|如下|或|及|和|均|为|是|在|至|日|月|年|时|分|编号|编码|代码|号|金额|价|费"
    "|我们|我司|本|贵|业主|甲方|乙方|采购|建设|施工|监理|设计|相关|事宜|确认|报名|领取"
    "|邮|电子|职务|职称|身份|资格|执业|证书|资质|要求|须|应|具备|负责|担任|到场|在场|人员"
)
_NAME_BEFORE = re.compile(rf"(?<![{_CJK}])([{_CJK}]{{2,4}})[ :：,，/|、(（]{{0,3}}\Z")
# Names written after a verb in prose: 请联系郭敏,电话… / 电话告知章明 / 联系财务方圆(…).
_VERB_NAME = re.compile(
    rf"(?:联系|告知|致电|询问|联络|通知)([{_CJK}]{{2,4}}?)(?=[,，、(（\s:：]|电话|手机|\d|$)"
)
_NEAR_NUMBER = 40  # a prose name counts only with a phone this close in its sentence
_NAME_AFTER = re.compile(rf"^ ?[(（/ ] ?([{_CJK}]{{2,4}})(?:[)）]|(?![{_CJK}:：]))")
# QQ numbers and 微信 ids after their labels (微信同号: the phone itself, masked anyway).
_IM_ID = re.compile(
    rf"(?=[QqVvWw扣微])(?<![A-Za-z])(?:{patterns.labels_alternation(patterns.IM_LABELS)})"
    r"(?:号码|号)?\s*(?:[:：]\s*|\s+|(?=[A-Za-z0-9]))([A-Za-z0-9][-_A-Za-z0-9.]{3,24}[A-Za-z0-9])",
    re.IGNORECASE,
)
# After a phone label every number in the run is a phone, with or without area code.
_LABELLED_NUMBERS = re.compile(
    rf"(?:{patterns.labels_alternation(patterns.NUMBER_LABELS)})\s*[:：]?\s*"
    r"([\d*()+\-\s转/、,，;；或]{5,})",
    re.IGNORECASE,
)
_AREA = re.compile(r"[(（]?(0\d{2,3}|[48]00)")

# --- fail closed: 7+ digits in a contact context -------------------------------------------

_TOP_HEADING = (
    r"(?:[一二三四五六七八九十百]+\s*[、.．]|第[一二三四五六七八九十百\d]+[章节部分]"
    r"|\d{1,2}\s*[、．]|\d{1,2}\.(?!\d))"
)
# 六、联系方式 / (三)联系方式: / 八、招标人及招标代理机构联系方式 / 联系方式
_CONTACT_HEADING = re.compile(
    rf"^\s*(?:{_TOP_HEADING}|[(（][一二三四五六七八九十\d]+[)）])?\s*"
    r"[^\n:：]{0,16}?(?:联系方式|联系信息|联络方式|联系人及联系方式|联系人及电话|联系电话)\s*[:：]?\s*$",
    re.MULTILINE,
)
_NEXT_SECTION = re.compile(rf"^\s*{_TOP_HEADING}", re.MULTILINE)
# Any label that announces a contact: the rest of its line or sentence is a contact context.
_CONTACT_LABEL = re.compile(
    r"(?=[联电手传热邮座分号咨投举监负经总工建代对QqVv微扣TtFfPpMm])(?:联系|电\s{0,2}话|手\s{0,2}机|传\s{0,2}真|热线|邮箱|邮件|座机|分机|号码|咨询|投诉|举报|监督"
    r"|负责人|经理|总监|总工|工程师|建造师|代表|经办人|联络|对接人|QQ|微信|扣扣|VX"
    r"|tel|fax|phone|mobile)",
    re.IGNORECASE,
)
_CONTEXT_END = re.compile(r"[\n。]")
# Digits with one separator between groups: 0512 6800 0051, 139-0000-0054, (0512) 6800….
_DIGIT_RUN = re.compile(r"\d(?:(?:[-. ]|\) ?)?\d)*")
# Numbers that are not contacts, even in a contact context: dates, times, amounts and
# sizes with their unit, money with its sign, decimals, and codes after their label.
_NOT_CONTACT = re.compile(
    r"(?=[\d¥￥$人RrHhWw编代文证许批标账帐税信])(?:(?:19|20)\d{2}\s?[-./年]\s?\d{1,2}\s?[-./月]\s?\d{1,2}日?(?:\s?\d{1,2}[:：]\d{2})?"
    r"|(?<!\d)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"
    r"|\d{1,2}[:：]\d{2}"
    r"|\d[\d,.]*\s?(?:万元|元|万|亿|千|百|%|％|‰|平方米|平方|㎡|m²|m2|米|公里|km|吨|天|日历天|个月|年|个|台|套|人|户|亩|辆|股|份|页)"
    r"|(?:¥|￥|\$|人民币|RMB)\s?\d[\d,.]*"
    r"|(?<![\d.])\d+\.\d{1,3}(?![\d.])"
    r"|(?:编号|编码|代码|文号|证号|证书号|许可证号|批号|标段号|账号|帐号|税号|信用代码)\s*[:：]?\s*[\u4e00-\u9fff]{0,2}[-A-Za-z0-9]+"
    r"|(?:https?://|www\.)[-A-Za-z0-9._~:/?#@!$&'()*+,;=%]+)",
    re.IGNORECASE,
)
# A code after its label is not a phone, whatever its digits look like.
_CODE_VALUE = re.compile(
    r"(?:编号|编码|代码|文号|证号|证书号|许可证号|批号|标段号|税号|信用代码)\s*[:：]?\s*"
    r"([\u4e00-\u9fff]{0,2}[-A-Za-z0-9]+)"
)
_MIN_RUN_DIGITS = 7


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


_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


def mask_number(number: str) -> str:
    """0511-83000001 → 0511-8*******, (0511)83000001 → (0511)8*******,
    13800000002 → 138********, 139-0000-0054 → 139-****-****, 83000001 → 8*******."""
    number = number.strip()
    if not number:
        return ""
    folded = patterns.fold(number)
    digits = _NOT_ASCII_DIGIT.sub("", folded)
    if re.fullmatch(r"(?:0086|86)?1[3-9]\d{9}", digits):
        return _star_digits(number, len(digits) - 8)
    area = _AREA.match(folded)
    if area and len(digits) >= 10:
        return _star_digits(number, len(area.group(1)) + 1)
    return _star_digits(number, 1)


mask_phone = mask_number

_EMAIL_AT = re.compile(r"\s?(?:@|\((?:at|AT)\)|\[(?:at|AT)\]|#)\s?")


def mask_email(email: str) -> str:
    email = email.strip()
    at = _EMAIL_AT.search(patterns.fold(email))
    if at is None or at.start() == 0:
        return mask_number(email) if email else ""
    return f"{email[:1]}{MASK * 3}{email[at.start() :]}"


def mask_id(value: str) -> str:
    """A QQ number or 微信 id: its first character."""
    return value[:1] + MASK * max(len(value) - 1, 1)


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
    """The literals to look for in (folded) text, longest first, each with its kind.

    Cached per set of values: a page masks each title, snippet and paragraph with the
    same contacts."""
    kinds: dict[str, int] = {}
    for value in values:
        value = patterns.fold((value or "").strip())
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


# --- finding what to hide ---------------------------------------------------------------------

# Span kinds, each with its mask. Stored values come first among spans that start at one
# place; a span overlapping one already taken masks only what sticks out, fully.
_VALUE, _NAME_K, _NUMBER_K, _EMAIL_K, _ID_K, _REST_K = range(6)
_MASKERS = {
    _VALUE: _mask_value,
    _NAME_K: mask_name,
    _NUMBER_K: mask_number,
    _EMAIL_K: mask_email,
    _ID_K: mask_id,
    _REST_K: lambda text: re.sub(r"[0-9A-Za-z\u4e00-\u9fff]", MASK, patterns.fold(text)),
}


def _contexts(folded: str) -> list[tuple[int, int]]:
    """Where any digit run is a contact: 联系方式 sections and the rest of a labelled
    line (or sentence)."""
    spans = []
    for heading in _CONTACT_HEADING.finditer(folded):
        following = _NEXT_SECTION.search(folded, heading.end())
        spans.append((heading.start(), following.start() if following else len(folded)))
    for label in _CONTACT_LABEL.finditer(folded):
        end = _CONTEXT_END.search(folded, label.end())
        spans.append((label.start(), end.start() if end else len(folded)))
    return spans


def _fail_closed_numbers(folded: str) -> list[tuple[int, int]]:
    found = []
    merged: list[list[int]] = []
    for start, end in sorted(_contexts(folded)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        # Blank what is not a contact (one character for one), then take the long runs.
        scan = _NOT_CONTACT.sub(lambda m: "#" * len(m.group(0)), folded[start:end])
        for run in _DIGIT_RUN.finditer(scan):
            s, e = run.span()
            if sum(c.isdigit() for c in run.group(0)) < _MIN_RUN_DIGITS:
                continue
            before = folded[start + s - 1] if start + s else ""
            after = folded[start + e] if start + e < len(folded) else ""
            if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()):
                continue  # glued to letters: a code (JSZB2024…, 91321100MA…)
            found.append((start + s, start + e))
    return found


def _names_beside(folded: str, numbers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A name written right before or after a phone number, with no label."""
    found = []
    for start, end in numbers:
        cursor = start
        while before := _NAME_BEFORE.search(folded, max(0, cursor - 8), cursor):
            if _WORDS_NOT_NAMES.search(before.group(1)):
                break
            found.append(before.span(1))  # and the names listed before it: 许丹、韩梅:025-…
            cursor = before.start(1)
        after = _NAME_AFTER.match(folded[end : end + 8])
        if after and not _WORDS_NOT_NAMES.search(after.group(1)):
            found.append((end + after.start(1), end + after.end(1)))
    for verb in _VERB_NAME.finditer(folded):
        name_end = verb.end(1)
        sentence = _CONTEXT_END.search(folded, name_end)
        limit = min(name_end + _NEAR_NUMBER, sentence.start() if sentence else len(folded))
        near = any(name_end <= s < limit for s, _ in numbers)
        if near and not _WORDS_NOT_NAMES.search(verb.group(1)):
            found.append(verb.span(1))
    return found


def _spans(folded: str, values) -> list[tuple[int, int, int]]:
    spans: list[tuple[int, int, int]] = []
    literals = _value_literals(tuple(values))
    if literals:
        spans += [(s, e, _VALUE) for s, e in _value_matches(folded, literals)]
    numbers = []
    for pattern in (patterns.MOBILE, patterns.PREFIXED_LANDLINE, patterns.HOTLINE):
        numbers += [m.span() for m in pattern.finditer(folded)]
    for labelled in _LABELLED_NUMBERS.finditer(folded):
        offset = labelled.start(1)
        run = labelled.group(1)
        numbers += [(offset + m.start(), offset + m.end()) for m in patterns.LANDLINE.finditer(run)]
    numbers = sorted(set(numbers))
    codes = [m.span(1) for m in _CODE_VALUE.finditer(folded)]
    if codes:
        numbers = [n for n in numbers if not any(s <= n[0] < e for s, e in codes)]
    spans += [(s, e, _NUMBER_K) for s, e in numbers]
    # Failing closed: the digits of a long run in a contact context that nothing above
    # recognised (a run may join numbers that were: 0511-83000001) 13800000002).
    taken = sorted((s, e) for s, e, _ in spans)
    for start, end in _fail_closed_numbers(folded):
        for piece in _uncovered(start, end, taken):
            if any(c.isdigit() for c in folded[piece[0] : piece[1]]):
                # A whole run shows its first digit; a fragment beside a number, none.
                spans.append((*piece, _NUMBER_K if piece == (start, end) else _REST_K))
                numbers.append(piece)
    spans += [(m.start(), m.end(), _EMAIL_K) for m in patterns.EMAIL.finditer(folded)]
    for labelled in _LABELLED_NAMES.finditer(folded):
        names = labelled.group("names")
        if labelled.group("glued") is not None and _WORDS_NOT_NAMES.search(names):
            continue  # 建造师执业资格: a label glued to prose, not to a name
        offset = labelled.start("names")
        for name in _NAME_IN_LIST.finditer(names):
            spans.append((offset + name.start(), offset + name.end(), _NAME_K))
    spans += [(*m.span(1), _NAME_K) for m in _HONORIFIC_NAME.finditer(folded)]
    spans += [(s, e, _NAME_K) for s, e in _names_beside(folded, numbers)]
    spans += [(*m.span(1), _ID_K) for m in _IM_ID.finditer(folded)]
    return spans


def _uncovered(start: int, end: int, taken) -> list[tuple[int, int]]:
    """The parts of [start, end) that no taken span covers."""
    pieces, cursor = [], start
    for s, e in taken:
        if e <= cursor or s >= end:
            continue
        if s > cursor:
            pieces.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def mask_spans(text: str, *, values=()) -> list[tuple[int, int, int]]:
    """Where `text` is masked and how: (start, end, kind), ordered, never overlapping.
    Stored with a bulletin (news/mask_plans.py) so pages apply them instead of finding
    them again."""
    spans = _spans(patterns.fold(text), values)
    resolved, cursor = [], 0
    for start, end, kind in sorted(spans, key=lambda s: (s[0], s[2] != _VALUE, -s[1])):
        if end <= cursor:
            continue
        if start < cursor:  # overlaps what is masked already: hide what sticks out
            start, kind = cursor, _REST_K
        resolved.append((start, end, kind))
        cursor = end
    return resolved


def apply_spans(text: str, spans) -> tuple[str, list[str]]:
    """(masked text, the original strings it hid) for spans from `mask_spans`."""
    if not spans:
        return text, []
    hidden: list[str] = []
    parts, cursor = [], 0
    for start, end, kind in spans:
        original = text[start:end]
        masked = _MASKERS[kind](original)
        if masked != original:
            hidden.append(original)
        parts += (text[cursor:start], masked)
        cursor = end
    return "".join(parts) + text[cursor:], hidden


def mask_text_collect(text: str, *, values=()) -> tuple[str, list[str]]:
    """(masked text, the original strings it hid)."""
    return apply_spans(text, mask_spans(text, values=values))


def mask_text(text: str, *, values=()) -> str:
    """Mask phones, mobiles, emails, ids and names in free text (bodies, titles, snippets)."""
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
