from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from members.models import User
from news.importing.pipeline import run_import, sources_from_paths

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "bulletins"
DEMO_USERS = [
    # (username, password, is_staff) — README states these logins.
    ("editor", "editor-demo-2024", True),
    ("member", "member-demo-2024", False),
]


class Command(BaseCommand):
    help = "载入演示数据:样例标讯与演示账号。可重复运行,不会产生重复数据。"

    def handle(self, *args, **options):
        for username, password, is_staff in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "is_staff": is_staff,
                    "is_superuser": is_staff,
                    "email": f"{username}@example.com",
                },
            )
            if created:
                user.set_password(password)
                user.save()
        report = run_import(sources_from_paths([DEMO_DIR]))
        self.stdout.write(
            f"demo: {len(report.imported)} imported, {len(report.duplicates)} already present, "
            f"{len(report.errors)} failed"
        )
        for result in report.errors:
            self.stderr.write(result.error)
