from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from members.models import Plan, User
from members.services import subscription_activate
from news.importing.pipeline import run_import
from news.importing.sources import sources_from_paths

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "bulletins"
# (email, password, is_staff, plan slug or None) — README states these logins.
DEMO_USERS = [
    ("editor@example.com", "editor-demo-2024", True, None),
    ("member@example.com", "member-demo-2024", False, "custom"),
    ("free@example.com", "free-demo-2024", False, None),
]


class Command(BaseCommand):
    help = (
        "载入演示数据:样例标讯与演示账号(付费会员、免费会员、编辑)。可重复运行,不会产生重复数据。"
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            for email, password, is_staff, plan_slug in DEMO_USERS:
                self._user(email, password, is_staff, plan_slug)
        report = run_import(sources_from_paths([DEMO_DIR]))
        self.stdout.write(
            f"demo: {len(report.imported)} imported, {len(report.duplicates)} already present, "
            f"{len(report.errors)} failed"
        )
        for result in report.errors:
            self.stderr.write(result.error)

    def _user(self, email, password, is_staff, plan_slug):
        username = email.split("@")[0]
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"is_staff": is_staff, "is_superuser": is_staff, "email": email},
        )
        if created:
            user.set_password(password)
            user.save()
        if user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        # Demo logins need no confirmation email.
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        if plan_slug and not user.subscriptions.current().exists():
            subscription_activate(
                user=user,
                plan=Plan.objects.get(slug=plan_slug),
                months=12,
                by=None,
                order_reference="DEMO-0001",
                note="演示数据",
            )
