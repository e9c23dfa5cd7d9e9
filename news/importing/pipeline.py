"""Import runs: files from news.importing.sources, stored in batches by
news.importing.storing (one transaction per batch of BATCH_SIZE files, one multi-row INSERT,
per-file savepoints only when that INSERT fails), with a report of every file's outcome.

The package reads one way: sources → parser (decoding) → near_duplicates → storing →
pipeline.
"""

import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from django.conf import settings

from news.importing.preparing import PreparedBatch, batch_prepare
from news.importing.sources import SourceFile
from news.importing.storing import FileResult, bulletins_store

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # files per transaction


@dataclass
class ImportReport:
    results: list[FileResult] = field(default_factory=list)
    dry_run: bool = False
    prepared_ahead: int = 0  # batches a helper process parsed while another was stored

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
    """Import files batch by batch. Past the first batch, the next batch is parsed and
    masked (news.importing.preparing) in a helper process while this one stores the
    current batch: Python and PostgreSQL work at once instead of in turn."""
    report = ImportReport(dry_run=dry_run)
    cache: dict = {}
    preparer = _Preparer()
    # Batches on their way (prepared or being prepared) and read errors, in input order.
    pending: deque[tuple[str, object]] = deque()

    def record(result: FileResult) -> None:
        report.results.append(result)
        if progress:
            progress(result)

    def handle_oldest() -> None:
        kind, item = pending.popleft()
        if kind == "error":
            record(item)
            return
        for result in bulletins_store(
            preparer.result(item),
            publish=publish,
            dry_run=dry_run,
            allow_near_duplicates=allow_near_duplicates,
            cache=cache,
        ):
            record(result)

    try:
        for kind, item in _units(sources):
            pending.append((kind, preparer.submit(item) if kind == "batch" else item))
            while sum(k == "batch" for k, _ in pending) > _AHEAD:
                handle_oldest()
        while pending:
            handle_oldest()
    finally:
        preparer.close()
    report.prepared_ahead = preparer.ahead
    return report


_AHEAD = 1  # batches prepared ahead of the one being stored


def _units(sources: Iterable[SourceFile]):
    """("batch", [(name, bytes)…]) of BATCH_SIZE files, and ("error", FileResult) for a
    file that cannot be read, in input order."""
    batch: list[tuple[str, bytes]] = []
    for source in sources:
        try:
            batch.append((source.name, source.read()))
        except (OSError, ValueError) as exc:
            if batch:
                yield "batch", batch
                batch = []
            error = f"{source.name}: 无法读取: {exc}"
            yield "error", FileResult(source.name, "error", error=error)
            continue
        if len(batch) >= BATCH_SIZE:
            yield "batch", batch
            batch = []
    if batch:
        yield "batch", batch


class _Preparer:
    """Prepares batches in one helper process once a second batch shows there is work to
    overlap (a single batch is prepared in this process: no process start for small
    imports). Not inside a daemon process (a Celery prefork worker may not have children)
    or with IMPORT_PREPARE_PROCESSES=0; a helper that dies leaves the work to this one."""

    def __init__(self):
        self.executor = None
        self.submitted = self.ahead = 0

    def _start(self):
        if settings.IMPORT_PREPARE_PROCESSES < 1 or multiprocessing.current_process().daemon:
            return None
        # spawn, not fork: a forked child would share this process's database connection.
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(settings.IMPORT_PREPARE_PROCESSES, mp_context=context)

    def submit(self, files):
        self.submitted += 1
        if self.submitted == 2:
            self.executor = self._start()
        if self.submitted >= 2 and self.executor is not None:
            return (files, self.executor.submit(batch_prepare, files))
        return (files, None)

    def result(self, item) -> PreparedBatch:
        files, future = item
        if future is not None:
            try:
                prepared = future.result()
                self.ahead += 1
                return prepared
            except BrokenProcessPool:
                logger.warning("import: the prepare process died; preparing in process")
        return batch_prepare(files)

    def close(self):
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
