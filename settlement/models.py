"""Direct settlement at designated institutions (Social Insurance Law arts. 28 and 29).

The policy grid is data, per city: a ``BenefitPolicy`` row (class-B first self-paid share, annual
caps, the employees' outpatient quota, filing validity) and one ``BenefitRule`` per scheme, visit
type and institution tier (deductible and reimbursement ratio). The residents' outpatient-pooling
ratio and quota stay on ``City`` (the balance diagnosis explains them from there).

A ``Settlement`` keeps every figure it was computed from and every figure it produced; the
database checks that they add up (and, on PostgreSQL, that they are never edited afterwards).
Its money moves as one balanced ledger transfer; a reversal is a second transfer the other way.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from common.audit import AuditedHistory
from common.models import RecordedJob
from common.money import MoneyField
from institutions.models import Tier

_RATIO = {
    "max_digits": 5,
    "decimal_places": 4,
    "validators": [MinValueValidator(0), MaxValueValidator(1)],
}


class VisitType(models.TextChoices):
    OUTPATIENT = "OUTPATIENT", _("Outpatient")
    INPATIENT = "INPATIENT", _("Inpatient")


class EmergencyRoute(models.TextChoices):
    """How a city pays for emergency care outside its network (no designation or no filing)."""

    DIRECT = "DIRECT", _("Settled directly")
    REIMBURSE = "REIMBURSE", _("Paid in full, then reimbursed through a claim")


# --- The catalog ------------------------------------------------------------------------------


class CatalogItem(models.Model):
    """A drug or a medical service in the medical-insurance catalog."""

    class Kind(models.TextChoices):
        DRUG = "DRUG", _("Drug")
        SERVICE = "SERVICE", _("Medical service")

    class CatalogClass(models.TextChoices):
        A = "A", _("Class A (fully eligible)")
        B = "B", _("Class B (eligible after a self-paid first share)")
        C = "C", _("Class C (fully self-paid)")

    code = models.CharField(max_length=32, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=128, verbose_name=_("name"))
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    catalog_class = models.CharField(
        max_length=1, choices=CatalogClass.choices, verbose_name=_("catalog class")
    )
    unit = models.CharField(
        max_length=32, blank=True, help_text=_("Box, tablet, session..."), verbose_name=_("unit")
    )
    is_active = models.BooleanField(
        default=True,
        help_text=_("Inactive items can no longer be settled."),
        verbose_name=_("is active"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords(bases=[AuditedHistory])

    class Meta:
        verbose_name = _("catalog item")
        verbose_name_plural = _("catalog items")
        ordering = ["code"]
        indexes = [models.Index(fields=["catalog_class", "kind"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ({self.catalog_class})"


# --- The policy grid ------------------------------------------------------------------------


class BenefitPolicy(models.Model):
    """A city's settlement figures that do not depend on the institution's tier."""

    city = models.OneToOneField(
        "cities.City",
        on_delete=models.CASCADE,
        related_name="benefit_policy",
        verbose_name=_("city"),
    )
    class_b_self_pay_ratio = models.DecimalField(
        help_text=_(
            "Share of each class-B item the person pays first, before anything is eligible."
        ),
        **_RATIO,
        verbose_name=_("class b self pay ratio"),
    )
    employee_annual_cap = MoneyField(
        help_text=_("Most the pooled fund pays an employee per year (all visits)."),
        verbose_name=_("employee annual cap"),
    )
    resident_annual_cap = MoneyField(
        help_text=_("Most the pooled funds pay a resident per year (all visits)."),
        verbose_name=_("resident annual cap"),
    )
    employee_outpatient_annual_quota = MoneyField(
        help_text=_(
            "Most the pool pays for an employee's outpatient care per year (outpatient mutual aid). Residents' outpatient quota is the city's outpatient-pooling quota."
        ),
        verbose_name=_("employee outpatient annual quota"),
    )
    personal_account_pays_class_c = models.BooleanField(
        default=True,
        help_text=_("Whether the personal account may pay class-C (fully self-paid) items."),
        verbose_name=_("personal account pays class c"),
    )
    family_aid_across_cities = models.BooleanField(
        default=False,
        help_text=_("Whether family mutual aid may name relatives insured in another city."),
        verbose_name=_("family aid across cities"),
    )
    filing_validity_days = models.PositiveSmallIntegerField(
        default=180,
        validators=[MinValueValidator(1)],
        help_text=_("Validity of a cross-city filing when none is given."),
        verbose_name=_("filing validity days"),
    )
    # Emergency rescue (art. 28): care at a non-designated institution, or in another city without
    # a filing, is not refused when it was an emergency.
    emergency_elsewhere_route = models.CharField(
        max_length=9,
        choices=EmergencyRoute.choices,
        default=EmergencyRoute.DIRECT,
        db_default=EmergencyRoute.DIRECT,
        verbose_name=_("emergency care elsewhere"),
        help_text=_(
            "An emergency at a non-designated institution or in another city without a filing: "
            "settled directly there, or paid in full and reimbursed through a claim."
        ),
    )
    emergency_reimbursement_ratio = models.DecimalField(
        null=True,
        blank=True,
        verbose_name=_("emergency reimbursement ratio"),
        help_text=_(
            "The fund's share above the deductible for such an emergency. Empty: the ordinary "
            "ratio of the visit's rule."
        ),
        **_RATIO,
    )
    emergency_filing_within_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        verbose_name=_("emergency filing due within (days)"),
        help_text=_(
            "An emergency in another city without a filing: a filing for that city must follow "
            "within this many days of the visit (a claim is approved only then). Empty: none."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    history = HistoricalRecords(bases=[AuditedHistory])

    class Meta:
        verbose_name = _("benefit policy")
        verbose_name_plural = _("benefit policies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    class_b_self_pay_ratio__gte=0,
                    class_b_self_pay_ratio__lte=1,
                    employee_annual_cap__gte=0,
                    resident_annual_cap__gte=0,
                    employee_outpatient_annual_quota__gte=0,
                ),
                name="benefit_policy_figures_in_range",
            )
        ]

    def __str__(self) -> str:
        return gettext("Benefit policy of %(city)s") % {"city": self.city}

    def annual_cap_for(self, scheme: str):
        return self.employee_annual_cap if scheme == "EMPLOYEE" else self.resident_annual_cap


class BenefitRule(models.Model):
    """Deductible and reimbursement ratio for one scheme, visit type and tier."""

    policy = models.ForeignKey(
        BenefitPolicy, on_delete=models.CASCADE, related_name="rules", verbose_name=_("policy")
    )
    scheme = models.CharField(
        max_length=8,
        choices=[("EMPLOYEE", "Employee"), ("RESIDENT", "Resident")],
        verbose_name=_("scheme"),
    )
    visit_type = models.CharField(
        max_length=10, choices=VisitType.choices, verbose_name=_("visit type")
    )
    tier = models.CharField(max_length=8, choices=Tier.choices, verbose_name=_("tier"))
    annual_deductible = MoneyField(
        help_text=_(
            "Eligible expenses the person pays in a year, per visit type, before the fund pays anything."
        ),
        verbose_name=_("annual deductible"),
    )
    reimbursement_ratio = models.DecimalField(
        null=True,
        blank=True,
        help_text=_(
            "Share of eligible expenses above the deductible the fund pays. Empty (residents' outpatient care only): the city's outpatient-pooling ratio."
        ),
        **_RATIO,
        verbose_name=_("reimbursement ratio"),
    )
    history = HistoricalRecords(bases=[AuditedHistory])

    class Meta:
        verbose_name = _("benefit rule")
        verbose_name_plural = _("benefit rules")
        ordering = ["policy", "scheme", "visit_type", "tier"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "scheme", "visit_type", "tier"], name="one_benefit_rule_per_cell"
            ),
            models.CheckConstraint(
                condition=~models.Q(tier="PHARMACY") | models.Q(visit_type="OUTPATIENT"),
                name="benefit_rule_pharmacy_outpatient_only",
            ),
            models.CheckConstraint(
                condition=models.Q(reimbursement_ratio__isnull=False)
                | models.Q(scheme="RESIDENT", visit_type="OUTPATIENT"),
                name="benefit_rule_ratio_required",
            ),
            models.CheckConstraint(
                condition=models.Q(annual_deductible__gte=0)
                & (
                    models.Q(reimbursement_ratio__isnull=True)
                    | models.Q(reimbursement_ratio__gte=0, reimbursement_ratio__lte=1)
                ),
                name="benefit_rule_figures_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scheme} {self.visit_type} {self.tier}"

    def ratio_for(self, city):
        """The rule's ratio; where it has none (residents' outpatient care), the city's
        outpatient-pooling ratio."""
        if self.reimbursement_ratio is not None:
            return self.reimbursement_ratio
        return city.outpatient_pooling_ratio


# --- Per person and year ----------------------------------------------------------------------


class AnnualUsage(models.Model):
    """What a person has used of the year's deductible, pooled payments and caps (kept in step by
    settlements and their reversals)."""

    person = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.CASCADE,
        related_name="annual_usage",
        verbose_name=_("person"),
    )
    year = models.PositiveSmallIntegerField(verbose_name=_("year"))
    deductible_outpatient = MoneyField(
        default=0,
        help_text=_("Deductible paid this year, outpatient."),
        verbose_name=_("deductible outpatient"),
    )
    deductible_inpatient = MoneyField(
        default=0,
        help_text=_("Deductible paid this year, inpatient."),
        verbose_name=_("deductible inpatient"),
    )
    pool_paid = MoneyField(
        default=0,
        help_text=_(
            "Paid by the pooled funds this year, all visits (counts toward the annual cap)."
        ),
        verbose_name=_("pool paid"),
    )
    outpatient_pool_paid = MoneyField(
        default=0,
        help_text=_(
            "Of that, paid for outpatient care (counts toward the outpatient quota; for residents this is outpatient pooling)."
        ),
        verbose_name=_("outpatient pool paid"),
    )

    class Meta:
        verbose_name = _("annual usage")
        verbose_name_plural = _("annual usage")
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
        return gettext("Usage %(year)s of person %(person)s") % {
            "year": self.year,
            "person": self.person_id,
        }

    def deductible_paid(self, visit_type: str):
        if visit_type == VisitType.INPATIENT:
            return self.deductible_inpatient
        return self.deductible_outpatient


class FamilyAuthorization(models.Model):
    """Family mutual aid: an employee lets a close relative's settlements draw on their personal
    account."""

    class Relation(models.TextChoices):
        SPOUSE = "SPOUSE", _("Spouse")
        PARENT = "PARENT", _("Parent")
        CHILD = "CHILD", _("Child")

    account_holder = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.CASCADE,
        related_name="family_grants",
        verbose_name=_("account holder"),
    )
    beneficiary = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.CASCADE,
        related_name="family_benefactors",
        verbose_name=_("beneficiary"),
    )
    relation = models.CharField(max_length=8, choices=Relation.choices, verbose_name=_("relation"))
    granted_at = models.DateTimeField(verbose_name=_("granted at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revocation_request_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("revocation request id")
    )

    class Meta:
        verbose_name = _("family authorization")
        verbose_name_plural = _("family authorizations")
        ordering = ["-id"]
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

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CrossCityFiling(models.Model):
    """A cross-city medical-treatment filing: without one, a person insured in one city is not
    settled directly in another (art. 29)."""

    class Category(models.TextChoices):
        RELOCATED_RETIREE = "RELOCATED_RETIREE", _("Retiree living in the other city")
        LONG_TERM_RESIDENT = "LONG_TERM_RESIDENT", _("Living in the other city long-term")
        POSTED_WORKER = "POSTED_WORKER", _("Working in the other city")
        REFERRAL = "REFERRAL", _("Referred for treatment")
        TEMPORARY = "TEMPORARY", _("Temporary stay (emergency or short visit)")

    person = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        related_name="filings",
        verbose_name=_("person"),
    )
    city = models.ForeignKey(
        "cities.City",
        on_delete=models.PROTECT,
        related_name="filings_received",
        help_text=_("The city where the person will be treated."),
        verbose_name=_("city"),
    )
    category = models.CharField(max_length=20, choices=Category.choices, verbose_name=_("category"))
    valid_from = models.DateField(verbose_name=_("valid from"))
    valid_until = models.DateField(
        help_text=_("Last day the filing is valid (inclusive)."), verbose_name=_("valid until")
    )
    note = models.CharField(max_length=255, blank=True, verbose_name=_("note"))
    recorded_at = models.DateTimeField(
        help_text=_(_(_("Business time."))), verbose_name=_("recorded at")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revocation_request_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("revocation request id")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("cross-city filing")
        verbose_name_plural = _("cross-city filings")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="filing_validity_ordered",
            )
        ]
        indexes = [models.Index(fields=["person", "city", "valid_until"])]

    def __str__(self) -> str:
        return gettext("Filing of person %(person)s for %(city)s (%(start)s to %(end)s)") % {
            "person": self.person_id,
            "city": self.city,
            "start": self.valid_from,
            "end": self.valid_until,
        }

    def is_valid_on(self, day) -> bool:
        return self.revoked_at is None and self.valid_from <= day <= self.valid_until


# --- Settlements --------------------------------------------------------------------------


class Settlement(models.Model):
    """One visit settled directly at a designated institution.

    The figures satisfy, and the database checks:
    total = class C + class-B self-paid share + eligible;
    eligible = deductible + co-payment + over the cap + pool;
    total = pool + personal account + cash.
    """

    class Status(models.TextChoices):
        SETTLED = "SETTLED", _("Settled")
        REVERSED = "REVERSED", _("Reversed (refunded)")

    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="settlements",
        verbose_name=_("institution"),
    )
    person = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        related_name="settlements",
        verbose_name=_("person"),
    )
    insured_city = models.ForeignKey(
        "cities.City",
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The city whose policy and pooled fund applied (the person's)."),
        verbose_name=_("insured city"),
    )
    scheme = models.CharField(max_length=8, verbose_name=_("scheme"))
    visit_type = models.CharField(
        max_length=10, choices=VisitType.choices, verbose_name=_("visit type")
    )
    visit_reference = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The institution's own visit or invoice number."),
        verbose_name=_("visit reference"),
    )
    credential_kind = models.CharField(
        max_length=8,
        help_text=_("What the person presented: CARD or EVOUCHER."),
        verbose_name=_("credential kind"),
    )
    year = models.PositiveSmallIntegerField(
        help_text=_("The policy year whose usage it counts in."), verbose_name=_("year")
    )
    settled_at = models.DateTimeField(
        help_text=_(_(_("Business time."))), verbose_name=_("settled at")
    )
    filing = models.ForeignKey(
        CrossCityFiling,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
        verbose_name=_("filing"),
    )
    family_authorization = models.ForeignKey(
        FamilyAuthorization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
        verbose_name=_("family authorization"),
    )
    use_personal_account = models.BooleanField(verbose_name=_("use personal account"))
    emergency = models.BooleanField(
        default=False,
        verbose_name=_("emergency"),
        help_text=_("The institution declared the visit an emergency (rescue)."),
    )
    emergency_rule_applied = models.BooleanField(
        default=False,
        verbose_name=_("emergency rule applied"),
        help_text=_(
            "Settled under the insured city's emergency rule: an emergency at a non-designated "
            "institution or in another city without a filing."
        ),
    )
    filing_due_date = models.DateField(
        null=True,
        blank=True,
        verbose_name=_("filing due by"),
        help_text=_(
            "An emergency in another city without a filing: the last day a filing for that city "
            "may follow, where the insured city asks for one."
        ),
    )
    pool_account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("pool account"),
    )
    paying_account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The personal account that paid (the person's own, or a family member's)."),
        verbose_name=_("paying account"),
    )

    # The policy applied, as it stood.
    class_b_self_pay_ratio = models.DecimalField(
        max_digits=5, decimal_places=4, verbose_name=_("class b self pay ratio")
    )
    annual_deductible = MoneyField(verbose_name=_("annual deductible"))
    deductible_paid_before = MoneyField(
        help_text=_("Deductible already paid this year, this visit type."),
        verbose_name=_("deductible paid before"),
    )
    reimbursement_ratio = models.DecimalField(
        max_digits=5, decimal_places=4, verbose_name=_("reimbursement ratio")
    )
    annual_cap = MoneyField(verbose_name=_("annual cap"))
    pool_paid_before = MoneyField(verbose_name=_("pool paid before"))
    outpatient_quota = MoneyField(
        null=True,
        blank=True,
        help_text=_("Outpatient visits only."),
        verbose_name=_("outpatient quota"),
    )
    outpatient_pool_paid_before = MoneyField(
        null=True, blank=True, verbose_name=_("outpatient pool paid before")
    )

    # The figures.
    total_amount = MoneyField(verbose_name=_("total amount"))
    class_c_amount = MoneyField(
        help_text=_("Class-C items: fully self-paid."), verbose_name=_("class c amount")
    )
    class_b_self_pay_amount = MoneyField(
        help_text=_("The self-paid first share of class-B items."),
        verbose_name=_("class b self pay amount"),
    )
    eligible_amount = MoneyField(verbose_name=_("eligible amount"))
    deductible_amount = MoneyField(
        help_text=_("Eligible expenses that went to the deductible."),
        verbose_name=_("deductible amount"),
    )
    copay_amount = MoneyField(
        help_text=_("The person's share above the deductible (1 - ratio)."),
        verbose_name=_("copay amount"),
    )
    over_cap_amount = MoneyField(
        help_text=_("What the fund would pay beyond its annual cap or quota."),
        verbose_name=_("over cap amount"),
    )
    pool_amount = MoneyField(help_text=_("Paid by the pooled fund."), verbose_name=_("pool amount"))
    personal_account_amount = MoneyField(verbose_name=_("personal account amount"))
    cash_amount = MoneyField(verbose_name=_("cash amount"))
    personal_account_balance_after = MoneyField(
        null=True, blank=True, verbose_name=_("personal account balance after")
    )

    status = FSMField(
        max_length=8, choices=Status.choices, default=Status.SETTLED, verbose_name=_("status")
    )
    transfer = models.OneToOneField(
        "accounts.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlement",
        help_text=_("Empty when everything was paid in cash."),
        verbose_name=_("transfer"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    reversed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reversed at"))
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reversed by"),
    )
    reversal_reason = models.CharField(
        max_length=255, blank=True, verbose_name=_("reversal reason")
    )
    reversal_transfer = models.OneToOneField(
        "accounts.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_settlement",
        verbose_name=_("reversal transfer"),
    )
    reversal_request_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("reversal request id")
    )

    # Care in another city: each city's side is posted inside it, through its clearing accounts,
    # and the two cities settle with each other in the monthly clearing.
    through_clearing = models.BooleanField(
        default=False,
        help_text=_(
            "Care in another city whose money moved through both cities' clearing accounts: "
            "settled between the cities by the monthly clearing."
        ),
        verbose_name=_("through clearing"),
    )
    care_transfer = models.OneToOneField(
        "accounts.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="care_city_settlement",
        help_text=_(
            "Care in another city: the care city's clearing receivable pays its institution."
        ),
        verbose_name=_("care transfer"),
    )
    care_reversal_transfer = models.OneToOneField(
        "accounts.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="care_city_reversed_settlement",
        help_text=_("Care in another city: the care city's side of the reversal."),
        verbose_name=_("care reversal transfer"),
    )

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-id"]
        permissions = [("reverse_settlement", "Can reverse (refund) a settlement")]
        indexes = [
            models.Index(fields=["institution", "-settled_at"]),
            models.Index(fields=["person", "-settled_at"]),
            models.Index(
                fields=["id"],
                condition=models.Q(through_clearing=True),
                name="settlement_through_clearing",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    total_amount__gt=0,
                    class_c_amount__gte=0,
                    class_b_self_pay_amount__gte=0,
                    eligible_amount__gte=0,
                    deductible_amount__gte=0,
                    copay_amount__gte=0,
                    over_cap_amount__gte=0,
                    pool_amount__gte=0,
                    personal_account_amount__gte=0,
                    cash_amount__gte=0,
                ),
                name="settlement_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    total_amount=models.F("class_c_amount")
                    + models.F("class_b_self_pay_amount")
                    + models.F("eligible_amount")
                ),
                name="settlement_total_is_self_pay_plus_eligible",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    eligible_amount=models.F("deductible_amount")
                    + models.F("copay_amount")
                    + models.F("over_cap_amount")
                    + models.F("pool_amount")
                ),
                name="settlement_eligible_split",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    total_amount=models.F("pool_amount")
                    + models.F("personal_account_amount")
                    + models.F("cash_amount")
                ),
                name="settlement_total_is_paid",
            ),
            models.CheckConstraint(
                condition=models.Q(personal_account_amount=0)
                | models.Q(paying_account__isnull=False),
                name="settlement_personal_account_named",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status="SETTLED", reversed_at__isnull=True, reversal_transfer__isnull=True
                )
                | models.Q(status="REVERSED", reversed_at__isnull=False),
                name="settlement_reversal_fields_match_status",
            ),
            models.UniqueConstraint(
                fields=["institution", "visit_reference"],
                condition=models.Q(status="SETTLED") & ~models.Q(visit_reference=""),
                name="one_live_settlement_per_visit_reference",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Settlement #%(id)s at institution %(institution)s (%(status)s)") % {
            "id": self.pk,
            "institution": self.institution_id,
            "status": self.get_status_display(),
        }

    @property
    def person_share(self):
        return self.total_amount - self.pool_amount

    @transition(field=status, source=Status.SETTLED, target=Status.REVERSED)
    def reverse(self, *, at, by, reason: str, request_id: str) -> None:
        self.reversed_at = at
        self.reversed_by = by
        self.reversal_reason = reason
        self.reversal_request_id = request_id


class SettlementLine(models.Model):
    """One line item of a settlement, with the catalog facts it was settled on."""

    settlement = models.ForeignKey(
        Settlement, on_delete=models.CASCADE, related_name="lines", verbose_name=_("settlement")
    )
    line_no = models.PositiveSmallIntegerField(verbose_name=_("line no"))
    item = models.ForeignKey(
        CatalogItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("item")
    )
    code = models.CharField(max_length=32, verbose_name=_("code"))
    name = models.CharField(max_length=128, verbose_name=_("name"))
    catalog_class = models.CharField(
        max_length=1, choices=CatalogItem.CatalogClass.choices, verbose_name=_("catalog class")
    )
    quantity = models.DecimalField(max_digits=10, decimal_places=3, verbose_name=_("quantity"))
    unit_price = MoneyField(verbose_name=_("unit price"))
    amount = MoneyField(
        help_text=_(_("quantity x unit price, to the cent.")), verbose_name=_("amount")
    )
    self_pay_amount = MoneyField(
        help_text=_("Class C: all of it; class B: the first share."),
        verbose_name=_("self pay amount"),
    )
    eligible_amount = MoneyField(verbose_name=_("eligible amount"))

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["settlement", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["settlement", "line_no"], name="one_line_per_number"),
            models.CheckConstraint(
                condition=models.Q(
                    quantity__gt=0,
                    unit_price__gt=0,
                    self_pay_amount__gte=0,
                    eligible_amount__gte=0,
                    amount=models.F("self_pay_amount") + models.F("eligible_amount"),
                ),
                name="settlement_line_figures_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} x {self.quantity}"


# --- Visits registered before settling --------------------------------------------------------


class Visit(models.Model):
    """A visit an institution registers before it settles it (the national interface's
    ``mdtrt_id``): registered for the person presenting a card or e-voucher, described, given its
    fee lines, then settled from those lines. An inpatient visit is an admission and is settled
    after discharge. Cancelled only while it has no live settlement."""

    class Status(models.TextChoices):
        OPEN = "OPEN", _("Open")
        CANCELLED = "CANCELLED", _("Cancelled")

    mdtrt_id = models.CharField(
        max_length=30,
        unique=True,
        help_text=_("The visit's id, given at registration."),
        verbose_name=_("mdtrt id"),
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("institution"),
    )
    person = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("person"),
    )
    visit_type = models.CharField(
        max_length=10, choices=VisitType.choices, verbose_name=_("visit type")
    )
    institution_visit_no = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The institution's own outpatient or admission number (ipt_otp_no)."),
        verbose_name=_("institution visit no"),
    )
    med_type = models.CharField(
        max_length=6, blank=True, help_text=_("Medical category code."), verbose_name=_("med type")
    )
    credential_kind = models.CharField(
        max_length=8,
        help_text=_("CARD or EVOUCHER at registration."),
        verbose_name=_("credential kind"),
    )
    begun_at = models.DateTimeField(
        help_text=_("When the visit (or the admission) began."), verbose_name=_("begun at")
    )
    registered_at = models.DateTimeField(
        help_text=_(_(_("Business time."))), verbose_name=_("registered at")
    )
    diagnosis_code = models.CharField(max_length=30, blank=True, verbose_name=_("diagnosis code"))
    diagnosis_name = models.CharField(max_length=255, blank=True, verbose_name=_("diagnosis name"))
    described_at = models.DateTimeField(null=True, blank=True, verbose_name=_("described at"))
    discharged_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Inpatient visits."), verbose_name=_("discharged at")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))
    settlement = models.ForeignKey(
        Settlement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits",
        help_text=_("The visit's latest settlement (live unless reversed)."),
        verbose_name=_("settlement"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-id"]
        indexes = [models.Index(fields=["institution", "-registered_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "institution_visit_no"],
                condition=models.Q(status="OPEN") & ~models.Q(institution_visit_no=""),
                name="one_open_visit_per_institution_visit_no",
            ),
            models.CheckConstraint(
                condition=models.Q(status="OPEN", cancelled_at__isnull=True)
                | models.Q(status="CANCELLED", cancelled_at__isnull=False),
                name="visit_cancellation_matches_status",
            ),
            models.CheckConstraint(
                condition=models.Q(discharged_at__isnull=True) | models.Q(visit_type="INPATIENT"),
                name="visit_discharge_inpatient_only",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Visit %(visit)s at institution %(institution)s (%(status)s)") % {
            "visit": self.mdtrt_id,
            "institution": self.institution_id,
            "status": self.get_status_display(),
        }

    @property
    def is_settled(self) -> bool:
        """Whether the visit has a live settlement (a reversal, here or through the settlement
        API, opens it again)."""
        return self.settlement is not None and self.settlement.status == Settlement.Status.SETTLED


class VisitFeeLine(models.Model):
    """One fee line an institution uploaded for a visit (``feedetl_sn``), on a catalog item; a
    settlement of the visit settles its live lines."""

    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, related_name="fee_lines", verbose_name=_("visit")
    )
    feedetl_sn = models.CharField(
        max_length=30, help_text=_("The institution's line number."), verbose_name=_("feedetl sn")
    )
    charge_batch_no = models.CharField(
        max_length=30,
        blank=True,
        help_text=_("The institution's charge batch (chrg_bchno)."),
        verbose_name=_("charge batch no"),
    )
    item = models.ForeignKey(
        CatalogItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("item")
    )
    code = models.CharField(
        max_length=32, help_text=_("Catalog code (med_list_codg)."), verbose_name=_("code")
    )
    institution_item_code = models.CharField(
        max_length=50,
        blank=True,
        help_text=_("The institution's own item code (medins_list_codg)."),
        verbose_name=_("institution item code"),
    )
    quantity = models.DecimalField(max_digits=10, decimal_places=3, verbose_name=_("quantity"))
    unit_price = MoneyField(verbose_name=_("unit price"))
    amount = MoneyField(
        help_text=_(_("quantity x unit price, to the cent.")), verbose_name=_("amount")
    )
    uploaded_at = models.DateTimeField(verbose_name=_("uploaded at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))

    class Meta:
        verbose_name = _("visit fee line")
        verbose_name_plural = _("visit fee lines")
        ordering = ["visit", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "feedetl_sn"],
                condition=models.Q(cancelled_at__isnull=True),
                name="one_live_fee_line_per_number",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0, unit_price__gt=0, amount__gt=0),
                name="visit_fee_line_amounts_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feedetl_sn}: {self.code} x {self.quantity}"


# --- Cross-city clearing ------------------------------------------------------------------------


class ClearingRun(RecordedJob):
    """The monthly clearing between cities: every cross-city settlement (and reversal) posted up
    to the month's end and not cleared before is put on its city pair's statement for the month,
    once; then each city's netting transfer is posted inside it. Its items are settlements."""

    period = models.DateField(
        unique=True, help_text=_("First day of the month cleared."), verbose_name=_("period")
    )
    statements_count = models.PositiveIntegerField(default=0, verbose_name=_("statements count"))
    settlements_count = models.PositiveIntegerField(default=0, verbose_name=_("settlements count"))
    reversals_count = models.PositiveIntegerField(default=0, verbose_name=_("reversals count"))

    class Meta:
        verbose_name = _("cross-city clearing run")
        verbose_name_plural = _("cross-city clearing runs")
        ordering = ["-period"]

    def __str__(self) -> str:
        return gettext("Clearing %(period)s") % {"period": f"{self.period:%Y-%m}"}


class ClearingStatement(models.Model):
    """What two cities owe each other for a month's care of each other's insured persons: one
    per city pair (``city_a`` the lower id) and month. Each direction's settlements and
    reversals, and the net; money moves only inside each city (its netting transfer), never
    between the two in one transfer."""

    run = models.ForeignKey(
        ClearingRun, on_delete=models.PROTECT, related_name="statements", verbose_name=_("run")
    )
    period = models.DateField(
        help_text=_("First day of the month cleared."), verbose_name=_("period")
    )
    city_a = models.ForeignKey(
        "cities.City", on_delete=models.PROTECT, related_name="+", verbose_name=_("city a")
    )
    city_b = models.ForeignKey(
        "cities.City", on_delete=models.PROTECT, related_name="+", verbose_name=_("city b")
    )
    a_to_b_settled_count = models.PositiveIntegerField(
        default=0, verbose_name=_("a to b settled count")
    )
    a_to_b_settled_amount = MoneyField(
        default=0,
        help_text=_("Care in B of persons insured in A: the funds' part."),
        verbose_name=_("a to b settled amount"),
    )
    a_to_b_reversed_count = models.PositiveIntegerField(
        default=0, verbose_name=_("a to b reversed count")
    )
    a_to_b_reversed_amount = MoneyField(default=0, verbose_name=_("a to b reversed amount"))
    b_to_a_settled_count = models.PositiveIntegerField(
        default=0, verbose_name=_("b to a settled count")
    )
    b_to_a_settled_amount = MoneyField(
        default=0,
        help_text=_("Care in A of persons insured in B: the funds' part."),
        verbose_name=_("b to a settled amount"),
    )
    b_to_a_reversed_count = models.PositiveIntegerField(
        default=0, verbose_name=_("b to a reversed count")
    )
    b_to_a_reversed_amount = MoneyField(default=0, verbose_name=_("b to a reversed amount"))
    net_amount = MoneyField(
        default=0,
        help_text=_("What A pays B (negative: B pays A), once the statement is netted."),
        verbose_name=_("net amount"),
    )
    transfer_a = models.OneToOneField(
        "accounts.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("A's netting transfer, inside A."),
        verbose_name=_("transfer a"),
    )
    transfer_b = models.OneToOneField(
        "accounts.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("B's netting transfer, inside B."),
        verbose_name=_("transfer b"),
    )
    netted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("netted at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("cross-city clearing statement")
        verbose_name_plural = _("cross-city clearing statements")
        ordering = ["-period", "city_a", "city_b"]
        constraints = [
            models.UniqueConstraint(
                fields=["city_a", "city_b", "period"], name="one_clearing_statement_per_pair_month"
            ),
            models.CheckConstraint(
                condition=models.Q(city_a__lt=models.F("city_b")),
                name="clearing_statement_pair_ordered",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Clearing %(period)s between %(city_a)s and %(city_b)s") % {
            "period": f"{self.period:%Y-%m}",
            "city_a": self.city_a,
            "city_b": self.city_b,
        }

    @property
    def a_owes(self):
        return self.a_to_b_settled_amount - self.a_to_b_reversed_amount

    @property
    def b_owes(self):
        return self.b_to_a_settled_amount - self.b_to_a_reversed_amount


class ClearingItem(models.Model):
    """A settlement (or its reversal) on the statement that cleared it: each at most once, by
    the unique constraint, however often the clearing runs."""

    # Items are written only by the clearing, a million a month, from a join of the settlements
    # and the statements themselves, and neither is ever deleted (settlements refuse it, the
    # console only reads statements): no per-row foreign-key check is needed to keep them true.
    statement = models.ForeignKey(
        ClearingStatement,
        on_delete=models.PROTECT,
        related_name="items",
        db_constraint=False,
        verbose_name=_("statement"),
    )
    # No index of its own: the unique (settlement, is_reversal) index serves it, one less to
    # write for each of a month's million items.
    settlement = models.ForeignKey(
        Settlement,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("settlement"),
    )
    is_reversal = models.BooleanField(verbose_name=_("is reversal"))
    amount = MoneyField(
        help_text=_("The funds' part; negative for a reversal."), verbose_name=_("amount")
    )

    class Meta:
        verbose_name = _("cross-city clearing item")
        verbose_name_plural = _("cross-city clearing items")
        constraints = [
            models.UniqueConstraint(
                fields=["settlement", "is_reversal"], name="one_clearing_item_per_settlement_side"
            )
        ]

    def __str__(self) -> str:
        side = "reversal" if self.is_reversal else "settlement"
        return f"{side} of settlement {self.settlement_id}: {self.amount}"
