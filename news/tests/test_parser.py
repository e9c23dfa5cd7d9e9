"""Bulletin file parsing (news.importing): pure functions, no Django or database needed."""

import datetime
import html
import json
import random
import re
from pathlib import Path

import pytest

from news.importing import (
    ParsedContact,
    ParseError,
    decode_bytes,
    normalised_fingerprint,
    parse_bytes,
    parse_text,
)

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "demo" / "bulletins"
EXPECTED = json.loads((SAMPLES_DIR / "expected.json").read_text(encoding="utf-8"))
SAMPLE_NAMES = sorted(name for name in EXPECTED if not name.startswith("_"))
FORBIDDEN_IN_BODY = EXPECTED["_must_not_appear_in_body"]
SOURCE_PREFIX = "如有附件或图片请到网址中下载或查看"


def sample_text(name: str) -> str:
    return (SAMPLES_DIR / name).read_text(encoding="utf-8")


def body_of(parsed) -> str:
    return "\n".join(parsed.paragraphs)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_matches_expected(name):
    expected = EXPECTED[name]
    parsed = parse_text(sample_text(name))

    assert parsed.title == expected["title"]
    assert parsed.published == datetime.date.fromisoformat(expected["published"])
    assert parsed.region == tuple(expected["region"])
    assert parsed.category == expected["category"]
    assert parsed.source_url == expected["source_url"]
    if "paragraphs" in expected:
        assert len(parsed.paragraphs) == expected["paragraphs"]
    if "body_starts_with" in expected:
        assert body_of(parsed).startswith(expected["body_starts_with"])
    for fragment in expected.get("body_contains", []):
        assert fragment in body_of(parsed)
    assert parsed.credits == expected.get("credits", {})
    assert parsed.contacts == tuple(ParsedContact(**c) for c in expected["contacts"])
    # Absent keys mean "nothing to extract" (000's 总投资304亿元 is news prose, not a label).
    assert parsed.amount_yuan == expected.get("amount_yuan")
    deadline = expected.get("deadline")
    assert parsed.deadline == (datetime.datetime.fromisoformat(deadline) if deadline else None)
    assert parsed.stage == expected.get("stage", "")


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_boilerplate_is_removed(name):
    parsed = parse_text(sample_text(name))
    body = body_of(parsed)
    for forbidden in FORBIDDEN_IN_BODY:
        assert forbidden not in body
    assert SOURCE_PREFIX not in body
    assert "按照客观、公正、公开的原则" not in body
    assert "正文" not in parsed.paragraphs[0]


def test_credits_stay_in_last_paragraph():
    parsed = parse_text(sample_text("000_e0a6c29f7289a2c5.txt"))
    assert parsed.paragraphs[-1].endswith("(记者 陈志奎 摄影 谢道韫)")


def test_award_fields():
    parsed = parse_text(sample_text("003_award_putuo_school.txt"))
    assert parsed.winner == "上海城建建设工程有限公司"
    assert parsed.project_manager == "陈卫东"
    # Other bidders' 投标报价 must not win over the 中标价.
    assert parsed.amount_yuan == 92_864_000


def test_deadline_is_shanghai_time():
    parsed = parse_text(sample_text("001_tender_gangnan_road.txt"))
    assert parsed.deadline.utcoffset() == datetime.timedelta(hours=8)
    assert parsed.deadline.tzinfo.key == "Asia/Shanghai"


# --- encodings and renderings give identical results ---------------------------------------


def _gbk_text(name: str) -> str:
    # EN SPACE (in sample 000) does not exist in GBK; a GBK page would carry a plain space.
    return sample_text(name).replace("\u2002", " ")


VARIANTS = {
    "gbk": lambda name: _gbk_text(name).encode("gbk"),
    "gb18030": lambda name: sample_text(name).encode("gb18030"),
    "utf8_bom": lambda name: sample_text(name).encode("utf-8-sig"),
    "utf16_bom": lambda name: sample_text(name).encode("utf-16"),
    "crlf": lambda name: sample_text(name).replace("\n", "\r\n").encode("utf-8"),
    "cr": lambda name: sample_text(name).replace("\n", "\r").encode("utf-8"),
    "gbk_crlf": lambda name: _gbk_text(name).replace("\n", "\r\n").encode("gbk"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_encodings_and_newlines_give_identical_result(name, variant):
    original = parse_bytes(sample_text(name).encode("utf-8"))
    assert parse_bytes(VARIANTS[variant](name)) == original


def test_slightly_damaged_files_keep_their_encoding():
    text = sample_text("001_tender_gangnan_road.txt")
    truncated = text.encode("utf-8")[:-1] + "镇".encode()[:2]  # cut mid-character
    assert parse_bytes(truncated) == parse_text(text)
    gbk = text.encode("gbk")
    damaged = gbk[:100] + b"\xff" + gbk[101:]  # one byte of the title overwritten
    parsed = parse_bytes(damaged)
    assert "\ufffd" in parsed.title
    assert parsed.contacts == parse_text(text).contacts


def test_stray_control_characters_are_dropped():
    text = sample_text("000_e0a6c29f7289a2c5.txt")
    noisy = text.replace("“镇”诚合作", "“镇”\x01诚合作\x0c")
    assert parse_bytes(noisy.encode("utf-8")) == parse_text(text)
    assert parse_bytes(_html_rendering(noisy)) == parse_text(text)


def _full_width(text: str) -> str:
    text = re.sub(r":(?!//)", "：", text)  # keep URLs intact
    return text.translate(str.maketrans({"(": "（", ")": "）", ",": "，", ";": "；"}))


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_full_width_punctuation_gives_identical_result(name):
    variant = _full_width(sample_text(name))
    assert "：" in variant
    assert parse_text(variant) == parse_text(sample_text(name))


def _html_rendering(text: str, encoding: str = "utf-8") -> bytes:
    """Render a sample like a CMS would: title in <h1>, paragraphs in <p>, chrome around."""
    lines = text.split("\n")
    title_index = next(i for i, line in enumerate(lines) if line.strip() and i > 0)
    blocks = re.split(r"\n\s*\n", "\n".join(lines[title_index + 1 :]))
    paragraphs = "\n".join(
        "  <p>\n    "
        + "<br>\n    ".join(html.escape(line) for line in block.strip().split("\n"))
        + "\n  </p>"
        for block in blocks
        if block.strip()
    )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="{encoding}"><title>{html.escape(lines[title_index])} - 某网</title>
<style>p {{ margin: 0 }} .x:after {{ content: "注册会员" }}</style>
<script>var junk = "<p>标讯查询服务</p>"; if (a < b && c > d) {{ track(); }}</script></head>
<body>
<header><div>{html.escape(lines[0])}</div></header>
<nav><ul><li><a href="/">首页</a></li><li>建设快讯</li><li>招标公告</li></ul></nav>
<!-- 广告位 4000-156-001 -->
<div class="article">
  <h1>{html.escape(lines[title_index])}</h1>
{paragraphs}
</div>
<noscript>请启用 JavaScript</noscript>
<iframe src="/ad"></iframe>
<form><input name="q"><button>搜索</button></form>
<footer><p>版权所有 &copy; 中国建设招标网 咨询热线:4000-156-001</p></footer>
</body></html>"""
    return page.encode(encoding)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_html_rendering_gives_identical_result(name):
    assert parse_bytes(_html_rendering(sample_text(name))) == parse_text(sample_text(name))


def test_gbk_html_rendering_gives_identical_result():
    name = "001_tender_gangnan_road.txt"
    rendered = _html_rendering(_gbk_text(name), encoding="gbk")
    assert parse_bytes(rendered) == parse_text(sample_text(name))


def test_html_to_text_drops_chrome_and_breaks_blocks():
    text = decode_bytes(
        b"<html><body><nav>menu</nav><div>one<br>two</div><p>three <b>bold</b>\n  four</p>"
        b"<script>evil()</script><table><tr><td>a</td><td>b</td></tr></table></body></html>"
    )
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    assert lines == ["one", "two", "three bold four", "a b"]


def test_text_with_stray_tags_keeps_its_lines():
    text = sample_text("003_award_putuo_school.txt")
    tagged = text.replace("质量标准:合格", "质量标准:合格<br>").replace("公示期", "<p>公示期", 1)
    parsed = parse_bytes(tagged.encode("utf-8"))
    assert parsed == parse_text(text)


def test_article_header_is_kept_but_page_header_is_dropped():
    page = """<html><body><header>中国建设招标网 首页</header>
    <article><header><h1>某某道路工程招标公告</h1><p>2025-03-01 江苏-南京-鼓楼区</p></header>
    <p>一、招标条件</p><p>本项目已具备招标条件。</p>
    <footer>如有附件或图片请到网址中下载或查看http://example.com/b.html</footer></article>
    <footer>版权所有</footer></body></html>"""
    parsed = parse_bytes(page.encode("utf-8"))
    assert parsed.title == "某某道路工程招标公告"
    assert parsed.paragraphs == ("一、招标条件", "本项目已具备招标条件。")
    assert parsed.source_url == "http://example.com/b.html"


# --- reposts and fingerprints --------------------------------------------------------------


def _repost(name: str) -> str:
    """Same article as another site would publish it: other chrome, meta and source URL."""
    parsed = parse_text(sample_text(name))
    return "\n".join(
        [
            "建筑信息港 服务热线:400-800-1234",
            "首页 > 资讯中心 > 正文",
            parsed.title,
            "来源:镇江日报 发布时间:2024-09-25 10:12 浏览次数:1024",
            "【打印】 【关闭】",
            *("\u3000\u3000" + _full_width(p) for p in parsed.paragraphs),
            "责任编辑:王某",
            "原文链接:https://news.example.com/2024/09/25/abc.html",
            "免责声明:本网转载此文出于传递更多信息之目的。",
            "扫一扫 关注我们",
            "客服热线:400-800-1234",
        ]
    )


def test_repost_has_same_fingerprint():
    name = "000_e0a6c29f7289a2c5.txt"
    original = parse_text(sample_text(name))
    repost = parse_text(_repost(name))
    assert repost.source_url == "https://news.example.com/2024/09/25/abc.html"
    assert repost.published == original.published
    assert repost.paragraphs == original.paragraphs
    assert normalised_fingerprint(repost) == normalised_fingerprint(original)


def test_fingerprint_distinguishes_articles():
    first = parse_text(sample_text("000_e0a6c29f7289a2c5.txt"))
    other = parse_text(sample_text("001_tender_gangnan_road.txt"))
    edited = parse_text(sample_text("000_e0a6c29f7289a2c5.txt").replace("近200人", "近300人"))
    fingerprints = {normalised_fingerprint(p) for p in (first, other, edited)}
    assert len(fingerprints) == 3
    assert all(re.fullmatch(r"[0-9a-f]{64}", fp) for fp in fingerprints)


# --- rejected files ------------------------------------------------------------------------

SAMPLE = "001_tender_gangnan_road.txt"


def _without_lines(text: str, pattern: str) -> str:
    return "\n".join(line for line in text.split("\n") if not re.search(pattern, line))


def test_missing_date_is_rejected():
    text = _without_lines(sample_text(SAMPLE), r"^2024-10-12|发布日期")
    with pytest.raises(ParseError, match="缺少发布日期"):
        parse_text(text)


def test_missing_date_with_region_line_is_rejected():
    text = sample_text(SAMPLE).replace("2024-10-12 ", "").replace("发布日期: 2024年10月12日", "")
    with pytest.raises(ParseError, match="缺少发布日期"):
        parse_text(text)


def test_invalid_date_is_rejected():
    text = sample_text(SAMPLE).replace("2024-10-12", "2024-13-45", 1)
    with pytest.raises(ParseError, match="发布日期无效"):
        parse_text(text)


def test_missing_title_is_rejected():
    text = _without_lines(sample_text(SAMPLE), r"招标公告$")
    with pytest.raises(ParseError, match="缺少标题"):
        parse_text(text)


def test_empty_body_is_rejected():
    text = sample_text(SAMPLE)
    start = text.index("招标公告正文") + len("招标公告正文")
    with pytest.raises(ParseError, match="正文为空"):
        parse_text(text[:start] + "\n\n" + text[text.index(SOURCE_PREFIX) :])


@pytest.mark.parametrize("data", [b"", b" \r\n\t\n", "\ufeff".encode("utf-8")])
def test_empty_file_is_rejected(data):
    with pytest.raises(ParseError, match="文件为空"):
        parse_bytes(data)


def test_binary_file_is_rejected():
    noise = random.Random(42).randbytes(4096)
    with pytest.raises(ParseError, match="不是文本文件"):
        parse_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise)


def test_control_character_soup_is_rejected():
    with pytest.raises(ParseError, match="不是文本文件"):
        parse_bytes(bytes(range(1, 32)) * 50)


@pytest.mark.parametrize("seed", [3, 7])
def test_high_byte_noise_is_rejected(seed):
    # No NUL bytes, and GB18030 accepts much of it: the decoded text must still be refused.
    rng = random.Random(seed)
    noise = bytes(rng.randrange(0x80, 0x100) for _ in range(2048))
    with pytest.raises(ParseError, match="不是文本文件"):
        parse_bytes(noise)


def test_gb18030_soup_is_rejected():
    rng = random.Random(11)
    pairs = (bytes((rng.randrange(0x81, 0xFF), rng.randrange(0xA1, 0xFF))) for _ in range(1024))
    soup = b"".join(pairs)
    soup.decode("gb18030")  # decodes without error...
    with pytest.raises(ParseError, match="不是文本文件"):
        parse_bytes(soup)  # ...but is not text


# --- field extraction on small synthetic pages ---------------------------------------------


def _page(*body: str, category: str = "在建项目") -> str:
    return "\n".join(
        [
            "某某工程",
            "2025-03-01 江苏-南京-鼓楼区",
            "所在地区: 江苏-南京-鼓楼区 发布日期: 2025年3月1日",
            f"{category}正文",
            *body,
            "如有附件或图片请到网址中下载或查看",
            "http://example.com/a.html",
        ]
    )


def test_site_manager_with_phone_is_a_contact():
    parsed = parse_text(
        _page(
            "施工单位：中建八局(上海)有限公司",
            "项目经理：张三 电话：025-1234567转8",
            "监理单位：江苏某监理公司",
            "地址：南京市鼓楼区中山路1号",
        )
    )
    assert parsed.source_url == "http://example.com/a.html"
    assert parsed.contacts == (
        ParsedContact(
            organization="中建八局(上海)有限公司",
            role="施工单位",
            name="张三",
            title="项目经理",
            phone="025-1234567转8",
        ),
    )


def test_prose_mentions_are_not_contacts():
    parsed = parse_text(
        _page(
            "项目业主为南京某投资公司,招标人为南京某投资公司。",
            "招标代理机构:南京某咨询公司",
            "本项目已完成立项。",
            "联系人:李四 手机:13912345678",
        )
    )
    # The prose line closes the agency block, so 李四 has no organisation.
    assert parsed.contacts == (ParsedContact(name="李四", mobile="13912345678"),)


def test_compact_and_letter_spaced_contact_layouts():
    parsed = parse_text(
        _page(
            "招标人：南京某公司联系人：王五电话：025-88889999",
            "招标代理机构:某代理公司 联系人:赵六 联系方式:13912345678 / 025-66667777",
            "Email: Zhao@Example.com",
            "项目业主：某业主公司",
            "联 系 人：钱七",
            "电  话：0519-1234567",
        )
    )
    assert parsed.contacts == (
        ParsedContact("南京某公司", "招标人", "王五", phone="025-88889999"),
        ParsedContact(
            "某代理公司",
            "招标代理",
            "赵六",
            phone="025-66667777",
            mobile="13912345678",
            email="Zhao@Example.com",
        ),
        ParsedContact("某业主公司", "项目业主", "钱七", phone="0519-1234567"),
    )


def test_amount_labels_and_units():
    assert parse_text(_page("最高投标限价(万元):1,234.5")).amount_yuan == 12_345_000
    assert parse_text(_page("预算金额:人民币 980000元")).amount_yuan == 980_000
    assert parse_text(_page("中标价(元):92864000.00")).amount_yuan == 92_864_000
    assert parse_text(_page("控制价:3860.52")).amount_yuan is None  # unit unknown
    assert parse_text(_page("总投资约5亿元,计划年内开工。")).amount_yuan is None
    award = _page("招标控制价:9500万元", "中标价:9286.4万元", category="中标公告")
    assert parse_text(award).amount_yuan == 92_864_000


@pytest.mark.parametrize(
    ("last_paragraph", "credits"),
    [
        ("全文完。(记者 陈志奎 摄影 谢道韫)", {"记者": "陈志奎", "摄影": "谢道韫"}),
        ("全文完。【文/张三 图/李四】", {"文": "张三", "图": "李四"}),
        ("记者 王文图", {"记者": "王文图"}),
        ("审核通过的项目将于下月开工。", {}),
        ("项目将于下月开工(2025年)", {}),
    ],
)
def test_credits(last_paragraph, credits):
    assert parse_text(_page("第一段。", last_paragraph)).credits == credits


def test_deadline_formats():
    afternoon = _page("投标截止时间:2025年3月20日下午2:30(北京时间)")
    assert parse_text(afternoon).deadline == datetime.datetime.fromisoformat(
        "2025-03-20T14:30:00+08:00"
    )
    date_only = _page("递交投标文件截止日期为2025-03-20。")
    assert parse_text(date_only).deadline.isoformat() == "2025-03-20T23:59:00+08:00"


def test_contacts_in_every_written_form_are_stored():
    parsed = parse_text(
        _page(
            "招标人:南京某投资公司",
            "联系人:王建明 手机:139-0000-0054 电话:0512—68000051转8001",
            "招标代理机构:南京某咨询公司",
            "联 系 人:李晓燕 手机:+86 139 1111 2222 电子邮件:li.xy@example.com",
        )
    )
    people = {c.name: c for c in parsed.contacts}
    assert people["王建明"].mobile == "139-0000-0054"
    assert people["王建明"].phone == "0512-68000051转8001"  # the em dash read as "-"
    assert people["李晓燕"].mobile == "+86 139 1111 2222"
    assert people["李晓燕"].email == "li.xy@example.com"
