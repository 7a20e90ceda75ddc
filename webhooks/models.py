"""Webhook endpoints, the deliveries of events to them, and every attempt of each delivery.

A delivery exists at most once per (event, endpoint): the dispatcher creates them set-based and
the unique constraint makes a second dispatch of the same event a no-op. Its ``webhook-id`` is the
event's public id, the same on every attempt and every redelivery."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# An endpoint that asks for every event type lists this one value.
ALL_EVENT_TYPES = "*"


class WebhookEndpoint(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.CharField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    event_types = ArrayField(
        models.CharField(max_length=64),
        verbose_name=_("event types"),
        help_text=_('The event types delivered here; "*" for every type.'),
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.TextField(_("why disabled"), blank=True, default="")
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    # Secrets sign every delivery, so they are kept as they are; the API shows one only in the
    # answer that created it (registration, rotation).
    secret = models.CharField(_("signing secret"), max_length=120)
    previous_secret = models.CharField(
        _("previous signing secret"), max_length=120, blank=True, default=""
    )
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True
    )
    # Deliveries that ended FAILED in a row (a success resets it), and since when.
    consecutive_failures = models.PositiveIntegerField(_("failed deliveries in a row"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-id"]
        constraints = [
            # A retried registration finds the first (WEBHOOK_ENDPOINT_EXISTS), never a twin.
            models.UniqueConstraint(fields=["owner", "url"], name="webhook_endpoint_once_per_url"),
            models.CheckConstraint(
                name="webhook_endpoint_disabled_says_why",
                condition=models.Q(is_enabled=True) | ~models.Q(disabled_reason=""),
            ),
            models.CheckConstraint(
                name="webhook_endpoint_has_event_types",
                condition=models.Q(event_types__len__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.url}"

    def secrets_valid_at(self, now) -> list[str]:
        """The secrets a delivery at ``now`` is signed with: the current one, and the previous
        one while its rotation window lasts."""
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and now < self.previous_secret_expires_at
        ):
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        "events.Event",
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        related_name="webhook_deliveries",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Attempts in this round (a retry or resend starts a new round) and in all.
    round_attempts = models.PositiveIntegerField(_("attempts this round"), default=0)
    attempts_total = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # When its message was last sent to the workers: a PENDING delivery due long after that lost
    # its message (or its worker), and the dispatcher sends it again.
    enqueued_at = models.DateTimeField(_("sent to the workers at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="webhook_delivery_once_per_event_and_endpoint"
            ),
            models.CheckConstraint(
                name="webhook_delivery_pending_has_next_attempt",
                condition=~models.Q(status="PENDING") | models.Q(next_attempt_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="PENDING"),
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery,
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="attempts",
    )
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    succeeded = models.BooleanField(_("succeeded"))
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True, default="")
    error = models.CharField(_("error"), max_length=300, blank=True, default="")

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="webhook_attempt_number_once"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.delivery_id}/{self.number}"

    @property
    def shown_error(self) -> str:
        """The error in the reader's language where it is one of ours (kept in English, as
        recorded by whichever language the sending worker had); a network error as it came."""
        return gettext(self.error) if self.error else ""


class WebhookDispatchCursor(models.Model):
    """Where the dispatcher stands in the event log (one row). Event ids are handed out when a
    row is inserted, not when its transaction commits, so a lower id can appear after a higher
    one was dispatched: ids below the cursor that were missing when it moved are kept as gaps and
    looked at again on every dispatch until they appear or are older than
    ``WEBHOOK_GAP_TIMEOUT_MINUTES`` (a transaction that rolled back leaves its ids missing)."""

    last_event_id = models.BigIntegerField(default=0)
    # [[first id, last id, first seen (ISO 8601)], ...]
    gaps = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("webhook dispatch cursor")
        verbose_name_plural = _("webhook dispatch cursor")

    def __str__(self) -> str:
        return f"after event {self.last_event_id}"
