"""CPU cost of reading bid results during an import: the bid-result parser's share of
parsing generated pages (bench/import_bench.py's Generator: 25 % award notices).

    .venv/bin/python bench/bid_results_parse.py --files 2000

Prints ms per page for parse_text with and without the bid-result step, and for the
bid-result step alone on the award pages. No database.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import commit_id  # noqa: E402
from bench.import_bench import FALLBACK_REGIONS, Generator  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
    import django

    django.setup()
    from news.importing import parser as page_parser
    from news.importing.bid_results import parse_bid_results

    generator = Generator(FALLBACK_REGIONS)
    texts = [generator.page(i).text for i in range(args.files)]
    parsed = [page_parser.parse_text(t) for t in texts]
    awards = [p for p in parsed if p.bid_results]

    def best(fn) -> float:
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    with_bids = best(lambda: [page_parser.parse_text(t) for t in texts])
    original = page_parser.parse_bid_results
    page_parser.parse_bid_results = lambda lines, title="": []
    try:
        without = best(lambda: [page_parser.parse_text(t) for t in texts])
    finally:
        page_parser.parse_bid_results = original
    alone = best(lambda: [parse_bid_results(p.paragraphs, p.title) for p in parsed])
    print(f"commit {commit_id()}, {args.files} pages, {len(awards)} with results")
    print(f"parse_text with bid results:    {with_bids / args.files * 1000:.3f} ms/page")
    print(f"parse_text without bid results: {without / args.files * 1000:.3f} ms/page")
    print(f"bid results alone, all pages:   {alone / args.files * 1000:.3f} ms/page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
