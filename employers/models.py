"""Employers (Social Insurance Law art. 4): who pays an employee's monthly contribution.

An employer's payment mode is what it does at each month's collection: pay on its employees'
declared wages, not pay (each of its employees' months is then recorded as unpaid, an arrear),
or pay on a lower base than the declared wages. What it owes and has paid is on the contribution
records (``accounts``), per employee and month.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.audit import AuditedHistory
from employers.credit_code import CreditCodeError, credit_code_parse


def validate_credit_code(value: str) -> None:
    try:
        credit_code_parse(value)
    except CreditCodeError as exc:
        raise ValidationError(str(exc), code="invalid_credit_code") from None


class Employer(models.Model):
    class PaymentMode(models.TextChoices):
        PAYING = "PAYING", _("Pays on the declared wages")
        NOT_PAYING = "NOT_PAYING", _("Does not pay (arrears accrue)")
        UNDERPAYING = "UNDERPAYING", _("Pays on a base below the declared wages")

    name = models.CharField(max_length=128, verbose_name=_("name"))
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
        help_text=_("18 characters, GB 32100-2015, with its check character."),
    )
    city = models.ForeignKey(
        "cities.City", on_delete=models.PROTECT, related_name="employers", verbose_name=_("city")
    )
    payment_mode = models.CharField(
        max_length=12,
        choices=PaymentMode.choices,
        default=PaymentMode.PAYING,
        help_text=_("What the employer does at each month's contribution collection."),
        verbose_name=_("payment mode"),
    )
    paid_base_ratio = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("When underpaying: the share of each declared wage it pays on (0.01 to 0.99)."),
        verbose_name=_("paid base ratio"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # Who changed how it pays, when, and in which request.
    history = HistoricalRecords(bases=[AuditedHistory])

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        payment_mode="UNDERPAYING",
                        paid_base_ratio__gte=Decimal("0.01"),
                        paid_base_ratio__lte=Decimal("0.99"),
                    )
                    | (
                        ~models.Q(payment_mode="UNDERPAYING")
                        & models.Q(paid_base_ratio__isnull=True)
                    )
                ),
                name="employer_ratio_only_when_underpaying",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.credit_code})"


class Employment(models.Model):
    """An employee-scheme person's current employer: the one whose payment carries their months."""

    person = models.OneToOneField(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        related_name="employment",
        verbose_name=_("person"),
    )
    employer = models.ForeignKey(
        Employer, on_delete=models.PROTECT, related_name="employments", verbose_name=_("employer")
    )
    started_on = models.DateField(verbose_name=_("started on"))

    class Meta:
        verbose_name = _("employment")
        verbose_name_plural = _("employments")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Person {self.person_id} at {self.employer}"
