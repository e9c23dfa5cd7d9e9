"""Import runs: files from news.importing.sources, stored in batches by
news.importing.storing (one transaction per batch of BATCH_SIZE files, one multi-row INSERT,
per-file savepoints only when that INSERT fails), with a report of every file's outcome.

The package reads one way: sources → parser (decoding) → near_duplicates → storing →
pipeline.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from news.importing.sources import SourceFile
from news.importing.storing import FileResult, bulletins_import

BATCH_SIZE = 100  # files per transaction


@dataclass
class ImportReport:
    results: list[FileResult] = field(default_factory=list)
    dry_run: bool = False

    def _with(self, status):
        return [r for r in self.results if r.status == status]

    @property
    def imported(self) -> list[FileResult]:
        return self._with("imported")

    @property
    def duplicates(self) -> list[FileResult]:
        return self._with("duplicate")

    @property
    def errors(self) -> list[FileResult]:
        return self._with("error")

    def as_json(self) -> dict:
        return {
            "imported": len(self.imported),
            "duplicates": len(self.duplicates),
            "duplicate_files": [
                {"file": r.file, "duplicate_of": r.duplicate_of, "similarity": r.similarity}
                for r in self.duplicates
            ],
            "errors": [{"file": r.file, "error": r.error} for r in self.errors],
            "bulletins": [
                {"file": r.file, "id": r.bulletin_id, "url": r.url}
                for r in self.imported
                if r.bulletin_id is not None
            ],
        }


def run_import(
    sources: Iterable[SourceFile],
    *,
    publish: bool = True,
    dry_run: bool = False,
    allow_near_duplicates: bool = False,
    progress: Callable[[FileResult], None] | None = None,
) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    cache: dict = {}
    batch: list[tuple[str, bytes]] = []

    def flush():
        for result in bulletins_import(
            files=batch,
            publish=publish,
            dry_run=dry_run,
            allow_near_duplicates=allow_near_duplicates,
            cache=cache,
        ):
            report.results.append(result)
            if progress:
                progress(result)
        batch.clear()

    for source in sources:
        try:
            batch.append((source.name, source.read()))
        except (OSError, ValueError) as exc:
            flush()  # keep results in input order
            result = FileResult(source.name, "error", error=f"{source.name}: 无法读取: {exc}")
            report.results.append(result)
            if progress:
                progress(result)
            continue
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()
    return report
