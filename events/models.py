"""The event log: one row for each state change a client may want to hear about, written in the
same transaction as the change (see ``events.services``)."""

import secrets
import time

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

PUBLIC_ID_PREFIX = "evt_"


def new_public_id() -> str:
    """``evt_`` and 32 hex digits: the milliseconds since the epoch (12), then 20 random ones, so
    ids sort roughly by time and the unique index takes new ones at its end (see
    ``events.services.PUBLIC_ID_SQL`` for the same in SQL)."""
    return f"{PUBLIC_ID_PREFIX}{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


class EventType(models.TextChoices):
    PERSON_BALANCE_CHANGED = "person.balance.changed", _("A person's balance answer changed")
    CARD_STATUS_CHANGED = "card.status_changed", _("A card's status changed")
    EVOUCHER_ACTIVATED = "evoucher.activated", _("An e-voucher was activated")
    EVOUCHER_LOCKED = "evoucher.locked", _("An e-voucher was locked")
    CONTRIBUTION_RECEIVED = "contribution.received", _("A contribution was received")
    CREDITING_POSTED = "crediting.posted", _("An account was credited")
    CREDITING_RUN_COMPLETED = "crediting_run.completed", _("A crediting run completed")
    UPLOAD_COMPLETED = "upload.completed", _("An upload completed")
    SETTLEMENT_CREATED = "settlement.created", _("A settlement was created")
    SETTLEMENT_REVERSED = "settlement.reversed", _("A settlement was reversed")
    FILING_CREATED = "filing.created", _("A filing was created")
    FILING_REVOKED = "filing.revoked", _("A filing was revoked")
    FAMILY_AUTHORIZATION_GRANTED = (
        "family_authorization.granted",
        _("A family authorisation was granted"),
    )
    FAMILY_AUTHORIZATION_REVOKED = (
        "family_authorization.revoked",
        _("A family authorisation was revoked"),
    )
    CITY_SWITCHES_CHANGED = "city.switches_changed", _("A city's switches changed")


class Event(models.Model):
    """Something that happened. The primary key grows with every insert and serves as a cursor;
    ``public_id`` is what clients see (and the webhook-id of its deliveries)."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.CharField(
        _("public id"), max_length=40, default=new_public_id, editable=False
    )
    type = models.CharField(_("type"), max_length=64, choices=EventType.choices)
    occurred_at = models.DateTimeField(
        _("occurred at"), help_text=_("The simulated time the change was decided by.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    city = models.ForeignKey(
        "cities.City",
        verbose_name=_("city"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # A plain column: persons sit above this app's floor.
    person_id = models.BigIntegerField(_("person"), null=True, blank=True)
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("institution"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    data = models.JSONField(_("data"), default=dict)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, default="")
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, blank=True, default="")
    is_test = models.BooleanField(_("test event"), default=False)
    # A test event is its triggering caller's alone: only they (and superusers) see it.
    triggered_by = models.ForeignKey(
        "users.User",
        verbose_name=_("triggered by"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-id"]
        # Few and cheap to keep: a job writes an event per account it credits. No index of a
        # single foreign key (the pairs with the id serve), the institution's only where there is
        # one, and a BRIN range index on the real time for the retention task.
        constraints = [models.UniqueConstraint(fields=["public_id"], name="event_public_id")]
        indexes = [
            models.Index(fields=["type", "id"], name="event_type_id"),
            models.Index(fields=["object_type", "object_id"], name="event_object"),
            models.Index(fields=["city", "id"], name="event_city_id"),
            models.Index(fields=["person_id", "id"], name="event_person_id"),
            models.Index(
                fields=["institution", "id"],
                name="event_institution_id",
                condition=models.Q(institution__isnull=False),
            ),
            BrinIndex(fields=["created_at"], name="event_created_at_brin"),
            # Test events alone: few, and a deleted user's go with them.
            models.Index(
                fields=["triggered_by"],
                name="event_triggered_by",
                condition=models.Q(triggered_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"
