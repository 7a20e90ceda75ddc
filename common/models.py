from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SimulatedClock(models.Model):
    """The sandbox's notion of now: frozen until a client advances it, and only ever forward.
    Row 1 is the shared clock (the demo world's); each developer's sandbox world has its own."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    now = models.DateTimeField(help_text=_("The simulated current time."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("simulated clock")
        verbose_name_plural = _("simulated clocks")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id__gte=1), name="simulated_clock_id_positive"
            )
        ]

    def __str__(self) -> str:
        from common import clock

        return f"Simulated clock at {clock.as_text(self.now)}"


class IdempotencyRecord(models.Model):
    """The first response to a state-changing request, replayed for retries with the same key."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64,
        help_text=_(
            "SHA-256 of the caller, the presented credential, method, path, query and body."
        ),
    )
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "key"], name="idempotency_key_unique_per_owner"
            )
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class JobStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending")
    RUNNING = "RUNNING", _("Running")
    SUCCEEDED = "SUCCEEDED", _("Succeeded")
    FAILED = "FAILED", _("Failed")


class RecordedJob(models.Model):
    """A long job recorded in the database, so its progress and outcome outlive any worker and
    a job whose message was lost (broker down, worker killed) is found and run again."""

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0, help_text=_("Last row id processed (for resuming)."))
    executions = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        abstract = True

    @property
    def progress_percent(self) -> int:
        if not self.items_total:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        return min(100, round(100 * self.items_done / self.items_total))
