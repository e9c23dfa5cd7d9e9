"""Pages and search benchmark: the list, search and detail pages under gunicorn.

    .venv/bin/python bench/pages_bench.py                      # portal_bench1m (seed it first)
    .venv/bin/python bench/pages_bench.py --database-url postgres://postgres@127.0.0.1:5432/x

Starts gunicorn (portal.wsgi, 2 sync workers, production settings) on a free loopback
port, picks real parameters from the database and, per scenario, after a warm-up:

Scenarios: anonymous list / search / detail (a-f); the project list and project pages
(p*, anonymous, plus the largest project for a member); and signed-in cases (m*): a member
with a current paid subscription (plan "query") and a free user, both created in the bench
database with a database session whose key is sent as the session cookie, so the anonymous
page cache never answers them.

  * one client, one request at a time (`c1`): whole-request latency p50 / p95;
  * wrk -t2 -c8 -d15s --latency on the fixed URL (a Python thread client without wrk):
    req/s and client latency under load (8 connections queue on 2 workers), plus the
    server time of the same requests from gunicorn's access log (%(D)s, after accept).

Then, in-process, the SQL of each scenario (`news.selectors.bulletin_listing`, captured
with CaptureQueriesContext) is run under EXPLAIN (ANALYZE, BUFFERS) into
var/bench/explain-<scenario>.txt, and the same 2-character search is timed directly in SQL
as an unindexed ILIKE and as the indexed tsquery (capped count + first page, median of 5).
Ends with a block for BENCHMARKS.md. bench/search_mix.py (run after this by `make bench-
pages`) times every class of search query, with terms picked by frequency. Traffic goes to
127.0.0.1 only; gunicorn is stopped on exit.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import BENCH_DB_URL, ROOT, commit_id, connect, machine, mib, setup_django

OUT_DIR = ROOT / "var" / "bench"
SEARCH_2 = "镇江"
SEARCH_4 = ("污水处理", "道路改造")
COUNT_CAP = 10_000
PAGE_SIZE = 20

# Targets (docs: /work/shared/GUIDE.md "Performance targets").
LIST_P95_MS = 50
DETAIL_P95_MS = 30
SEARCH_NEWEST_P95_MS = 100
SEARCH_RELEVANCE_P95_MS = 300
LIST_MIN_RPS = 300
MIN_SPEEDUP = 100
PROJECT_LIST_P95_MS = 50
PROJECT_PAGE_P95_MS = 30
MEMBER_PLAN = "query"
BENCH_USERS = {"member": "bench-member", "free": "bench-free"}
# 2-character terms for the member searches: the most frequent of these are used.
SEARCH_2_CANDIDATES = (
    "镇江",
    "上海",
    "南京",
    "杭州",
    "苏州",
    "道路",
    "学校",
    "污水",
    "医院",
    "管网",
)

# The server's and this process's SECRET_KEY must agree: session data and the session's
# auth hash are signed with it.
BENCH_SECRET_KEY = "bench-only-" + "x7Qp2LmZ9vKc4RtW8yNb3HjF6sDg1AeU5oIi0" * 2

# wrk prints 50/75/90/99 only; this reporting-only script (requests stay a fixed URL)
# prints the percentiles we need, in microseconds.
WRK_REPORT = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("P%d %d\\n", p, latency:percentile(p)))
  end
  io.write(string.format("NON2XX %d\\n", summary.errors.status))
end
"""


@dataclass
class Scenario:
    key: str
    label: str
    params: dict
    target_ms: float
    kind: str  # list | search-newest | search-relevance | detail | project-list | project
    path: str = "/bulletins/"
    viewer: str = "anonymous"  # anonymous | member | free (signed in: session cookie)
    min_rps: float = 0
    results: dict = field(default_factory=dict)

    @property
    def url_path(self) -> str:
        if not self.params:
            return self.path
        return f"{self.path}?{urllib.parse.urlencode(self.params)}"


# --- load generation -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


COOKIES: dict[str, str] = {}  # viewer -> Cookie header (filled by make_sessions)
LOGOUT_PATH = "/accounts/logout/"  # set from reverse("account_logout") in main()


def get(
    port: int, path: str, timeout: float = 30.0, cookie: str = ""
) -> tuple[int, bytes, float, str]:
    """GET over a fresh connection: status, body, milliseconds, X-Page-Cache header."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": "127.0.0.1"}
    if cookie:
        headers["Cookie"] = cookie
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        ms = (time.perf_counter() - started) * 1000
        return response.status, body, ms, response.getheader("X-Page-Cache", "")
    finally:
        conn.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def sequential(
    port: int, path: str, *, requests: int, max_seconds: float, cookie: str = ""
) -> dict:
    times, statuses, cache = [], set(), set()
    deadline = time.perf_counter() + max_seconds
    while len(times) < requests and time.perf_counter() < deadline:
        status, _body, ms, hit = get(port, path, cookie=cookie)
        statuses.add(status)
        cache.add(hit or "-")
        times.append(ms)
    return {
        "n": len(times),
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "statuses": sorted(statuses),
        "page_cache": ",".join(sorted(cache)),
    }


def run_wrk(
    port: int, path: str, *, threads: int, connections: int, seconds: int, cookie: str = ""
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    try:
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            script.name,
            *(["-H", f"Cookie: {cookie}"] if cookie else []),
            f"http://127.0.0.1:{port}{path}",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(out)


def parse_wrk(out: str) -> dict:
    """req/s, latency percentiles (WRK_REPORT's lines), non-2xx and errors of a wrk run."""
    result = {"tool": "wrk", "raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(m.group(1)) if m else float("nan")
    m = re.search(r"(\d+) requests in", out)
    result["requests"] = int(m.group(1)) if m else 0
    for p in (50, 95, 99):
        m = re.search(rf"^P{p} (\d+)$", out, re.M)
        result[f"p{p}"] = int(m.group(1)) / 1000 if m else float("nan")
    m = re.search(r"^NON2XX (\d+)$", out, re.M)
    result["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = m.group(1) if m else ""
    return result


def run_threads(
    port: int, path: str | list[str], *, connections: int, seconds: int, cookie: str = ""
) -> dict:
    """Fallback without wrk: `connections` threads, each one request at a time (a random
    one of `path` when it is a list)."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    paths = [path] if isinstance(path, str) else path

    def client():
        while time.perf_counter() < deadline:
            try:
                status, _body, ms, _hit = get(port, random.choice(paths), timeout=10, cookie=cookie)
            except OSError:
                status, ms = 0, 0.0
            with lock:
                times.append(ms)
                errors[0] += status != 200

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    return {
        "tool": "python threads",
        "rps": len(times) / elapsed,
        "requests": len(times),
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "non2xx": errors[0],
        "socket_errors": "",
    }


class Gunicorn:
    """gunicorn portal.wsgi in its own process group, killed (group) on stop."""

    def __init__(self, url: str, workers: int, *, page_cache_seconds: int | None):
        self.port = free_port()
        # Per-run names: a concurrent run of this script must not truncate our log.
        self.access_log = OUT_DIR / f"gunicorn-access-{os.getpid()}.log"
        self.error_log = OUT_DIR / f"gunicorn-error-{os.getpid()}.log"
        self.access_log.unlink(missing_ok=True)
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            DEBUG="false",
            ALLOWED_HOSTS="127.0.0.1",
            SECRET_KEY=BENCH_SECRET_KEY,
            CACHE_URL="locmemcache://",
            CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
            STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
        env.pop("PAGE_CACHE_SECONDS", None)
        if page_cache_seconds is not None:
            env["PAGE_CACHE_SECONDS"] = str(page_cache_seconds)
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        self.cmd = [
            gunicorn,
            "portal.wsgi",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--access-logfile",
            str(self.access_log),
            # %(D)s: microseconds from the request being read to the response being sent.
            "--access-logformat",
            "%(s)s %(D)s %(U)s",
            "--error-logfile",
            str(self.error_log),
            "--timeout",
            "60",
        ]
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.error_log}")
            try:
                status, _body, _ms, _hit = get(self.port, "/bulletins/", timeout=30)
                if status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this script started
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        self.access_log.unlink(missing_ok=True)

    def log_offset(self) -> int:
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def server_times(self, offset: int) -> list[float]:
        """Server-side times (ms) of the requests logged after `offset`."""
        if not self.access_log.exists():
            return []
        with self.access_log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
        times = []
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                times.append(int(parts[1]) / 1000)
        return times


# --- scenarios -----------------------------------------------------------------------------


def pick_parameters(conn) -> dict:
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT b.province_id, p.name, c.slug, c.name, count(*)
            FROM news_bulletin b
            JOIN news_category c ON c.id = b.category_id
            JOIN news_region p ON p.id = b.province_id
            WHERE b.status = 'published' AND b.published_at <= now()
            GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC LIMIT 1
            """
        )
        province_id, province, slug, category, rows = cur.fetchone()
        from news.search import PUBLIC_VECTOR_SQL, parse_query, tsquery

        term4, term4_rows = SEARCH_4[0], 0
        for candidate in SEARCH_4:
            cur.execute(
                "SELECT count(*) FROM news_bulletin WHERE status = 'published' "
                f"AND province_id = %s AND {PUBLIC_VECTOR_SQL} @@ %s::tsquery",
                [province_id, tsquery(parse_query(candidate))],
            )
            found = cur.fetchone()[0]
            if found >= 100:
                term4, term4_rows = candidate, found
                break
        # A detail page with contacts: the newest tender of that province.
        cur.execute(
            """
            SELECT b.id FROM news_bulletin b
            WHERE b.status = 'published' AND b.published_at <= now() AND b.province_id = %s
              AND EXISTS (SELECT 1 FROM news_contact c WHERE c.bulletin_id = b.id)
            ORDER BY b.published_at DESC, b.id DESC LIMIT 1
            """,
            [province_id],
        )
        detail_id = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM news_bulletin WHERE status = 'published' "
            f"AND {PUBLIC_VECTOR_SQL} @@ %s::tsquery",
            [tsquery(parse_query(SEARCH_2))],
        )
        term2_rows = cur.fetchone()[0]
    return {
        "province_id": province_id,
        "province": province,
        "slug": slug,
        "category": category,
        "list_rows": rows,
        "term4": term4,
        "term4_rows": term4_rows,
        "term2_rows": term2_rows,
        "detail_id": detail_id,
    }


def pick_project_parameters(conn) -> dict:
    """Project list filters (the province + stage with most projects) and project pages
    (the project with the most bulletins, and the newest with 3 or more)."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM news_project WHERE merged_into_id IS NULL")
        projects = cur.fetchone()[0]
        if not projects:
            return {}
        cur.execute(
            """
            SELECT pr.province_id, r.name, pr.stage, count(*) FROM news_project pr
            JOIN news_region r ON r.id = pr.province_id
            WHERE pr.merged_into_id IS NULL AND pr.stage IS NOT NULL
            GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 1
            """
        )
        province_id, province, stage, filtered = cur.fetchone()
        cur.execute(
            """
            SELECT b.project_id, count(*) FROM news_bulletin b
            JOIN news_project pr ON pr.id = b.project_id AND pr.merged_into_id IS NULL
            WHERE b.status = 'published' AND b.published_at <= now()
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1
            """
        )
        largest, largest_bulletins = cur.fetchone()
        cur.execute(
            """
            SELECT pr.id, (SELECT count(*) FROM news_bulletin b WHERE b.project_id = pr.id)
            FROM news_project pr WHERE pr.merged_into_id IS NULL
            ORDER BY pr.last_activity_at DESC, pr.id DESC LIMIT 200
            """
        )
        recent = cur.fetchall()
        typical, typical_bulletins = next(((i, n) for i, n in recent if n >= 3), recent[0])
        counts = {}
        for pid in (largest, typical):
            cur.execute(
                "SELECT (SELECT count(*) FROM news_projectparty WHERE project_id = %s), "
                "(SELECT count(*) FROM news_projectcontact WHERE project_id = %s), "
                "(SELECT count(*) FROM news_projectstagechange WHERE project_id = %s)",
                [pid, pid, pid],
            )
            counts[pid] = cur.fetchone()
    from news.models import Stage

    return {
        "projects": projects,
        "province_id": province_id,
        "province": province,
        "stage": stage,
        "stage_label": str(Stage(stage).label),
        "filtered": filtered,
        "largest": largest,
        "largest_bulletins": largest_bulletins,
        "largest_counts": counts[largest],
        "typical": typical,
        "typical_bulletins": typical_bulletins,
        "typical_counts": counts[typical],
    }


def pick_member_terms(conn, k: int = 2) -> list[tuple[str, float]]:
    """The k most frequent of SEARCH_2_CANDIDATES, by share of a 1 % page sample (the
    indexed vector is computed once per sampled row, in a subquery PostgreSQL keeps)."""
    from news.search import PUBLIC_VECTOR_SQL, parse_query, tsquery

    columns = ", ".join("count(*) FILTER (WHERE v @@ %s::tsquery)" for _ in SEARCH_2_CANDIDATES)
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT count(*), {columns} FROM (SELECT {PUBLIC_VECTOR_SQL} AS v "
            "FROM news_bulletin TABLESAMPLE SYSTEM (1) REPEATABLE (20250601) "
            "WHERE status = 'published' OFFSET 0) AS sample",
            [tsquery(parse_query(t)) for t in SEARCH_2_CANDIDATES],
        )
        total, *found = cur.fetchone()
    shares = sorted(
        ((t, n / max(total, 1)) for t, n in zip(SEARCH_2_CANDIDATES, found, strict=True)),
        key=lambda x: -x[1],
    )
    print(
        "member search terms by sampled share: "
        + ", ".join(f"{t} {100 * sh:.1f} %" for t, sh in shares),
        flush=True,
    )
    return shares[:k]


def make_sessions() -> dict[str, str]:
    """A member (current paid subscription, plan MEMBER_PLAN) and a free user in the bench
    database, each with a fresh database session: viewer -> Cookie header value."""
    import datetime as dt
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils import timezone

    from members.models import Plan, Subscription, User

    store = import_module(settings.SESSION_ENGINE).SessionStore
    plan = Plan.objects.get(slug=MEMBER_PLAN)
    today = timezone.localdate()
    cookies = {}
    for viewer, username in BENCH_USERS.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        if viewer == "member" and not Subscription.objects.current().filter(user=user).exists():
            Subscription.objects.create(
                user=user,
                plan=plan,
                starts_on=today - dt.timedelta(days=30),
                ends_on=today + dt.timedelta(days=335),
                status=Subscription.Status.ACTIVE,
                amount_paid_fen=plan.yearly_price_fen,
                note="bench/pages_bench.py",
            )
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies[viewer] = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    return cookies


def project_and_member_scenarios(p: dict, pp: dict, terms) -> list[Scenario]:
    prov, cat = str(p["province_id"]), p["slug"]
    out = []
    if pp:
        out += [
            Scenario(
                "p1",
                "projects: list, page 1",
                {},
                PROJECT_LIST_P95_MS,
                "project-list",
                path="/projects/",
            ),
            Scenario(
                "p2",
                "projects: list, page 500",
                {"page": "500"},
                PROJECT_LIST_P95_MS,
                "project-list",
                path="/projects/",
            ),
            Scenario(
                "p3",
                "projects: province + stage, page 1",
                {"province": str(pp["province_id"]), "stage": str(pp["stage"])},
                PROJECT_LIST_P95_MS,
                "project-list",
                path="/projects/",
            ),
            Scenario(
                "p4",
                f"project page, largest ({pp['largest_bulletins']} bulletins)",
                {},
                PROJECT_PAGE_P95_MS,
                "project",
                path=f"/projects/{pp['largest']}/",
            ),
            Scenario(
                "p5",
                f"project page, recent ({pp['typical_bulletins']} bulletins)",
                {},
                PROJECT_PAGE_P95_MS,
                "project",
                path=f"/projects/{pp['typical']}/",
            ),
            Scenario(
                "p6",
                "project page, largest, member",
                {},
                PROJECT_PAGE_P95_MS,
                "project",
                path=f"/projects/{pp['largest']}/",
                viewer="member",
            ),
        ]
    out += [
        Scenario(
            "ma",
            "member: list province + category, page 1",
            {"province": prov, "category": cat},
            LIST_P95_MS,
            "list",
            viewer="member",
            min_rps=LIST_MIN_RPS,
        ),
        Scenario(
            "mb",
            "member: list province + category, page 500",
            {"province": prov, "category": cat, "page": "500"},
            LIST_P95_MS,
            "list",
            viewer="member",
            min_rps=LIST_MIN_RPS,
        ),
    ]
    (t1, _s1), (t2, _s2) = terms[0], terms[1]
    out += [
        Scenario(
            "mc",
            f"member: search {t1}, newest first",
            {"q": t1, "sort": "newest"},
            SEARCH_NEWEST_P95_MS,
            "search-newest",
            viewer="member",
        ),
        Scenario(
            "md",
            f"member: search {t1}, relevance",
            {"q": t1},
            SEARCH_RELEVANCE_P95_MS,
            "search-relevance",
            viewer="member",
        ),
        Scenario(
            "me",
            f"member: search {t2}, newest first",
            {"q": t2, "sort": "newest"},
            SEARCH_NEWEST_P95_MS,
            "search-newest",
            viewer="member",
        ),
        Scenario(
            "mf",
            "free user: list province + category, page 1",
            {"province": prov, "category": cat},
            LIST_P95_MS,
            "list",
            viewer="free",
        ),
    ]
    return out


def scenarios_for(p: dict) -> list[Scenario]:
    prov, cat = str(p["province_id"]), p["slug"]
    return [
        Scenario(
            "a",
            "list: province + category, page 1",
            {"province": prov, "category": cat},
            LIST_P95_MS,
            "list",
            min_rps=LIST_MIN_RPS,
        ),
        Scenario(
            "b",
            "list: province + category, page 500",
            {"province": prov, "category": cat, "page": "500"},
            LIST_P95_MS,
            "list",
        ),
        Scenario(
            "c",
            f"search {SEARCH_2}, newest first",
            {"q": SEARCH_2, "sort": "newest"},
            SEARCH_NEWEST_P95_MS,
            "search-newest",
        ),
        Scenario(
            "d",
            f"search {SEARCH_2}, relevance",
            {"q": SEARCH_2},
            SEARCH_RELEVANCE_P95_MS,
            "search-relevance",
        ),
        Scenario(
            "e1",
            f"search {p['term4']} + province, newest first",
            {"q": p["term4"], "province": prov, "sort": "newest"},
            SEARCH_NEWEST_P95_MS,
            "search-newest",
        ),
        Scenario(
            "e2",
            f"search {p['term4']} + province, relevance",
            {"q": p["term4"], "province": prov},
            SEARCH_RELEVANCE_P95_MS,
            "search-relevance",
        ),
        Scenario(
            "f", "detail page", {}, DETAIL_P95_MS, "detail", path=f"/bulletins/{p['detail_id']}/"
        ),
    ]


def load_scenario(server: Gunicorn, s: Scenario, args, *, mode: str) -> dict:
    """Warm-up, one-client latency (uncached pass only), then the wrk load."""
    path = s.url_path
    cookie = COOKIES.get(s.viewer, "")
    status, body, _ms, _hit = get(server.port, path, cookie=cookie)
    if status != 200:
        raise RuntimeError(f"{s.key}: {path} answered {status}")
    if s.viewer != "anonymous" and LOGOUT_PATH.encode() not in body:
        raise RuntimeError(f"{s.key}: {path} was not served signed in (no logout link)")
    s.results["bytes"] = len(body)
    for _ in range(args.warmup):
        get(server.port, path, cookie=cookie)
    result = {}
    if mode == "uncached":
        result["c1"] = sequential(
            server.port, path, requests=args.c1_requests, max_seconds=15, cookie=cookie
        )
    else:
        result["c1"] = sequential(server.port, path, requests=20, max_seconds=5, cookie=cookie)
    offset = server.log_offset()
    if shutil.which("wrk") and not args.python_client:
        load = run_wrk(
            server.port,
            path,
            threads=args.threads,
            connections=args.connections,
            seconds=args.duration,
            cookie=cookie,
        )
    else:
        load = run_threads(
            server.port, path, connections=args.connections, seconds=args.duration, cookie=cookie
        )
    time.sleep(0.3)  # let the access log catch up
    server_ms = server.server_times(offset)
    load["server_p50"] = percentile(server_ms, 50)
    load["server_p95"] = percentile(server_ms, 95)
    result["load"] = load
    s.results[mode] = result
    return result


# --- EXPLAIN of the app's own SQL ------------------------------------------------------------


def _viewer(s: Scenario):
    from django.contrib.auth.models import AnonymousUser

    from members.models import User

    if s.viewer == "anonymous":
        return AnonymousUser()
    return User.objects.get(username=BENCH_USERS[s.viewer])


def run_selector(s: Scenario):
    """What the view does for the scenario, evaluated (count + page, or the detail)."""
    from django.http import QueryDict

    from news import project_selectors, selectors

    viewer = _viewer(s)
    pk = int(s.path.strip("/").split("/")[-1]) if s.kind in ("detail", "project") else 0
    if s.kind == "detail":
        return selectors.bulletin_detail(pk, viewer=viewer)
    if s.kind == "project":
        return project_selectors.project_detail(pk, viewer=viewer)
    query = QueryDict(mutable=True)
    query.update(s.params)
    if s.kind == "project-list":
        listing = project_selectors.project_listing(query, page_number=s.params.get("page"))
        return list(listing.rows), listing.page.paginator.count
    listing = selectors.bulletin_listing(query, viewer=viewer, page_number=s.params.get("page"))
    return list(listing.rows), listing.page.paginator.count


def explain_scenarios(scenarios: list[Scenario]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for s in scenarios:
        run_selector(s)  # warm (caches, plans)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            run_selector(s)
            elapsed = (time.perf_counter() - started) * 1000
        report = [
            f"scenario {s.key}: {s.label}",
            f"URL: {s.url_path}",
            f"selector in-process: {elapsed:.1f} ms, {len(captured)} queries",
            "",
        ]
        slowest = (0.0, "")
        with connection.cursor() as cur:
            for n, q in enumerate(captured.captured_queries, 1):
                sql = q["sql"]
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    report += [f"-- query {n}: not a SELECT, not explained", sql, ""]
                    continue
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = "\n".join(row[0] for row in cur.fetchall())
                m = re.search(r"Execution Time: ([\d.]+) ms", plan)
                exec_ms = float(m.group(1)) if m else 0.0
                if exec_ms >= slowest[0]:
                    slowest = (exec_ms, sql)
                report += [
                    f"-- query {n} (captured {float(q['time']) * 1000:.1f} ms)",
                    sql,
                    "",
                    plan,
                    "",
                ]
        path = OUT_DIR / f"explain-{s.key}.txt"
        path.write_text("\n".join(report))
        s.results["selector_ms"] = elapsed
        s.results["queries"] = len(captured)
        s.results["slowest_ms"] = slowest[0]
        s.results["slowest_sql"] = slowest[1]
        print(
            f"  {s.key:<3} {len(captured)} queries, selector {elapsed:7.1f} ms, slowest "
            f"query {slowest[0]:7.1f} ms (EXPLAIN ANALYZE) -> {path.relative_to(ROOT)}",
            flush=True,
        )


# --- ILIKE vs tsquery --------------------------------------------------------------------------


def app_search_cap() -> int:
    """The count cap the app uses for searches (news.paging), if it has its own."""
    from news import paging

    return getattr(paging, "SEARCH_COUNT_CAP", getattr(paging, "COUNT_CAP", COUNT_CAP))


def icontains_vs_indexed(conn, term: str, cap: int, runs: int = 5) -> dict:
    """Capped count (LIMIT cap + 1) + first page, ILIKE vs the app's tsquery, in SQL."""
    from news.search import PUBLIC_VECTOR_SQL, parse_query, tsquery

    like = f"%{term}%"
    published = "status = 'published' AND published_at <= now()"
    conditions = {
        "icontains (ILIKE)": ("(title ILIKE %(like)s OR body ILIKE %(like)s)", {"like": like}),
        "indexed (tsquery)": (
            f"{PUBLIC_VECTOR_SQL} @@ %(q)s::tsquery",
            {"q": tsquery(parse_query(term))},
        ),
    }
    out = {}
    with conn.cursor() as cur:
        for name, (where, params) in conditions.items():
            count_sql = (
                f"SELECT count(*) FROM (SELECT 1 FROM news_bulletin WHERE {published} "
                f"AND {where} LIMIT {cap + 1}) t"
            )
            page_sql = (
                f"SELECT id, title, published_at, body FROM news_bulletin WHERE {published} "
                f"AND {where} ORDER BY published_at DESC, id DESC LIMIT {PAGE_SIZE}"
            )
            counts, pages, totals = [], [], []
            for _ in range(runs):
                t0 = time.perf_counter()
                cur.execute(count_sql, params)
                count = cur.fetchone()[0]
                t1 = time.perf_counter()
                cur.execute(page_sql, params)
                cur.fetchall()
                t2 = time.perf_counter()
                counts.append((t1 - t0) * 1000)
                pages.append((t2 - t1) * 1000)
                totals.append((t2 - t0) * 1000)
            out[name] = {
                "count": count,
                "count_ms": statistics.median(counts),
                "page_ms": statistics.median(pages),
                "total_ms": statistics.median(totals),
            }
            print(
                f"  cap {cap:>6} {name:<18} count={count:>6}  "
                f"capped count {out[name]['count_ms']:9.1f} ms  "
                f"page {out[name]['page_ms']:8.1f} ms  total {out[name]['total_ms']:9.1f} ms",
                flush=True,
            )
    slow, fast = out["icontains (ILIKE)"], out["indexed (tsquery)"]
    out["speedup"] = slow["total_ms"] / fast["total_ms"] if fast["total_ms"] else float("inf")
    out["speedup_count"] = slow["count_ms"] / fast["count_ms"] if fast["count_ms"] else 0
    out["speedup_page"] = slow["page_ms"] / fast["page_ms"] if fast["page_ms"] else 0
    print(
        f"  speed-up: {out['speedup']:.0f}x (capped count {out['speedup_count']:.0f}x, "
        f"page {out['speedup_page']:.0f}x)",
        flush=True,
    )
    return out


# --- report ----------------------------------------------------------------------------------


PROJECT_TABLES = (
    "news_project",
    "news_projectstagechange",
    "news_organization",
    "news_projectparty",
    "news_projectcontact",
    "news_lshbucket",
)


def data_facts(conn) -> dict:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM news_bulletin")
        rows = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM news_contact")
        contacts = cur.fetchone()[0]
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
        cur.execute(
            "SELECT pg_total_relation_size('news_bulletin'), pg_relation_size('news_bulletin'), "
            "pg_indexes_size('news_bulletin'), pg_total_relation_size('news_contact')"
        )
        total, heap, indexes, contact_total = cur.fetchone()
        cur.execute(
            "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
            "WHERE relname = 'news_bulletin' ORDER BY 2 DESC"
        )
        index_sizes = cur.fetchall()
        table_sizes = {}
        for table in PROJECT_TABLES:
            cur.execute(
                f"SELECT count(*), pg_total_relation_size('{table}'), "
                f"pg_relation_size('{table}'), pg_indexes_size('{table}') FROM {table}"
            )
            table_sizes[table] = cur.fetchone()
        cur.execute("SHOW shared_buffers")
        shared_buffers = cur.fetchone()[0]
        cur.execute("SHOW jit")
        jit = cur.fetchone()[0]
    return {
        "rows": rows,
        "contacts": contacts,
        "pg": version.split()[0],
        "total": total,
        "heap": heap,
        "indexes": indexes,
        "toast": total - heap - indexes,
        "contact_total": contact_total,
        "index_sizes": index_sizes,
        "table_sizes": table_sizes,
        "shared_buffers": shared_buffers,
        "jit": jit,
    }


def verdict(s: Scenario) -> tuple[str, bool]:
    """The figure the target is judged on (page cache off) and whether it is met."""
    load, c1 = s.results["uncached"]["load"], s.results["uncached"]["c1"]
    if s.kind in ("list", "detail", "project-list", "project"):
        # "server time": gunicorn's own request time under the wrk load, and one client.
        worst = max(load["server_p95"], c1["p95"])
        ok = worst <= s.target_ms
        if s.min_rps:
            ok = ok and load["rps"] >= s.min_rps
            return f"{worst:.1f} ms, {load['rps']:.0f} req/s", ok
        return f"{worst:.1f} ms", ok
    # Search targets are whole-request latency: one client, one request at a time.
    return f"{c1['p95']:.1f} ms", c1["p95"] <= s.target_ms


def markdown_block(args, facts, params, scenarios, compare, started, pp, terms) -> str:
    rows, cached_rows = [], []
    for s in scenarios:
        load, c1 = s.results["uncached"]["load"], s.results["uncached"]["c1"]
        figure, ok = verdict(s)
        target = f"p95 ≤ {s.target_ms:.0f} ms"
        if s.min_rps:
            target += f", ≥ {s.min_rps:.0f} req/s"
        rows.append(
            f"| {s.key} | {s.label} | {c1['p50']:.1f} / {c1['p95']:.1f} | "
            f"{load['p50']:.1f} / {load['p95']:.1f} | {load['server_p95']:.1f} | "
            f"{load['rps']:.0f} | {s.results.get('slowest_ms', 0):.1f} | {target} | "
            f"{'met' if ok else '**missed**'} ({figure}) |"
        )
        if "cached" in s.results:
            hit = s.results["cached"]
            cached_rows.append(
                f"| {s.key} | {hit['c1']['p50']:.1f} / {hit['c1']['p95']:.1f} | "
                f"{hit['load']['p50']:.1f} / {hit['load']['p95']:.1f} | "
                f"{hit['load']['rps']:.0f} | {hit['c1']['page_cache']} |"
            )
    sizes = ", ".join(f"{name} {mib(size)}" for name, size in facts["index_sizes"])
    # The brief's comparison (LIMIT 10001) decides; other caps are shown for information.
    speed_ok = compare[COUNT_CAP]["speedup"] >= MIN_SPEEDUP
    compare_rows = []
    for cap, c in compare.items():
        slow, fast = c["icontains (ILIKE)"], c["indexed (tsquery)"]
        compare_rows += [
            f"| {cap + 1:,} | `title ILIKE '%{SEARCH_2}%' OR body ILIKE '%{SEARCH_2}%'` | "
            f"{slow['count_ms']:.1f} | {slow['page_ms']:.1f} | {slow['total_ms']:.1f} | |",
            f"| {cap + 1:,} | `news_public_vector(…) @@ '{SEARCH_2}'::tsquery` (GIN) | "
            f"{fast['count_ms']:.1f} | {fast['page_ms']:.1f} | {fast['total_ms']:.1f} | "
            f"**{c['speedup']:.0f}×** (count {c['speedup_count']:.0f}×, page "
            f"{c['speedup_page']:.0f}×) |",
        ]
    lines = [
        "## Pages and search (bench/pages_bench.py)",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; commit `{commit_id()}`",
        f"- Machine: {machine(facts['pg'])}; shared_buffers {facts['shared_buffers']}, "
        f"jit {facts['jit']}; load average before the run "
        f"{args.load_before[0]:.2f}",
        "- Commands: `.venv/bin/python bench/seed_bulletins.py 1000000 --fresh` then "
        f"`.venv/bin/python bench/pages_bench.py{args.cli_suffix}`",
        f"- Server: gunicorn portal.wsgi, {args.workers} sync workers, DEBUG=false, "
        "loopback; load: "
        f"{scenarios[0].results['uncached']['load']['tool']} -t{args.threads} "
        f"-c{args.connections} "
        f"-d{args.duration}s per scenario after {args.warmup} warm-up requests",
        f"- Data: {facts['rows']:,} published bulletins, {facts['contacts']:,} contacts; "
        f"news_bulletin {mib(facts['total'])} (heap {mib(facts['heap'])}, TOAST "
        f"{mib(facts['toast'])}, indexes {mib(facts['indexes'])}); news_contact "
        f"{mib(facts['contact_total'])}",
        f"- Index sizes: {sizes}",
        "- Project tables (rows; total = heap + indexes + TOAST): "
        + "; ".join(
            f"{t} {n:,} rows, {mib(total)} (heap {mib(heap)}, indexes {mib(idx)})"
            for t, (n, total, heap, idx) in facts["table_sizes"].items()
        ),
        *(
            [
                f"- Project parameters: {pp['projects']:,} active projects; "
                f"{pp['province']} (id {pp['province_id']}) + stage {pp['stage_label']} "
                f"({pp['stage']}) = {pp['filtered']:,} projects; largest project id "
                f"{pp['largest']} ({pp['largest_bulletins']} bulletins, parties / contacts / "
                f"stage changes {'/'.join(map(str, pp['largest_counts']))}); recent project "
                f"id {pp['typical']} ({pp['typical_bulletins']} bulletins, "
                f"{'/'.join(map(str, pp['typical_counts']))})"
            ]
            if pp
            else []
        ),
        "- Signed-in cases: users `bench-member` (current `query` subscription) and "
        "`bench-free` (no subscription) in the bench database, database sessions sent as the "
        "session cookie (each response checked for the logout link); member search terms "
        "= the most frequent of "
        + "/".join(SEARCH_2_CANDIDATES)
        + " by share of a 1 % page sample: "
        + ", ".join(f"{t} {100 * sh:.1f} %" for t, sh in terms),
        f"- Parameters: province {params['province']} (id {params['province_id']}) + "
        f"category {params['slug']} = {params['list_rows']:,} rows; {SEARCH_2} matches "
        f"{params['term2_rows']:,} rows; {params['term4']} in {params['province']} "
        f"{params['term4_rows']:,} rows; detail id {params['detail_id']}",
        "",
        "Page cache off (`PAGE_CACHE_SECONDS=0`): every request runs the view and its SQL, "
        "as each distinct search or filter URL does on its first visit; the targets are "
        "judged here. c1 = one client, one request at a time (whole request); c8 = under "
        "load, client side (includes queueing behind the 2 workers); server p95 = gunicorn "
        "request time under the c8 load; slowest SQL = EXPLAIN ANALYZE of the slowest query the "
        "selector runs (var/bench/explain-<scenario>.txt). List / detail targets are judged "
        "on max(server p95, c1 p95); search targets on c1 p95 (whole request).",
        "",
        "| # | scenario | c1 p50 / p95 ms | c8 p50 / p95 ms | server p95 ms | req/s "
        "| slowest SQL ms | target | result |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *(
            [
                "Page cache on (production default, `PAGE_CACHE_SECONDS` unset = 60 s, "
                "locmem cache per worker): the same fixed URLs, so after the warm-up every "
                "request is a hit:",
                "",
                "| # | c1 p50 / p95 ms | c8 p50 / p95 ms | req/s | X-Page-Cache |",
                "|---|---|---|---|---|",
                *cached_rows,
                "",
            ]
            if cached_rows
            else []
        ),
        f"Unindexed vs indexed, `{SEARCH_2}` over all published rows, timed in SQL (median "
        "of 5; capped count `SELECT count(*) FROM (… LIMIT n) t` + first page of 20 newest; "
        f"LIMIT 10,001 as specified, and the app's own search cap ({app_search_cap():,}) "
        "when it differs):",
        "",
        "| LIMIT | query | capped count ms | first page ms | total ms | speed-up |",
        "|---|---|---|---|---|---|",
        *compare_rows,
        "",
        f"Target ≥ {MIN_SPEEDUP}× (judged at LIMIT 10,001): {'met' if speed_ok else '**missed**'}.",
    ]
    return "\n".join(lines)


def apply_pending_migrations() -> None:
    """The pages run the working tree's code: a migration added since the database was
    seeded (a new table) must be applied first.  Printed, so a slow one shows."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not pending:
        return
    names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in pending)
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"applied pending migrations {names} in {time.perf_counter() - started:.1f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=BENCH_DB_URL)
    parser.add_argument("--duration", type=int, default=15, help="seconds of load (max 15)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--c1-requests", type=int, default=100)
    parser.add_argument("--python-client", action="store_true", help="threads instead of wrk")
    parser.add_argument(
        "--only",
        help="comma-separated scenario keys (a,b,c,d,e1,e2,f, p1-p6, ma,mb,mc,md,me,mf)",
    )
    parser.add_argument(
        "--no-cached-pass", action="store_true", help="skip the pass with the page cache on"
    )
    args = parser.parse_args(argv)
    args.duration = max(1, min(args.duration, 15))
    args.cli_suffix = (
        "" if args.database_url == BENCH_DB_URL else f" --database-url {args.database_url}"
    )
    started = datetime.datetime.now(datetime.UTC)
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    # In-process (EXPLAIN capture) as in the server: no file cache writes under var/.
    os.environ.setdefault("CACHE_URL", "locmemcache://")
    # The same key as the server's: the sessions made here must verify there.
    os.environ["SECRET_KEY"] = BENCH_SECRET_KEY
    setup_django(args.database_url)
    apply_pending_migrations()
    conn = connect(args.database_url)
    conn.autocommit = True
    facts = data_facts(conn)
    print(f"database {args.database_url}: {facts['rows']:,} bulletins", flush=True)
    args.load_before = os.getloadavg()
    if args.load_before[0] > 0.5:
        print(f"warning: load average {args.load_before[0]:.2f}: other work may skew figures")
    params = pick_parameters(conn)
    print(f"parameters: {params}", flush=True)
    project_params = pick_project_parameters(conn)
    print(f"project parameters: {project_params}", flush=True)
    terms = pick_member_terms(conn)
    from django.urls import reverse

    global LOGOUT_PATH
    LOGOUT_PATH = reverse("account_logout")
    COOKIES.update(make_sessions())
    scenarios = scenarios_for(params) + project_and_member_scenarios(params, project_params, terms)
    if args.only:
        keep = set(args.only.split(","))
        scenarios = [s for s in scenarios if s.key in keep]

    passes = [("uncached", 0)] + ([] if args.no_cached_pass else [("cached", None)])
    for mode, page_cache_seconds in passes:
        server = Gunicorn(args.database_url, args.workers, page_cache_seconds=page_cache_seconds)
        try:
            server.start()
            print(
                f"pass '{mode}' (PAGE_CACHE_SECONDS="
                f"{'default' if page_cache_seconds is None else page_cache_seconds}): gunicorn "
                f"on 127.0.0.1:{server.port}, {args.workers} workers",
                flush=True,
            )
            for s in scenarios:
                if mode == "cached" and s.viewer != "anonymous":
                    continue  # signed-in requests never use the page cache
                r = load_scenario(server, s, args, mode=mode)
                load, c1 = r["load"], r["c1"]
                print(
                    f"  {s.key:<3} {s.label:<44} c1 p50 {c1['p50']:7.1f} p95 {c1['p95']:7.1f}"
                    f" ms (n={c1['n']}, cache {c1['page_cache']}) | c8 p50 {load['p50']:7.1f} "
                    f"p95 {load['p95']:7.1f} ms, server p95 {load['server_p95']:7.1f} ms, "
                    f"{load['rps']:6.0f} req/s"
                    + (f", {load['non2xx']} non-2xx" if load["non2xx"] else "")
                    + (f", socket errors {load['socket_errors']}" if load["socket_errors"] else ""),
                    flush=True,
                )
        finally:
            server.stop()

    print("EXPLAIN (ANALYZE, BUFFERS) of the selector's queries:", flush=True)
    explain_scenarios(scenarios)
    print(f"icontains vs indexed ({SEARCH_2}), median of 5:", flush=True)
    caps = [COUNT_CAP] + ([app_search_cap()] if app_search_cap() != COUNT_CAP else [])
    compare = {cap: icontains_vs_indexed(conn, SEARCH_2, cap) for cap in caps}
    conn.close()

    block = markdown_block(args, facts, params, scenarios, compare, started, project_params, terms)
    (OUT_DIR / "pages-bench.md").write_text(block + "\n")
    print("\n----- BENCHMARKS.md block (also var/bench/pages-bench.md) -----\n")
    print(block)


if __name__ == "__main__":
    main()
