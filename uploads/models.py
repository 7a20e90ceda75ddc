from django.conf import settings
from django.db import models

from accounts.models import JobStatus
from common.money import MoneyField


class CityUpload(models.Model):
    """One upload of a city's account data to the national platform (what the online channel shows)."""

    class Trigger(models.TextChoices):
        SCHEDULE = "SCHEDULE", "City schedule"
        OPERATOR = "OPERATOR", "Operator"
        SANDBOX = "SANDBOX", "Sandbox clock"

    city = models.ForeignKey("cities.City", on_delete=models.PROTECT, related_name="uploads")
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    as_of = models.DateTimeField(help_text="Business time of the data uploaded.")
    due_on = models.DateField(
        null=True, blank=True, help_text="The scheduled date, for scheduled uploads."
    )
    persons_total = models.PositiveIntegerField(default=0)
    persons_done = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0, help_text="Last person id uploaded (for resuming).")
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
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "due_on"],
                condition=models.Q(due_on__isnull=False),
                name="one_scheduled_upload_per_day",
            )
        ]

    def __str__(self) -> str:
        return f"Upload #{self.pk} of city {self.city_id} as of {self.as_of:%Y-%m-%d %H:%M}"

    @property
    def progress_percent(self) -> int:
        if not self.persons_total:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        return min(100, round(100 * self.persons_done / self.persons_total))


class BalanceSnapshot(models.Model):
    """What the national platform holds for one person, as of the upload that last refreshed it."""

    person = models.OneToOneField(
        "persons.InsuredPerson", on_delete=models.CASCADE, primary_key=True, related_name="snapshot"
    )
    upload = models.ForeignKey(CityUpload, on_delete=models.PROTECT, related_name="+")
    has_personal_account = models.BooleanField()
    balance = MoneyField()
    credited = models.BooleanField(
        help_text="Whether the first crediting had been posted at upload time."
    )
    as_of = models.DateTimeField()

    def __str__(self) -> str:
        return f"Snapshot of person {self.person_id}: {self.balance} as of {self.as_of:%Y-%m-%d}"
