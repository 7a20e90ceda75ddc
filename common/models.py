from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SimulatedClock(models.Model):
    """The sandbox's notion of now: frozen until a client advances it, and only ever forward.
    Row 1 is the shared clock (the demo world's); each developer's sandbox world has its own."""

    id = models.PositiveSmallIntegerField(
        primary_key=True, default=1, editable=False, verbose_name=_("id")
    )
    now = models.DateTimeField(help_text=_("The simulated current time."), verbose_name=_("now"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="idempotency_records",
        verbose_name=_("owner"),
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    fingerprint = models.CharField(
        max_length=64,
        help_text=_(
            "SHA-256 of the caller, the presented credential, method, path, query and body."
        ),
        verbose_name=_("fingerprint"),
    )
    method = models.CharField(max_length=8, verbose_name=_("method"))
    path = models.CharField(max_length=512, verbose_name=_("path"))
    response_status = models.PositiveSmallIntegerField(verbose_name=_("response status"))
    response_body = models.JSONField(null=True, verbose_name=_("response body"))
    response_headers = models.JSONField(default=dict, verbose_name=_("response headers"))
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

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

    status = models.CharField(
        max_length=10,
        choices=JobStatus.choices,
        default=JobStatus.PENDING,
        verbose_name=_("status"),
    )
    items_total = models.PositiveIntegerField(default=0, verbose_name=_("items total"))
    items_done = models.PositiveIntegerField(default=0, verbose_name=_("items done"))
    cursor = models.BigIntegerField(
        default=0, help_text=_("Last row id processed (for resuming)."), verbose_name=_("cursor")
    )
    executions = models.PositiveIntegerField(default=0, verbose_name=_("executions"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    queued_at = models.DateTimeField(auto_now_add=True, verbose_name=_("queued at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))

    class Meta:
        abstract = True

    @property
    def progress_percent(self) -> int:
        if not self.items_total:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        return min(100, round(100 * self.items_done / self.items_total))
