"""The operators' console for reimbursement claims: the insured city's agency reviews each claim
on its page (approve, partly approve with an amount and a reason, reject with a reason code), or
approves several at once; an approval pays at once."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from claims.models import ClaimLine, ClaimReceipt, ReimbursementClaim
from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin
from common.errors import DomainError


class ClaimLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ClaimLine
    fields = ["line_no", "code", "name", "catalog_class", "quantity", "unit_price", "amount"]
    readonly_fields = fields
    extra = 0


class ClaimReceiptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ClaimReceipt
    fields = ["number", "issued_on", "amount", "live"]
    readonly_fields = fields
    extra = 0


class ClaimReviewForm(forms.ModelForm):
    """The review, made through the same service as the API."""

    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        required=False,
        choices=[
            ("", "---"),
            ("APPROVE", gettext_lazy("Approve (pay the fund's share)")),
            ("PARTLY_APPROVE", gettext_lazy("Partly approve (pay the amount below)")),
            ("REJECT", gettext_lazy("Reject")),
        ],
    )
    amount = forms.DecimalField(
        label=gettext_lazy("Amount paid (partly approving)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0,
    )
    decision_reason_code = forms.ChoiceField(
        label=gettext_lazy("Reason code"),
        required=False,
        choices=[("", "---"), *ReimbursementClaim.RejectionReason.choices],
    )
    decision_reason = forms.CharField(
        label=gettext_lazy("Reason shown to the person"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = ReimbursementClaim
        fields: list[str] = []

    # The service's field names, as this form calls them.
    SERVICE_FIELDS = {"reason_code": "decision_reason_code", "reason": "decision_reason"}

    def clean(self):
        from claims.services import claim_decision_check

        cleaned = super().clean()
        if cleaned.get("decision"):
            try:
                claim_decision_check(
                    cleaned["decision"],
                    amount=cleaned.get("amount"),
                    reason_code=cleaned.get("decision_reason_code") or "",
                    reason=cleaned.get("decision_reason") or "",
                )
            except DomainError as error:
                for field in error.errors or []:
                    name = self.SERVICE_FIELDS.get(field["field"], field["field"])
                    self.add_error(name if name in self.fields else None, field["message"])
        return cleaned


@admin.register(ReimbursementClaim)
class ReimbursementClaimAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    # Reviewed and paid by the insured city's agency: its operators alone see and decide them.
    city_lookup = "insured_city_id"
    form = ClaimReviewForm
    list_display = [
        "id",
        "submitted_at",
        "person",
        "route",
        "care_city",
        "institution_name",
        "visit_date",
        "claimed_amount",
        "approved_amount",
        "payout_method",
        "status",
    ]
    list_filter = ["status", "route", "emergency", "payout_method", "insured_city"]
    search_fields = ["person__resident_id", "person__name", "institution_name", "request_id"]
    list_select_related = ["person", "care_city"]
    date_hierarchy = "submitted_at"
    inlines = [ClaimLineInline, ClaimReceiptInline]
    actions = ["approve_claims"]
    readonly_fields = [
        field.name
        for field in ReimbursementClaim._meta.fields
        if field.name not in ("id", "bank_account_number")
    ] + ["bank_account_masked"]
    fieldsets = [
        (
            gettext_lazy("Review"),
            {
                "description": gettext_lazy(
                    "Approving computes the fund's share by the insured city's settlement rules "
                    "and pays it at once; partly approving pays the amount given (with a "
                    "reason); rejecting needs a reason code and a reason."
                ),
                "fields": ["decision", "amount", "decision_reason_code", "decision_reason"],
            },
        ),
        (
            gettext_lazy("Claim"),
            {
                "fields": [
                    "status",
                    "route",
                    "person",
                    "insured_city",
                    "care_city",
                    "institution",
                    "institution_name",
                    "institution_code",
                    "institution_designated",
                    "tier",
                    "visit_type",
                    "visit_date",
                    "emergency",
                    "emergency_rule_applied",
                    "description",
                    "attachments",
                    "claimed_amount",
                    "submitted_at",
                    "submitted_by",
                    "request_id",
                ]
            },
        ),
        (
            gettext_lazy("Payout"),
            {
                "fields": [
                    "payout_method",
                    "bank_name",
                    "bank_account_holder",
                    "bank_account_masked",
                    "pool_account",
                    "payout_account",
                    "payout_transfer",
                    "paid_at",
                ]
            },
        ),
        (
            gettext_lazy("Decision and figures (CNY)"),
            {
                "fields": [
                    "reviewed_at",
                    "reviewed_by",
                    "reason_code",
                    "reason",
                    "year",
                    "class_b_self_pay_ratio",
                    "annual_deductible",
                    "deductible_paid_before",
                    "reimbursement_ratio",
                    "annual_cap",
                    "pool_paid_before",
                    "outpatient_quota",
                    "outpatient_pool_paid_before",
                    "class_c_amount",
                    "class_b_self_pay_amount",
                    "eligible_amount",
                    "deductible_amount",
                    "copay_amount",
                    "over_cap_amount",
                    "fund_share_amount",
                    "approved_amount",
                ]
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:
        return False  # the person files claims (API)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.status != ReimbursementClaim.Status.SUBMITTED:
            return self.fieldsets[1:]
        return self.fieldsets

    @admin.display(description=gettext_lazy("Bank account"))
    def bank_account_masked(self, claim) -> str:
        return claim.bank_account_masked

    def save_model(self, request, obj, form, change):
        from claims.services import claim_review
        from common import clock

        decision = form.cleaned_data.get("decision")
        if not decision:
            return
        if not self.has_review_permission(request):
            messages.error(request, _("You may not review claims."))
            return
        try:
            claim_review(
                claim=obj,
                decision=decision,
                amount=form.cleaned_data.get("amount"),
                reason_code=form.cleaned_data.get("decision_reason_code") or "",
                reason=form.cleaned_data.get("decision_reason") or "",
                by=request.user,
                now=clock.now(),
            )
        except DomainError as error:
            messages.error(
                request, _("Claim #%(id)s: %(detail)s") % {"id": obj.pk, "detail": error.detail}
            )
            request.claim_review_refused = True

    def response_change(self, request, obj):
        if getattr(request, "claim_review_refused", False):
            # Back to the claim, with the error and without "changed successfully".
            return HttpResponseRedirect(request.path)
        obj.refresh_from_db()  # the review saved the claim it locked, not this instance
        return super().response_change(request, obj)

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("claims.review_reimbursementclaim")

    @admin.action(
        description=gettext_lazy("Approve the selected claims (pay the fund's share)"),
        permissions=["review"],
    )
    def approve_claims(self, request, queryset):
        from claims.services import claim_review
        from common import clock

        now = clock.now()
        for claim in queryset:
            try:
                claim = claim_review(claim=claim, decision="APPROVE", by=request.user, now=now)
            except DomainError as error:
                messages.warning(
                    request,
                    _("Claim #%(id)s: %(detail)s") % {"id": claim.pk, "detail": error.detail},
                )
            else:
                messages.success(
                    request,
                    _("Claim #%(id)s approved: %(amount)s CNY paid.")
                    % {"id": claim.pk, "amount": f"{claim.approved_amount:.2f}"},
                )
