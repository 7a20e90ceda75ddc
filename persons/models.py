from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.audit import AuditedHistory
from common.money import MoneyField
from persons.resident_id import InvalidResidentId, parse_resident_id


def validate_resident_id(value: str) -> None:
    try:
        parse_resident_id(value)
    except InvalidResidentId as exc:
        raise ValidationError(str(exc), code="invalid_resident_id") from None


class InsuredPerson(models.Model):
    """A person enrolled in one city under one scheme."""

    class Sex(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Scheme(models.TextChoices):
        EMPLOYEE = "EMPLOYEE", _("Employee basic medical insurance")
        RESIDENT = "RESIDENT", _("Urban-rural resident basic medical insurance")

    class EmploymentStatus(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active (working)")
        RETIRED = "RETIRED", _("Retired")

    class SubsidyCategory(models.TextChoices):
        NONE = "NONE", _("None")
        MINIMUM_LIVING = "MINIMUM_LIVING", _("Minimum living guarantee")
        DISABLED = "DISABLED", _("Disabled, lost the ability to work")
        LOW_INCOME_ELDERLY = "LOW_INCOME_ELDERLY", _("Over 60 in a low-income family")
        LOW_INCOME_MINOR = "LOW_INCOME_MINOR", _("Minor in a low-income family")

    resident_id = models.CharField(
        _("resident ID number"), max_length=18, unique=True, validators=[validate_resident_id]
    )
    name = models.CharField(max_length=64, verbose_name=_("name"))
    sex = models.CharField(max_length=1, choices=Sex.choices, editable=False, verbose_name=_("sex"))
    birth_date = models.DateField(editable=False, verbose_name=_("birth date"))
    city = models.ForeignKey(
        "cities.City", on_delete=models.PROTECT, related_name="persons", verbose_name=_("city")
    )
    scheme = models.CharField(max_length=8, choices=Scheme.choices, verbose_name=_("scheme"))
    employment_status = models.CharField(
        max_length=8,
        choices=EmploymentStatus.choices,
        blank=True,
        default="",
        help_text=_("Employees only."),
        verbose_name=_("employment status"),
    )
    subsidy_category = models.CharField(
        max_length=20,
        choices=SubsidyCategory.choices,
        default=SubsidyCategory.NONE,
        help_text=_("Residents only: the government-subsidised group, if any."),
        verbose_name=_("subsidy category"),
    )
    declared_wage = MoneyField(
        null=True,
        blank=True,
        help_text=_(
            "Employees: monthly wage declared by the employer (payment base before clamping)."
        ),
        verbose_name=_("declared wage"),
    )
    enrolled_on = models.DateField(verbose_name=_("enrolled on"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords(bases=[AuditedHistory])

    class Meta:
        verbose_name = _("insured person")
        verbose_name_plural = _("insured persons")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["city", "scheme", "employment_status"]),
            models.Index(fields=["name"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        scheme="EMPLOYEE",
                        employment_status__in=["ACTIVE", "RETIRED"],
                        subsidy_category="NONE",
                    )
                    | models.Q(scheme="RESIDENT", employment_status="", declared_wage__isnull=True)
                ),
                name="person_scheme_fields_consistent",
            ),
            models.CheckConstraint(
                condition=models.Q(declared_wage__isnull=True) | models.Q(declared_wage__gte=0),
                name="person_declared_wage_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.resident_id[:6]}********{self.resident_id[-4:]})"

    def clean(self) -> None:
        """A subsidy category changed in the console must fit the person on the domain's day."""
        from common import clock
        from persons.subsidy import subsidy_category_refusal

        if self.birth_date is None:
            return
        refusal = subsidy_category_refusal(
            self.subsidy_category, scheme=self.scheme, birth_date=self.birth_date, on=clock.today()
        )
        if refusal is not None:
            raise ValidationError({"subsidy_category": refusal})

    @property
    def is_employee(self) -> bool:
        return self.scheme == self.Scheme.EMPLOYEE

    @property
    def is_retired(self) -> bool:
        return self.employment_status == self.EmploymentStatus.RETIRED
