from celery import shared_task
from django.utils import timezone

from events.services import events_purge_expired


@shared_task(name="events.purge_expired_events")
def purge_expired_events() -> dict:
    """Run by the beat schedule: events past the retention window go, in batches."""
    return {"deleted": events_purge_expired(now=timezone.now())}
