"""Django CPU per list request, by viewer: what a signed-in list page costs this process.

    .venv/bin/python bench/list_cpu.py --database-url postgres://postgres@127.0.0.1:5432/x
    .venv/bin/python bench/list_cpu.py --database-url … --profile member   # cProfile top 40

On 2 cores shared by gunicorn, wrk and PostgreSQL, req/s follows from the CPU each request
costs Django, so this measures `time.process_time()` (this process only: SQL time spent in
PostgreSQL is not counted, but building queries and reading rows is) over N requests through
Django's test client (the whole middleware stack: session, auth, CSRF, CSP, messages) with
the anonymous page cache off, for an anonymous visitor, a free user and a paying member
signed in with database sessions (as bench/pages_bench.py does). Needs a database it may
write users, subscriptions and sessions into (not a shared one).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import setup_django

VIEWERS = ("anonymous", "free", "member")


def clients() -> dict:
    from django.test import Client
    from django.utils import timezone

    from members.models import Plan, Subscription, User

    today = timezone.localdate()
    out = {"anonymous": Client()}
    for viewer in ("free", "member"):
        user, _ = User.objects.get_or_create(
            username=f"cpu-{viewer}", defaults={"email": f"cpu-{viewer}@example.com"}
        )
        if viewer == "member" and not Subscription.objects.current().filter(user=user).exists():
            plan = Plan.objects.get(slug="query")
            Subscription.objects.create(
                user=user,
                plan=plan,
                starts_on=today - dt.timedelta(days=30),
                ends_on=today + dt.timedelta(days=335),
                status=Subscription.Status.ACTIVE,
                note="bench/list_cpu.py",
            )
        client = Client()
        client.force_login(user)
        out[viewer] = client
    return out


def list_urls() -> list[str]:
    from news.models import Bulletin

    row = (
        Bulletin.objects.published()
        .values("province_id", "category__slug")
        .order_by("province_id", "category__slug")
        .first()
    )
    base = f"/bulletins/?province={row['province_id']}&category={row['category__slug']}"
    return [base, base + "&page=3"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("-n", type=int, default=300, help="requests per viewer and URL")
    parser.add_argument("--profile", choices=VIEWERS, help="cProfile this viewer's requests")
    parser.add_argument(
        "--fragment-seconds",
        type=int,
        help="FRAGMENT_CACHE_SECONDS for the run (0: every request renders the list)",
    )
    args = parser.parse_args()
    os.environ.setdefault("CACHE_URL", "locmemcache://")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django(args.database_url)
    from django.conf import settings

    settings.PAGE_CACHE_SECONDS = 0  # the anonymous page cache would answer "anonymous"
    if args.fragment_seconds is not None:
        settings.FRAGMENT_CACHE_SECONDS = args.fragment_seconds

    by_viewer = clients()
    urls = list_urls()
    print(
        f"URLs: {urls}; {args.n} requests each; cache {settings.CACHES['default']['BACKEND']}, "
        f"FRAGMENT_CACHE_SECONDS={settings.FRAGMENT_CACHE_SECONDS}"
    )
    for viewer in (args.profile,) if args.profile else VIEWERS:
        client = by_viewer[viewer]
        for url in urls:
            for _ in range(20):  # warm-up: connections, templates, option lists
                assert client.get(url).status_code == 200
            profiler = cProfile.Profile() if args.profile else None
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for _ in range(args.n):
                client.get(url)
            if profiler:
                profiler.disable()
            cpu = (time.process_time() - started_cpu) / args.n * 1000
            wall = (time.perf_counter() - started_wall) / args.n * 1000
            print(f"{viewer:10} {url[-40:]:42} CPU {cpu:6.2f} ms/request  wall {wall:6.2f} ms")
            if profiler:
                stats = pstats.Stats(profiler).sort_stats("cumulative")
                stats.print_stats(40)


if __name__ == "__main__":
    main()
