"""Reimbursement through the agency (Social Insurance Law art. 29) and emergency rescue (art. 28).

A person who paid in full (care in another city without a filing, or an emergency at a
non-designated institution) files a claim with the receipts. The insured city's agency reviews it:
approved, partly approved (an amount and a reason) or rejected (a reason code and text). An
approval computes the fund's share by the settlement's own rules, counts it in the year's usage,
and pays it in the same transaction: into the personal account, or to the city's bank-payout
clearing account for the person's bank account. A claim's figures add up, as a settlement's do,
and the database checks it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from common.audit import AuditedHistory
from common.money import MoneyField
from institutions.models import Tier
from settlement.models import CatalogItem, VisitType


class ReimbursementClaim(models.Model):
    """One visit paid in full, claimed from the insured city's fund."""

    class Status(models.TextChoices):
        SUBMITTED = "SUBMITTED", _("Submitted, awaiting review")
        APPROVED = "APPROVED", _("Approved and paid")
        PARTLY_APPROVED = "PARTLY_APPROVED", _("Partly approved and paid")
        REJECTED = "REJECTED", _("Rejected")
        WITHDRAWN = "WITHDRAWN", _("Withdrawn by the person")

    class Route(models.TextChoices):
        CROSS_CITY = "CROSS_CITY", _("Care in another city, paid in full")
        EMERGENCY = "EMERGENCY", _("Emergency outside the insured city's network")

    class Payout(models.TextChoices):
        BANK = "BANK", _("Bank account")
        PERSONAL_ACCOUNT = "PERSONAL_ACCOUNT", _("Personal account")

    class RejectionReason(models.TextChoices):
        RECEIPTS_INVALID = (
            "RECEIPTS_INVALID",
            _("The receipts are missing, unreadable or not genuine"),
        )
        NOT_COVERED = "NOT_COVERED", _("The care is not covered by basic medical insurance")
        NOT_AN_EMERGENCY = "NOT_AN_EMERGENCY", _("The visit was not an emergency")
        INSTITUTION_NOT_ELIGIBLE = (
            "INSTITUTION_NOT_ELIGIBLE",
            _("The institution is not eligible (not designated, and no emergency)"),
        )
        FILING_NOT_FOLLOWED = (
            "FILING_NOT_FOLLOWED",
            _("No cross-city filing followed the emergency in time"),
        )
        ALREADY_PAID = "ALREADY_PAID", _("The care was already settled or reimbursed")
        OTHER = "OTHER", _("Other (see the text)")

    person = models.ForeignKey(
        "persons.InsuredPerson", on_delete=models.PROTECT, related_name="reimbursement_claims"
    )
    insured_city = models.ForeignKey(
        "cities.City",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("insured city"),
        help_text=_("The city whose agency reviews the claim and whose fund pays."),
    )
    care_city = models.ForeignKey(
        "cities.City", on_delete=models.PROTECT, related_name="+", verbose_name=_("care city")
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reimbursement_claims",
        help_text=_("The institution, when it is one this system knows."),
    )
    institution_name = models.CharField(
        max_length=128, verbose_name=_("institution name"), help_text=_("As on the receipts.")
    )
    institution_code = models.CharField(max_length=32, blank=True)
    institution_designated = models.BooleanField(
        verbose_name=_("institution designated"),
        help_text=_("Whether the institution was designated for direct settlement (as known)."),
    )
    tier = models.CharField(max_length=8, choices=Tier.choices)
    visit_type = models.CharField(max_length=10, choices=VisitType.choices)
    visit_date = models.DateField(verbose_name=_("visit date"))
    emergency = models.BooleanField(default=False, verbose_name=_("emergency"))
    route = models.CharField(max_length=10, choices=Route.choices)
    emergency_rule_applied = models.BooleanField(
        default=False,
        help_text=_("Reviewed under the insured city's emergency rule."),
    )
    description = models.CharField(max_length=500, blank=True)
    attachments = models.JSONField(
        default=list,
        blank=True,
        help_text=_("The scanned receipts' metadata (name, type, size, SHA-256); never the files."),
    )
    claimed_amount = MoneyField(
        verbose_name=_("claimed amount"), help_text=_("The total of the receipts.")
    )
    payout_method = models.CharField(
        max_length=16, choices=Payout.choices, verbose_name=_("payout method")
    )
    bank_name = models.CharField(max_length=64, blank=True)
    bank_account_holder = models.CharField(max_length=64, blank=True)
    bank_account_number = models.CharField(max_length=34, blank=True)

    status = FSMField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    submitted_at = models.DateTimeField(help_text=_("Business time."))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True)

    # The review.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason_code = models.CharField(
        max_length=24, choices=RejectionReason.choices, blank=True, verbose_name=_("reason code")
    )
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    review_request_id = models.CharField(max_length=64, blank=True)

    # The figures the review computed (empty until approved), as a settlement keeps them.
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    class_b_self_pay_ratio = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True
    )
    annual_deductible = MoneyField(null=True, blank=True)
    deductible_paid_before = MoneyField(null=True, blank=True)
    reimbursement_ratio = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    annual_cap = MoneyField(null=True, blank=True)
    pool_paid_before = MoneyField(null=True, blank=True)
    outpatient_quota = MoneyField(null=True, blank=True)
    outpatient_pool_paid_before = MoneyField(null=True, blank=True)
    class_c_amount = MoneyField(null=True, blank=True)
    class_b_self_pay_amount = MoneyField(null=True, blank=True)
    eligible_amount = MoneyField(null=True, blank=True)
    deductible_amount = MoneyField(null=True, blank=True)
    copay_amount = MoneyField(null=True, blank=True)
    over_cap_amount = MoneyField(null=True, blank=True)
    fund_share_amount = MoneyField(
        null=True,
        blank=True,
        verbose_name=_("fund's share"),
        help_text=_("What the fund pays by the city's rules."),
    )
    approved_amount = MoneyField(
        null=True,
        blank=True,
        verbose_name=_("approved amount"),
        help_text=_("What was paid: the fund's share, or less when partly approved."),
    )
    pool_account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payout_account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The personal account, or the city's bank-payout clearing account."),
    )
    payout_transfer = models.OneToOneField(
        "accounts.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reimbursement_claim",
        help_text=_("Empty when the approved amount is zero (all within the deductible)."),
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(bases=[AuditedHistory], excluded_fields=["bank_account_number"])

    class Meta:
        ordering = ["-id"]
        verbose_name = _("reimbursement claim")
        verbose_name_plural = _("reimbursement claims")
        permissions = [("review_reimbursementclaim", _("Can review a reimbursement claim"))]
        indexes = [
            models.Index(fields=["person", "-id"]),
            models.Index(fields=["insured_city", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(claimed_amount__gt=0), name="claim_amount_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(payout_method="BANK")
                | (~models.Q(bank_account_number="") & ~models.Q(bank_account_holder="")),
                name="claim_bank_payout_names_an_account",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["SUBMITTED", "WITHDRAWN"], reviewed_at__isnull=True)
                | models.Q(status__in=["APPROVED", "PARTLY_APPROVED", "REJECTED"])
                & models.Q(reviewed_at__isnull=False),
                name="claim_review_matches_status",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="REJECTED") | ~models.Q(reason_code=""),
                name="claim_rejection_has_a_reason",
            ),
            # An approved claim's figures add up as a settlement's do, and it paid what it says.
            models.CheckConstraint(
                condition=~models.Q(status__in=["APPROVED", "PARTLY_APPROVED"])
                | models.Q(
                    claimed_amount=models.F("class_c_amount")
                    + models.F("class_b_self_pay_amount")
                    + models.F("eligible_amount"),
                    eligible_amount=models.F("deductible_amount")
                    + models.F("copay_amount")
                    + models.F("over_cap_amount")
                    + models.F("fund_share_amount"),
                    approved_amount__gte=0,
                    approved_amount__lte=models.F("fund_share_amount"),
                    paid_at__isnull=False,
                ),
                name="claim_approved_figures_add_up",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="APPROVED")
                | models.Q(approved_amount=models.F("fund_share_amount")),
                name="claim_approved_pays_the_fund_share",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="PARTLY_APPROVED")
                | models.Q(approved_amount__lt=models.F("fund_share_amount"))
                & ~models.Q(reason=""),
                name="claim_partly_approved_pays_less_with_a_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Claim #{self.pk} of person {self.person_id} ({self.get_status_display()})"

    @property
    def bank_account_masked(self) -> str:
        number = self.bank_account_number
        return f"**** {number[-4:]}" if number else ""

    @transition(field=status, source=Status.SUBMITTED, target=Status.APPROVED)
    def approve(self, *, at, by) -> None:
        self._reviewed(at=at, by=by)
        self.paid_at = at

    @transition(field=status, source=Status.SUBMITTED, target=Status.PARTLY_APPROVED)
    def approve_partly(self, *, at, by, reason: str, reason_code: str = "") -> None:
        self._reviewed(at=at, by=by)
        self.reason, self.reason_code, self.paid_at = reason, reason_code, at

    @transition(field=status, source=Status.SUBMITTED, target=Status.REJECTED)
    def reject(self, *, at, by, reason_code: str, reason: str) -> None:
        self._reviewed(at=at, by=by)
        self.reason_code, self.reason = reason_code, reason

    @transition(field=status, source=Status.SUBMITTED, target=Status.WITHDRAWN)
    def withdraw(self) -> None:
        pass

    def _reviewed(self, *, at, by) -> None:
        from common.context import current_request_id

        self.reviewed_at, self.reviewed_by = at, by
        self.review_request_id = current_request_id()


class ClaimLine(models.Model):
    """A fee line of the receipts: a catalog item (code, quantity, unit price), or a total by
    catalog class when the receipt shows only totals."""

    claim = models.ForeignKey(ReimbursementClaim, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField()
    item = models.ForeignKey(
        CatalogItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    code = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=128, blank=True)
    catalog_class = models.CharField(max_length=1, choices=CatalogItem.CatalogClass.choices)
    quantity = models.DecimalField(max_digits=10, decimal_places=3)
    unit_price = MoneyField()
    amount = MoneyField()

    class Meta:
        ordering = ["claim", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "line_no"], name="one_claim_line_per_number"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0, unit_price__gt=0, amount__gt=0),
                name="claim_line_amounts_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code or self.catalog_class} {self.amount}"


class ClaimReceipt(models.Model):
    """A receipt (invoice) the person paid, by its number: one live claim per receipt."""

    claim = models.ForeignKey(ReimbursementClaim, on_delete=models.CASCADE, related_name="receipts")
    person = models.ForeignKey("persons.InsuredPerson", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=64)
    issued_on = models.DateField()
    amount = MoneyField()
    live = models.BooleanField(
        default=True, help_text=_("False once the claim is rejected or withdrawn.")
    )

    class Meta:
        ordering = ["claim", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "number"],
                condition=models.Q(live=True),
                name="one_live_claim_per_receipt",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="claim_receipt_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Receipt {self.number} ({self.amount})"
