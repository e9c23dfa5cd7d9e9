"""Parse the bid results of bulletins stored before the importer read them."""

from django.core.management.base import BaseCommand, CommandError

from news.bid_results import bid_results_backfill_all


class Command(BaseCommand):
    help = (
        "为已入库的中标公告解析开标结果(中标候选人、投标报价、工期)。"
        "已有结果的标讯跳过,除非指定 --replace。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--replace", action="store_true", help="重新解析已有结果的标讯(解析规则改进后)"
        )

    def handle(self, *args, batch_size, replace, **options):
        if batch_size < 1:
            raise CommandError(f"--batch-size 必须是正整数,收到 {batch_size}")

        def progress(last_id, bulletins, rows):
            self.stdout.write(f"… id {last_id}: {bulletins} 条标讯, {rows} 行")

        bulletins, rows = bid_results_backfill_all(
            batch_size=batch_size, replace=replace, progress=progress
        )
        self.stdout.write(self.style.SUCCESS(f"{bulletins} 条标讯解析出 {rows} 行开标结果"))
