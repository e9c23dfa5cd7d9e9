import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from news.importing.pipeline import run_import
from news.importing.sources import sources_from_paths

PROGRESS_THRESHOLD = 50  # below this a bar is noise


class Command(BaseCommand):
    help = "导入抓取的标讯页面(文件或文件夹,可多个)。"

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="文件或文件夹")
        parser.add_argument("--draft", action="store_true", help="导入为草稿(默认直接发布)")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出结果")
        parser.add_argument("--dry-run", action="store_true", help="只解析并报告,不写入")
        parser.add_argument(
            "--allow-near-duplicates",
            action="store_true",
            help="与已有标讯近似重复(转载)的页面也导入",
        )

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            # Usage errors exit 2, as argparse does; per-file failures exit 1 (below).
            exc.returncode = 2
            raise

    def handle(self, *paths, **options):
        from pathlib import Path

        missing = [p for p in options["paths"] if not Path(p).exists()]
        if missing:
            raise CommandError(_("路径不存在: %s") % ", ".join(missing))
        sources = list(sources_from_paths(options["paths"]))
        bar = None
        if not options["json"] and len(sources) >= PROGRESS_THRESHOLD:
            from tqdm import tqdm

            bar = tqdm(total=len(sources), unit="file", file=sys.stderr)
        report = run_import(
            sources,
            publish=not options["draft"],
            dry_run=options["dry_run"],
            allow_near_duplicates=options["allow_near_duplicates"],
            progress=(lambda _result: bar.update()) if bar else None,
        )
        if bar:
            bar.close()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            self._summary(report)
        if report.errors:
            sys.exit(1)

    def _summary(self, report):
        verb = _("可导入") if report.dry_run else _("已导入")
        self.stdout.write(
            _("%(verb)s %(imported)d 个, 重复 %(dup)d 个, 失败 %(err)d 个")
            % {
                "verb": verb,
                "imported": len(report.imported),
                "dup": len(report.duplicates),
                "err": len(report.errors),
            }
            + (_("(试运行,未写入)") if report.dry_run else "")
        )
        for result in report.errors:
            self.stderr.write(_("失败: %s") % result.error)
        for result in report.duplicates:
            if result.near_duplicate:
                self.stdout.write(
                    _("近似重复(转载): %(file)s 与 #%(of)s 相似度 %(sim)s")
                    % {
                        "file": result.file,
                        "of": result.duplicate_of or "-",
                        "sim": result.similarity,
                    }
                )
