from celery import shared_task
from django.db import InterfaceError, OperationalError

from uploads.services import upload_execute


@shared_task(
    name="uploads.execute_upload",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=120,
    max_retries=5,
    acks_late=True,
)
def execute_upload(upload_id: int) -> dict:
    outcome = upload_execute(upload_id=upload_id)
    return {"upload": upload_id, "persons": outcome.items_done}
