"""Bid results of an award notice: who bid, in what rank, at what price and duration.

Award notices write the same facts in many shapes: candidate lines (第一中标候选人:X,
投标报价:…万元,工期:…日历天), a single 中标人 with 中标价 / 成交金额 lines after it, text
tables (序号 投标人 投标报价(元) 工期), HTML tables flattened to one cell a line, 开标记录
listing every bidder unranked, several 标段, amounts in 大写. What must not become a row:
招标人 / 代理机构 named in prose, bidders listed as rejected (否决 / 无效投标), and a
notice that failed (流标 / 废标). Wrong is worse than missing, so a bidder must be written
where a bidder is expected (after a bidder label, a rank, or in a bidder column) and look
like an organisation. Pure functions of the text, no database: the import runs them in its
prepare step (news/importing/preparing.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


@dataclass(frozen=True)
class BidRow:
    lot: str | None
    bidder: str
    rank: int | None = None
    price_yuan: int | None = None
    duration_days: int | None = None
    duration_text: str = ""
    winner: bool = False


# --- small parsers --------------------------------------------------------------------------

_CN_DIGITS = {
    **dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)),
    **dict(zip("壹贰贰叁叄肆伍陆陸柒捌玖", (1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9), strict=True)),
}
_CN_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}


def chinese_number(text: str) -> int | None:
    """一百二十三 → 123, 壹仟贰佰万 → 12000000; None when it is not a number."""
    total = section = digit = 0
    seen = False
    for ch in text:
        if ch in _CN_DIGITS:
            digit, seen = _CN_DIGITS[ch], True
        elif ch in _CN_SMALL_UNITS:
            section += (digit or 1) * _CN_SMALL_UNITS[ch]
            digit, seen = 0, True
        elif ch in _CN_BIG_UNITS:
            unit = _CN_BIG_UNITS[ch]
            # 一亿二千万: the section before 亿 times 亿; 万 after 亿 scales only its own part.
            total = (
                (total + section + digit) * unit
                if unit > 10_000 or total == 0
                else (total + (section + digit) * unit)
            )
            section = digit = 0
        else:
            return None
    return total + section + digit if seen else None


def _rank_number(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return chinese_number(text)


_UNIT_FACTORS = {
    "亿元": Decimal(100_000_000),
    "亿": Decimal(100_000_000),
    "万元": Decimal(10_000),
    "万": Decimal(10_000),
    "元": Decimal(1),
}
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
# A written amount: digits with an optional unit, or 大写 (壹佰贰拾万元整, 叁仟元伍角).
_DIGITS_AMOUNT = re.compile(
    rf"(?:人民币|RMB|¥|￥|小写)?\s*:?\s*({_NUMBER})\s*(亿元|万元|元|亿|万)?"
)
_CAPITAL = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆元角分整正"
_CAPITAL_AMOUNT = re.compile(rf"(?:人民币)?\s*(?:大写)?\s*:?\s*([{_CAPITAL}]{{2,}})")
_RATE = re.compile(r"%|‰|下浮|费率|折扣|让利|优惠率")


def _to_int(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def capital_amount(text: str) -> int | None:
    """大写 yuan: 壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角 → 12345679 (jiao rounded)."""
    text = text.replace("圆", "元").rstrip("整正")
    yuan_part, _, cents = text.partition("元")
    if not yuan_part:
        return None
    yuan = chinese_number(yuan_part)
    if yuan is None:
        return None
    jiao = re.search(r"([零壹贰叁肆伍陆柒捌玖])角", cents)
    return yuan + (1 if jiao and _CN_DIGITS[jiao.group(1)] >= 5 else 0)


def price_of(value: str, header_unit: str = "") -> int | None:
    """Yuan from a written price; None for rates (下浮率 5%) and bare numbers of unknown
    unit: a wrong price is worse than none."""
    value = value.strip()
    if not value:
        return None
    match = _DIGITS_AMOUNT.search(value)
    rate = _RATE.search(value)
    if rate and (match is None or not match.group(2) or rate.start() < match.start()):
        return None  # 下浮率 5%; but "8,862.45万元(下浮率5.20%)" is a price
    if match and not (match.start() > 0 and value[: match.start()].strip(" :")[-2:] == "大写"):
        unit = match.group(2) or header_unit
        if unit:
            try:
                return _to_int(Decimal(match.group(1).replace(",", "")) * _UNIT_FACTORS[unit])
            except InvalidOperation:
                return None
        number = match.group(1).replace(",", "")
        # A bare figure with fen (12,345,678.90) or in the tens of thousands is yuan.
        if re.fullmatch(r"\d{5,}(?:\.\d{1,2})?", number):
            return _to_int(Decimal(number))
    if capital := _CAPITAL_AMOUNT.search(value):
        return capital_amount(capital.group(1))
    return None


_DAYS = re.compile(r"(\d+|[一二三四五六七八九十百千零两]+)\s*(?:日历天|日历日|天|日)(?!期)")
# Months, years and date ranges are no day count (a month is not 30 days).
_NOT_DAYS = re.compile(r"个月|\d\s*月|[一二三四五六七八九十两]\s*个?月|年")


def duration_of(value: str, header_unit: str = "") -> tuple[int | None, str]:
    """(days, text as written): 540日历天 → 540; 12个月 → None (a month is no fixed count)."""
    text = value.strip(" ,;。:")
    if not text:
        return None, ""
    if header_unit and re.fullmatch(r"\d+", text):
        text = f"{text}{header_unit}"
    if _NOT_DAYS.search(text):
        return None, text
    match = _DAYS.search(text)
    return (_rank_number(match.group(1)) if match else None), text


# --- names ----------------------------------------------------------------------------------

_ORG_END = re.compile(
    r"(?:公司|集团|院|所|局|中心|厂|站|队|社|处|部|会|联合体|合作社|事务所|工作室|医院|学校)\)*$"
)
_PAREN_TAIL = re.compile(r"\s*[(\[【][^()\[\]【】]{0,20}[)\]】]$")
_NOT_BIDDER = re.compile(
    r"招标人|招标代理|代理机构|采购人|建设单位|业主|评标委员会|交易中心|监督|公共资源|"
    r"联系人|电话|地址|投标人名称|名称$|^投标人$|^中标人$"
)


def _looks_like_bidder(name: str) -> bool:
    core = _PAREN_TAIL.sub("", name)
    core = _PAREN_TAIL.sub("", core)  # 联合体 tails: (牵头人)(成员)
    if not 4 <= len(core) <= 120 or not re.search(r"[\u4e00-\u9fff]", core):
        return False
    if _NOT_BIDDER.search(core):
        return False
    return _ORG_END.search(core) is not None


def bidder_key(name: str) -> str:
    """Normalised for matching rows and organisations: width, spaces, punctuation off."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", name)).lower()


# A name runs to a separator, the next label, or a figure after a space.
_NAME_END = re.compile(
    r"(?<!\d)[,;。]|[;。]|\s{2,}|\s+(?=\d)|\s*(?:投标报价|投标总价|中标价|中标金额|成交价|成交金额|报价|"
    r"最后报价|工期|中标工期|计划工期|项目经理|项目负责人|总监|得分|综合得分|评审得分|排名|资质|"
    r"质量|下浮率|费率)"
)


def _cut_name(text: str) -> str:
    text = text.strip(" :")
    end = len(text)
    for match in _NAME_END.finditer(text):
        inside = text.count("(", 0, match.start()) > text.count(")", 0, match.start())
        if not inside or match.group(0).strip(" ") not in ",;。":
            end = match.start()
            break
    name = text[:end].strip(" :、")
    if name.count("(") > name.count(")"):  # "X公司(投标报价:…)": the bracket is not the name's
        name = name[: name.rindex("(")].strip()
    return name


# --- lots and sections ----------------------------------------------------------------------

_LOT_NUMBER = r"[一二三四五六七八九十\d]{1,3}"
_LOT = re.compile(
    rf"(?:第\s*{_LOT_NUMBER}\s*(?:标段|标包|包|分标|合同段|批次)"
    rf"|{_LOT_NUMBER}\s*(?:标段|标包|号包|包|合同段)"
    rf"|(?:标段|标包|包|合同段|包件)\s*{_LOT_NUMBER}"
    r"|[A-Z]\d{0,2}\s*标段)"
)
_LOT_LABEL = re.compile(r"^(?:标段|标包|包件|分包|标段\(包\))(?:名称|编号|号)?\s*:\s*(.+)$")
_LOT_HEADING = re.compile(
    rf"^[(\[【]?\s*(?P<lot>{_LOT.pattern})\s*[)\]】]?\s*(?:\([^()]{{1,40}}\))?\s*"
    r"(?::|\s|$|(?=第|中标|成交|候选|推荐))"
)


def lot_key(lot: str | None) -> str:
    """一标段, 第1标段, 标段一, 标段1: all "1"; other names folded."""
    if not lot:
        return ""
    folded = unicodedata.normalize("NFKC", lot)
    match = re.search(_LOT_NUMBER, folded.split("标段")[-1] if "标段" in folded else folded)
    found = _LOT.search(folded)
    if found:
        number = re.search(_LOT_NUMBER, found.group(0))
        if number and (value := _rank_number(number.group(0))) is not None:
            return str(value)
    if match and (value := _rank_number(match.group(0))) is not None and len(folded) <= 6:
        return str(value)
    return bidder_key(folded)


_HEADING_NUMBER = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.]|\d+\s*[、.](?!\d)|[(]\s*[一二三四五六七八九十\d]+\s*[)])"
)
_CANDIDATE_SECTION = re.compile(
    r"(?:中标|成交)候选(?:人|供应商|单位)|评标结果|评审结果|推荐.{0,6}候选"
)
# A heading saying its list is in order: a numbered list under it is ranked.
_ORDERED = re.compile(r"排序|由高到低|由低到高|依次|排名(?!不分)")
# 中标(成交)信息 / 中标结果: who won, as label lines (供应商名称:X, 中标金额:…).
_WINNER_SECTION = re.compile(r"(?:中标|成交|中选)(?:\((?:成交|中选)\))?(?:人)?(?:信息|结果|情况)")
_OPENING_SECTION = re.compile(
    r"开标记录|开标情况|开标结果|投标人(?:名称)?及(?:其)?(?:投标)?报价|投标(?:人|单位)(?:情况|名单)|唱标|报价情况|投标报价情况"
)
_REJECTED_SECTION = re.compile(
    r"否决|废标|无效投标|无效标|未通过|不合格|被拒绝|未入围|淘汰|不予|未进入|资格审查不通过|失信"
)
_OTHER_SECTION = re.compile(
    r"招标人|代理|联系|公示期|异议|投诉|监督|其他|附件|评标委员|专家|备注|说明|项目概况|项目名称|招标范围"
)
_FAILED = re.compile(
    r"流标|废标公告|(?:本次|本项目|该项目|该标段|本标段)(?:招标|采购)?(?:失败|作废|终止|废标|流标)|"
    r"(?:招标|采购)(?:失败|终止)公告|宣布.{0,6}(?:流标|失败)|不足三家"
)


# --- labels on one line ---------------------------------------------------------------------

_RANK = r"(?P<rank>[一二三四五六七八九十\d]{1,2})"
_RANK_MARKERS = (
    rf"第{_RANK}(?:中标|成交)?(?:候选人|候选单位|候选供应商)(?:名称)?",
    rf"(?:中标|成交)?候选人(?:第|排名第?)?\s*{_RANK}\s*名?",
    rf"(?:排名|名次)\s*(?:第)?\s*{_RANK}\s*名?",
    rf"第{_RANK}名",
)
_RANK_MARKER = re.compile(
    "(?:" + "|".join(m.replace("(?P<rank>", "(?:") for m in _RANK_MARKERS) + ")"
    r"(?:\s*\((?:单位)?名称\))?\s*(?::|为|是)?\s*"
)
_RANK_FIND = [re.compile(m) for m in _RANK_MARKERS]
_WINNER_LABEL = re.compile(
    r"(?:^|[\s,;。])(?:拟)?(?:中标人|中标单位|中标供应商|成交供应商|成交单位|成交人|中标(?:候选)?人名称|"
    r"中标(?:单位|人)名称|成交(?:供应商|单位)名称|中选人|中选单位|承包人)\s*(?:名称)?\s*(?::|为)\s*"
)
_WINNER_PROSE = re.compile(
    r"(?:确定|推荐|选定|由)\s*(?P<name>[^,;。:]{4,80}?)\s*(?:为|作为)(?:本项目|本标段|本工程)?"
    r"(?:的)?(?:中标人|中标单位|成交供应商|成交人)"
)
_BIDDER_LABEL = re.compile(
    r"(?:^|[\s,;])(?:投标人|投标单位|投标供应商|供应商|单位名称|投标人名称|投标单位名称|"
    r"企业名称|候选人名称)(?:名称)?\s*(?::|为)\s*"
)
_PRICE_LABEL = re.compile(
    r"(?P<label>投标报价|投标总价|投标价格?|中标价格?|中标金额|中标总价|中标\(成交\)(?:价格?|金额)|"
    r"成交价格?|成交金额|成交总价|最后报价|最终报价|总报价|报价|签约合同价|合同价|"
    r"下浮率|费率|折扣率|优惠率)"
    r"\s*(?:\((?P<unit>亿元|万元|元|%)\))?\s*(?::|为)?\s*(?P<value>(?:\d,(?=\d)|[^,;。])*)"
)
_DURATION_LABEL = re.compile(
    r"(?:中标工期|计划工期|施工工期|总工期|工期要求|工期|交货\(完工\)期|交货期|服务期限?|"
    r"监理服务期|设计周期|合同期限?|完工期|合同履行期限|交付期)"
    r"\s*(?:\((?P<unit>日历天|天|日)\))?\s*(?::|为)?\s*(?P<value>(?:\d,(?=\d)|[^,;。])*)"
)


def _price_in(clause: str) -> int | None:
    for match in _PRICE_LABEL.finditer(clause):
        if match["label"] in ("下浮率", "费率", "折扣率", "优惠率") or match["unit"] == "%":
            return None
        value = _value_text(match["value"])
        price = price_of(value, match["unit"] or "")
        if price is not None:
            return price
    return None


def _value_text(value: str) -> str:
    # A value runs to the next label written after a space (报价:1,234万元 工期:300天).
    return re.split(r"\s+(?=[\u4e00-\u9fff]{2,8}\s*(?:\([^)]*\))?\s*:)", value.strip(), maxsplit=1)[
        0
    ]


def _duration_in(clause: str) -> tuple[int | None, str]:
    for match in _DURATION_LABEL.finditer(clause):
        value = _UNIT_SPACE.sub(r"\1\2", _value_text(match["value"]))
        value = re.split(r"\s", value, maxsplit=1)[0]
        if value:
            return duration_of(value, match["unit"] or "")
    return None, ""


# --- tables ---------------------------------------------------------------------------------

_HEADER_KINDS = (
    (
        "bidder",
        re.compile(
            r"^(?:投标人|投标单位|投标供应商|供应商|中标候选人|候选人|单位|企业|公司|投标人\(联合体\)|"
            r"中标人|中标单位|中标供应商|成交供应商|成交单位|成交人)"
            r"(?:名称|全称)?(?:\(.*\))?$|^(?:中标候选人|候选人)名称$|^名称$"
        ),
    ),
    (
        "rank",
        re.compile(
            r"^(?:排名|名次|排序|中标候选人排序|候选人排序|推荐排序|中标候选人顺序|顺序|推荐顺序|排名顺序)$"
        ),
    ),
    ("index", re.compile(r"^(?:序号|编号|No\.?)$", re.IGNORECASE)),
    (
        "price",
        re.compile(
            r"^(?:投标报价|投标总价|投标价格?|报价|总报价|中标价格?|中标金额|成交金额|投标报价金额|"
            r"最终报价|最后报价|中标\(成交\)金额)"
            r"\s*(?:\((?:小写,?)?(?P<unit>亿元|万元|元)\)|(?P<unit2>亿元|万元|元)|\(小写\))?$"
        ),
    ),
    ("capital", re.compile(r"^(?:投标报价|报价|中标价|中标金额|成交金额)?\(?大写\)?$")),
    ("lot", re.compile(r"^(?:标段|标包|包号|包件|分标|标段名称|标段号|标段编号|采购包)$")),
    ("rate", re.compile(r"^(?:下浮率|费率|折扣率|投标下浮率|优惠率)(?:\(%\))?$")),
    (
        "duration",
        re.compile(
            r"^(?:工期|投标工期|计划工期|施工工期|中标工期|交货期|服务期限?|工期\(天\))\s*(?:\((?P<unit>日历天|天|日)\)|(?P<unit2>日历天|天|日))?$"
        ),
    ),
)
_OTHER_HEADER = re.compile(r"[\u4e00-\u9fff()/%]{2,12}")
_UNIT_SPACE = re.compile(r"(\d)\s+(亿元|万元|元|日历天|天|%)")
_CELL_SPLIT = re.compile(r"\s*\|\s*|\t+|\s+")


def _header_kind(cell: str) -> tuple[str, str] | None:
    cell = cell.strip()
    if not cell or len(cell) > 20:
        return None
    for kind, pattern in _HEADER_KINDS:
        if match := pattern.match(cell):
            unit = match.groupdict().get("unit") or match.groupdict().get("unit2") or ""
            return kind, unit
    if _LOT.search(cell) or _RANK_MARKER.match(cell) or not _OTHER_HEADER.fullmatch(cell):
        return None  # 一标段, 第一名: values, not column names
    return ("other", "")


@dataclass
class _Table:
    kinds: list[tuple[str, str]]
    ranked: bool  # a 序号 column ranks rows only under a heading saying they are in order
    winners: bool = False  # the bidder column is 中标人 / 成交供应商: its rows won

    @classmethod
    def from_cells(cls, cells: list[str], ranked: bool) -> _Table | None:
        kinds = _resolve([_header_kind(c) for c in cells], cells)
        if len(cells) < 2 or any(k is None for k in kinds):
            return None
        names = [k for k, _ in kinds]
        if names.count("bidder") != 1 or not (
            {"price", "rank", "index", "duration", "rate"} & set(names)
        ):
            return None
        return cls(kinds, ranked, _names_winners(cells, kinds))

    def row(self, cells: list[str], lot: str | None, winner_names: set[str]) -> BidRow | None:
        if len(cells) != len(self.kinds):
            return None
        values: dict[str, str] = {}
        units: dict[str, str] = {}
        for (kind, unit), cell in zip(self.kinds, cells, strict=True):
            values.setdefault(kind, cell.strip())
            units.setdefault(kind, unit)
        bidder = values["bidder"]
        if not _looks_like_bidder(bidder):
            return None
        rank = None
        if "rank" in values:
            rank = _rank_from_cell(values["rank"])
        elif self.ranked and "index" in values:
            rank = _rank_from_cell(values["index"])
        if "lot" in values and values["lot"]:
            lot = values["lot"]
        price = price_of(values["price"], units["price"]) if "price" in values else None
        days, text = (
            duration_of(values["duration"], units["duration"])
            if "duration" in values
            else (None, "")
        )
        winner = self.winners or bidder_key(bidder) in winner_names
        return BidRow(lot, bidder, rank, price, days, text, winner)


_WINNER_COLUMN = re.compile(r"^(?:中标人|中标单位|中标供应商|成交供应商|成交单位|成交人)")


def _names_winners(cells, kinds) -> bool:
    return any(
        k and k[0] == "bidder" and _WINNER_COLUMN.match(c)
        for c, k in zip(cells, kinds, strict=True)
    )


def _resolve(kinds: list, cells: list[str]) -> list:
    """Two bidder-like columns (中标候选人 | 投标人名称): the bare 中标候选人 one holds
    ranks (第一中标候选人)."""
    bidders = [i for i, k in enumerate(kinds) if k and k[0] == "bidder"]
    if len(bidders) == 2 and not any(k and k[0] == "rank" for k in kinds):
        bare = [i for i in bidders if cells[i].strip() in ("中标候选人", "候选人", "成交候选人")]
        if len(bare) == 1:
            kinds = list(kinds)
            kinds[bare[0]] = ("rank", "")
    return kinds


def _rank_from_cell(cell: str) -> int | None:
    cell = re.sub(r"^第|名$|中标候选人$|候选人$", "", cell.strip())
    value = _rank_number(cell)
    return value if value is not None and 0 < value < 100 else None


def _cells(line: str) -> list[str]:
    line = _UNIT_SPACE.sub(r"\1\2", line.strip().strip("|"))
    if "|" in line:
        return [c.strip() for c in line.split("|")]
    return [c for c in _CELL_SPLIT.split(line) if c]


# --- the walk -------------------------------------------------------------------------------


# A line without any of these (and outside a table, not a numbered heading) cannot hold
# a bidder, a price, a lot or a section: skipped without the walk's other patterns.
_LINE_WORDS = re.compile(
    r"中标|候选|投标|报价|成交|中选|供应商|名称|单位|第.{1,2}名|排名|名次|排序|序号|标段|标包|包|"
    r"开标|工期|周期|期限|服务期|交货|价|金额|否决|无效|流标|废标|失败|终止|\|"
)


class _Walk:
    def __init__(self) -> None:
        self.rows: list[BidRow] = []
        self.lot: str | None = None
        self.section: str | None = None  # candidates | opening | rejected | None
        self.table: _Table | None = None
        self.flat: _Table | None = None  # a table flattened to one cell a line
        self.flat_cells: list[str] = []
        self.flat_rows = False  # the flattened table's header is complete
        self.pending_rank: int | None = None  # "第一中标候选人" alone: its name follows
        self.last: int | None = None  # index of the row label lines continue
        self.failed_lots: set[str] = set()
        self.winner_names: set[str] = set()
        self.ordered = False  # the current section says its list is in order

    # rows
    def add(self, row: BidRow) -> None:
        self.rows.append(row)
        self.last = len(self.rows) - 1

    def amend_last(self, **changes) -> None:
        if self.last is not None:
            row = self.rows[self.last]
            fresh = {
                k: v for k, v in changes.items() if v not in (None, "") and not getattr(row, k)
            }
            if fresh:
                self.rows[self.last] = replace(row, **fresh)

    # lines
    def feed(self, line: str) -> None:
        if self.flat is not None and self._flat_cell(line):
            return
        if self.table is None and not _LINE_WORDS.search(line) and not _HEADING_NUMBER.match(line):
            if len(line) > 40 or line.endswith("。"):
                self.last = None  # prose about something else (most of a long notice)
            return
        if self._lot_line(line):
            return
        kind = _header_kind(line) if len(line) <= 20 else None
        if kind is not None and kind[0] != "other" and self.section != "rejected":
            # Perhaps a flattened table's first header cell: the next lines will tell.
            if _CANDIDATE_SECTION.search(line):
                self.section = "candidates"
            self.flat = _Table([kind], ranked=self.ordered)
            self.flat_header = [line]
            self.flat_cells, self.flat_rows = [], False
            return
        if self._section_line(line):
            return
        if self.section == "rejected":
            return
        if self._table_line(line):
            return
        self._labelled_line(line)

    def _lot_line(self, line: str) -> bool:
        if match := _LOT_LABEL.match(line):
            self.lot = match.group(1).strip()[:60]
            self._failed_lot(line)
            self.table = self.flat = None
            return True
        match = _LOT_HEADING.match(line)
        if not match:
            return False
        self.lot = match["lot"].replace(" ", "")
        self._failed_lot(line)
        rest = line[match.end() :].strip()
        if not rest:
            self.table = self.flat = None
            return True
        return False  # "一标段:第一中标候选人:…" goes on to be read

    def _failed_lot(self, line: str) -> None:
        if re.search(r"流标|废标|失败|终止", line):
            self.failed_lots.add(lot_key(self.lot))

    def _section_line(self, line: str) -> bool:
        # A heading: numbered (三、开标记录) or short and ending its sentence with a colon.
        body = _HEADING_NUMBER.sub("", line).strip()
        numbered = body != line.strip()
        short = len(body) <= 30 and (
            numbered or body.endswith(":") or not re.search(r"[:,;。]", body)
        )
        if not short or _cells_look_like_row(body) or _RANK_MARKER.search(body):
            return False
        if _Table.from_cells(_cells(line), False) is not None:
            return False  # 名次 中标候选人 投标报价 …: a table's header
        if re.search(r"公司|集团|\d\s*(?:亿元|万元|元)", body) and not body.endswith(":"):
            # "3、X公司,报价…": an item of a list, not a heading
            return False
        has_value = re.search(r":\s*\S", body) is not None
        if has_value and not numbered:
            return False
        kind = None
        if _REJECTED_SECTION.search(body):
            kind = "rejected"
        elif _OPENING_SECTION.search(body):
            kind = "opening"
        elif _CANDIDATE_SECTION.search(body):
            kind = "candidates"
        elif _WINNER_SECTION.search(body):
            kind = "winner"
        elif numbered or (body.endswith(":") and _OTHER_SECTION.search(body)):
            kind = "other"
        if kind is None:
            return False
        self.section = None if kind == "other" else kind
        self.ordered = kind in ("candidates", "winner") and _ORDERED.search(body) is not None
        self.table = self.flat = None
        self.flat_cells = []
        self.last = None
        return not has_value  # "一、中标人:X公司": the value is read too

    def _table_line(self, line: str) -> bool:
        if re.fullmatch(r"[|\-\s:=+]+", line):
            return True  # a text table's rule
        cells = _cells(line)
        header = _Table.from_cells(cells, self.ordered)
        if header is not None:
            self.table = header
            return True
        if self.table is not None:
            row = self.table.row(cells, self.lot, self.winner_names)
            if row is None and len(cells) > len(self.table.kinds):
                row = self._row_with_spaced_name(cells)
            if row is not None:
                self.add(row)
                return True
            if not re.match(r"^\d", line):
                self.table = None
        return False

    def _row_with_spaced_name(self, cells: list[str]) -> BidRow | None:
        # A name with a space in it (中国 建筑 公司) split into extra cells: join them back.
        kinds = [k for k, _ in self.table.kinds]
        at = kinds.index("bidder")
        extra = len(cells) - len(kinds)
        joined = [*cells[:at], " ".join(cells[at : at + extra + 1]), *cells[at + extra + 1 :]]
        return self.table.row(joined, self.lot, self.winner_names)

    def _flat_cell(self, line: str) -> bool:
        """One cell of a flattened table: header cells first, then rows of as many."""
        table = self.flat
        if not self.flat_rows:
            kind = _header_kind(line)
            if kind is not None and len(line) <= 20 and not _looks_like_bidder(line):
                table.kinds.append(kind)
                self.flat_header.append(line)
                table.kinds = _resolve(table.kinds, self.flat_header)
                names = [k for k, _ in table.kinds]
                if names.count("bidder") > 1:  # 中标候选人 (a heading), then 排名, 投标人名称
                    first = names.index("bidder")
                    table.kinds = table.kinds[first + 1 :]
                    self.flat_header = self.flat_header[first + 1 :]
                return True
            table.winners = _names_winners(self.flat_header, table.kinds)
            names = [k for k, _ in table.kinds]
            if names.count("bidder") != 1 or len(names) < 2:
                self.flat = None
                return False
            self.flat_rows = True
        lot_column = any(k == "lot" for k, _ in table.kinds)
        if not self.flat_cells and (
            (not lot_column and (_LOT_HEADING.match(line) or _LOT_LABEL.match(line)))
            or _HEADING_NUMBER.match(line)
        ):
            self.flat = None
            return False
        self.flat_cells.append(line)
        if len(self.flat_cells) < len(table.kinds):
            return True
        cells, self.flat_cells = self.flat_cells, []
        row = table.row(cells, self.lot, self.winner_names)
        if row is not None:
            self.add(row)
            return True
        self.flat = None  # not a row: the table ended; read these lines as lines
        for cell in cells:
            self.feed(cell)
        return True

    def _labelled_line(self, line: str) -> None:
        failed = _FAILED.search(line)
        if failed and self.lot and len(line) <= 60:
            self.failed_lots.add(lot_key(self.lot))
        markers = list(_RANK_MARKER.finditer(line))
        if markers:
            self._ranked_clauses(line, markers)
            return
        if winner := _WINNER_LABEL.search(line):
            name = _cut_name(line[winner.end() :])
            if _looks_like_bidder(name):
                rest = line[winner.end() :]
                self.winner_names.add(bidder_key(name))
                days, text = _duration_in(rest)
                self.add(BidRow(self.lot, name, None, _price_in(rest), days, text, True))
                return
        if prose := _WINNER_PROSE.search(line):
            name = prose["name"].strip()
            if _looks_like_bidder(name):
                self.winner_names.add(bidder_key(name))
                self.add(BidRow(self.lot, name, None, _price_in(line), *_duration_in(line), True))
                return
        if self.pending_rank is not None and (label := _BIDDER_LABEL.search(line)):
            name = _cut_name(line[label.end() :])
            if _looks_like_bidder(name):
                rest = line[label.end() + len(name) :]
                winner = bidder_key(name) in self.winner_names
                self.add(
                    BidRow(
                        self.lot,
                        name,
                        self.pending_rank,
                        _price_in(rest),
                        *_duration_in(rest),
                        winner,
                    )
                )
                self.pending_rank = None
                return
        if self.section in ("opening", "candidates", "winner") and (
            row := self._listed_bidder(line)
        ):
            if self.section == "winner" and _BIDDER_LABEL.search(line):
                self.winner_names.add(bidder_key(row.bidder))
                row = replace(row, winner=True)
            self.add(row)
            return
        if row := self._leading_bidder(line):
            self.add(row)
            return
        # 中标价:… / 工期:… lines continue the last row; prose ends it.
        if self.last is not None and re.match(r"^[^:]{1,16}:", line):
            price = _price_in(line) if _PRICE_LABEL.match(line) else None
            days, text = _duration_in(line) if _DURATION_LABEL.match(line) else (None, "")
            self.amend_last(price_yuan=price, duration_days=days, duration_text=text)
        elif len(line) > 40 or line.endswith("。"):
            self.last = None

    def _leading_bidder(self, line: str) -> BidRow | None:
        """A line opening with a bidder and its price: X公司,投标报价:…,工期:…"""
        if "价" not in line and "金额" not in line:
            return None  # no price label: not such a line (and _cut_name is not free)
        name = _cut_name(line)
        if not name or not _looks_like_bidder(name):
            return None
        rest = line[len(name) :]
        price = _price_in(rest)
        if price is None:
            return None
        winner = bidder_key(name) in self.winner_names
        return BidRow(self.lot, name, None, price, *_duration_in(rest), winner)

    def _listed_bidder(self, line: str) -> BidRow | None:
        """A bidder in a list of 开标记录 / candidates: "1. X公司 报价…", "投标人:X公司,报价…"."""
        label = _BIDDER_LABEL.search(line)
        start = label.end() if label else None
        rank = None
        if start is None and (numbered := re.match(r"^\(?(\d{1,3})\s*[).、.]\s*", line)):
            start = numbered.end()
            rank = int(numbered.group(1)) if self.ordered else None
        if start is None:
            return None
        name = _cut_name(line[start:])
        if not _looks_like_bidder(name):
            return None
        rest = line[start + len(name) :]
        price = _price_in(rest)
        if price is None and not _RATE.search(rest):
            match = re.search(rf"({_NUMBER})\s*(亿元|万元|元)", rest)
            price = price_of(match.group(0)) if match else None
        days, text = _duration_in(rest)
        return BidRow(
            self.lot, name, rank, price, days, text, bidder_key(name) in self.winner_names
        )

    def _ranked_clauses(self, line: str, markers: list[re.Match[str]]) -> None:
        ends = [m.start() for m in markers[1:]] + [len(line)]
        for marker, end in zip(markers, ends, strict=True):
            rank = None
            for pattern in _RANK_FIND:
                if found := pattern.search(marker.group(0)):
                    rank = _rank_number(found["rank"])
                    break
            clause = line[marker.end() : end]
            label = _BIDDER_LABEL.match(clause) or re.match(r"^\s*(?:单位)?名称\s*:\s*", clause)
            name = _cut_name(clause[label.end() :] if label else clause)
            if not _looks_like_bidder(name):
                if not name and rank is not None:
                    # "第一中标候选人" heading alone: the name follows on a label line.
                    self.pending_rank = rank
                continue
            rest = clause[clause.find(name) + len(name) :]
            days, text = _duration_in(rest)
            winner = bidder_key(name) in self.winner_names
            self.add(BidRow(self.lot, name, rank, _price_in(rest), days, text, winner))

    def result(self) -> list[BidRow]:
        merged: dict[tuple[str, str], BidRow] = {}
        for row in self.rows:
            if lot_key(row.lot) in self.failed_lots:
                continue
            key = (lot_key(row.lot), bidder_key(row.bidder))
            if key not in merged:
                merged[key] = row
                continue
            old = merged[key]
            merged[key] = replace(
                old,
                rank=old.rank if old.rank is not None else row.rank,
                price_yuan=old.price_yuan if old.price_yuan is not None else row.price_yuan,
                duration_days=old.duration_days
                if old.duration_days is not None
                else row.duration_days,
                duration_text=old.duration_text or row.duration_text,
                winner=old.winner or row.winner or key[1] in self.winner_names,
            )
        rows = [
            replace(row, winner=row.winner or bidder_key(row.bidder) in self.winner_names)
            for row in merged.values()
        ]
        return _first_ranked_wins(rows)


def _first_ranked_wins(rows: list[BidRow]) -> list[BidRow]:
    """On a candidates page the first ranked is the winner, per lot, unless the page
    names a 中标人 (who may be the second, when the first withdrew)."""
    named = {lot_key(r.lot) for r in rows if r.winner}
    return [
        replace(r, winner=True) if r.rank == 1 and lot_key(r.lot) not in named else r for r in rows
    ]


def _cells_look_like_row(text: str) -> bool:
    cells = _cells(text)
    return len(cells) >= 2 and any(_looks_like_bidder(c) for c in cells)


# A notice without any of these words has no results: most pages stop here, cheaply.
RESULT_WORDS = ("中标", "成交", "候选人", "开标", "投标人", "投标报价", "中选")
_MAYBE = re.compile("|".join(RESULT_WORDS))


# "工 期:" / "中 标 人:": a label letter-spaced to line up with longer ones.
_LETTER_SPACED = re.compile(r"^(?:[\u4e00-\u9fff] ){1,5}[\u4e00-\u9fff](?=\s*:)")


def _unspace(match: re.Match[str]) -> str:
    return match.group(0).replace(" ", "")


def _key_value(line: str, following: str) -> bool:
    """A label cell alone on its line with its value on the next (a flattened two-column
    table), not the first cell of a flattened table's header."""
    line = line.removesuffix(":").strip()  # "工期:" with its value on the next line
    if not following or ":" in line or len(line) > 20:
        return False
    kind = _header_kind(line)
    if kind is None or kind[0] not in ("bidder", "price", "duration", "rate"):
        return False
    return _header_kind(following) is None and not _LOT_HEADING.match(following)


def parse_bid_results(lines, title: str = "") -> list[BidRow]:
    """The bid result rows of a notice's body lines (already width-folded, as
    news.importing.parser cleans them); [] for a failed notice or one with none."""
    if title and re.search(r"流标|废标|(?:招标|采购)(?:失败|终止)|终止公告", title):
        return []
    lines = list(lines)
    if not any(_MAYBE.search(line) for line in lines):
        return []
    walk = _Walk()
    lines = [_LETTER_SPACED.sub(_unspace, line) for line in lines]
    i = 0
    while i < len(lines):
        line, following = lines[i], lines[i + 1] if i + 1 < len(lines) else ""
        if walk.flat is None and walk.table is None and _key_value(line, following):
            # A two-column table (供应商名称 / X公司) or a value on the next line.
            walk.feed(f"{line.removesuffix(':')}:{following}")
            i += 2
            continue
        walk.feed(line)
        i += 1
    body = "\n".join(lines)
    if not walk.rows or _failed_notice(body, walk):
        return []
    return walk.result()


def _failed_notice(body: str, walk: _Walk) -> bool:
    """The whole notice failed: 本项目流标 with no lot named beside it."""
    if walk.failed_lots:
        return False
    return _FAILED.search(body) is not None and not re.search(r"中标人|中标候选人|成交供应商", body)
