from celery import shared_task
from django.utils import timezone
from knox.models import AuthToken


@shared_task(name="users.purge_expired_tokens")
def purge_expired_tokens() -> dict:
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return {"deleted": deleted}
