"""Recompute the stored search columns of every bulletin (after masking changes)."""

from django.core.management.base import BaseCommand

from news.services import bulletins_refresh_vectors


class Command(BaseCommand):
    help = "Recompute every bulletin's search columns; writes only the rows that change."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size, **options):
        def progress(last_id, changed):
            self.stdout.write(f"… id {last_id}: {changed} changed")

        changed = bulletins_refresh_vectors(batch_size=batch_size, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"{changed} bulletins re-indexed"))
