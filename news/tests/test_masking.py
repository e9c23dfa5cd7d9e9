"""Masking of stored contact values, judged by an oracle that knows only the values:
whatever the text around them, a stored name, number or email that the text holds must
not come out readable (the labelled set in test_masking_labelled.py measures the patterns
that need no stored value)."""

import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from news import masking

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", text))


def readable_values(text: str, masked: str, values) -> list[str]:
    """The stored values the text shows before masking that a reader still gets after."""
    out = []
    for value in {(v or "").strip() for v in values}:
        if not value or value not in text:
            continue
        if "@" in value:
            local = value.partition("@")[0]
            bounded = re.search(rf"(?<![\w.+-]){re.escape(value)}(?![\w-])", text)
            if bounded and len(local) > 1 and local in masked:
                out.append(value)
        elif numbers := re.findall(r"[0-9][0-9\- ]{5,}[0-9]", value):
            # A phone is readable where the text had it on its own and masking left it.
            for number in numbers:
                bounded = rf"(?<!\d){re.escape(number)}(?!\d)"
                if re.search(bounded, text) and re.search(bounded, masked):
                    out.append(value)
        elif not _digits(value) and _CJK.search(value) and len(value) >= 2 and value in masked:
            out.append(value)
    return out


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
def test_stored_values_never_readable_after_masking(text, values):
    masked, hidden = masking.mask_text_collect(text, values=values)
    assert not readable_values(text, masked, values), (text, masked)
    # What it hid is what the search index must drop: each piece was in the text.
    assert all(piece in text for piece in hidden)
    assert (masked == text) == (not hidden)


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
