"""Probe: an embedded tantivy index of the public lexemes, queried for ids (issue 18).

    .venv/bin/pip install tantivy==0.27.0          # not a project dependency (yet)
    .venv/bin/python bench/tantivy_probe.py build --database-url … --index var/tantivy-1m
    .venv/bin/python bench/tantivy_probe.py query --index var/tantivy-1m -q 程监 -q='程监 -下综'

What a bulletin gets: `pub`, the lexemes PostgreSQL's GIN index holds for it
(`news.search.public_lexemes`: n-grams of title + body minus hidden_lexemes, plus the
region / category lexemes), `title` (title_vector) and `contact` (contact_vector), each a
whitespace-separated list indexed with doc ids only ("basic": no frequencies, no
positions, like the GIN index), and `key`, a fast i64 = published_at in milliseconds << 21 |
id, so that one ordered fast field gives newest-first order with the id as tiebreak and
hands back the id without reading a stored document.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import BENCH_DB_URL, connect  # noqa: E402

ID_BITS = 21  # ids below 2,097,152


def schema():
    import tantivy

    b = tantivy.SchemaBuilder()
    for name in ("pub", "title", "contact"):
        b.add_text_field(name, tokenizer_name="whitespace", index_option="basic")
    b.add_integer_field("key", indexed=True, fast=True)
    return b.build()


def _vector_words(literal: str | None) -> str:
    return " ".join(w.strip("'") for w in (literal or "").split())


def build(url: str, path: Path, limit: int | None, ids: tuple[int, int] | None) -> None:
    """Index the published bulletins (`ids`: only first..last, added to an existing index,
    so that it can be built while a seeder is still loading the later ids)."""
    import tantivy

    from news.search import filter_lexemes, public_lexemes

    if ids and path.exists():
        index = tantivy.Index.open(str(path))
    else:
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        index = tantivy.Index(schema(), path=str(path))
    writer = index.writer(heap_size=512_000_000, num_threads=1)
    conn = connect(url)
    t0 = time.perf_counter()
    n = 0
    with conn.cursor(name="rows") as cur:
        cur.itersize = 2000
        cur.execute(
            "SELECT id, title, body, hidden_lexemes, province_id, city_id, region_id, "
            "category_id, (extract(epoch FROM published_at) * 1000)::bigint, "
            "title_vector::text, contact_vector::text FROM news_bulletin "
            "WHERE status = 'published'"
            + (f" AND id BETWEEN {int(ids[0])} AND {int(ids[1])}" if ids else "")
            + " ORDER BY id"
            + (f" LIMIT {int(limit)}" if limit else "")
        )
        for pk, title, body, hidden, prov, city, region, cat, ms, tv, cv in cur:
            filters = filter_lexemes(
                province_id=prov, city_id=city, region_id=region, category_id=cat
            )
            words = public_lexemes(title=title, body=body, hidden_lexemes=hidden, filters=filters)
            writer.add_document(
                tantivy.Document(
                    pub=" ".join(words),
                    title=_vector_words(tv),
                    contact=_vector_words(cv),
                    key=(ms << ID_BITS) | pk,
                )
            )
            n += 1
            if n % 50_000 == 0:
                print(f"  {n:,} docs {time.perf_counter() - t0:.0f} s", flush=True)
    writer.commit()
    writer.wait_merging_threads()
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"indexed {n:,} docs in {time.perf_counter() - t0:.0f} s; {size / 2**20:,.0f} MiB")


def term_query(index, field: str, term: str):
    """A query term as the GIN tsquery reads it: all its n-grams (news.search)."""
    import tantivy

    from news.search import term_lexemes

    schema_ = index.schema
    parts = []
    for lexeme in term_lexemes(term):
        if lexeme.endswith("*"):  # one character: any n-gram starting with it
            parts.append(tantivy.Query.regex_query(schema_, field, lexeme[:-1] + ".*"))
        else:
            parts.append(tantivy.Query.term_query(schema_, field, lexeme))
    if len(parts) == 1:
        return parts[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, p) for p in parts])


def query(url: str, path: Path, q: str, repeat: int, *, pg_count: bool = True) -> None:
    import tantivy

    from news.search import parse_query

    index = tantivy.Index.open(str(path))
    searcher = index.searcher()
    parsed = parse_query(q)
    must = [(tantivy.Occur.Must, term_query(index, "pub", t)) for t in parsed.include]
    must += [(tantivy.Occur.MustNot, term_query(index, "pub", t)) for t in parsed.exclude]
    query_ = tantivy.Query.boolean_query(must)
    for limit, offset in ((20, 0), (1000, 0), (20, 980)):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            result = searcher.search(query_, limit, count=True, order_by_field="key", offset=offset)
            ids = [key & ((1 << ID_BITS) - 1) for key, _addr in result.hits]
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"{q}: limit {limit} offset {offset}: {result.count:,} matches, "
            f"median {statistics.median(times):.2f} ms, max {max(times):.2f} ms; "
            f"first ids {ids[:3]}"
        )
    if pg_count:  # computes n-grams row by row while the GIN index is not built yet
        conn = connect(url)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM news_bulletin WHERE status = 'published' AND "
                "news_public_vector(title, body, hidden_lexemes, province_id, city_id, "
                "region_id, category_id) @@ %s::tsquery",
                [__import__("news.search", fromlist=["tsquery"]).tsquery(parsed)],
            )
            print(f"  PostgreSQL count: {cur.fetchone()[0]:,}")


def _bulletin_query(index, params: dict, *, with_contacts: bool, now_ms: int):
    """The tantivy query of a list URL's search (q, title_only, province, category,
    date_from), as BulletinFilter + BulletinQuerySet.search read them."""
    import datetime
    from zoneinfo import ZoneInfo

    import tantivy

    from news.models import Category
    from news.search import parse_query

    schema_ = index.schema
    parsed = parse_query(params.get("q", ""))
    field = "title" if params.get("title_only") else "pub"
    clauses = []
    for term in parsed.include:
        q = term_query(index, field, term)
        if with_contacts and field == "pub":
            q = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, q),
                    (tantivy.Occur.Should, term_query(index, "contact", term)),
                ]
            )
        clauses.append((tantivy.Occur.Must, q))
    for term in parsed.exclude:
        clauses.append((tantivy.Occur.MustNot, term_query(index, field, term)))
        if with_contacts and field == "pub":
            clauses.append((tantivy.Occur.MustNot, term_query(index, "contact", term)))
    if params.get("province"):
        clauses.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.term_query(schema_, "pub", f"~p{params['province']}"),
            )
        )
    if params.get("category"):
        category = Category.objects.get(slug=params["category"]).pk
        clauses.append(
            (tantivy.Occur.Must, tantivy.Query.term_query(schema_, "pub", f"~k{category}"))
        )
    lower = None
    if params.get("date_from"):
        day = datetime.date.fromisoformat(params["date_from"])
        start = datetime.datetime.combine(day, datetime.time(), ZoneInfo("Asia/Shanghai"))
        lower = int(start.timestamp() * 1000) << ID_BITS
    upper = ((now_ms + 1) << ID_BITS) - 1
    clauses.append(
        (
            tantivy.Occur.Must,
            tantivy.Query.range_query(schema_, "key", tantivy.FieldType.Integer, lower, upper),
        )
    )
    return parsed, tantivy.Query.boolean_query(clauses)


def _app_search(params: dict, rights) -> tuple[int, list[int]]:
    """The app's search part of a list request: capped count + the page's ids."""
    from django.http import QueryDict

    from news import selectors

    qd = QueryDict(mutable=True)
    qd.update(params)
    page = int(params.get("page", 1))
    try:
        _f, found, ids = selectors._listing_page(qd, rights, page, None)
    except selectors.WalkTooLong:
        _f, found, ids = selectors._listing_page(qd, rights, page, None, allow_scan=False)
    return found.paginator.count, ids


def _engine_search(index, searcher, params: dict, now_ms: int) -> tuple[int, list[int]]:
    """The same from tantivy: ids (+ PostgreSQL ranking the newest 1,000 by relevance)."""
    from django.db import connection

    from news import search

    parsed, query_ = _bulletin_query(index, params, with_contacts=True, now_ms=now_ms)
    offset = (int(params.get("page", 1)) - 1) * 20
    mask = (1 << ID_BITS) - 1
    if params["sort"] == "newest":
        found = searcher.search(query_, 20, count=True, order_by_field="key", offset=offset)
        return min(found.count, 1000), [k & mask for k, _a in found.hits]
    found = searcher.search(query_, 1000, count=True, order_by_field="key")
    newest = [k & mask for k, _a in found.hits]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM news_bulletin WHERE id = ANY(%s) ORDER BY "
            "ts_rank(title_vector, %s::tsquery) DESC, published_at DESC, id DESC "
            "OFFSET %s LIMIT 20",
            [newest, search.any_term_tsquery(parsed) or "''", offset],
        )
        return min(found.count, 1000), [row[0] for row in cur.fetchall()]


def _timed(fn, repeat: int):
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], result


def mix(url: str, path: Path, repeat: int, *, engine_only: bool = False) -> None:
    """Per query class of bench/search_mix.py: the app's search part (capped count + the
    page's ids, `news.selectors._listing_page`, its plans as they are) against tantivy
    (count + ids; by relevance the newest 1,000 ids, ranked by PostgreSQL as the app
    ranks them). Whole requests add the rows, masking and template on top of both."""
    import tantivy

    from bench import search_mix as sm
    from members.access import member_rights
    from news.search_plans import common_shares

    conn = connect(url)
    conn.autocommit = True
    params = sm.pb.pick_parameters(conn)
    rows = sm.sample_rows(conn, sm.SAMPLE)
    queries = sm.pick_queries(conn, rows, params["province_id"], params["slug"])
    sm.pb.make_sessions()
    viewer = sm.pb._viewer(sm.pb.Scenario("x", "", {}, 0, "search", viewer="member"))
    rights = member_rights(viewer)
    if not engine_only:
        common_shares()  # sampled once per process in the app too
    index = tantivy.Index.open(str(path))
    searcher = index.searcher()
    now_ms = int(time.time() * 1000)
    print("| class | sort | q | app p50 / p95 ms | tantivy (+ PG rank) p50 / p95 ms | count |")
    print("|---|---|---|---|---|---|")
    for q in queries:
        p = q["params"]
        engine = _timed(lambda p=p: _engine_search(index, searcher, p, now_ms), repeat)
        if engine_only:  # the app's side needs the GIN index
            print(
                f"| {q['label']} | {p['sort']} | {p['q']} | – | {engine[0]:.1f} / "
                f"{engine[1]:.1f} | {engine[2][0]:,} |",
                flush=True,
            )
            continue
        app = _timed(lambda p=p: _app_search(p, rights), repeat)
        same = "same ids" if app[2][1] == engine[2][1] else "**ids differ**"
        counts = f"{app[2][0]:,}" + ("" if app[2][0] == engine[2][0] else f" / {engine[2][0]:,}")
        print(
            f"| {q['label']} | {p['sort']} | {p['q']} | {app[0]:.1f} / {app[1]:.1f} | "
            f"{engine[0]:.1f} / {engine[1]:.1f} | {counts} ({same}) |",
            flush=True,
        )


def main(argv=None) -> None:
    from bench._common import setup_django

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["build", "query", "mix"])
    parser.add_argument("-q", dest="terms", action="append", default=[], help="a query")
    parser.add_argument("--database-url", default=BENCH_DB_URL)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--ids", help="first-last: add only these ids to an existing index")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-count", action="store_true", help="query: no PostgreSQL count")
    parser.add_argument(
        "--engine-only",
        action="store_true",
        help="mix: tantivy only (picking the terms still needs the GIN index)",
    )
    args = parser.parse_args(argv)
    setup_django(args.database_url)
    if args.action == "build":
        ids = tuple(int(x) for x in args.ids.split("-")) if args.ids else None
        build(args.database_url, args.index, args.limit, ids)
    elif args.action == "mix":
        mix(args.database_url, args.index, args.repeat, engine_only=args.engine_only)
    else:
        for q in args.terms:
            query(args.database_url, args.index, q, args.repeat, pg_count=not args.no_count)


if __name__ == "__main__":
    main()
