from django.conf import settings
from django.db import models

from common.money import MoneyField


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


class AnnualUsage(models.Model):
    """What a person has used of the year's deductible, pooled payments and caps (kept in step by
    settlements and their reversals)."""

    person = models.ForeignKey(
        "persons.InsuredPerson", on_delete=models.CASCADE, related_name="annual_usage"
    )
    year = models.PositiveSmallIntegerField()
    deductible_outpatient = MoneyField(
        default=0, help_text="Deductible paid this year, outpatient."
    )
    deductible_inpatient = MoneyField(default=0, help_text="Deductible paid this year, inpatient.")
    pool_paid = MoneyField(
        default=0, help_text="Paid by the pooled fund this year (counts toward the annual cap)."
    )
    outpatient_pool_paid = MoneyField(
        default=0, help_text="Residents: paid by outpatient pooling this year."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "year"], name="one_usage_row_per_person_year"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    deductible_outpatient__gte=0,
                    deductible_inpatient__gte=0,
                    pool_paid__gte=0,
                    outpatient_pool_paid__gte=0,
                ),
                name="annual_usage_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Usage {self.year} of person {self.person_id}"


class FamilyAuthorization(models.Model):
    """Family mutual aid: an employee lets a close relative's settlements draw on their personal
    account."""

    class Relation(models.TextChoices):
        SPOUSE = "SPOUSE", "Spouse"
        PARENT = "PARENT", "Parent"
        CHILD = "CHILD", "Child"

    account_holder = models.ForeignKey(
        "persons.InsuredPerson", on_delete=models.CASCADE, related_name="family_grants"
    )
    beneficiary = models.ForeignKey(
        "persons.InsuredPerson", on_delete=models.CASCADE, related_name="family_benefactors"
    )
    relation = models.CharField(max_length=8, choices=Relation.choices)
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account_holder", "beneficiary"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_family_authorization",
            ),
            models.CheckConstraint(
                condition=~models.Q(account_holder=models.F("beneficiary")),
                name="family_authorization_not_self",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_holder} → {self.beneficiary} ({self.get_relation_display()})"
