"""What test_replicas.py runs in a subprocess, against a throwaway primary and its streaming
replica (DATABASE_URL and DATABASE_REPLICA_URLS point at them, so the settings and the
router are the production ones). It drives the site through Django's test Client and
writes what it saw, as JSON, to the path given; test_replicas.py judges it.

    python -m portal.tests.replica_scenario OUT.json
"""

import json
import os
import sys
import time


def main(out_path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from members.models import ContactReveal
    from members.tests.factories import UserFactory, paid_member
    from news.models import Bulletin, Project
    from news.tests.factories import BulletinFactory, ContactFactory
    from portal.db_routers import STICKY_COOKIE

    seen: dict = {"databases": sorted(settings.DATABASES)}
    seen["replica_test_settings"] = settings.DATABASES["replica1"].get("TEST", {})
    primary, replica = connections["default"], connections["replica1"]
    started = time.monotonic()

    def scalar(conn, sql, params=()):
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def caught_up(timeout=30.0):
        """Wait until the replica has replayed everything the primary has written."""
        lsn = scalar(primary, "SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + timeout
        while not scalar(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica did not replay up to {lsn}")
            time.sleep(0.05)

    def set_replay(paused: bool):
        scalar(replica, f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()::text")
        want = "paused" if paused else "not paused"
        while scalar(replica, "SELECT pg_get_wal_replay_pause_state()") != want:
            time.sleep(0.02)

    def fetch(client, url, method="get"):
        """(status, html, queries on the primary, queries on the replica, sticky cookie set)"""
        with CaptureQueriesContext(primary) as on_primary, CaptureQueriesContext(replica) as on_r:
            response = getattr(client, method)(url)
        return {
            "status": response.status_code,
            "html": response.content.decode(),
            "primary_queries": len(on_primary),
            "replica_queries": len(on_r),
            "sticky": STICKY_COOKIE in response.cookies and response.cookies[STICKY_COOKIE].value,
        }

    call_command("migrate", verbosity=0)  # the router allows the primary only
    seen["seconds_migrate"] = round(time.monotonic() - started, 1)

    # The data, written outside any request: on the primary.
    lead_a = ContactFactory(person="欧阳晓", bulletin__title="滨江路道路工程施工招标公告").bulletin
    lead_b = ContactFactory(person="司马青", bulletin__title="港区仓库改造工程招标公告").bulletin
    lead_c = ContactFactory(person="诸葛明", bulletin__title="城东泵站工程监理招标公告").bulletin
    project = Project.objects.create(name="滨江路道路工程", name_key="滨江路道路")
    member = paid_member(quota=2)
    here, elsewhere = Client(), Client()  # the member's browser, and another device
    here.force_login(member)
    elsewhere.force_login(member)
    follower = Client()
    follower.force_login(UserFactory())
    visitor = Client()
    caught_up()
    list_url = reverse("bulletin-list")

    seen["anonymous_list_in_sync"] = fetch(visitor, list_url)

    # The replica stops replaying: from here on it shows the database as it was.
    set_replay(paused=True)
    fresh = BulletinFactory(title="副本延迟验证道路工程施工招标公告")
    seen["fresh_on_primary"] = Bulletin.objects.using("default").filter(pk=fresh.pk).exists()
    seen["fresh_on_replica"] = Bulletin.objects.using("replica1").filter(pk=fresh.pk).exists()
    seen["anonymous_list_lagging"] = fetch(visitor, list_url)
    seen["anonymous_search_lagging"] = fetch(visitor, f"{list_url}?q=副本延迟")
    seen["anonymous_fresh_detail_lagging"] = fetch(visitor, fresh.get_absolute_url())

    # The member reveals A in this browser (a POST: the primary, and sticky afterwards).
    seen["reveal_a"] = fetch(here, reverse("bulletin-reveal", args=[lead_a.pk]), "post")
    seen["here_a_sticky"] = fetch(here, lead_a.get_absolute_url())
    seen["here_list_sticky"] = fetch(here, list_url)
    # On another device (no sticky cookie) pages come from the lagging replica, and the
    # policy from the primary.
    seen["elsewhere_a"] = fetch(elsewhere, lead_a.get_absolute_url())
    seen["elsewhere_b"] = fetch(elsewhere, lead_b.get_absolute_url())
    seen["elsewhere_account"] = fetch(elsewhere, reverse("member-account"))
    seen["elsewhere_list"] = fetch(elsewhere, list_url)
    seen["reveal_b_elsewhere"] = fetch(
        elsewhere, reverse("bulletin-reveal", args=[lead_b.pk]), "post"
    )
    seen["reveal_c_past_quota"] = fetch(here, reverse("bulletin-reveal", args=[lead_c.pk]), "post")
    seen["reveal_a_again"] = fetch(here, reverse("bulletin-reveal", args=[lead_a.pk]), "post")
    seen["reveals_on_primary"] = ContactReveal.objects.using("default").filter(user=member).count()
    seen["reveals_on_replica"] = ContactReveal.objects.using("replica1").filter(user=member).count()

    # Following a project: the member's own row, read back by an ordinary query.
    seen["follow"] = fetch(follower, reverse("follow-toggle", args=["project", project.pk]), "post")
    seen["follow_page_sticky"] = fetch(follower, project.get_absolute_url())

    # Past the sticky window, while the replica still lags.
    time.sleep(settings.REPLICA_STICKY_SECONDS + 0.3)
    seen["follow_page_after_window"] = fetch(follower, project.get_absolute_url())
    seen["here_a_after_window"] = fetch(here, lead_a.get_absolute_url())
    seen["here_c_after_window"] = fetch(here, lead_c.get_absolute_url())
    seen["here_account_after_window"] = fetch(here, reverse("member-account"))
    seen["here_list_after_window"] = fetch(here, list_url)

    # Replay resumes: the replica catches up and serves what it had missed.
    set_replay(paused=False)
    caught_up()
    seen["anonymous_list_caught_up"] = fetch(visitor, list_url)
    seen["anonymous_search_caught_up"] = fetch(visitor, f"{list_url}?q=副本延迟")
    seen["anonymous_fresh_detail_caught_up"] = fetch(visitor, fresh.get_absolute_url())
    seen["follow_page_caught_up"] = fetch(follower, project.get_absolute_url())
    seen["healthz"] = json.loads(fetch(visitor, "/healthz")["html"])
    seen["titles"] = {"a": lead_a.title, "b": lead_b.title, "fresh": fresh.title}
    seen["seconds_total"] = round(time.monotonic() - started, 1)
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(seen, out, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
