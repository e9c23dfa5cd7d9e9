"""Exports and the API on a seeded database: 1,000-row export time, API list p95.

    .venv/bin/python bench/seed_bulletins.py 200000 --no-lsh \\
        --database-url postgres://postgres@127.0.0.1:5432/portal_bench_h5
    .venv/bin/python bench/export_api_bench.py \\
        --database-url postgres://postgres@127.0.0.1:5432/portal_bench_h5

Requests go through Django's test client (the whole middleware stack, server time: no
network, no gunicorn). A bench member on the 标讯定制 plan (quota and export limit set to
1,000 for the run, the API rate lifted so the throttle never answers 429) exports the
newest 1,000 rows of a filtered list, as CSV and as xlsx; the member's reveals of today are
deleted before each export so every run reveals and logs 1,000 bulletins (the worst case).
Then API list requests with the member's key: bulletins (first page, filtered, a search,
cursor pages 2-20 deep), projects and companies. Writes users, plans, keys and reveals into
the database it is given: never a shared one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, setup_django


def _member():
    from django.utils import timezone

    from members.models import Plan, Subscription, User

    plan = Plan.objects.get(slug="custom")
    plan.daily_reveal_quota = 1000
    plan.export_rows_limit = 1000
    plan.api_access = True
    plan.api_rate = "1000000/min"
    plan.save()
    user, _ = User.objects.get_or_create(
        username="bench-export", defaults={"email": "bench-export@example.com"}
    )
    today = timezone.localdate()
    if not Subscription.objects.current().filter(user=user, plan=plan).exists():
        Subscription.objects.create(
            user=user,
            plan=plan,
            starts_on=today - dt.timedelta(days=1),
            ends_on=today + dt.timedelta(days=365),
            note="bench/export_api_bench.py",
        )
    return user


def _pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _ms(values) -> str:
    return (
        f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {_pct(values, 95) * 1000:.1f} ms,"
        f" max {max(values) * 1000:.1f} ms (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--exports", type=int, default=5, help="exports per format")
    parser.add_argument("-n", type=int, default=100, help="API requests per URL class")
    args = parser.parse_args()
    if "portal_bench1m" in args.database_url:
        sys.exit("portal_bench1m is the lead's: seed your own (see the docstring)")
    os.environ.setdefault("CACHE_URL", "locmemcache://")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django(args.database_url)
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from api.tokens import api_token_create
    from members.models import ContactReveal
    from news.models import Bulletin, Organization, Project

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    print(machine(pg))
    print(
        f"rows: {Bulletin.objects.count():,} bulletins, {Project.objects.count():,} projects,"
        f" {Organization.objects.count():,} organisations; load average {os.getloadavg()}"
    )
    user = _member()
    client = Client()
    client.force_login(user)
    row = (
        Bulletin.objects.published()
        .filter(category__slug="tender")
        .values("province_id")
        .order_by("province_id")
        .first()
    )
    listing = f"?province={row['province_id']}&category=tender"

    # --- exports ----------------------------------------------------------------------
    for fmt in ("csv", "xlsx"):
        times, rows = [], 0
        for _ in range(args.exports):
            ContactReveal.objects.filter(user=user, day=timezone.localdate()).delete()
            started = time.perf_counter()
            response = client.post(f"/bulletins/export/{listing}", {"format": fmt})
            body = b"".join(response.streaming_content) if response.streaming else response.content
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
            if fmt == "csv":
                rows = body.decode("utf-8").count("\n") - 3  # header, blank, summary
        revealed = ContactReveal.objects.filter(user=user, day=timezone.localdate()).count()
        print(
            f"export {fmt} {listing}: {_ms(times)}; {len(body):,} bytes"
            + (f", {rows} rows" if rows else "")
            + f", {revealed} reveals logged"
        )

    # --- API lists ----------------------------------------------------------------------
    key = api_token_create(user=user, name="bench")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    api = Client()
    first = api.get("/api/v1/bulletins/", **auth).json()
    cursors, page = [], first
    for _ in range(20):  # 20 cursor pages deep
        page = api.get(page["next"], **auth).json()
        cursors.append(page["next"])
    classes = {
        "bulletins first page": ["/api/v1/bulletins/"],
        "bulletins filtered": [f"/api/v1/bulletins/{listing}"],
        "bulletins search 道路": ["/api/v1/bulletins/?q=道路"],
        "bulletins cursor pages 2-21": cursors,
        "projects first page": ["/api/v1/projects/"],
        "companies first page": ["/api/v1/companies/"],
    }
    everything = []
    for name, urls in classes.items():
        for url in urls[:3]:
            api.get(url, **auth)  # warm-up
        times = []
        for i in range(args.n):
            url = urls[i % len(urls)]
            started = time.perf_counter()
            response = api.get(url, **auth)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        everything += times
        print(f"api {name}: {_ms(times)}")
    print(f"api all list requests: {_ms(everything)}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
