"""`make run` sets the portal up on SQLite: every migration must apply there too (a
PostgreSQL-only index once made one fail: SQLite refuses to drop a column an index names)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_and_demo_load_on_a_fresh_sqlite_database(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "CELERY_BROKER_URL": "filesystem://",
        "DEBUG": "true",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    migrated = manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    demo = manage("load_demo")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "0 failed" in demo.stdout
