"""Large uploads imported by the worker: the admin queues an ImportJob, a Celery task runs
it through the same pipeline and records progress and the per-file results."""

import dataclasses
import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from news.importing.pipeline import ImportReport, run_import
from news.importing.sources import sources_from_upload
from news.importing.storing import FileResult
from news.models import ImportJob

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 20  # files between progress writes


def import_job_create(
    *, name: str, data: bytes, by, publish: bool, dry_run: bool, allow_near_duplicates: bool
) -> ImportJob:
    """Keep the upload and queue its import after this transaction commits."""
    from news.tasks import import_job_run

    job = ImportJob(
        created_by=by,
        filename=name,
        publish=publish,
        dry_run=dry_run,
        allow_near_duplicates=allow_near_duplicates,
    )
    job.upload.save(name, ContentFile(data), save=False)
    job.save()
    transaction.on_commit(lambda: import_job_run.delay(job.pk))
    return job


def import_job_run(*, job_id: int) -> None:
    job = ImportJob.objects.get(pk=job_id)
    if job.status == ImportJob.Status.DONE:
        return  # a redelivered task: the import already ran
    try:
        with job.upload.open("rb") as upload:
            sources = list(sources_from_upload(job.filename, upload.read()))
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.RUNNING, total=len(sources), done=0
        )
        done = 0

        def progress(_result: FileResult) -> None:
            nonlocal done
            done += 1
            if done % PROGRESS_EVERY == 0:
                ImportJob.objects.filter(pk=job_id).update(done=done)

        report = run_import(
            sources,
            publish=job.publish,
            dry_run=job.dry_run,
            allow_near_duplicates=job.allow_near_duplicates,
            progress=progress,
        )
    except Exception as exc:
        logger.exception("import job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, error=str(exc), finished_at=timezone.now()
        )
        raise
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE,
        done=len(report.results),
        total=len(report.results),
        results=[dataclasses.asdict(r) for r in report.results],
        finished_at=timezone.now(),
    )


def import_job_report(job: ImportJob) -> ImportReport:
    return ImportReport(results=[FileResult(**r) for r in job.results], dry_run=job.dry_run)
