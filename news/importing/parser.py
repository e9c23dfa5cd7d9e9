"""Plain text of a bulletin page -> ParsedBulletin.

Page layout (see demo/bulletins): header boilerplate, title, a ``YYYY-MM-DD 省-市-区`` line,
``所在地区: … 发布日期: …``, a ``<分类>正文`` marker, body paragraphs, the source-URL line,
then site boilerplate.  Reposts carry other chrome, so boilerplate is removed by structure
(everything after the source/footer marker, header lines before the title) plus a short list
of line patterns - never by matching article sentences.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from news import contact_patterns as patterns

from .bid_results import BidRow, parse_bid_results
from .decoding import ParseError, decode_bytes

SHANGHAI = ZoneInfo("Asia/Shanghai")
AWARD_CATEGORY = "中标公告"


@dataclass(frozen=True)
class ParsedContact:
    organization: str = ""
    role: str = ""
    name: str = ""
    title: str = ""
    phone: str = ""
    mobile: str = ""
    email: str = ""


@dataclass(frozen=True)
class ParsedBulletin:
    title: str
    published: datetime.date
    region: tuple[str, ...]
    category: str
    paragraphs: tuple[str, ...]
    source_url: str = ""
    source_name: str = ""
    credits: dict = field(default_factory=dict)
    amount_yuan: int | None = None
    deadline: datetime.datetime | None = None  # 投标截止 -> Bulletin.bid_deadline
    opening_at: datetime.datetime | None = None  # 开标时间
    registration_deadline: datetime.datetime | None = None  # 报名 / 获取招标文件截止
    stage: str = ""
    winner: str = ""
    project_manager: str = ""
    contacts: tuple[ParsedContact, ...] = ()
    bid_results: tuple[BidRow, ...] = ()  # an award's bidders (news/importing/bid_results.py)
    budget_yuan: int | None = None  # the ceiling an award notice states beside its results

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)


def parse_bytes(data: bytes) -> ParsedBulletin:
    return parse_text(decode_bytes(data))


def parse_text(text: str) -> ParsedBulletin:
    lines = _clean_lines(text)
    if not lines:
        raise ParseError("文件为空")
    meta_start = _find_meta_start(lines)
    if meta_start is None:
        raise ParseError("缺少发布日期(未找到“YYYY-MM-DD 地区”行或“发布日期:”)")
    meta = _read_meta(lines, meta_start)
    if meta.published is None:
        raise ParseError("缺少发布日期")
    title = _find_title(lines[:meta_start])
    body_lines, source_url = _cut_footer(lines[meta.body_start :])
    paragraphs = tuple(line for line in body_lines if not _is_boilerplate(line))
    if not paragraphs:
        raise ParseError("正文为空")
    body = "\n".join(paragraphs)
    contacts, winner, project_manager = _extract_contacts(paragraphs)
    deadlines = extract_deadlines(body)
    # Results are read from award notices only: a tender notice's 投标人须知 or a news
    # item about a past 中标 is not a result.
    award = meta.category == AWARD_CATEGORY
    bids = tuple(parse_bid_results(paragraphs, title)) if award else ()
    return ParsedBulletin(
        title=title,
        published=meta.published,
        region=meta.region,
        category=meta.category,
        paragraphs=paragraphs,
        source_url=source_url,
        source_name=_source_name(lines),
        credits=_extract_credits(paragraphs[-1]),
        amount_yuan=_extract_amount(body),
        deadline=deadlines.bid,
        opening_at=deadlines.opening,
        registration_deadline=deadlines.registration,
        stage=_extract_stage(body),
        winner=winner,
        project_manager=project_manager,
        contacts=contacts,
        bid_results=bids,
        budget_yuan=extract_budget(body) if bids else None,
    )


def normalised_fingerprint(parsed: ParsedBulletin) -> str:
    """sha256 of title + body with width/punctuation/whitespace differences erased."""
    text = unicodedata.normalize("NFKC", parsed.title + "".join(parsed.paragraphs))
    return hashlib.sha256(_NOT_LETTER_OR_DIGIT.sub("", text).encode()).hexdigest()


# Whitespace, punctuation and symbols of any script (everything that is not str.isalnum).
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


# --- line cleaning -------------------------------------------------------------------------

# Full-width ASCII (：（），１２３…) -> ASCII, as the portal itself renders pages; this makes
# label matching simple and full-width reposts identical to the original.  (A regex instead of
# str.translate: translate with a dict costs ~0.2 ms per page.)
_FOLDABLE = re.compile(r"[\uff01-\uff5e\u200b-\u200d\ufeff]+")
# Any Unicode space but newline (EN SPACE, NBSP, U+3000, tab) becomes one " ".
_SPACES = re.compile(r"[^\S\n]+")


def _fold_width(match: re.Match[str]) -> str:
    return "".join(chr(ord(ch) - 0xFEE0) for ch in match.group(0) if ch >= "\uff01")


def clean_lines(text: str) -> list[str]:
    """Lines of a text, width-folded, spaces collapsed, blank ones dropped."""
    return _clean_lines(text)


def _clean_lines(text: str) -> list[str]:
    text = _FOLDABLE.sub(_fold_width, text).replace("\r\n", "\n").replace("\r", "\n")
    lines = (line.strip() for line in _SPACES.sub(" ", text).split("\n"))
    return [line for line in lines if line]


# --- header / meta -------------------------------------------------------------------------

_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"
# Strict on purpose: a body sentence starting with a date must not be taken for meta.
_DATE_LINE = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
    r"(?:\s+([\u4e00-\u9fff]+(?:-[\u4e00-\u9fff]+)*))?$"
)
_META_LABEL = re.compile(r"(?:^|\s)(?:所在地区|发布日期|发布时间)\s*:")
_REGION_LABEL = re.compile(r"所在地区\s*:\s*(\S+)")
_PUBLISHED_LABEL = re.compile(rf"(?:发布日期|发布时间)\s*:\s*{_DATE}")
_REGION = re.compile(r"^[\u4e00-\u9fff]+(?:-[\u4e00-\u9fff]+)*$")
_CATEGORY_MARKER = re.compile(r"^(\S{2,10}?)正文$")


@dataclass
class _Meta:
    body_start: int
    published: datetime.date | None = None
    region: tuple[str, ...] = ()
    category: str = ""


def _is_meta(line: str) -> bool:
    return _DATE_LINE.match(line) is not None or _META_LABEL.search(line) is not None


def _find_meta_start(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if _is_meta(line)), None)


def _read_meta(lines: list[str], start: int) -> _Meta:
    meta = _Meta(body_start=start)
    i = start
    while i < len(lines) and (_is_meta(lines[i]) or _is_boilerplate(lines[i])):
        _read_meta_line(lines[i], meta)
        i += 1
    if i < len(lines) and (marker := _CATEGORY_MARKER.match(lines[i])):
        meta.category = marker.group(1)
        i += 1
    meta.body_start = i
    return meta


def _read_meta_line(line: str, meta: _Meta) -> None:
    if match := _DATE_LINE.match(line):
        meta.published = meta.published or _make_date(*match.groups()[:3])
        if not meta.region and match.group(4):
            meta.region = tuple(match.group(4).split("-"))
    if not meta.published and (match := _PUBLISHED_LABEL.search(line)):
        meta.published = _make_date(*match.groups())
    if not meta.region and (match := _REGION_LABEL.search(line)) and _REGION.match(match[1]):
        meta.region = tuple(match[1].split("-"))


def _make_date(year: str, month: str, day: str) -> datetime.date:
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError as exc:
        raise ParseError(f"发布日期无效: {year}-{month}-{day}") from exc


def _find_title(header: list[str]) -> str:
    # Breadcrumbs and site names precede the title, so the last real line wins.
    for line in reversed(header):
        if not _is_boilerplate(line):
            return line
    raise ParseError("缺少标题")


# --- footer / boilerplate ------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"'，。、]+")
_SOURCE_LINE = re.compile(
    r"^(?:如有附件或图片请到网址中下载或查看|(?:原文|来源|信息来源)(?:链接|地址|网址)\s*:?)"
)
_OWN_FOOTER = "按照客观、公正、公开的原则"
_FOOTER_START = re.compile(
    r"免责声明|版权声明|版权所有|Copyright|©|注册会员|标讯查询服务|标讯定制服务", re.IGNORECASE
)
# Whole lines of site chrome; all anchored at the line start (used with .match).
_BOILERPLATE = re.compile(
    "|".join(
        (
            r"办理会员",
            r"[^:]{0,12}热线\s*:?\s*[\d-]{7,}$",
            r"(?:信息)?来源\s*:.{0,40}$",
            r"(?:作者|责任编辑|编辑|校对|审核|审校|初审|终审)\s*:\s*\S{1,12}$",
            r"(?:扫一扫|分享到|打印本页|关闭窗口|返回顶部|返回列表|上一篇|下一篇|相关阅读|相关新闻)",
            r"(?:【|\[)(?:打印|关闭|字体)",
            r"(?:浏览次数|阅读次数|点击数|点击量|访问量|阅读量|字号)\s*:",
            r"(?:首页|当前位置|您的位置|您现在的位置)\s*(?::|>|»)",
            r"[\u4e00-\u9fff] [\u4e00-\u9fff]$",  # vertical widget labels: 意 见 / 反 馈
        )
    )
)


def _is_boilerplate(line: str) -> bool:
    return _BOILERPLATE.match(line) is not None


# Other sites' chrome after an article: the article ends at the first of these lines.
_CHROME_END = re.compile(
    "|".join(
        (
            r"[(\[【]?(?:本文|文章|信息|稿件|新闻)?来源\s*:",
            r".{0,6}转载",
            r"(?:责任编辑|编辑|校对|审核)\s*:",
            r"(?:推荐阅读|相关阅读|相关新闻|相关文章|相关链接|热门推荐|热点推荐|猜你喜欢|延伸阅读)",
            r"更多.{0,30}(?:请关注|请访问|敬请关注|欢迎关注)",
            r"(?:分享到|上一篇|下一篇|上一条|下一条|打印本页|关闭窗口|返回顶部|返回列表)",
            r"[【\[](?:打印|关闭|收藏)",
        )
    )
)
_SOURCE_NAME = re.compile(
    r"(?:^|[\s(\[【])(?:本文|文章|信息|稿件|新闻)?来源\s*:\s*([^\s()\[\]【】:,;。]{2,30})"
)


def _cut_footer(lines: list[str]) -> tuple[list[str], str]:
    """Body lines before the source-URL / footer / other sites' chrome, and the source URL
    (which other sites' chrome may precede)."""
    end = len(lines)
    for i, line in enumerate(lines):
        if _SOURCE_LINE.match(line) or _OWN_FOOTER in line or _FOOTER_START.match(line):
            end = i
            break
        if i > 0 and _CHROME_END.match(line):
            # A 来源 line opening the body is the article's own byline, not its end.
            end = i
            break
    return lines[:end], _source_url(lines[end:])


def _source_url(tail: list[str]) -> str:
    for i, line in enumerate(tail):
        if match := _SOURCE_LINE.match(line):
            url = _URL.search(line, match.end())
            if url is None and i + 1 < len(tail):
                url = _URL.match(tail[i + 1])  # URL rendered as its own line
            return url.group(0).rstrip(".,;") if url else ""
    return ""


def _source_name(lines: list[str]) -> str:
    """The publication a page names as its source (来源:镇江日报), if any."""
    for line in lines:
        if (match := _SOURCE_NAME.search(line)) and not match.group(1).startswith("http"):
            return match.group(1)
    return ""


# --- credits -------------------------------------------------------------------------------

_CREDIT_ROLE = re.compile(
    r"(见习记者|特约记者|实习记者|记者|通讯员|实习生|摄影|摄像|责任编辑|编辑|撰稿|供稿|校对|审核)"
    r"\s*[:/]?\s*"
    r"|(文/图|文|图)\s*[:/]\s*"  # one-character roles need a separator: 文/张三
)
_TRAILING_GROUP = re.compile(r"[(【\[]([^()【】\[\]]{2,80})[)】\]]\s*$")
# A credited name list is short and has no sentence punctuation ("审核通过的项目…" is prose).
_CREDIT_NAMES = re.compile(r"[^。,;:!?]{1,20}")


def _extract_credits(last_paragraph: str) -> dict[str, str]:
    """{'记者': '陈志奎', …} from '(记者 陈志奎 摄影 谢道韫)' ending the article."""
    match = _TRAILING_GROUP.search(last_paragraph)
    if match:
        return _parse_credits(match.group(1))
    if len(last_paragraph) <= 40:
        return _parse_credits(last_paragraph)
    return {}


def _parse_credits(text: str) -> dict[str, str]:
    roles = list(_CREDIT_ROLE.finditer(text))
    if not roles or roles[0].start() != 0:
        return {}
    credits: dict[str, str] = {}
    for role, following in zip(roles, [*roles[1:], None], strict=True):
        name = text[role.end() : following.start() if following else len(text)]
        name = name.strip(" ,;、")
        if not _CREDIT_NAMES.fullmatch(name):
            return {}
        key = role.group(1) or role.group(2)
        credits[key] = f"{credits[key]} {name}" if key in credits else name
    return credits


# --- money / deadline / stage --------------------------------------------------------------

# Checked group by group: an award's 中标价 beats the tender's 控制价, which beats investment.
_AMOUNT_LABEL_GROUPS = (
    ("中标价", "中标价格", "中标总价", "中标金额", "中标(成交)价", "中标(成交)价格")
    + ("中标(成交)金额", "成交价", "成交价格", "成交金额", "合同金额"),
    ("招标控制价", "最高投标限价", "投标最高限价", "最高限价", "控制价", "预算金额")
    + ("采购预算", "项目预算", "工程预算", "合同估算价", "估算价"),
    ("总投资", "总投资额", "投资总额", "项目总投资", "计划总投资", "估算总投资")
    + ("投资额", "计划投资", "项目投资", "工程造价"),
)
_UNITS = {"亿": Decimal(100_000_000), "万": Decimal(10_000), "": Decimal(1)}


def _amount_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    return re.compile(
        rf"(?:{alternatives})\s*(?P<label_unit>\((?P<unit1>亿|万)?元\))?\s*(?::|为|是)\s*"
        r"(?:人民币|RMB|¥|￥)?\s*(?:约|近|超)?\s*"
        r"(?P<number>\d[\d,]*(?:\.\d+)?)\s*(?:(?P<unit2>亿|万)?元|(?P<unit3>亿|万))?"
    )


_AMOUNT_PATTERNS = tuple(_amount_pattern(group) for group in _AMOUNT_LABEL_GROUPS)


def _extract_amount(body: str) -> int | None:
    for pattern in _AMOUNT_PATTERNS:
        for match in pattern.finditer(body):
            if (amount := _amount_from_match(match)) is not None:
                return amount
    return None


def extract_budget(body: str) -> int | None:
    """The tender's ceiling (招标控制价, 最高投标限价, 预算金额) a notice states, if any."""
    for match in _AMOUNT_PATTERNS[1].finditer(body):
        if (amount := _amount_from_match(match)) is not None:
            return amount
    return None


def _amount_from_match(match: re.Match[str]) -> int | None:
    has_unit = match["label_unit"] is not None or match.group(0).endswith(("元", "亿", "万"))
    if not has_unit:
        return None  # a bare number could be anything (万元? 元?): better none than wrong
    unit = match["unit1"] or match["unit2"] or match["unit3"] or ""
    try:
        value = Decimal(match["number"].replace(",", "")) * _UNITS[unit]
    except InvalidOperation:
        return None
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Deadlines: three kinds, each from its labels, in the written forms of notices
# (2024年11月4日9时30分, 2024-11-04 09:30, 上午9:30, 09时30分00秒, 北京时间, 星期一, "于…前").
# Wrong is worse than missing (a member would miss a bid): a label must be followed by a
# date in the same clause, and look-alikes (疑问/质疑截止, 原…时间 of a correction,
# "投标截止时间前" of a deposit) are refused.  Measured on news/tests/data/deadline_pages.jsonl.
_TIME = r"(上午|下午|中午|晚上)?\s*(?:(\d{1,2})\s*(?::|时|点)\s*(?:(\d{1,2})\s*分?)?)?"
_WEEKDAY = r"(?:\(?(?:星期|周)[一二三四五六日天]\)?)?"
_DATETIME = re.compile(rf"{_DATE}\s*日?\s*{_WEEKDAY}\s*(?:北京时间)?\s*{_TIME}")
# A range "2024年10月14日(9:00)至(2024年)10月18日(17:00)": the end is what counts.
_RANGE = re.compile(
    rf"{_DATE}\s*日?\s*{_WEEKDAY}\s*{_TIME}\s*(?:至|到|~|—|－|-)\s*"
    rf"(?:(\d{{4}})\s*[-/.年]\s*)?(\d{{1,2}})\s*[-/.月]\s*(\d{{1,2}})\s*日?\s*{_WEEKDAY}\s*{_TIME}"
)
# Labels end right before their value; "[^。\n]{0,12}?" lets 投标文件递交的截止时间 through.
_BID_LABEL = re.compile(
    r"(?:投标|递交|提交|响应)[^。;\n:]{0,12}?截止(?:时间|日期)|截标(?:时间|日期)"
)
_OPENING_LABEL = re.compile(r"开标(?:时间|日期)|(?:响应|投标)文件开启时间")
_REGISTRATION_LABEL = re.compile(
    r"报名截止(?:时间|日期)?|(?:获取|领取|购买|下载|发售)[^。;\n:]{0,8}?截止(?:时间|日期)"
)
# 报名时间 / 获取时间 name a window: only a range after them says when it ends.
_REGISTRATION_WINDOW_LABEL = re.compile(
    r"(?:报名|获取|领取|购买|发售|下载)[^。;\n:]{0,8}?(?:时间|日期|期限)"
)
# "投标文件应于2024年11月4日9时30分前递交", "于2024年11月4日9:30前将投标文件送达",
# "定于2024年11月4日9时30分在…开标".
_WHEN = rf"(?:北京时间)?\s*(?P<when>{_DATETIME.pattern})\s*(?:\(北京时间\))?\s*"
_BID_BEFORE = (
    re.compile(rf"(?:投标文件|响应文件)[^。;\n]{{0,30}}?于\s*{_WHEN}(?:之|以)?前"),
    re.compile(
        rf"(?:于|在)\s*{_WHEN}(?:之|以)?前\s*(?:将|把)?\s*(?:电子)?(?:投标|响应)文件"
        r"(?:递交|送达|提交|上传)"
    ),
)
_OPENING_ON = re.compile(rf"定于\s*{_WHEN}[^。;\n]{{0,40}}?开标")
# Registration windows stated as a range in a clause about 报名 / 获取招标文件.
_REGISTRATION_CLAUSE = re.compile(
    r"报名|(?:获取|领取|购买|下载|发售)[^。;\n]{0,10}?(?:招标|采购|磋商|谈判|比选|资格预审)?文件"
    r"|(?:招标|采购|磋商|谈判|比选)文件[^。;\n]{0,4}?(?:获取|领取|购买|发售)"
)
_NOT_A_DEADLINE = re.compile(r"疑问|质疑|异议|澄清|答疑|公示|踏勘|保证金|投诉")
# A correction: "原开标时间…变更为…" - the date after the change is the one that holds.
_CHANGED_TO = re.compile(r"(?:变更|调整|延期|推迟|顺延|更改)(?:为|至|到)")
_SAME_AS = re.compile(r"^\s*[:为]?\s*(?:同|与|即)\s*(?:投标|递交)[^。;\n]{0,8}?截止")
_DEADLINE_WINDOW = 60
_CLAUSE_END = re.compile(r"[。;\n]")


@dataclass(frozen=True)
class Deadlines:
    bid: datetime.datetime | None = None
    opening: datetime.datetime | None = None
    registration: datetime.datetime | None = None


def extract_deadlines(body: str) -> Deadlines:
    """投标截止, 开标时间 and 报名/获取招标文件截止 named in a notice body (Shanghai time)."""
    bid = _labelled(body, _BID_LABEL) or _first_group(body, *_BID_BEFORE)
    opening = _labelled(body, _OPENING_LABEL, same_as=bid) or _first_group(body, _OPENING_ON)
    registration = (
        _labelled(body, _REGISTRATION_LABEL, same_as=bid, ranges=True)
        or _labelled(body, _REGISTRATION_WINDOW_LABEL, ranges=True, only_ranges=True)
        or _registration_window(body)
    )
    return Deadlines(bid, opening, registration)


def _labelled(
    body, label, *, same_as=None, ranges=False, only_ranges=False
) -> datetime.datetime | None:
    for key in label.finditer(body):
        if _NOT_A_DEADLINE.search(key.group(0)):
            continue
        before = _CLAUSE_END.split(body[max(0, key.start() - 12) : key.start()])[-1]
        window = _CLAUSE_END.split(body[key.end() : key.end() + _DEADLINE_WINDOW], maxsplit=1)[0]
        if before.endswith(("原", "原定", "变更前")):
            changed = _CHANGED_TO.search(window)
            if changed is None:
                continue  # the superseded value; the new one is labelled elsewhere
            window = window[changed.end() :]
        if window.lstrip(" )").startswith(("前", "之前", "以前")):
            continue  # "在投标截止时间前": a mention, the date after it is something else
        if same_as is not None and _SAME_AS.search(window):
            return same_as
        if ranges and (match := _RANGE.search(window)) and (end := _range_end(match)):
            return end
        if only_ranges:
            continue
        if (match := _DATETIME.search(window)) and (when := _make_deadline(match)):
            return when
    return None


def _first_group(body, *patterns) -> datetime.datetime | None:
    for pattern in patterns:
        for found in pattern.finditer(body):
            if (match := _DATETIME.match(found["when"])) and (when := _make_deadline(match)):
                return when
    return None


def _registration_window(body: str) -> datetime.datetime | None:
    for clause in _CLAUSE_END.split(body):
        if not _REGISTRATION_CLAUSE.search(clause) or _NOT_A_DEADLINE.search(clause):
            continue
        if (match := _RANGE.search(clause)) and (end := _range_end(match)):
            return end
    return None


def _range_end(match: re.Match[str]) -> datetime.datetime | None:
    groups = match.groups()
    year = groups[6] or groups[0]
    return _make_datetime(year, *groups[7:12])


def _make_deadline(match: re.Match[str]) -> datetime.datetime | None:
    return _make_datetime(*match.groups()[:6])


def _make_datetime(year, month, day, half, hour, minute) -> datetime.datetime | None:
    if hour is None:
        # A date without a time: the deadline is that whole day.
        hour, minute = "23", "59"
    hour_value = int(hour)
    if half in ("下午", "晚上") and hour_value < 12:
        hour_value += 12
    try:
        return datetime.datetime(
            int(year), int(month), int(day), hour_value, int(minute or 0), tzinfo=SHANGHAI
        )
    except ValueError:
        return None


_STAGE = re.compile(r"(?:^|\s)项目阶段\s*:\s*([^\s,;。]+)", re.MULTILINE)


def _extract_stage(body: str) -> str:
    match = _STAGE.search(body)
    return match.group(1) if match else ""


# --- contacts ------------------------------------------------------------------------------

# Organisation labels -> normalised role.  Synonyms collapse; other roles stay as written.
# Shared with masking (news/masking.py), so what the parser finds, masking hides.
_PERSON_LABELS, _TITLED_PERSON_LABELS = patterns.PERSON_LABELS, patterns.TITLED_PERSON_LABELS
_TITLE_LABELS, _PHONE_LABELS = patterns.TITLE_LABELS, patterns.PHONE_LABELS
_MOBILE_LABELS, _EMAIL_LABELS = patterns.MOBILE_LABELS, patterns.EMAIL_LABELS
_MOBILE, _LANDLINE, _EMAIL = patterns.MOBILE, patterns.LANDLINE, patterns.EMAIL
_label_pattern = patterns.label_pattern

_ORG_ROLES = {
    "招标人": "招标人",
    "招标单位": "招标人",
    "采购人": "采购人",
    "建设单位": "建设单位",
    "业主单位": "业主单位",
    "业主": "业主",
    "项目业主": "项目业主",
    "项目单位": "项目单位",
    "设计单位": "设计单位",
    "勘察单位": "勘察单位",
    "施工单位": "施工单位",
    "总包单位": "总包单位",
    "总承包单位": "总承包单位",
    "监理单位": "监理单位",
    "中标人": "中标人",
    "中标单位": "中标人",
    "中标供应商": "中标人",
    "成交供应商": "中标人",
    "招标代理机构": "招标代理",
    "招标代理单位": "招标代理",
    "招标代理": "招标代理",
    "代理机构": "招标代理",
    "采购代理机构": "采购代理",
}
_IGNORED_LABELS = ("地址", "联系地址", "邮编", "邮政编码", "传真", "网址", "开户银行", "账号")

_LABEL_KINDS: dict[str, str] = {
    **dict.fromkeys(_ORG_ROLES, "org"),
    **{f"{label}联系人": "role_person" for label in _ORG_ROLES},
    **dict.fromkeys(_PERSON_LABELS, "person"),
    **dict.fromkeys(_TITLED_PERSON_LABELS, "titled_person"),
    **dict.fromkeys(_TITLE_LABELS, "title"),
    **dict.fromkeys(_PHONE_LABELS, "phone"),
    **dict.fromkeys(_MOBILE_LABELS, "mobile"),
    **dict.fromkeys(_EMAIL_LABELS, "email"),
    **dict.fromkeys(_IGNORED_LABELS, "ignored"),
}


# Labels need a colon but no preceding space: "联系人:王建明联系电话:0511-…" splits too.
_FIELD = re.compile(
    r"(" + "|".join(map(_label_pattern, sorted(_LABEL_KINDS, key=len, reverse=True))) + r")\s*:\s*",
    re.IGNORECASE,
)
# Any short "label:" line (中标价:, 工期:) keeps the current organisation block open;
# prose ends it.
_ANY_LABEL_LINE = re.compile(r"^[^:]{1,12}:")

_PARENTHESISED = re.compile(r"\([^()]*\)")


@dataclass
class _Draft:
    organization: str
    role: str
    name: str = ""
    title: str = ""
    phone: str = ""
    mobile: str = ""
    email: str = ""
    named_as_contact: bool = False  # 联系人:X counts on its own; 项目经理:X needs details

    def add_details(self, value: str, keep_unrecognised_phone: bool = False) -> None:
        """Store the phones/mobiles/emails found in a value (first one of each kind wins)."""
        value = patterns.fold(value)  # 0512—68000051, 139－0000－0054: as masking reads them
        for email in _EMAIL.findall(value):
            self.email = self.email or email
        value = _EMAIL.sub(" ", value)
        for mobile in _MOBILE.findall(value):
            self.mobile = self.mobile or mobile
        value = _MOBILE.sub(" ", value)
        for phone in _LANDLINE.findall(value):
            self.phone = self.phone or phone
        if keep_unrecognised_phone and not self.phone and sum(c.isdigit() for c in value) >= 5:
            self.phone = value.strip(" ,;、")

    def is_contact(self) -> bool:
        has_details = self.phone or self.mobile or self.email
        return bool(has_details or (self.name and self.named_as_contact))

    def frozen(self) -> ParsedContact:
        return ParsedContact(
            organization=self.organization,
            role=self.role,
            name=self.name,
            title=self.title,
            phone=self.phone,
            mobile=self.mobile,
            email=self.email,
        )


class _ContactCollector:
    """Walks label:value lines; an organisation line opens a block its people belong to."""

    def __init__(self) -> None:
        self.drafts: list[_Draft] = []
        self.orgs: dict[str, str] = {}  # latest organisation per role, for 招标人联系人:X
        self.block: tuple[str, str] | None = None  # (organisation, role)
        self.draft: _Draft | None = None
        self.winner = ""
        self.project_manager = ""

    def feed(self, line: str) -> None:
        pairs = _line_fields(line)
        if not pairs:
            if not _ANY_LABEL_LINE.match(line):
                self.block = self.draft = None
            return
        for label, value in pairs:
            self._field(label, value)

    def _field(self, label: str, value: str) -> None:
        kind = _LABEL_KINDS[label]
        if kind == "org":
            self._organisation(_ORG_ROLES[label], value)
        elif kind == "role_person":
            role = _ORG_ROLES[label.removesuffix("联系人")]
            self.block = (self.orgs.get(role, ""), role)
            self.draft = None  # never continue a person of another block
            self._person(value, title="", named_as_contact=True)
        elif kind == "person":
            self._person(value, title="", named_as_contact=True)
        elif kind == "titled_person":
            name = self._person(value, title=label, named_as_contact=False)
            if label == "项目经理" and not self.project_manager:
                self.project_manager = name
        elif kind == "title":
            if self.draft and not self.draft.title:
                self.draft.title = _first_word(value)
        elif kind in ("phone", "mobile", "email"):
            self._current_draft().add_details(value, keep_unrecognised_phone=kind == "phone")

    def _organisation(self, role: str, value: str) -> None:
        organisation = value.strip(" ,;。、")  # names may contain spaces or (上海)
        if not organisation:
            return
        self.orgs[role] = organisation
        if role == "中标人" and not self.winner:
            self.winner = organisation
        self.block = (organisation, role)
        self.draft = None

    def _person(self, value: str, title: str, named_as_contact: bool) -> str:
        details = _Draft("", "")
        details.add_details(value)
        leftover = _PARENTHESISED.sub(" ", _strip_details(value))
        name = _first_word(leftover)
        draft = self.draft
        if draft is None or (draft.name and draft.name != name) or draft.named_as_contact:
            draft = self._new_draft()
        draft.name = draft.name or name
        draft.title = draft.title or title
        draft.named_as_contact = draft.named_as_contact or named_as_contact
        for attribute in ("phone", "mobile", "email"):
            setattr(draft, attribute, getattr(draft, attribute) or getattr(details, attribute))
        return name

    def _current_draft(self) -> _Draft:
        return self.draft or self._new_draft()

    def _new_draft(self) -> _Draft:
        organisation, role = self.block or ("", "")
        self.draft = _Draft(organisation, role)
        self.drafts.append(self.draft)
        return self.draft

    def contacts(self) -> tuple[ParsedContact, ...]:
        titles = {
            (d.organization, d.role, d.name): d.title for d in self.drafts if d.name and d.title
        }
        merged: dict[tuple[str, str, str], ParsedContact] = {}
        for draft in filter(_Draft.is_contact, self.drafts):
            key = (draft.organization, draft.role, draft.name)
            title = draft.title or titles.get(key, "")
            if not title and draft.name and draft.name == self.project_manager:
                title = "项目经理"
            contact = replace(draft.frozen(), title=title)
            merged[key] = _merge(merged[key], contact) if key in merged else contact
        return tuple(merged.values())


def _merge(first: ParsedContact, second: ParsedContact) -> ParsedContact:
    names = (f.name for f in fields(ParsedContact))
    return ParsedContact(**{name: getattr(first, name) or getattr(second, name) for name in names})


def _line_fields(line: str) -> list[tuple[str, str]]:
    """[(label, value), …] for a line starting with a known label, else []."""
    if _FIELD.match(line) is None:  # cheap rejection of prose before the full scan
        return []
    matches = list(_FIELD.finditer(line))
    ends = [m.start() for m in matches[1:]] + [len(line)]
    return [
        (_canonical_label(m.group(1)), line[m.end() : end].strip())
        for m, end in zip(matches, ends, strict=True)
    ]


def _canonical_label(label: str) -> str:
    return label.lower() if label.isascii() else label.replace(" ", "")


def _strip_details(value: str) -> str:
    for pattern in (_EMAIL, _MOBILE, _LANDLINE):
        value = pattern.sub(" ", value)
    return value


def _first_word(value: str) -> str:
    words = value.strip(" ,;。、").split()
    return words[0].strip(",;。、") if words else ""


def _extract_contacts(paragraphs: tuple[str, ...]) -> tuple[tuple[ParsedContact, ...], str, str]:
    collector = _ContactCollector()
    for line in paragraphs:
        collector.feed(line)
    return collector.contacts(), collector.winner, collector.project_manager
