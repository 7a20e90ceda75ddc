"""Designated institutions: the hospitals (level 1 to 3) and pharmacies where insured people settle
directly (Social Insurance Law arts. 28 and 29).

The rows live in the table settlement created for them (``settlement_institution``, and
``settlement_historicalinstitution`` for their history): the model moved, the data did not.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.audit import AuditedHistory


class Tier(models.TextChoices):
    """Where the care happens, as far as the policy grid is concerned."""

    LEVEL_1 = "LEVEL_1", _("Level-1 hospital")
    LEVEL_2 = "LEVEL_2", _("Level-2 hospital")
    LEVEL_3 = "LEVEL_3", _("Level-3 hospital")
    PHARMACY = "PHARMACY", _(_("Pharmacy"))


class Institution(models.Model):
    """A designated hospital (level 1 to 3) or pharmacy."""

    class Kind(models.TextChoices):
        HOSPITAL = "HOSPITAL", _("Hospital")
        PHARMACY = "PHARMACY", _(_("Pharmacy"))

    code = models.CharField(max_length=16, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=128, verbose_name=_("name"))
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    level = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        choices=[(1, _("Level 1")), (2, _("Level 2")), (3, _("Level 3"))],
        help_text=_("Hospitals only."),
        verbose_name=_("level"),
    )
    city = models.ForeignKey(
        "cities.City", on_delete=models.PROTECT, related_name="institutions", verbose_name=_("city")
    )
    is_designated = models.BooleanField(
        default=True,
        help_text=_("Designated for direct settlement."),
        verbose_name=_("is designated"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords(
        bases=[AuditedHistory], table_name="settlement_historicalinstitution"
    )

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        db_table = "settlement_institution"
        ordering = ["city", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="HOSPITAL", level__in=[1, 2, 3])
                | models.Q(kind="PHARMACY", level__isnull=True),
                name="institution_level_iff_hospital",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tier(self) -> str:
        if self.kind == self.Kind.PHARMACY:
            return Tier.PHARMACY
        return f"LEVEL_{self.level}"
