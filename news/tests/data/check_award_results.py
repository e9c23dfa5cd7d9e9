"""Sanity check of the award-results labelled set (award_results.README.md).

Checks each label against its page, not the parser: every bidder, lot and duration_text
occurs verbatim in the page, every price_yuan can be read off a number in the page (as
yuan, 万元 or 亿元), non-award pages have no rows, and each lot has at most one winner.
Run: python news/tests/data/check_award_results.py  (exit status 1 on any problem)
"""

import collections
import json
import pathlib
import re
import sys
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

HERE = pathlib.Path(__file__).resolve().parent
KEYS = {"page", "rows", "notes"}
ROW_KEYS = {"lot", "bidder", "rank", "price_yuan", "duration_days", "duration_text", "winner"}
SCALES = (Decimal(1), Decimal(10_000), Decimal(100_000_000))
# A number as pages write it once NFKC has made full-width digits ASCII: 1,234.56 or 1234.5
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def read_page(name: str) -> str:
    # newline="" keeps CRLF pages as written; verbatim checks must not depend on it.
    with open(HERE / "award_pages" / name, encoding="utf-8", newline="") as f:
        return f.read()


def amounts(text: str) -> set[int]:
    found = set()
    for m in NUMBER.finditer(unicodedata.normalize("NFKC", text)):
        value = Decimal(m.group().replace(",", ""))
        for scale in SCALES:
            found.add(int((value * scale).quantize(Decimal(1), ROUND_HALF_UP)))
    return found


def check_label(label: dict) -> list[str]:
    problems = []
    if set(label) != KEYS:
        return [f"keys {sorted(label)}"]
    text = read_page(label["page"])
    award = "\n中标公告正文" in text.replace("\r\n", "\n")
    if not award and label["rows"]:
        problems.append("rows on a non-award page")
    seen = set()
    winners = collections.Counter()
    money = amounts(text)
    for i, row in enumerate(label["rows"]):
        where = f"row {i} ({row.get('bidder')})"
        if set(row) != ROW_KEYS:
            problems.append(f"{where}: keys {sorted(row)}")
            continue
        for field in ("bidder", "lot", "duration_text"):
            value = row[field]
            if value is not None and (not value.strip() or value not in text):
                problems.append(f"{where}: {field} {value!r} not verbatim in the page")
        if (bidder := row["bidder"]) and bidder != bidder.strip(" \t\u3000"):
            problems.append(f"{where}: bidder has surrounding whitespace")
        if (row["lot"], row["bidder"]) in seen:
            problems.append(f"{where}: bidder twice in one lot")
        seen.add((row["lot"], row["bidder"]))
        if row["rank"] is not None and not (type(row["rank"]) is int and row["rank"] >= 1):
            problems.append(f"{where}: rank {row['rank']!r}")
        if type(row["winner"]) is not bool:
            problems.append(f"{where}: winner {row['winner']!r}")
        winners[row["lot"]] += row["winner"] is True
        price = row["price_yuan"]
        if price is not None and (type(price) is not int or price not in money):
            problems.append(f"{where}: price_yuan {price!r} not found in the page")
        days = row["duration_days"]
        if days is not None:
            if type(days) is not int or days <= 0 or row["duration_text"] is None:
                problems.append(f"{where}: duration_days {days!r} without duration_text")
            else:
                # Digits written must agree; 一百二十日历天 is checked by eye only.
                written = unicodedata.normalize("NFKC", row["duration_text"])
                if re.search(r"\d", written) and str(days) not in written:
                    problems.append(f"{where}: duration_days {days} not in {written!r}")
    problems += [f"lot {lot!r}: {n} winners" for lot, n in winners.items() if n > 1]
    if not re.match(r"format: [a-z +-]+; features: [a-z, -]+; ", label["notes"]):
        problems.append("notes must start with 'format: …; features: …; '")
    return problems


def main() -> int:
    labels = [
        json.loads(line)
        for line in (HERE / "award_results.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    files = sorted(p.name for p in (HERE / "award_pages").glob("*.txt"))
    names = [label.get("page") for label in labels]
    bad = 0
    if sorted(names) != files or len(set(names)) != len(names):
        print("labels and page files differ:", set(names) ^ set(files))
        bad += 1
    for label in labels:
        for problem in check_label(label):
            print(f"{label.get('page')}: {problem}")
            bad += 1
    rows = [row for label in labels for row in label["rows"]]
    print(f"{len(labels)} pages, {len(rows)} rows, {sum(not x['rows'] for x in labels)} empty")
    print(
        f"rows: {sum(r['winner'] for r in rows)} winners, "
        f"{sum(r['rank'] is not None for r in rows)} ranked, "
        f"{sum(r['price_yuan'] is not None for r in rows)} priced, "
        f"{sum(r['duration_days'] is not None for r in rows)} with days, "
        f"{sum(r['lot'] is not None for r in rows)} in a lot"
    )
    shapes, features = collections.Counter(), collections.Counter()
    for label in labels:
        shape, feature = label["notes"].removeprefix("format: ").split("; ")[:2]
        shapes.update(shape.split(" + "))
        features.update(f for f in feature.removeprefix("features: ").split(", ") if f != "-")
    for title, counts in (("shapes", shapes), ("features", features)):
        print(title + ":", ", ".join(f"{k} {n}" for k, n in counts.most_common()))
    print("OK" if not bad else f"{bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
