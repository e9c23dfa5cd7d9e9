"""Masking measured against a labelled set of lines (data/contact_lines.jsonl).

One JSON object a line: {"text", "context": "line" | "block", "secrets": [...],
"public": [...], "note": the format}. "secrets" are what a non-member must not see (phones,
mobiles, faxes, emails, QQ numbers, 微信 ids, the names after 联系人/项目经理/...), "public"
what must stay visible verbatim (amounts, dates, areas, codes, postcodes, addresses,
organisation names); both are exact substrings of the text, and anything in neither list
(labels, words) is not scored. A "block" line sits under a 联系方式 heading and is masked
with one above it.

The oracle is independent of the masking code: it imports `mask_text` and nothing else,
and judges the masked text from the labels alone.

- A number (phone, mobile, fax) is hidden when it is not there verbatim and no digit run
  of the masked text (NFKC, so full-width digits count) shares more than 5 consecutive
  digits with it: an area code and first digit (0512-6*******), or +86 139, may show.
- A name is hidden when it is not there verbatim (the surname alone may show).
- An email is hidden when its local part is not there.
- A QQ number or a 微信 id is hidden when no run of id characters in the masked text
  shares more than one character with it (its first character may show).
- A public item is falsely masked when the masked text no longer holds it verbatim.

Run with -s to see the figures and every miss by format.
"""

import json
import re
import unicodedata
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

from news.masking import mask_text

DATA = Path(__file__).parent / "data" / "contact_lines.jsonl"
BLOCK_HEADING = "六、联系方式\n"
MIN_RECALL = 0.999
MAX_FALSE_MASKING = 0.01
MAX_SHOWN_DIGITS = 5  # area code + first digit, or 86 + 139
MAX_SHOWN_ID_CHARS = 1

_CJK = re.compile(r"[\u3400-\u9fff]")
_LETTER = re.compile(r"[A-Za-z]")
_EMAIL_AT = re.compile(r"\s*(?:[@＠#]|\(at\)|\[at\])\s*", re.IGNORECASE)
_EXTENSION = re.compile(r"ext\b", re.IGNORECASE)  # 021-54126830 ext.8001 is a number
_ID_RUN = re.compile(r"[0-9a-z_.\-]+")
_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|(?:19|20)\d{2}[01]\d[0-3]\d|"
    r"[〇一二三四五六七八九零]{4}年"
)


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", nfkc(text))


def longest_common_substring(a: str, b: str) -> int:
    best, row = 0, [0] * (len(b) + 1)
    for char in a:
        previous, row = row, [0] * (len(b) + 1)
        for j, other in enumerate(b, 1):
            if char == other:
                row[j] = previous[j - 1] + 1
                best = max(best, row[j])
    return best


def load() -> list[dict]:
    with DATA.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def email_local_part(secret: str) -> str:
    return _EMAIL_AT.split(secret, maxsplit=1)[0]


def secret_kind(secret: str, text: str, secrets) -> str:
    """email | name | id | number, from the secret and the words before it: letters make
    an id (微信), and so does a QQ label between the previous secret and a number."""
    if _EMAIL_AT.search(secret) and "." in secret:
        return "email"
    if _CJK.search(secret):
        return "name"
    if _LETTER.search(_EXTENSION.sub("", secret)):
        return "id"
    start = text.find(secret)
    previous_end = max(
        (text.find(other) + len(other) for other in secrets if 0 <= text.find(other) < start),
        default=0,
    )
    before = re.sub(r"\s", "", text[previous_end:start]).casefold()
    return "id" if "qq" in before or "扣扣" in before else "number"


def is_hidden(secret: str, kind: str, masked: str) -> bool:
    """Whether masked text (other secrets' verbatim survivals already blanked) hides secret."""
    if secret in masked:
        return False
    shown = nfkc(masked)
    if kind == "name":
        return nfkc(secret) not in shown
    if kind == "email":
        local = email_local_part(secret)
        return local not in masked and nfkc(local) not in shown
    if kind == "id":
        wanted = nfkc(secret).casefold()
        return all(
            longest_common_substring(wanted, run) <= MAX_SHOWN_ID_CHARS
            for run in _ID_RUN.findall(shown.casefold())
        )
    wanted = digits(secret)
    return all(
        longest_common_substring(wanted, run) <= MAX_SHOWN_DIGITS
        for run in re.findall(r"[0-9]+", shown)
    )


def masking_input(item: dict) -> str:
    return BLOCK_HEADING + item["text"] if item["context"] == "block" else item["text"]


def judge(item: dict, masked: str) -> tuple[list[tuple[str, str]], list[str]]:
    """([(kind, secret) that show], [public items that no longer show])."""
    secrets = item["secrets"]
    shown = []
    for secret in secrets:
        # A secret left verbatim is its own miss: blank it so that its digits do not count
        # against a neighbour (0511-83000001、0511-83000002).
        rest = masked
        for other in sorted(secrets, key=len, reverse=True):
            if other != secret and secret not in other:
                rest = rest.replace(other, "\x00")
        kind = secret_kind(secret, item["text"], secrets)
        if not is_hidden(secret, kind, rest):
            shown.append((kind, secret))
    lost = [public for public in item["public"] if public not in masked]
    return shown, lost


def ideal_mask(item: dict) -> str:
    """What an acceptable masking shows at most: each number's first 5 digits, a name's
    surname, an email's first letter and domain, an id's first character."""
    text = masking_input(item)
    for secret in sorted(item["secrets"], key=len, reverse=True):
        kind = secret_kind(secret, item["text"], item["secrets"])
        if kind == "number":
            kept, out = 0, []
            for char in secret:
                is_digit = nfkc(char).isdigit()
                out.append(char if not is_digit or kept < MAX_SHOWN_DIGITS else "*")
                kept += is_digit
            hidden = "".join(out)
        elif kind == "email":
            local = email_local_part(secret)
            hidden = local[:1] + "***" + secret[len(local) :]
        else:
            hidden = secret[:1] + "*" * (len(secret) - 1)
        text = text.replace(secret, hidden)
    return text


@cache
def measure() -> dict:
    items = load()
    misses, lost = [], []
    per_note = defaultdict(Counter)
    for item in items:
        masked = mask_text(masking_input(item))
        shown, gone = judge(item, masked)
        note = item["note"]
        per_note[note].update(
            lines=1,
            secrets=len(item["secrets"]),
            public=len(item["public"]),
            missed=len(shown),
            lost=len(gone),
        )
        misses += [(note, kind, secret, item["text"], masked) for kind, secret in shown]
        lost += [(note, public, item["text"], masked) for public in gone]
    secrets = sum(len(item["secrets"]) for item in items)
    public = sum(len(item["public"]) for item in items)
    return {
        "lines": len(items),
        "secrets": secrets,
        "public": public,
        "recall": (secrets - len(misses)) / secrets,
        "false_masking": len(lost) / public,
        "misses": misses,
        "lost": lost,
        "per_note": dict(per_note),
    }


def summary() -> str:
    m = measure()
    lines = [
        f"{m['lines']} lines, {m['secrets']} secrets, {m['public']} public items: "
        f"recall {m['recall']:.4f} ({m['secrets'] - len(m['misses'])}/{m['secrets']}), "
        f"false masking {m['false_masking']:.4f} ({len(m['lost'])}/{m['public']})",
        f"{'format':<24}{'lines':>6}{'secrets':>8}{'missed':>7}{'public':>7}{'lost':>5}",
    ]
    for note, c in sorted(m["per_note"].items()):
        lines.append(
            f"{note:<24}{c['lines']:>6}{c['secrets']:>8}{c['missed']:>7}{c['public']:>7}{c['lost']:>5}"
        )
    return "\n".join(lines)


def describe_misses(misses) -> str:
    return "\n".join(
        f"  [{note}] {kind} {secret!r} in {text!r} → {masked!r}"
        for note, kind, secret, text, masked in misses
    )


def describe_lost(lost) -> str:
    return "\n".join(
        f"  [{note}] {public!r} in {text!r} → {masked!r}" for note, public, text, masked in lost
    )


def test_dataset_is_sound():
    items = load()
    problems = []
    for number, item in enumerate(items, 1):
        text = item["text"]
        if item["context"] not in ("line", "block") or not item.get("note"):
            problems.append(f"line {number}: context/note")
        for value in item["secrets"] + item["public"]:
            if not value or value not in text:
                problems.append(f"line {number}: {value!r} is not in the text")
        for secret in item["secrets"]:
            for public in item["public"]:
                if secret in public or public in secret:
                    problems.append(f"line {number}: {secret!r} overlaps public {public!r}")
        # The oracle must accept the most an acceptable masking may show, and must not
        # blame a masking for digits or letters the line holds elsewhere.
        shown, gone = judge(item, ideal_mask(item))
        if shown or gone:
            problems.append(f"line {number}: ideal masking judged wrong: {shown} {gone}")
    assert not problems, "\n".join(problems)

    lines = Counter((item["text"], item["context"]) for item in items)
    assert not [line for line, count in lines.items() if count > 1]

    with_secrets = [item for item in items if item["secrets"]]
    without = [item for item in items if not item["secrets"]]
    public = [value for item in items for value in item["public"]]
    long_or_dates = [p for p in public if len(digits(p)) >= 7 or _DATE.search(nfkc(p))]
    assert len(with_secrets) >= 260, len(with_secrets)
    assert len(without) >= 120, len(without)
    assert len(long_or_dates) >= 100, len(long_or_dates)
    kinds = Counter(
        secret_kind(s, item["text"], item["secrets"]) for item in items for s in item["secrets"]
    )
    assert min(kinds[k] for k in ("number", "name", "email", "id")) >= 15, kinds
    assert sum(item["context"] == "block" for item in with_secrets) >= 60
    assert sum(item["context"] == "block" and bool(item["public"]) for item in items) >= 40


def test_recall():
    m = measure()
    print("\n" + summary())
    assert m["recall"] >= MIN_RECALL, (
        f"recall {m['recall']:.4f}: {len(m['misses'])} of {m['secrets']} secrets show "
        f"(at most {int(m['secrets'] * (1 - MIN_RECALL))} may)\n{summary()}\n"
        + describe_misses(m["misses"])
    )


def test_false_masking():
    m = measure()
    assert m["false_masking"] <= MAX_FALSE_MASKING, (
        f"false masking {m['false_masking']:.4f}: {len(m['lost'])} of {m['public']} public "
        f"items masked (at most {int(m['public'] * MAX_FALSE_MASKING)} may)\n"
        + describe_lost(m["lost"])
    )
