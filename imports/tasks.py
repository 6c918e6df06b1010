"""Background work of the bulk upload, on django.tasks (django-tasks-db's db_worker)."""

from django.tasks import TaskContext, task


@task(takes_context=True)
def import_bulk_upload(context: TaskContext, upload_id: int) -> None:
    # Imported here: the task module is loaded by the worker before apps are ready.
    from imports.services import bulk_upload_run

    bulk_upload_run(upload_id=upload_id, task_id=str(context.task_result.id))
