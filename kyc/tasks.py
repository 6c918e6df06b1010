"""Background work of risk scoring, on django.tasks (django-tasks-db's db_worker)."""

from uuid import UUID

from django.tasks import task


@task()
def rescore_organisation(job_id: int) -> None:
    # Imported here: the task module is loaded by the worker before apps are ready.
    from kyc.services import rescoring_run

    rescoring_run(job_id=job_id)


@task()
def rescore_customers(
    organisation_id: str, ids: list[int], why: str, created_ids: list[int]
) -> None:
    """Score customers a bulk upload wrote, after it committed (kyc.reactions)."""
    from django.db import transaction

    from kyc.scoring import customers_rescore

    with transaction.atomic():
        customers_rescore(
            organisation_id=UUID(organisation_id), ids=ids, why=why, created_ids=created_ids
        )
