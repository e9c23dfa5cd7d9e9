"""Celery tasks of the news app: take ids, call services."""

from celery import shared_task

from news.importing import jobs


# A large archive may take longer than the default limits (≈ 200 files/s).
@shared_task(ignore_result=True, time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60)
def import_job_run(job_id: int) -> None:
    jobs.import_job_run(job_id=job_id)
