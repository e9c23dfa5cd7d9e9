"""Helpers shared by the bench scripts: database URLs, Django set-up, machine facts."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB_URL = "postgres://postgres@127.0.0.1:5432/portal_bench1m"


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def admin_url(url: str) -> str:
    """The same server, database `postgres` (to create / drop the bench database)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def connect(url: str, **kwargs):
    import psycopg2

    # libpq understands postgres:// URIs itself.
    return psycopg2.connect(url, **kwargs)


def setup_django(url: str) -> None:
    """Point Django at `url`: DATABASE_URL must be set before settings are read."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def commit_id() -> str:
    """The short commit of the working tree, read from .git (no git process)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head[5:]
        ref_file = git / ref
        if ref_file.exists():
            return ref_file.read_text().strip()[:7]
        packed = git / "packed-refs"
        if packed.exists():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0][:7]
    except OSError:
        pass
    return "unknown"


def ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def machine(pg_version: str = "") -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{os.cpu_count()} cores" + (f" ({cpu})" if cpu else ""), f"{ram_gib():.0f} GiB RAM"]
    parts.append(f"Python {platform.python_version()}")
    if pg_version:
        parts.append(f"PostgreSQL {pg_version}")
    return ", ".join(parts)


def mib(n_bytes: int) -> str:
    return f"{n_bytes / 1024 / 1024:,.0f} MiB"
