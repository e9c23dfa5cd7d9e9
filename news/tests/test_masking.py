"""Masking of stored contact values: the literal search must hide exactly what the regex
alternation it replaced hid (kept below as the reference), in the same order."""

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from news import masking


def _reference_pattern(values) -> re.Pattern | None:
    """The regex of one bulletin's values that masking compiled per bulletin until
    import-perf (news/masking.py `_value_pattern`)."""
    alternatives: dict[str, str] = {}
    for value in values:
        value = (value or "").strip()
        if "@" in value:
            alternatives[value] = rf"(?<![\w.+-]){re.escape(value)}(?![\w-])"
        elif any(c.isdigit() for c in value):
            for number in re.findall(r"\d[\d\- ]{5,}\d", value):
                digits = re.sub(r"\D", "", number)
                for literal in (number, digits[-8:] if len(digits) > 8 else digits):
                    alternatives[literal] = rf"(?<!\d){re.escape(literal)}(?!\d)"
        elif len(value) >= 2:
            alternatives[value] = re.escape(value)
    if not alternatives:
        return None
    ordered = sorted(alternatives, key=len, reverse=True)
    return re.compile("|".join(alternatives[v] for v in ordered))


def reference_mask_text_collect(text: str, *, values=()) -> tuple[str, list[str]]:
    hidden: list[str] = []

    def hide(original: str, masked: str) -> str:
        if masked != original:
            hidden.append(original)
        return masked

    pattern = _reference_pattern(tuple(values))
    if pattern is not None:
        text = pattern.sub(lambda m: hide(m.group(0), masking._mask_value(m.group(0))), text)
    # The fixed contact patterns after the values are unchanged: mask an empty value set.
    masked, rest = masking.mask_text_collect(text)
    return masked, hidden + rest


# Values as the parser stores them (and awkward ones: overlapping, nested, with spaces).
NAMES = ["王建明", "欧阳晓", "王建", "建明", "明王", "陈卫东", "A", "李", "ab", "a b", "王建明王"]
PHONES = [
    "0511-83000001",
    "(0511)83000001",
    "0511 8300 0001",
    "83000001",
    "400-820-1234",
    "8201234",
    "0511-83000001转123",
    "12345",
    "0511-830000011",
    "020-1234567",
]
MOBILES = ["13800000002", "138 0000 0002", "+8613800000002", "19912345678", "1380000000"]
EMAILS = ["wang@example.com", "a.b+c@zz-example.com", "x@y", "b@example.com", "@", "W@E.CN"]
VALUES = NAMES + PHONES + MOBILES + EMAILS
# Text around them: what the boundaries look at (digits of other scripts, word characters,
# the separators emails allow, Chinese, labels the fixed patterns know).
FILLER = [
    " ",
    "\n",
    "联系人:",
    "电话:",
    "手机",
    "邮箱:",
    "、",
    "，",
    "-",
    ".",
    "+",
    "_",
    "a",
    "Z",
    "0",
    "9",
    "٣",  # an Arabic-Indic digit: \d and \w for the regex engine
    "²",  # a digit that is not decimal: \w, not \d
    "é",
    "镇江",
    "(",
    ")",
    "@",
    "转",
]

texts = st.lists(st.one_of(st.sampled_from(VALUES), st.sampled_from(FILLER)), max_size=30).map(
    "".join
)
value_sets = st.lists(
    st.one_of(st.sampled_from(VALUES), st.text(alphabet="0123456789-@.ab王建 ", max_size=14)),
    max_size=8,
)


@settings(max_examples=3000, deadline=None)
@given(text=texts | st.text(max_size=60), values=value_sets)
@example(text="王建明王建明", values=["王建明", "建明王"])
@example(text="王建明王", values=["王建明", "明王"])
@example(text="83000001² ٣83000001", values=["83000001"])
@example(text="0511-8300000183000001", values=["0511-83000001"])
@example(text="wang@example.com.cn a.wang@example.com", values=["wang@example.com"])
def test_same_as_the_regex_it_replaced(text, values):
    assert masking.mask_text_collect(text, values=values) == reference_mask_text_collect(
        text, values=values
    )


def test_values_masked_however_printed():
    values = ["王建明", "0511-83000001", "13800000002", "wang@example.com"]
    text = "联系:王建明 83000001 (0511-83000001) 13800000002 wang@example.com x.wang@example.com"
    masked, hidden = masking.mask_text_collect(text, values=values)
    # The stored values first, in text order; the fixed patterns then catch any other email.
    assert (
        masked == "联系:王** 8******* (0511-8*******) 138******** w***@example.com x***@example.com"
    )
    assert hidden == [
        "王建明",
        "83000001",
        "0511-83000001",
        "13800000002",
        "wang@example.com",
        "x.wang@example.com",
    ]


def test_longest_value_first_and_no_digit_run_split():
    masked = masking.mask_text("王建明 王建 183000001", values=["王建", "王建明", "83000001"])
    assert masked == "王** 王* 183000001"
