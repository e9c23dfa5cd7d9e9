"""Company page (企业库) benchmark: the largest company's page, whole Django request.

    .venv/bin/python bench/seed_bulletins.py 100000 --no-lsh --fresh \\
        --database-url postgres://postgres@127.0.0.1:5432/portal_bench_h8
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_h8 \
        .venv/bin/python manage.py migrate
    .venv/bin/python bench/company_bench.py \
        --database-url postgres://postgres@127.0.0.1:5432/portal_bench_h8

Picks the company with the most project roles (news_projectparty rows) and times GET
/organizations/<id>/ through Django's test client in-process (middleware, the selector's
queries, template; no network, no page cache: the member's pages are never cached and the
anonymous cache is off here) for an anonymous visitor (teaser) and a paying member (every
aggregate), `--requests` times each after a warm-up; p50 / p95.

Then the same for a synthetic company as large as the largest one at 1M bulletins /
300k projects: the seeder scales parties linearly with projects, so `--scale` (default 10)
times the largest company's roles, spread over random projects as winner and owner, with
bid results on its won projects from other organisations (so the competitor query has
work). They are written in a transaction that is rolled back at the end: the database is
left as it was. The bench user and its subscription are rolled back too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, machine, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_h8"


def _timed(client, url: str, n: int) -> tuple[float, float, int]:
    for _ in range(5):  # warm-up: plans, caches, connections
        assert client.get(url).status_code == 200
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    return statistics.median(samples), p95, len(response.content)


def _largest(connection) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT organization_id, count(*) FROM news_projectparty "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        )
        return cursor.fetchone()


def _synthetic(connection, roles: int) -> int:
    """A company with `roles` project roles: half won, half put out to tender, on random
    projects; 3 bidders from other companies on each won project."""
    from django.utils import timezone

    from news.models import Organization

    org = Organization.objects.create(
        name="基准测试超大建设集团有限公司", name_key="基准测试超大建设集团有限公司"
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH picked AS (
                SELECT id, row_number() OVER () AS n FROM (
                    SELECT id FROM news_project WHERE merged_into_id IS NULL
                    ORDER BY md5(id::text) LIMIT %(roles)s
                ) p
            )
            INSERT INTO news_projectparty
                (project_id, organization_id, role, first_seen, last_seen, first_bulletin_id)
            SELECT id, %(org)s, CASE WHEN n %% 2 = 0 THEN 'winner' ELSE 'owner' END,
                   %(now)s - (n || ' days')::interval, %(now)s - (n || ' days')::interval, NULL
            FROM picked
            ON CONFLICT DO NOTHING
            """,
            {"roles": roles, "org": org.pk, "now": now},
        )
        cursor.execute(
            """
            INSERT INTO news_bidresult
                (bulletin_id, project_id, lot, bidder, organization_id, rank, price_yuan,
                 duration_days, duration_text, winner, budget_yuan, position)
            SELECT b.id, pp.project_id, '', o.name, o.id, k.k, NULL, NULL, '', k.k = 1, NULL, k.k
            FROM news_projectparty pp
            JOIN LATERAL (SELECT id FROM news_bulletin WHERE project_id = pp.project_id
                          ORDER BY id LIMIT 1) b ON true
            CROSS JOIN generate_series(1, 4) AS k(k)
            JOIN news_organization o ON o.id = CASE WHEN k.k = 1 THEN %(org)s
                                                ELSE 1 + (pp.project_id * k.k) %% 5000 END
            WHERE pp.organization_id = %(org)s AND pp.role = 'winner'
            """,
            {"org": org.pk},
        )
    return org.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--scale", type=int, default=10, help="1M-size company = largest × this")
    args = parser.parse_args()
    if "portal_bench1m" in args.database_url:
        sys.exit("refusing portal_bench1m: seed a database of your own")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    setup_django(args.database_url)
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import setup_test_environment

    from members.models import Plan, Subscription, User

    setup_test_environment()  # the test client's hosts and no mail leave the process
    settings.ALLOWED_HOSTS = ["*"]
    # No collectstatic here: plain static URLs instead of the production manifest.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}
    org_id, roles = _largest(connection)
    load = os.getloadavg()
    rows, sql_ms = [], {}
    with transaction.atomic():
        member = User.objects.create(username="company-bench", email="company-bench@example.cn")
        plan = Plan.objects.get(slug="query")
        today = __import__("datetime").date.today()
        Subscription.objects.create(
            user=member, plan=plan, starts_on=today, ends_on=today.replace(year=today.year + 1)
        )
        anonymous, paid = Client(), Client()
        paid.force_login(member)
        big_id = _synthetic(connection, roles * args.scale)
        for label, pk, parties in (
            ("largest seeded", org_id, roles),
            (f"synthetic ×{args.scale}", big_id, None),
        ):
            if parties is None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM news_projectparty WHERE organization_id = %s", [pk]
                    )
                    parties = cursor.fetchone()[0]
            url = f"/organizations/{pk}/"
            for who, client in (("anonymous", anonymous), ("paid member", paid)):
                # The anonymous page cache would answer repeats: bypass it with a query.
                target = url + ("?nocache=%d" if who == "anonymous" else "")
                p50, p95, size = _timed_varying(client, target, args.requests)
                rows.append((label, pk, parties, who, p50, p95, size))
            sql_ms[label] = _explained_ms(connection, pk, member)
        transaction.set_rollback(True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"commit {commit}; {machine()}; load average before: {load[0]:.1f} {load[1]:.1f}")
    print(f"database {args.database_url.rsplit('/', 1)[-1]}; {args.requests} requests each")
    print("| company | id | project roles | viewer | p50 ms | p95 ms | bytes |")
    print("|---|---|---|---|---|---|---|")
    for label, pk, parties, who, p50, p95, size in rows:
        print(f"| {label} | {pk} | {parties:,} | {who} | {p50:.1f} | {p95:.1f} | {size:,} |")
    for label, (count, total) in sql_ms.items():
        print(f"{label}: paid member's page runs {count} queries, {total:.1f} ms of server time")


def _explained_ms(connection, pk: int, member) -> tuple[int, float]:
    """The paid member's page's queries, each run again under EXPLAIN ANALYZE: the
    database's own execution time, apart from Python and the machine's other load."""
    from django.test.utils import CaptureQueriesContext

    from news.company_selectors import company_profile

    with CaptureQueriesContext(connection) as captured:
        company_profile(pk, viewer=member)
    total = 0.0
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if not query["sql"].lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query["sql"])
            total += cursor.fetchone()[0][0]["Execution Time"]
    return len(captured.captured_queries), total


def _timed_varying(client, target: str, n: int):
    if "%d" not in target:
        return _timed(client, target, n)
    counter = iter(range(10**9))

    class Varying:
        def get(self, _url):
            return client.get(target % next(counter))

    return _timed(Varying(), target, n)


if __name__ == "__main__":
    main()
