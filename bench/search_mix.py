"""Search query mix: every class of query a member types, terms picked by frequency.

    .venv/bin/python bench/search_mix.py                     # portal_bench1m (seed it first)
    .venv/bin/python bench/search_mix.py --viewer anonymous  # uncached visitor instead

`make bench-pages` runs it after bench/pages_bench.py. The terms come from the data, not
from a hand-made list: a sample of published bulletins is read and, with what the search
index holds for each (`news.search.public_lexemes`), every n-gram's document frequency is
counted; each class then takes the term whose share is nearest its band (the most
frequent character and bigram are the worst cases a member can type). Classes: one
character; two characters very common / common / rare; three and four characters; eight
characters (a piece of a real title); a quoted phrase; an exclusion; title-only with a
province; a province + category filter; a date range; a deep page. Each in relevance
order (the default) and newest first.

Per query: one client, one request at a time, whole-request latency after a warm-up (the
viewer is a signed-in paying member by default: never the page cache, and the search
that also matches contact values). The list's shared-fragment cache is off unless
`--fragment-cache-seconds` says otherwise: the mix repeats its 30 URLs, which the cache
would answer without searching. Then the whole mix under load: wrk with 8 connections
picks a random query of the mix per request (a Python thread client without wrk).
Targets (shared/GUIDE.md, issue 8): p95 ≤ 150 ms per query (≤ 300 ms by relevance) and
≥ 100 req/s for the mix. Writes var/bench/search-mix.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import pages_bench as pb
from bench._common import BENCH_DB_URL, commit_id, connect, machine, setup_django

SAMPLE = 3000
NEWEST_P95_MS = 150
RELEVANCE_P95_MS = 300
MIX_MIN_RPS = 100
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def sample_rows(conn, n: int) -> list[tuple[str, str, str]]:
    """About n published rows drawn uniformly (BERNOULLI: every page has its chance)."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM news_bulletin")
        percent = min(100.0, 100.0 * 1.3 * n / max(cur.fetchone()[0], 1))
        cur.execute(
            "SELECT title, body, hidden_lexemes FROM news_bulletin "
            "TABLESAMPLE BERNOULLI (%s) REPEATABLE (20261126) WHERE status = 'published' "
            "LIMIT %s",
            [percent, n],
        )
        return cur.fetchall()


def frequencies(rows) -> dict[str, Counter]:
    """Document frequency of public characters, bigrams, trigrams and 4-grams."""
    from news.search import public_lexemes

    df = {1: Counter(), 2: Counter(), 3: Counter(), 4: Counter()}
    for title, body, hidden in rows:
        public = public_lexemes(title=title, body=body, hidden_lexemes=hidden)
        grams = {1: set(), 2: set(), 3: set(), 4: set()}
        for lexeme in public:
            if _CJK_RUN.fullmatch(lexeme) and len(lexeme) in (2, 3):
                grams[len(lexeme)].add(lexeme)
        for run in _CJK_RUN.findall(f"{title}\n{body}"):
            grams[1].update(run)
            grams[4].update(run[i : i + 4] for i in range(len(run) - 3))
        # 4-grams are kept only where all their trigrams are public (not a contact).
        grams[4] = {g for g in grams[4] if g[:3] in public and g[1:] in public}
        grams[1] &= {g[0] for g in public if _CJK_RUN.fullmatch(g)}
        for k, found in grams.items():
            df[k].update(found)
    return df


def nearest(counter: Counter, n: int, share: float, exclude=()) -> tuple[str, float]:
    """The gram whose share of the sample is nearest `share` (ties: the more frequent)."""
    best = min(
        (g for g in counter if g not in exclude),
        key=lambda g: (abs(counter[g] / n - share), -counter[g], g),
    )
    return best, counter[best] / n


def pick_queries(conn, rows, province_id: int, category_slug: str) -> list[dict]:
    n = len(rows)
    df = frequencies(rows)
    top1 = df[1].most_common(1)[0][0]
    top2 = df[2].most_common(1)[0][0]
    common2, _ = nearest(df[2], n, 0.16, exclude={top2})
    mid2, _ = nearest(df[2], n, 0.03)
    rare2, _ = nearest(df[2], n, 0.001)
    common3, _ = nearest(df[3], n, 0.05)
    common4, _ = nearest(df[4], n, 0.05)
    top4 = df[4].most_common(1)[0][0]
    rng = random.Random(8)
    long_runs = [r for title, _b, _h in rows for r in _CJK_RUN.findall(title) if len(r) >= 8]
    piece = rng.choice(long_runs)
    start = rng.randrange(len(piece) - 7)
    eight = piece[start : start + 8]
    year_ago = (datetime.date.today() - datetime.timedelta(days=365)).isoformat()
    shares = {g: df[len(g)][g] / n for g in (top1, top2, common2, mid2, rare2)}
    shares |= {common3: df[3][common3] / n, common4: df[4][common4] / n, top4: df[4][top4] / n}
    classes = [
        ("1 character, most frequent", {"q": top1}, top1),
        ("2 characters, most frequent", {"q": top2}, top2),
        ("2 characters, very common (~16 %)", {"q": common2}, common2),
        ("2 characters, common (~3 %)", {"q": mid2}, mid2),
        ("2 characters, rare (~0.1 %)", {"q": rare2}, rare2),
        ("3 characters, common (~5 %)", {"q": common3}, common3),
        ("4 characters, most frequent", {"q": top4}, top4),
        ("4 characters, common (~5 %)", {"q": common4}, common4),
        ("8 characters (piece of a title)", {"q": eight}, ""),
        ("phrase (quoted, two words)", {"q": f'"{common2} {mid2}"'}, ""),
        ("exclusion (very common − common)", {"q": f"{common2} -{mid2}"}, ""),
        (
            "title only + province",
            {"q": mid2, "title_only": "on", "province": str(province_id)},
            "",
        ),
        (
            "province + category filter",
            {"q": common2, "province": str(province_id), "category": category_slug},
            "",
        ),
        ("date range (last year)", {"q": common2, "date_from": year_ago}, ""),
        ("deep page (page 50)", {"q": common2, "page": "50"}, ""),
    ]
    queries = []
    for label, params, gram in classes:
        for sort in ("relevance", "newest"):
            queries.append(
                {
                    "label": label,
                    "params": {**params, "sort": sort},
                    "sort": sort,
                    "share": shares.get(gram),
                }
            )
    return queries


def path_of(q: dict) -> str:
    return "/bulletins/?" + urllib.parse.urlencode(q["params"])


def capped_matches(q: dict) -> str:
    """How many rows match, as the page counts them (capped), via the app's selector."""
    from django.http import QueryDict

    from news import selectors

    viewer = pb._viewer(pb.Scenario("x", "", {}, 0, "search", viewer=VIEWER))
    params = QueryDict(urllib.parse.urlencode(q["params"]))
    listing = selectors.bulletin_listing(params, viewer=viewer, page_number=params.get("page"))
    return f"{listing.page.paginator.count:,}"


WRK_MIX = """
local paths = {%s}
local cookie = "%s"
request = function()
  local path = paths[math.random(#paths)]
  if cookie ~= "" then
    return wrk.format("GET", path, {["Cookie"] = cookie})
  end
  return wrk.format("GET", path)
end
"""


def run_mix(port: int, paths: list[str], cookie: str, seconds: int, connections: int) -> dict:
    if not shutil.which("wrk"):
        return pb.run_threads(port, paths, connections=connections, seconds=seconds, cookie=cookie)
    quoted = ", ".join(f'"{p}"' for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_MIX % (quoted, cookie) + pb.WRK_REPORT)
    try:
        cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout"]
        cmd += ["10s", "-s", script.name, f"http://127.0.0.1:{port}/"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    finally:
        os.unlink(script.name)
    return pb.parse_wrk(out)


VIEWER = "member"


def main(argv=None) -> None:
    global VIEWER
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=BENCH_DB_URL)
    parser.add_argument("--viewer", choices=["member", "anonymous"], default="member")
    parser.add_argument("--requests", type=int, default=12, help="one-client requests per query")
    parser.add_argument("--duration", type=int, default=20, help="seconds of mixed load")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--fragment-cache-seconds",
        type=int,
        default=0,
        help="the list's shared-fragment cache (default 0, off: the mix repeats its URLs, "
        "which the cache would serve without searching; the targets hold with it off)",
    )
    args = parser.parse_args(argv)
    # gunicorn inherits it (pages_bench.Gunicorn copies the environment).
    os.environ["FRAGMENT_CACHE_SECONDS"] = str(args.fragment_cache_seconds)
    VIEWER = args.viewer
    started = datetime.datetime.now(datetime.UTC)
    pb.OUT_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CACHE_URL", "locmemcache://")
    os.environ["SECRET_KEY"] = pb.BENCH_SECRET_KEY
    setup_django(args.database_url)
    pb.apply_pending_migrations()
    conn = connect(args.database_url)
    conn.autocommit = True
    facts = pb.data_facts(conn)
    with conn.cursor() as cur:
        cur.execute("SHOW shared_buffers")
        facts["shared_buffers"] = cur.fetchone()[0]
    params = pb.pick_parameters(conn)
    t0 = time.perf_counter()
    rows = sample_rows(conn, SAMPLE)
    queries = pick_queries(conn, rows, params["province_id"], params["slug"])
    print(
        f"{facts['rows']:,} bulletins; {len(rows):,} sampled; {len(queries)} queries picked "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    from django.urls import reverse

    pb.LOGOUT_PATH = reverse("account_logout")
    pb.COOKIES.update(pb.make_sessions())
    cookie = pb.COOKIES.get(VIEWER, "") if VIEWER != "anonymous" else ""
    for q in queries:
        q["matches"] = capped_matches(q)
    load_before = os.getloadavg()[0]
    server = pb.Gunicorn(args.database_url, args.workers, page_cache_seconds=0)
    try:
        server.start()
        for q in queries:
            path = path_of(q)
            status, body, _ms, _hit = pb.get(server.port, path, cookie=cookie)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            if cookie and pb.LOGOUT_PATH.encode() not in body:
                raise RuntimeError(f"{path} was not served signed in")
            pb.get(server.port, path, cookie=cookie)  # warm-up
            q["c1"] = pb.sequential(
                server.port, path, requests=args.requests, max_seconds=20, cookie=cookie
            )
            target = RELEVANCE_P95_MS if q["sort"] == "relevance" else NEWEST_P95_MS
            q["target"] = target
            q["met"] = q["c1"]["p95"] <= target
            print(
                f"  {q['label']:<36} {q['sort']:<9} {q['params']['q']:<22} "
                f"matches {q['matches']:>7}  p50 {q['c1']['p50']:7.1f}  p95 "
                f"{q['c1']['p95']:7.1f} ms  (≤ {target}) {'met' if q['met'] else 'MISSED'}",
                flush=True,
            )
        mix = run_mix(
            server.port, [path_of(q) for q in queries], cookie, args.duration, args.connections
        )
        print(
            f"mix over {args.connections} connections: {mix['rps']:.0f} req/s, p50 "
            f"{mix['p50']:.1f} ms, p95 {mix['p95']:.1f} ms, non-2xx {mix['non2xx']}",
            flush=True,
        )
    finally:
        server.stop()
    conn.close()
    block = markdown(args, facts, queries, mix, started, load_before)
    (pb.OUT_DIR / "search-mix.md").write_text(block + "\n")
    print("\n----- BENCHMARKS.md block (also var/bench/search-mix.md) -----\n")
    print(block)


def markdown(args, facts, queries, mix, started, load_before) -> str:
    missed = [q for q in queries if not q["met"]]
    missed_labels = [f"{q['label']} / {q['sort']}" for q in missed]
    lines = [
        f"#### {started:%Y-%m-%d %H:%M} UTC · {commit_id()} — search query mix, "
        f"{facts['rows']:,} bulletins, viewer: {args.viewer}",
        "",
        f"- Machine: {machine(facts.get('pg', ''))}; load average before {load_before:.2f}.",
        f"- Command: `.venv/bin/python bench/search_mix.py --viewer {args.viewer}"
        + ("" if args.database_url == BENCH_DB_URL else f" --database-url {args.database_url}")
        + (
            f" --fragment-cache-seconds {args.fragment_cache_seconds}"
            if args.fragment_cache_seconds
            else ""
        )
        + f"`; gunicorn {args.workers} sync workers, page cache off, fragment cache "
        + (f"{args.fragment_cache_seconds} s" if args.fragment_cache_seconds else "off")
        + "; one client "
        f"{args.requests} requests per query after a warm-up; mix: "
        f"{mix.get('tool', 'wrk')} {args.connections} connections {args.duration} s, a random "
        "query of the table per request.",
        f"- Terms picked by document frequency in a {SAMPLE:,}-row sample (share in brackets).",
        "",
        "| class | sort | q | share | matches (capped) | p50 ms | p95 ms | target | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for q in queries:
        share = f"{100 * q['share']:.2f} %" if q.get("share") is not None else ""
        extra = {k: v for k, v in q["params"].items() if k not in ("q", "sort")}
        label = q["label"] + (f" `{urllib.parse.urlencode(extra)}`" if extra else "")
        lines.append(
            f"| {label} | {q['sort']} | {q['params']['q']} | {share} | {q['matches']} | "
            f"{q['c1']['p50']:.1f} | {q['c1']['p95']:.1f} | ≤ {q['target']} | "
            f"{'met' if q['met'] else '**missed**'} |"
        )
    lines += [
        "",
        f"Mix: **{mix['rps']:.0f} req/s** over {args.connections} connections (target ≥ "
        f"{MIX_MIN_RPS}: {'met' if mix['rps'] >= MIX_MIN_RPS else '**missed**'}), p50 "
        f"{mix['p50']:.1f} ms, p95 {mix['p95']:.1f} ms, non-2xx {mix['non2xx']}. "
        f"Per-query p95 targets: {len(queries) - len(missed)} of {len(queries)} met"
        + (f"; missed: {', '.join(missed_labels)}." if missed else "."),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
