"""Reads from a real PostgreSQL streaming replica (portal/db_routers.py).

A throwaway primary cluster (initdb, on a free port, with its own pg_hba allowing
replication: the system cluster's config is never touched) and a replica made from it with
`pg_basebackup -R` run for this module. `replica_scenario.py` drives the site against them
in a subprocess, with the production settings (DATABASE_URL, DATABASE_REPLICA_URLS), and
pauses the replica's replay (`pg_wal_replay_pause()`) so that a row on the primary is
visibly missing from the replica: what a page shows then tells which database served it.
"""

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


def _pg_bin() -> Path | None:
    candidates = [os.environ.get("PG_BIN", "")]
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(found.stdout.strip())
    candidates += sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)
    for candidate in filter(None, candidates):
        if all((Path(candidate) / tool).is_file() for tool in _TOOLS):
            return Path(candidate)
    return None


PG_BIN = _pg_bin()
pytestmark = pytest.mark.skipif(
    PG_BIN is None,
    reason="PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found; "
    "set PG_BIN to their directory",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Clusters:
    """A primary and its streaming replica in a temporary directory."""

    def __init__(self):
        # initdb refuses to run as root: the clusters then belong to the postgres user.
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="portal-replicas-"))
        if self.owner:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        self.primary, self.replica = self.root / "primary", self.root / "replica"
        self.primary_port, self.replica_port = _free_port(), _free_port()
        self.started: list[Path] = []

    def run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(PG_BIN / tool), *args]
        if self.owner:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")

    def write(self, path: Path, text: str, mode: str = "a") -> None:
        with open(path, mode) as out:
            out.write(text)
        if self.owner:
            os.chown(path, self.owner.pw_uid, self.owner.pw_gid)

    def start(self, data: Path) -> None:
        self.run("pg_ctl", "-D", str(data), "-l", str(data / "server.log"), "-w", "start")
        self.started.append(data)

    def up(self) -> None:
        self.run(
            "initdb",
            *("-D", str(self.primary), "-U", "postgres", "-A", "trust"),
            *("-E", "UTF8", "--locale=C", "--no-sync"),
        )
        self.write(
            self.primary / "postgresql.conf",
            f"\nport = {self.primary_port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\n"
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
            "fsync = off\nsynchronous_commit = off\nshared_buffers = 32MB\n",
        )
        self.write(
            self.primary / "pg_hba.conf",
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
            "local replication all trust\nhost replication all 127.0.0.1/32 trust\n",
            mode="w",
        )
        self.start(self.primary)
        self.run(*self._psql("CREATE DATABASE portal"))
        self.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres"),
            *("-D", str(self.replica), "-R", "-X", "stream", "-c", "fast"),
        )
        self.write(self.replica / "postgresql.conf", f"\nport = {self.replica_port}\n")
        self.start(self.replica)

    def _psql(self, sql: str) -> tuple[str, ...]:
        return ("psql", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                "-d", "postgres", "-c", sql)  # fmt: skip

    def down(self) -> None:
        for data in reversed(self.started):
            # Keep going on failure: the other cluster and the files must go too.
            with contextlib.suppress(Exception):
                self.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/portal"


@pytest.fixture(scope="module")
def seen():
    """What replica_scenario.py observed, run once for this module."""
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no postgres user to own the test clusters")
    clusters = _Clusters()
    try:
        clusters.up()
        out = clusters.root / "seen.json"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": clusters.url(clusters.primary_port),
            "DATABASE_REPLICA_URLS": clusters.url(clusters.replica_port),
            "REPLICA_STICKY_SECONDS": "4",
            "CELERY_BROKER_URL": "memory://",
            "CACHE_URL": "locmemcache://",
            "PAGE_CACHE_SECONDS": "0",
            "FRAGMENT_CACHE_SECONDS": "0",
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "STAFF_REQUIRE_MFA": "false",
            "VAR_DIR": str(clusters.root / "var"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "portal.tests.replica_scenario", str(out)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, (
            f"scenario failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
        )
        return json.loads(out.read_text(encoding="utf-8"))
    finally:
        clusters.down()


def test_the_replica_is_an_alias_mirrored_in_tests(seen):
    assert seen["databases"] == ["default", "replica1"]
    assert seen["replica_test_settings"]["MIRROR"] == "default"


def test_anonymous_pages_and_searches_are_read_from_the_replica(seen):
    in_sync = seen["anonymous_list_in_sync"]
    assert in_sync["status"] == 200 and seen["titles"]["a"] in in_sync["html"]
    # Not one query on the primary: the page came from the replica alone.
    assert in_sync["primary_queries"] == 0 and in_sync["replica_queries"] > 0
    assert not in_sync["sticky"]

    # Replay paused: a bulletin written to the primary is not on the replica, and neither
    # the list, nor a search for it, nor its own page shows it.
    assert seen["fresh_on_primary"] and not seen["fresh_on_replica"]
    fresh = seen["titles"]["fresh"]
    for name in ("anonymous_list_lagging", "anonymous_search_lagging"):
        page = seen[name]
        assert page["status"] == 200 and fresh not in page["html"], name
        assert page["primary_queries"] == 0 and page["replica_queries"] > 0, name
    assert "副本延迟" in seen["anonymous_search_lagging"]["html"]  # the query was run
    assert seen["anonymous_fresh_detail_lagging"]["status"] == 404

    # Replay resumed: the replica catches up and serves it.
    assert fresh in seen["anonymous_list_caught_up"]["html"]
    assert fresh in seen["anonymous_search_caught_up"]["html"]
    assert seen["anonymous_fresh_detail_caught_up"]["status"] == 200
    assert seen["anonymous_list_caught_up"]["primary_queries"] == 0


def test_a_member_sees_their_reveal_at_once_although_the_replica_lags(seen):
    reveal = seen["reveal_a"]
    assert reveal["status"] == 302 and reveal["sticky"]  # a POST: sticky afterwards
    page = seen["here_a_sticky"]
    assert "欧阳晓" in page["html"] and "今日已查看 1 / 2 条" in page["html"]
    # Within the sticky window the member's pages come from the primary, which has the
    # bulletin the replica has not replayed yet.
    assert seen["titles"]["fresh"] in seen["here_list_sticky"]["html"]
    assert seen["here_list_sticky"]["replica_queries"] == 0


def test_reveal_counts_come_from_the_primary_on_every_device(seen):
    """Another device has no sticky cookie: its pages are read from the lagging replica,
    yet what decides access (subscription, today's reveals) is read from the primary."""
    a, b, account = seen["elsewhere_a"], seen["elsewhere_b"], seen["elsewhere_account"]
    assert "欧阳晓" in a["html"] and "今日已查看 1 / 2 条" in a["html"]
    assert a["replica_queries"] > 0 and a["primary_queries"] > 0
    assert "司马青" not in b["html"] and "今日已查看 1 / 2 条" in b["html"]
    assert "1 / 2 条" in account["html"]
    listing = seen["elsewhere_list"]
    assert seen["titles"]["fresh"] not in listing["html"]  # the page itself: the replica
    assert not any(
        seen[name]["sticky"] for name in ("elsewhere_a", "elsewhere_b", "elsewhere_list")
    )


def test_the_quota_holds_while_the_replica_lags(seen):
    assert seen["reveal_b_elsewhere"]["status"] == 302
    refused = seen["reveal_c_past_quota"]
    assert refused["status"] == 429 and "诸葛明" not in refused["html"]
    assert seen["reveal_a_again"]["status"] == 302  # looking again the same day is free
    assert seen["reveals_on_primary"] == 2
    assert seen["reveals_on_replica"] == 0  # the replica saw none of it

    # Past the sticky window, still lagging: pages from the replica, counts still right.
    a = seen["here_a_after_window"]
    assert "欧阳晓" in a["html"] and "您今日已查看 2 / 2 条" in a["html"]
    assert "今日查看联系方式的 2 条额度已用完" in seen["here_c_after_window"]["html"]
    assert "诸葛明" not in seen["here_c_after_window"]["html"]
    assert "2 / 2 条" in seen["here_account_after_window"]["html"]
    assert seen["titles"]["fresh"] not in seen["here_list_after_window"]["html"]


def test_a_browser_that_wrote_reads_the_primary_for_the_sticky_window(seen):
    """A followed project is an ordinary row: only the sticky window shows it at once."""
    assert seen["follow"]["status"] == 302 and seen["follow"]["sticky"]
    assert "已关注 · 取消关注" in seen["follow_page_sticky"]["html"]
    # The window over and the replica still paused: the page is the replica's (not yet
    # followed); once it has replayed, followed again.
    assert "已关注 · 取消关注" not in seen["follow_page_after_window"]["html"]
    assert "已关注 · 取消关注" in seen["follow_page_caught_up"]["html"]


def test_healthz_reports_the_replica(seen):
    assert seen["healthz"]["status"] == "ok"
    assert seen["healthz"]["replicas"]["replica1"].startswith("ok (")
