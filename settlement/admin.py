"""The operators' console for settlement: the catalog, each city's policy grid, settlements with
their breakdown (and reversal), visits registered before settling, filings, family aid."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

import access
from common.admin import CityScopedAdminMixin, NationalAdminMixin, ReadOnlyAdminMixin
from common.errors import DomainError
from settlement.error_codes import SettlementErrorCode
from settlement.models import (
    AnnualUsage,
    BenefitPolicy,
    BenefitRule,
    CatalogItem,
    ClearingRun,
    ClearingStatement,
    CrossCityFiling,
    FamilyAuthorization,
    Settlement,
    SettlementLine,
    Visit,
    VisitFeeLine,
)

# --- Catalog and policy ----------------------------------------------------------------------


@admin.register(CatalogItem)
class CatalogItemAdmin(NationalAdminMixin, SimpleHistoryAdmin):
    """The national catalogue: operators read it, superusers change it."""

    list_display = ["code", "name", "kind", "catalog_class", "unit", "is_active"]
    list_filter = ["catalog_class", "kind", "is_active"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # settled lines refer to it; deactivate instead

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []


class BenefitRuleInline(admin.TabularInline):
    model = BenefitRule
    fields = ["scheme", "visit_type", "tier", "annual_deductible", "reimbursement_ratio"]
    extra = 0


@admin.register(BenefitPolicy)
class BenefitPolicyAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "city",
        "class_b_self_pay_ratio",
        "employee_annual_cap",
        "resident_annual_cap",
        "employee_outpatient_annual_quota",
        "filing_validity_days",
        "emergency_elsewhere_route",
        "updated_at",
    ]
    readonly_fields = ["city", "residents_outpatient_pooling"]
    inlines = [BenefitRuleInline]

    def has_add_permission(self, request) -> bool:
        return False  # every city gets its policy with the defaults; change it here

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("Residents' outpatient pooling (set on the city)"))
    def residents_outpatient_pooling(self, policy) -> str:
        city = policy.city
        return _(
            "%(ratio)s of eligible costs, up to %(quota)s CNY a year (used where a residents' "
            "outpatient rule leaves the ratio empty)"
        ) % {
            "ratio": f"{city.outpatient_pooling_ratio:.0%}",
            "quota": city.outpatient_pooling_annual_quota,
        }


@admin.register(AnnualUsage)
class AnnualUsageAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "person__city_id"
    list_display = [
        "person",
        "year",
        "deductible_outpatient",
        "deductible_inpatient",
        "pool_paid",
        "outpatient_pool_paid",
    ]
    list_filter = ["year", "person__city"]
    search_fields = ["person__resident_id", "person__name"]
    list_select_related = ["person"]


# --- Settlements ------------------------------------------------------------------------------


class SettlementLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SettlementLine
    fields = [
        "line_no",
        "code",
        "name",
        "catalog_class",
        "quantity",
        "unit_price",
        "amount",
        "self_pay_amount",
        "eligible_amount",
    ]
    readonly_fields = fields
    extra = 0


class VisitFeeLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = VisitFeeLine
    fields = [
        "feedetl_sn",
        "charge_batch_no",
        "code",
        "institution_item_code",
        "quantity",
        "unit_price",
        "amount",
        "uploaded_at",
        "cancelled_at",
        "request_id",
    ]
    readonly_fields = fields
    extra = 0


@admin.register(Visit)
class VisitAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Visits institutions registered (the platform interface's mdtrt_id), read-only: their fee
    lines, live and cancelled, and the settlement that settled them."""

    city_lookup = ("institution__city_id", "person__city_id")
    list_display = [
        "mdtrt_id",
        "registered_at",
        "institution",
        "person",
        "visit_type",
        "institution_visit_no",
        "status",
        "discharged_at",
        "settlement",
    ]
    list_filter = ["status", "visit_type", "institution__city"]
    search_fields = [
        "mdtrt_id",
        "institution_visit_no",
        "person__resident_id",
        "person__name",
        "institution__code",
        "request_id",
    ]
    list_select_related = ["institution", "person", "settlement"]
    inlines = [VisitFeeLineInline]


@admin.register(Settlement)
class SettlementAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = ("institution__city_id", "insured_city_id")
    list_display = [
        "id",
        "settled_at",
        "institution",
        "person",
        "visit_type",
        "total_amount",
        "pool_amount",
        "personal_account_amount",
        "cash_amount",
        "status",
    ]
    list_filter = [
        "status",
        "visit_type",
        "scheme",
        "year",
        "emergency_rule_applied",
        "institution__city",
    ]
    search_fields = [
        "visit_reference",
        "person__resident_id",
        "person__name",
        "institution__code",
        "request_id",
    ]
    list_select_related = ["institution", "person"]
    date_hierarchy = "settled_at"
    inlines = [SettlementLineInline]
    actions = ["reverse_settlements"]
    fieldsets = [
        (
            "Visit",
            {
                "fields": [
                    "status",
                    "institution",
                    "person",
                    "insured_city",
                    "scheme",
                    "visit_type",
                    "visit_reference",
                    "credential_kind",
                    "settled_at",
                    "year",
                    "filing",
                    "emergency",
                    "emergency_rule_applied",
                    "filing_due_date",
                ]
            },
        ),
        (
            "Policy applied",
            {
                "fields": [
                    "class_b_self_pay_ratio",
                    "annual_deductible",
                    "deductible_paid_before",
                    "reimbursement_ratio",
                    "annual_cap",
                    "pool_paid_before",
                    "outpatient_quota",
                    "outpatient_pool_paid_before",
                ]
            },
        ),
        (
            "Breakdown (CNY)",
            {
                "description": "total = class C + class-B share + eligible; eligible = deductible "
                "+ co-payment + over the cap + pool; total = pool + personal account + cash.",
                "fields": [
                    "total_amount",
                    "class_c_amount",
                    "class_b_self_pay_amount",
                    "eligible_amount",
                    "deductible_amount",
                    "copay_amount",
                    "over_cap_amount",
                    "pool_amount",
                    "personal_account_amount",
                    "cash_amount",
                ],
            },
        ),
        (
            "Payment",
            {
                "fields": [
                    "use_personal_account",
                    "pool_account",
                    "paying_account",
                    "family_authorization",
                    "personal_account_balance_after",
                    "transfer",
                ]
            },
        ),
        (
            "Audit and reversal",
            {
                "fields": [
                    "created_by",
                    "request_id",
                    "created_at",
                    "reversed_at",
                    "reversed_by",
                    "reversal_reason",
                    "reversal_transfer",
                    "reversal_request_id",
                ]
            },
        ),
    ]

    def has_reverse_permission(self, request) -> bool:
        return request.user.has_perm("settlement.reverse_settlement")

    @admin.action(
        description=gettext_lazy("Reverse (refund) the selected settlements"),
        permissions=["reverse"],
    )
    def reverse_settlements(self, request, queryset):
        from settlement.services import settlement_reverse

        actor = access.actor_of(request)
        for settlement in queryset:
            if not access.settlement_reversible(actor, settlement):
                messages.warning(
                    request,
                    _("Settlement #%(id)s: %(detail)s")
                    % {
                        "id": settlement.pk,
                        "detail": SettlementErrorCode.REVERSAL_MOVES_OTHER_CITY_FUND.title,
                    },
                )
                continue
            try:
                settlement_reverse(
                    settlement=settlement,
                    reason=f"Reversed in the console by {request.user.username}",
                    by=request.user,
                )
            except DomainError as error:
                messages.warning(request, f"Settlement #{settlement.pk}: {error.detail}")
            else:
                messages.success(request, f"Settlement #{settlement.pk} reversed.")


# --- Filings and family aid ----------------------------------------------------------------


class CrossCityFilingForm(forms.ModelForm):
    """Recording goes through the same checks as the API (city, dates, overlaps)."""

    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"),
        required=False,
        help_text=gettext_lazy("Empty: the insured city's default validity."),
    )

    class Meta:
        model = CrossCityFiling
        fields = ["person", "city", "category", "valid_from", "valid_until", "note"]

    def clean(self):
        from settlement.services import filing_period

        cleaned = super().clean()
        person, city = cleaned.get("person"), cleaned.get("city")
        if person is None or city is None or not cleaned.get("category"):
            return cleaned
        if not access.Actor(user=self.request_user).administers(person.city_id):
            raise forms.ValidationError(_("You do not administer the person's insured city."))
        try:
            cleaned["valid_from"], cleaned["valid_until"] = filing_period(
                person=person,
                city=city,
                category=cleaned["category"],
                valid_from=cleaned.get("valid_from"),
                valid_until=cleaned.get("valid_until"),
            )
        except DomainError as error:
            raise forms.ValidationError(error.detail) from None
        return cleaned


@admin.register(CrossCityFiling)
class CrossCityFilingAdmin(CityScopedAdminMixin, admin.ModelAdmin):
    # Seen by the operators of both cities; kept (noted, revoked) by the insured city's, as in the API.
    city_lookup = ("person__city_id", "city_id")
    city_change_lookup = "person__city_id"
    form = CrossCityFilingForm
    list_display = [
        "id",
        "person",
        "insured_city",
        "city",
        "category",
        "valid_from",
        "valid_until",
        "revoked_at",
        "created_by",
    ]
    list_filter = ["category", "city", "person__city"]
    search_fields = ["person__resident_id", "person__name", "request_id"]
    list_select_related = ["person", "person__city", "city", "created_by"]
    autocomplete_fields = ["person"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.request_user = request.user
        return form

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            field.name for field in CrossCityFiling._meta.fields if field.name not in ("id", "note")
        ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # settlements refer to it; revoke instead

    def save_model(self, request, obj, form, change):
        from settlement.services import filing_record

        if change:
            obj.save(update_fields=["note"])
            return
        recorded = filing_record(
            person=form.cleaned_data["person"],
            city=form.cleaned_data["city"],
            category=form.cleaned_data["category"],
            valid_from=form.cleaned_data["valid_from"],
            valid_until=form.cleaned_data["valid_until"],
            note=form.cleaned_data.get("note") or "",
            by=request.user,
        )
        obj.pk = recorded.pk
        obj.refresh_from_db()

    @admin.display(description="Insured city")
    def insured_city(self, filing) -> str:
        return str(filing.person.city)

    @admin.action(description="Revoke the selected filings", permissions=["change"])
    def revoke(self, request, queryset):
        from settlement.services import filing_revoke

        for filing in queryset:
            try:
                filing_revoke(filing=filing, by=request.user)
            except DomainError as error:
                messages.warning(request, f"Filing #{filing.pk}: {error.detail}")
            else:
                messages.success(request, f"Filing #{filing.pk} revoked.")


@admin.register(FamilyAuthorization)
class FamilyAuthorizationAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = ("account_holder__city_id", "beneficiary__city_id")
    list_display = ["id", "account_holder", "beneficiary", "relation", "granted_at", "revoked_at"]
    list_filter = ["relation"]
    search_fields = [
        "account_holder__resident_id",
        "account_holder__name",
        "beneficiary__resident_id",
        "beneficiary__name",
    ]
    list_select_related = ["account_holder", "beneficiary"]
    actions = ["revoke"]

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("settlement.change_familyauthorization")

    @admin.action(description="Revoke the selected authorisations", permissions=["revoke"])
    def revoke(self, request, queryset):
        from settlement.services import family_authorization_revoke

        for authorization in queryset:
            try:
                family_authorization_revoke(authorization=authorization, by=request.user)
            except DomainError as error:
                messages.warning(request, f"Authorisation #{authorization.pk}: {error.detail}")
            else:
                messages.success(request, f"Authorisation #{authorization.pk} revoked.")


# --- Cross-city clearing ---------------------------------------------------------------------


@admin.register(ClearingRun)
class ClearingRunAdmin(NationalAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The monthly clearing between cities: one run per month, for every city pair at once."""

    list_display = [
        "id",
        "period",
        "status",
        "progress",
        "statements_count",
        "settlements_count",
        "reversals_count",
        "executions",
        "finished_at",
    ]
    list_filter = ["status", "period"]

    @admin.display(description=gettext_lazy("Progress"))
    def progress(self, run) -> str:
        from common.admin import progress_bar

        return progress_bar(run)


@admin.register(ClearingStatement)
class ClearingStatementAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """What two cities owed each other for a month, and the transfer each posted inside itself.
    Operators see the statements of the cities they administer."""

    city_lookup = ("city_a_id", "city_b_id")
    list_display = [
        "period",
        "city_a",
        "city_b",
        "a_to_b_settled_count",
        "a_to_b_settled_amount",
        "a_to_b_reversed_amount",
        "b_to_a_settled_count",
        "b_to_a_settled_amount",
        "b_to_a_reversed_amount",
        "net_amount",
        "netted_at",
    ]
    list_filter = ["period", "city_a", "city_b"]
    list_select_related = ["city_a", "city_b"]
