from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.audit import AuditedHistory
from common.money import MoneyField
from common.names import name_in_language

_RATE = {
    "max_digits": 5,
    "decimal_places": 4,
    "validators": [MinValueValidator(0), MaxValueValidator(1)],
}
_DAY_OF_MONTH = [MinValueValidator(1), MaxValueValidator(28)]


class City(models.Model):
    """An insurance region with its own information system, switches and policy figures."""

    class UploadFrequency(models.TextChoices):
        DAILY = "DAILY", _("Daily")
        WEEKLY = "WEEKLY", _("Weekly")
        MONTHLY = "MONTHLY", _("Monthly")

    code = models.CharField(
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^[1-8]\d{5}$", _("A 6-digit administrative division code."))],
        help_text=_("6-digit administrative division code (GB/T 2260)."),
        verbose_name=_("code"),
    )
    name = models.CharField(max_length=64, verbose_name=_("name"))
    name_zh = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The city's name in Chinese, shown to people reading Chinese."),
        verbose_name=_("name in Chinese"),
    )

    # The city's medical-insurance agency (social security bureau): where the remedies send a
    # person to a counter or a phone. Empty: the remedies give the national hotline instead.
    agency_name = models.CharField(
        max_length=128,
        blank=True,
        help_text=_("The city's medical-insurance agency."),
        verbose_name=_("agency name"),
    )
    agency_name_zh = models.CharField(
        max_length=128,
        blank=True,
        help_text=_("The agency's name in Chinese, shown to people reading Chinese."),
        verbose_name=_("agency name in Chinese"),
    )
    agency_address = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Where its service counter is."),
        verbose_name=_("agency address"),
    )
    agency_address_zh = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("The counter's address in Chinese, shown to people reading Chinese."),
        verbose_name=_("agency address in Chinese"),
    )
    agency_phone = models.CharField(
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[0-9][0-9-]{2,19}$", _("Digits, with hyphens if any."))],
        help_text=_(
            "Its service phone (e.g. the area code and 12393). Empty: the national hotline answers."
        ),
        verbose_name=_("agency phone"),
    )

    # The online channel (the e-voucher platforms).
    online_inquiry_launched = models.BooleanField(
        default=True,
        help_text=_("Whether the city has launched online e-insurance inquiry."),
        verbose_name=_("online inquiry launched"),
    )
    personal_account_shown_online = models.BooleanField(
        default=True,
        help_text=_(
            "Whether the online channel may show the personal account; if not, only designated institutions and agency counters can."
        ),
        verbose_name=_("personal account shown online"),
    )
    has_public_upload_channel = models.BooleanField(
        default=True,
        help_text=_("Whether the city uploads account data to the national platform at all."),
        verbose_name=_("has public upload channel"),
    )
    upload_frequency = models.CharField(
        max_length=8,
        choices=UploadFrequency.choices,
        default=UploadFrequency.MONTHLY,
        verbose_name=_("upload frequency"),
    )
    upload_day = models.PositiveSmallIntegerField(
        default=1,
        validators=_DAY_OF_MONTH,
        help_text=_(
            "Weekly: ISO weekday (1 = Monday ... 7 = Sunday). Monthly: day of the month (1-28)."
        ),
        verbose_name=_("upload day"),
    )
    latest_upload = models.ForeignKey(
        "uploads.CityUpload",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text=_("The last upload that finished; the online channel shows its snapshot."),
        verbose_name=_("latest upload"),
    )
    query_capacity = models.PositiveIntegerField(
        default=1000,
        help_text=_("Balance queries the city's platform serves per window."),
        verbose_name=_("query capacity"),
    )
    query_window_seconds = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
        verbose_name=_("query window seconds"),
    )
    platform_busy_forced = models.BooleanField(
        default=False,
        help_text=_("Operator switch: answer every online query as if over capacity."),
        verbose_name=_("platform busy forced"),
    )
    interface_busy_forced = models.BooleanField(
        default=False,
        help_text=_(
            "Sandbox switch: the national platform interface answers every message of the city's institutions as busy (infcode -1, PLATFORM_BUSY; nothing is carried out, so the same message may be sent again)."
        ),
        verbose_name=_("interface busy forced"),
    )

    # Employee scheme.
    average_wage = MoneyField(
        default=Decimal("9000.00"),
        help_text=_("Local average monthly wage."),
        verbose_name=_("average wage"),
    )
    payment_base_min = MoneyField(
        default=Decimal("5400.00"),
        help_text=_("Lowest monthly payment base."),
        verbose_name=_("payment base min"),
    )
    payment_base_max = MoneyField(
        default=Decimal("27000.00"),
        help_text=_("Highest monthly payment base."),
        verbose_name=_("payment base max"),
    )
    employer_rate = models.DecimalField(
        default=Decimal("0.0750"), **_RATE, verbose_name=_("employer rate")
    )
    individual_rate = models.DecimalField(
        default=Decimal("0.0200"), **_RATE, verbose_name=_("individual rate")
    )
    retiree_monthly_credit = MoneyField(
        default=Decimal("85.00"),
        help_text=_("Fixed amount the pool credits each retiree's personal account every month."),
        verbose_name=_("retiree monthly credit"),
    )
    contribution_day = models.PositiveSmallIntegerField(
        default=10,
        validators=_DAY_OF_MONTH,
        help_text=_("Day of the month employers' contributions are collected."),
        verbose_name=_("contribution day"),
    )
    crediting_day = models.PositiveSmallIntegerField(
        default=25,
        validators=_DAY_OF_MONTH,
        help_text=_("Day of the month personal accounts are credited."),
        verbose_name=_("crediting day"),
    )

    # Resident scheme.
    resident_individual_contribution = MoneyField(
        default=Decimal("400.00"), verbose_name=_("resident individual contribution")
    )
    resident_government_subsidy = MoneyField(
        default=Decimal("700.00"), verbose_name=_("resident government subsidy")
    )
    subsidized_individual_contribution = MoneyField(
        default=Decimal("0.00"),
        help_text=_(
            "What a resident in a subsidised group pays per year; the government pays the rest."
        ),
        verbose_name=_("subsidized individual contribution"),
    )
    resident_accounts_abolished_on = models.DateField(
        null=True,
        blank=True,
        help_text=_(
            "From this date residents have no personal account (outpatient pooling instead). Empty: not abolished."
        ),
        verbose_name=_("resident accounts abolished on"),
    )
    resident_monthly_account_credit = MoneyField(
        default=Decimal("10.00"),
        help_text=_("Where resident accounts still exist: monthly credit once the year is paid."),
        verbose_name=_("resident monthly account credit"),
    )
    resident_outpatient_pool_share = models.DecimalField(
        default=Decimal("0.2000"),
        help_text=_("Share of each resident contribution that funds outpatient pooling."),
        **_RATE,
        verbose_name=_("resident outpatient pool share"),
    )
    outpatient_pooling_ratio = models.DecimalField(
        default=Decimal("0.5000"), **_RATE, verbose_name=_("outpatient pooling ratio")
    )
    outpatient_pooling_annual_quota = MoneyField(
        default=Decimal("600.00"),
        help_text=_("What outpatient pooling pays a resident per year at most."),
        verbose_name=_("outpatient pooling annual quota"),
    )

    # Sandbox: the clock of the developer's world the city belongs to; empty for every other
    # city, which runs on the shared clock (the demo world's, or real time with sandbox mode off).
    clock = models.ForeignKey(
        "common.SimulatedClock",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="cities",
        help_text=_("The sandbox world's clock this city runs on; empty: the shared clock."),
        verbose_name=_("clock"),
    )

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords(bases=[AuditedHistory], excluded_fields=["latest_upload"])

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(payment_base_min__lte=models.F("payment_base_max")),
                name="city_payment_base_bounds_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(payment_base_min__gte=0),
                name="city_payment_base_min_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shown_name} ({self.code})"

    @property
    def shown_name(self) -> str:
        """The city's name in the language of the request (English where no Chinese is kept)."""
        return name_in_language(self.name, self.name_zh)

    @property
    def shown_agency_name(self) -> str:
        return name_in_language(self.agency_name, self.agency_name_zh)

    def resident_accounts_abolished_by(self, day) -> bool:
        """Whether residents of this city have no personal account on ``day``."""
        return (
            self.resident_accounts_abolished_on is not None
            and self.resident_accounts_abolished_on <= day
        )

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.upload_frequency == self.UploadFrequency.WEEKLY and not 1 <= self.upload_day <= 7:
            raise ValidationError(
                {"upload_day": "For weekly uploads, the ISO weekday (1 = Monday ... 7 = Sunday)."}
            )
