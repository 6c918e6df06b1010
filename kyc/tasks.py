"""Background work of risk scoring, on django.tasks (django-tasks-db's db_worker)."""

from django.tasks import task


@task()
def rescore_organisation(job_id: int) -> None:
    # Imported here: the task module is loaded by the worker before apps are ready.
    from kyc.services import rescoring_run

    rescoring_run(job_id=job_id)
