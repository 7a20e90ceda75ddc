"""Audit: every historical record says who, when, why and through which request."""

from django.db import models
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from common.context import current_request_id


def acting_user(by):
    """The user to record as having acted, or None for the system (a job, an anonymous caller)."""
    return by if getattr(by, "pk", None) else None


class AuditedHistory(models.Model):
    """Base for django-simple-history models: adds the request id to each record."""

    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True


@receiver(pre_create_historical_record)
def _stamp_request_id(sender, history_instance, **kwargs):
    if hasattr(history_instance, "request_id"):
        history_instance.request_id = current_request_id()
