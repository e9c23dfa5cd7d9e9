"""Recompute the stored search columns of every bulletin (after masking changes)."""

from django.core.management.base import BaseCommand, CommandError

from news.services import bulletins_refresh_vectors


class Command(BaseCommand):
    help = "Recompute every bulletin's search columns; writes only the rows that change."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--ids",
            help="FIRST-LAST: only this id range (run several processes on disjoint ranges)",
        )

    def handle(self, *args, batch_size, ids, **options):
        if ids:
            try:
                first, last = (int(x) for x in ids.split("-"))
            except ValueError:
                raise CommandError(f"--ids {ids!r}: expected FIRST-LAST, e.g. 1-500000") from None
            ids = (first, last)

        def progress(last_id, changed):
            self.stdout.write(f"… id {last_id}: {changed} changed")

        changed = bulletins_refresh_vectors(batch_size=batch_size, progress=progress, ids=ids)
        self.stdout.write(self.style.SUCCESS(f"{changed} bulletins re-indexed"))
