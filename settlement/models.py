from django.db import models


class Institution(models.Model):
    """A designated hospital (level 1 to 3) or pharmacy."""

    class Kind(models.TextChoices):
        HOSPITAL = "HOSPITAL", "Hospital"
        PHARMACY = "PHARMACY", "Pharmacy"

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        choices=[(1, "Level 1"), (2, "Level 2"), (3, "Level 3")],
        help_text="Hospitals only.",
    )
    city = models.ForeignKey("cities.City", on_delete=models.PROTECT, related_name="institutions")
    is_designated = models.BooleanField(default=True, help_text="Designated for direct settlement.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
