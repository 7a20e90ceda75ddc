from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common import clock
from common.models import RecordedJob
from common.money import MoneyField


class CityUpload(RecordedJob):
    """One upload of a city's account data to the national platform (what the online channel
    shows). Its items are the city's insured persons."""

    class Trigger(models.TextChoices):
        SCHEDULE = "SCHEDULE", _("City schedule")
        OPERATOR = "OPERATOR", _("Operator")
        SANDBOX = "SANDBOX", _("Sandbox fast-forward (one person)")

    city = models.ForeignKey(
        "cities.City", on_delete=models.PROTECT, related_name="uploads", verbose_name=_("city")
    )
    trigger = models.CharField(max_length=8, choices=Trigger.choices, verbose_name=_("trigger"))
    as_of = models.DateTimeField(
        help_text=_("Business time of the data uploaded."), verbose_name=_("as of")
    )
    due_on = models.DateField(
        null=True,
        blank=True,
        help_text=_("The scheduled date, for scheduled uploads."),
        verbose_name=_("due on"),
    )

    class Meta:
        verbose_name = _("city upload")
        verbose_name_plural = _("city uploads")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "due_on"],
                condition=models.Q(due_on__isnull=False),
                name="one_scheduled_upload_per_day",
            )
        ]

    def __str__(self) -> str:
        return gettext("Upload #%(id)s of %(city)s as of %(as_of)s") % {
            "id": self.pk,
            "city": self.city,
            "as_of": clock.as_text(self.as_of),
        }


class BalanceSnapshot(models.Model):
    """What the national platform holds for one person, as of the upload that last refreshed it."""

    person = models.OneToOneField(
        "persons.InsuredPerson",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="snapshot",
        verbose_name=_("person"),
    )
    upload = models.ForeignKey(
        CityUpload, on_delete=models.PROTECT, related_name="+", verbose_name=_("upload")
    )
    has_personal_account = models.BooleanField(verbose_name=_("has personal account"))
    balance = MoneyField(verbose_name=_("balance"))
    credited = models.BooleanField(
        help_text=_("Whether the first crediting had been posted at upload time."),
        verbose_name=_("credited"),
    )
    as_of = models.DateTimeField(verbose_name=_("as of"))

    class Meta:
        verbose_name = _("balance snapshot")
        verbose_name_plural = _("balance snapshots")

    def __str__(self) -> str:
        return gettext("Snapshot of person %(person)s: %(balance)s as of %(day)s") % {
            "person": self.person_id,
            "balance": self.balance,
            "day": f"{clock.localdate(self.as_of):%Y-%m-%d}",
        }
