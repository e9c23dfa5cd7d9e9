"""The bid-result parser measured on a labelled set it was not written against.

news/tests/data/award_pages/*.txt are whole bulletin pages; award_results.jsonl holds the
rows a careful reader takes from each (contract: award_results.README.md). Pages go
through the importer's own parser (parse_bytes), so what is measured is what the import
stores. Rows are matched on (page, lot, bidder), both normalised (width, spaces and
punctuation; 一标段 = 第1标段); precision and recall are over rows, and price, rank,
winner and day-count accuracy over the matched rows. Targets: P ≥ 0.98, R ≥ 0.9.

    .venv/bin/python -m pytest news/tests/test_bid_results_labelled.py -s   # prints misses
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from news.importing.bid_results import bidder_key, lot_key
from news.importing.parser import parse_bytes

DATA = Path(__file__).parent / "data"
TARGET_PRECISION, TARGET_RECALL = 0.98, 0.9


def _key(page: str, lot, bidder: str) -> tuple[str, str, str]:
    return page, lot_key(lot), bidder_key(bidder)


@dataclass
class Score:
    labelled: int = 0
    found: int = 0
    matched: int = 0
    same: dict = field(
        default_factory=lambda: dict.fromkeys(("price", "rank", "winner", "days"), 0)
    )
    misses: list = field(default_factory=list)

    def rate(self, name: str) -> float:
        return self.same[name] / max(self.matched, 1)

    @property
    def precision(self) -> float:
        return self.matched / max(self.found, 1)

    @property
    def recall(self) -> float:
        return self.matched / max(self.labelled, 1)

    def summary(self) -> str:
        return (
            f"rows: labelled {self.labelled}, found {self.found}, matched {self.matched}; "
            f"precision {self.precision:.3f}, recall {self.recall:.3f}; on matched rows: "
            f"price {self.rate('price'):.3f}, rank {self.rate('rank'):.3f}, "
            f"winner {self.rate('winner'):.3f}, days {self.rate('days'):.3f}"
        )


def measure() -> Score:
    score = Score()
    with (DATA / "award_results.jsonl").open(encoding="utf-8") as lines:
        labelled = [json.loads(line) for line in lines if line.strip()]
    for entry in labelled:
        page = entry["page"]
        parsed = parse_bytes((DATA / "award_pages" / page).read_bytes())
        want = {_key(page, r["lot"], r["bidder"]): r for r in entry["rows"]}
        got = {_key(page, r.lot, r.bidder): r for r in parsed.bid_results}
        score.labelled += len(want)
        score.found += len(got)
        for key in want.keys() - got.keys():
            score.misses.append(("missed", key))
        for key in got.keys() - want.keys():
            score.misses.append(("extra", key))
        for key in want.keys() & got.keys():
            score.matched += 1
            w, g = want[key], got[key]
            pairs = {
                "price": (w["price_yuan"], g.price_yuan),
                "rank": (w["rank"], g.rank),
                "winner": (w["winner"], g.winner),
                "days": (w["duration_days"], g.duration_days),
            }
            for name, (expected, found) in pairs.items():
                score.same[name] += expected == found
                if expected != found:
                    score.misses.append((name, key, expected, found))
    return score


def test_bid_results_meet_the_targets_on_the_labelled_set():
    score = measure()
    print(score.summary())
    for miss in score.misses:
        print(*miss)
    assert score.labelled >= 150  # the set is there and read whole
    assert score.precision >= TARGET_PRECISION, score.summary()
    assert score.recall >= TARGET_RECALL, score.summary()
