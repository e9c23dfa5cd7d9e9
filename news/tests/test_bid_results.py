"""The bid-result parser on the shapes award notices use (development examples; the
labelled set, scored in test_bid_results_labelled.py, was written by someone else)."""

import pytest

from news.importing.bid_results import capital_amount, chinese_number, parse_bid_results
from news.importing.parser import clean_lines


def rows(text: str, title: str = ""):
    return [
        (r.lot, r.bidder, r.rank, r.price_yuan, r.duration_days, r.winner)
        for r in parse_bid_results(clean_lines(text), title)
    ]


def test_candidate_lines_with_price_and_duration():
    # The first candidate is the winner when no 中标人 is named.
    text = """
一、中标候选人
第一中标候选人：江苏华建建设有限公司，投标报价：３７１２．８６万元，工期：３００日历天
第二中标候选人：镇江市市政工程有限公司，投标报价：3,745.20万元，工期：320日历天
第三中标候选人：江苏润扬交通工程有限公司，投标报价：3798.66万元，工期：12个月
二、招标人：镇江新区城市建设投资有限公司
招标代理机构：江苏华信工程咨询有限公司
"""
    assert rows(text) == [
        (None, "江苏华建建设有限公司", 1, 37128600, 300, True),
        (None, "镇江市市政工程有限公司", 2, 37452000, 320, False),
        (None, "江苏润扬交通工程有限公司", 3, 37986600, None, False),
    ]


def test_winner_with_price_lines_and_ranked_runners_up():
    # A 中标人 line states no rank, even beside 第二名 / 第三名 (the labelled set's contract).
    text = """
招标人：上海市普陀区教育局
中标人：上海城建建设工程有限公司
中标价：9,286.40万元
工期：540日历天
项目经理：陈卫东
评标委员会推荐的中标候选人第二名：上海浦江建筑工程有限公司，投标报价9,312.75万元；第三名：上海申城建设集团有限公司，投标报价9,355.10万元。
"""
    assert rows(text) == [
        (None, "上海城建建设工程有限公司", None, 92864000, 540, True),
        (None, "上海浦江建筑工程有限公司", 2, 93127500, None, False),
        (None, "上海申城建设集团有限公司", 3, 93551000, None, False),
    ]


def test_text_table():
    text = """
中标候选人公示
排名 投标人名称 投标报价(元) 工期(日历天)
1 南京长江建设工程有限公司 12,345,678.90 365
2 江苏中南建筑产业集团有限责任公司 12,400,000.00 360
3 中铁十局集团有限公司 12,500,100 365
"""
    assert rows(text) == [
        (None, "南京长江建设工程有限公司", 1, 12345679, 365, True),
        (None, "江苏中南建筑产业集团有限责任公司", 2, 12400000, 360, False),
        (None, "中铁十局集团有限公司", 3, 12500100, 365, False),
    ]


def test_flattened_html_table_of_an_opening_record_is_unranked():
    text = """
开标记录
序号
投标人
投标报价(万元)
工期
1
苏州金螳螂建筑装饰股份有限公司
856.32
90日历天
2
深圳市洪涛装饰股份有限公司
861.00
90日历天
三、其他事项
"""
    assert rows(text) == [
        (None, "苏州金螳螂建筑装饰股份有限公司", None, 8563200, 90, False),
        (None, "深圳市洪涛装饰股份有限公司", None, 8610000, 90, False),
    ]


def test_single_winner_with_capital_amount():
    text = """
成交供应商：杭州市路桥集团股份有限公司
成交金额：人民币壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元整
采购人：杭州市余杭区住房和城乡建设局
"""
    assert rows(text) == [(None, "杭州市路桥集团股份有限公司", None, 12345678, None, True)]


def test_lots_rejected_bidders_and_rates():
    text = """
一标段：
第一中标候选人：安徽水安建设集团股份有限公司，下浮率：5.5%，工期：180日历天
第二中标候选人：安徽省路港工程有限责任公司，下浮率：5.2%
二标段：
第一中标候选人：中国电建集团华东勘测设计研究院有限公司，投标报价：1.2亿元
否决投标的投标人：
合肥某某建筑工程有限公司：未按招标文件要求提供投标保证金
"""
    assert rows(text) == [
        ("一标段", "安徽水安建设集团股份有限公司", 1, None, 180, True),
        ("一标段", "安徽省路港工程有限责任公司", 2, None, None, False),
        ("二标段", "中国电建集团华东勘测设计研究院有限公司", 1, 120000000, None, True),
    ]


def test_failed_tender_has_no_rows():
    text = """
本项目开标时投标人不足三家，根据相关规定，本项目流标。
投标人：江苏某某建设有限公司，投标报价：500万元
"""
    assert rows(text, title="某某工程流标公告") == []
    assert rows(text) == []


def test_owner_and_agent_in_prose_are_not_bidders():
    text = """
招标人上海市普陀区教育局委托上海申信建设项目管理咨询有限公司对本项目进行公开招标。
经评标委员会评审，确定上海城建建设工程有限公司为中标人，中标价为9286.40万元。
"""
    assert rows(text) == [(None, "上海城建建设工程有限公司", None, 92864000, None, True)]


def test_opening_record_in_prose_lines():
    text = """
开标情况：
1. 江苏建工集团有限公司 投标报价：1,021.50万元 工期：200日历天
2. 南通四建集团有限公司 投标报价：1,030.00万元 工期：210日历天
3、江苏省建筑工程集团有限公司，报价1,045.80万元
"""
    assert rows(text) == [
        (None, "江苏建工集团有限公司", None, 10215000, 200, False),
        (None, "南通四建集团有限公司", None, 10300000, 210, False),
        (None, "江苏省建筑工程集团有限公司", None, 10458000, None, False),
    ]


def test_candidate_heading_then_labelled_lines():
    text = """
第一中标候选人
单位名称：浙江交工集团股份有限公司
投标报价：23,456,789.00元
工期：24个月
第二中标候选人
单位名称：浙江省交通工程建设集团有限公司
投标报价：23,500,000.00元
"""
    assert rows(text) == [
        (None, "浙江交工集团股份有限公司", 1, 23456789, None, True),
        (None, "浙江省交通工程建设集团有限公司", 2, 23500000, None, False),
    ]


def test_tender_notice_gives_nothing():
    text = """
本招标项目镇江新区港南路道路提升改造工程已由镇江新区发改局批准建设，招标人为镇江新区城市建设投资有限公司。
投标人须具备市政公用工程施工总承包三级及以上资质。
投标报价不得高于最高投标限价。工期：300日历天
"""
    assert rows(text) == []


@pytest.mark.parametrize(
    "text, value",
    [("一百二十三", 123), ("壹仟贰佰万", 12_000_000), ("一亿二千万", 120_000_000), ("十", 10)],
)
def test_chinese_numbers(text, value):
    assert chinese_number(text) == value


def test_capital_amount_rounds_jiao():
    assert capital_amount("叁佰万零伍拾元伍角") == 3_000_051


def test_procurement_result_block_and_pipe_table_with_joint_bidder():
    text = """
二、中标（成交）信息
供应商名称：无锡市政设计研究院有限公司
供应商地址：无锡市梁溪区某路1号
中标（成交）金额：1,234,567.00（元）
三、开标记录
| 序号 | 投标人名称 | 投标报价（元） | 工期 |
|---|---|---|---|
| 1 | 中建八局第三建设有限公司、江苏省建筑设计研究院有限公司（联合体） | 45,000,000.00 | 18个月 |
| 2 | 南通二建集团有限公司 | 45,600,000.00 | 540日历天 |
"""
    assert rows(text) == [
        (None, "无锡市政设计研究院有限公司", None, 1234567, None, True),
        (
            None,
            "中建八局第三建设有限公司、江苏省建筑设计研究院有限公司(联合体)",
            None,
            45000000,
            None,
            False,
        ),
        (None, "南通二建集团有限公司", None, 45600000, 540, False),
    ]


def test_key_value_cells_joint_bidder_in_brackets_and_rate_beside_price():
    text = """
成交信息
成交供应商
扬州市建筑安装工程有限公司
成交金额(万元)
212.5
工　期：
60日历日
第一中标候选人：联合体（牵头人：中建三局集团有限公司；成员：华中科技大学建筑设计研究院），投标报价：5,000万元（下浮率3%）
"""
    assert rows(text) == [
        (None, "扬州市建筑安装工程有限公司", None, 2125000, 60, True),
        (
            None,
            "联合体(牵头人:中建三局集团有限公司;成员:华中科技大学建筑设计研究院)",
            1,
            50000000,
            None,
            False,
        ),
    ]


def test_numbered_list_ranks_only_under_an_ordered_heading():
    ordered = """
评标委员会按综合得分由高到低推荐中标候选人：
1、江苏省华建建设股份有限公司（投标报价：1,346.20万元，工期：240日历天）
2、中天建设集团有限公司（投标报价：1,352.88万元，工期：240日历天）
"""
    assert [(r[1], r[2], r[5]) for r in rows(ordered)] == [
        ("江苏省华建建设股份有限公司", 1, True),
        ("中天建设集团有限公司", 2, False),
    ]
    plain = ordered.replace("按综合得分由高到低推荐", "推荐")
    assert [(r[2], r[5]) for r in rows(plain)] == [(None, False), (None, False)]
