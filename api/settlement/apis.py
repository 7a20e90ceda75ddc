from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from api.base import IDEMPOTENCY_KEY_PARAMETER, PRESENTED_CREDENTIAL_PARAMETER, ActorMixin
from api.idempotency import idempotent
from cards.services import CARD_PIN_HEADER, card_pin_verify
from cities.models import City
from common import clock
from common.errors import CommonErrorCode, DomainError, field_error
from common.money import CURRENCY, MoneySerializerField, QuantitySerializerField
from common.problems import flatten_validation_errors
from institutions.models import Institution, Tier
from persons.models import InsuredPerson
from persons.resident_id import normalize_resident_id
from settlement.error_codes import SettlementErrorCode
from settlement.models import (
    BenefitRule,
    CatalogItem,
    CrossCityFiling,
    EmergencyRoute,
    FamilyAuthorization,
    Settlement,
    SettlementLine,
    VisitType,
)
from settlement.selectors import benefit_policy_of, settlement_list
from settlement.services import (
    MAX_LINES,
    LineInput,
    family_authorization_grant,
    family_authorization_revoke,
    filing_record,
    filing_revoke,
    settlement_quote,
    settlement_reverse,
    settlement_submit,
)
from users.models import User

_RATIO = {"max_digits": 5, "decimal_places": 4}


def _invalid(serializer, *, amount_code=None):
    """Field errors as one problem; a bad amount (not a missing one) gets the caller's code."""
    errors = flatten_validation_errors(serializer.errors)
    code = CommonErrorCode.VALIDATION_ERROR
    if amount_code is not None and any(
        error["field"].endswith((".quantity", ".unit_price"))
        and error["code"] not in ("required", "null")
        for error in errors
    ):
        code = amount_code
    return DomainError(code, _("Some fields are invalid; see errors."), errors=errors)


def _validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data)
    if not serializer.is_valid():
        raise _invalid(serializer, **kwargs)
    return dict(serializer.validated_data)


# --- Institutions ------------------------------------------------------------------------------


class InstitutionOutputSerializer(serializers.ModelSerializer):
    city = serializers.CharField(source="city.code")
    tier = serializers.ChoiceField(choices=Tier.choices)

    class Meta:
        model = Institution
        fields = ["id", "code", "name", "kind", "level", "tier", "city", "is_designated"]


class InstitutionFilter(filters.FilterSet):
    city = filters.CharFilter(field_name="city__code", help_text="6-digit division code")
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Institution
        fields = ["city", "kind", "level", "is_designated", "name"]


@extend_schema_view(
    get=extend_schema(
        summary="Designated hospitals and pharmacies (public directory)",
        description="Every institution with its code, kind, level, the policy tier it settles "
        "at, its city and whether it is designated for direct settlement, by city then code. "
        "Any authenticated caller. Filter by `city`, `kind`, `level`, `is_designated` or part of "
        "the `name`.",
        tags=["institutions"],
    )
)
class InstitutionListApi(generics.ListAPIView):
    serializer_class = InstitutionOutputSerializer
    filterset_class = InstitutionFilter
    queryset = Institution.objects.select_related("city").order_by("city__code", "code")


@extend_schema_view(
    get=extend_schema(
        summary="One designated institution",
        description="One hospital or pharmacy of the directory, by id; an unknown id answers 404. "
        "Any authenticated caller.",
        tags=["institutions"],
    )
)
class InstitutionDetailApi(generics.RetrieveAPIView):
    serializer_class = InstitutionOutputSerializer
    queryset = Institution.objects.select_related("city")
    lookup_url_kwarg = "institution_id"


# --- Catalog and policy ----------------------------------------------------------------------


class CatalogItemOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CatalogItem
        fields = ["code", "name", "kind", "catalog_class", "unit", "is_active"]


class CatalogFilter(filters.FilterSet):
    q = filters.CharFilter(method="search", help_text="Part of the code or the name.")
    include_inactive = filters.BooleanFilter(
        method="inactive", help_text="Also list items that can no longer be settled."
    )

    class Meta:
        model = CatalogItem
        fields = ["catalog_class", "kind", "q", "include_inactive"]

    def search(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))

    def inactive(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("include_inactive"):
            queryset = queryset.filter(is_active=True)
        return super().filter_queryset(queryset)


@extend_schema_view(
    get=extend_schema(
        summary="The medical-insurance catalog: drugs and services with their class",
        description="Class A is fully eligible; class B is eligible after a self-paid first share "
        "(a percentage each city sets, see `/benefit-policies/{city}`); class C is fully "
        "self-paid. Items that can no longer be settled are left out unless "
        "`include_inactive=true`. Search code or name with `q`; filter by `catalog_class` and "
        "`kind`. Any authenticated caller.",
        tags=["catalog"],
    )
)
class CatalogListApi(generics.ListAPIView):
    serializer_class = CatalogItemOutputSerializer
    filterset_class = CatalogFilter
    queryset = CatalogItem.objects.order_by("code")


@extend_schema_view(
    get=extend_schema(
        summary="One catalog item",
        description="One drug or service by its catalog code (the code a settlement line "
        "names), with its class and unit, inactive ones included; an unknown code answers 404. "
        "Any authenticated caller.",
        tags=["catalog"],
    )
)
class CatalogDetailApi(generics.RetrieveAPIView):
    serializer_class = CatalogItemOutputSerializer
    queryset = CatalogItem.objects.all()
    lookup_field = "code"


class BenefitRuleOutputSerializer(serializers.Serializer):
    scheme = serializers.ChoiceField(choices=InsuredPerson.Scheme.choices)
    visit_type = serializers.ChoiceField(choices=VisitType.choices)
    tier = serializers.ChoiceField(choices=Tier.choices)
    annual_deductible = MoneySerializerField()
    reimbursement_ratio = serializers.DecimalField(
        **_RATIO,
        help_text="The ratio that applies (for residents' outpatient care, by default "
        "the city's outpatient-pooling ratio).",
    )
    ratio_source = serializers.ChoiceField(choices=["RULE", "CITY_OUTPATIENT_POOLING"])


class EmergencyRuleOutputSerializer(serializers.Serializer):
    route = serializers.ChoiceField(
        choices=EmergencyRoute.choices,
        help_text="DIRECT: settled directly where the care happened; REIMBURSE: paid in full, "
        "then claimed at POST /api/v1/reimbursement-claims.",
    )
    reimbursement_ratio = serializers.DecimalField(
        **_RATIO, allow_null=True, help_text="Null: the ordinary ratio of the visit's rule."
    )
    filing_within_days = serializers.IntegerField(
        allow_null=True,
        help_text="Care in another city: a filing must follow within this many days (null: none).",
    )


class BenefitPolicyOutputSerializer(serializers.Serializer):
    city = serializers.CharField()
    currency = serializers.CharField()
    class_b_self_pay_ratio = serializers.DecimalField(**_RATIO)
    employee_annual_cap = MoneySerializerField()
    resident_annual_cap = MoneySerializerField()
    employee_outpatient_annual_quota = MoneySerializerField()
    resident_outpatient_annual_quota = MoneySerializerField()
    personal_account_pays_class_c = serializers.BooleanField()
    family_aid_across_cities = serializers.BooleanField()
    filing_validity_days = serializers.IntegerField()
    emergency = EmergencyRuleOutputSerializer(
        help_text="The emergency rule (art. 28): care at a non-designated institution or in "
        "another city without a filing, declared an emergency."
    )
    rules = BenefitRuleOutputSerializer(many=True)


class BenefitPolicyApi(APIView):
    @extend_schema(
        summary="A city's settlement policy: class-B share, caps, and the deductible and ratio for "
        "each scheme, visit type and institution tier",
        description="The figures a settlement for a person insured in this city uses: the class-B "
        "self-paid share, the annual caps and outpatient quotas, whether the personal account "
        "may pay class C items, family mutual aid across cities, how long a cross-city filing "
        "lasts, and one rule per scheme, visit type and tier. Every city gets its policy, with "
        "the default figures, when it is created; reading it changes nothing. An unknown city "
        "code (or a city without a policy) answers 404. Any authenticated caller.",
        tags=["catalog"],
        responses=BenefitPolicyOutputSerializer,
    )
    def get(self, request, city_code: str):
        city = get_object_or_404(City, code=city_code)
        policy = benefit_policy_of(city_id=city.pk)
        if policy is None:
            raise DomainError(
                CommonErrorCode.NOT_FOUND,
                _("City %(city_code)s has no benefit policy.") % {"city_code": city.code},
            )
        rules: list[BenefitRule] = list(policy.rules.all())
        return Response(
            BenefitPolicyOutputSerializer(
                {
                    "city": city.code,
                    "currency": CURRENCY,
                    "class_b_self_pay_ratio": policy.class_b_self_pay_ratio,
                    "employee_annual_cap": policy.employee_annual_cap,
                    "resident_annual_cap": policy.resident_annual_cap,
                    "employee_outpatient_annual_quota": policy.employee_outpatient_annual_quota,
                    "resident_outpatient_annual_quota": city.outpatient_pooling_annual_quota,
                    "personal_account_pays_class_c": policy.personal_account_pays_class_c,
                    "family_aid_across_cities": policy.family_aid_across_cities,
                    "filing_validity_days": policy.filing_validity_days,
                    "emergency": {
                        "route": policy.emergency_elsewhere_route,
                        "reimbursement_ratio": policy.emergency_reimbursement_ratio,
                        "filing_within_days": policy.emergency_filing_within_days,
                    },
                    "rules": [
                        {
                            "scheme": rule.scheme,
                            "visit_type": rule.visit_type,
                            "tier": rule.tier,
                            "annual_deductible": rule.annual_deductible,
                            "reimbursement_ratio": rule.ratio_for(city),
                            "ratio_source": "RULE"
                            if rule.reimbursement_ratio is not None
                            else "CITY_OUTPATIENT_POOLING",
                        }
                        for rule in rules
                    ],
                }
            ).data
        )


# --- Settlements -----------------------------------------------------------------------------


class SettlementLineOutputSerializer(serializers.ModelSerializer):
    quantity = serializers.DecimalField(max_digits=10, decimal_places=3)
    unit_price = MoneySerializerField()
    amount = MoneySerializerField()
    self_pay_amount = MoneySerializerField()
    eligible_amount = MoneySerializerField()

    class Meta:
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


class SettlementPolicySerializer(serializers.Serializer):
    """The policy as it stood for this person when the visit was settled."""

    scheme = serializers.CharField()
    insured_city = serializers.CharField(source="insured_city.code")
    fund = serializers.CharField(source="pool_account.kind", help_text="The pooled fund that paid.")
    class_b_self_pay_ratio = serializers.DecimalField(**_RATIO)
    annual_deductible = MoneySerializerField(help_text="This visit type's deductible at this tier.")
    deductible_paid_before = MoneySerializerField()
    reimbursement_ratio = serializers.DecimalField(**_RATIO)
    annual_cap = MoneySerializerField()
    pool_paid_before = MoneySerializerField()
    outpatient_quota = MoneySerializerField(allow_null=True)
    outpatient_pool_paid_before = MoneySerializerField(allow_null=True)


class SettlementBreakdownSerializer(serializers.Serializer):
    """total = class_c + class_b_self_pay + eligible; eligible = deductible + copay + over_cap +
    pool; total = pool + personal_account + cash."""

    currency = serializers.SerializerMethodField()
    total = MoneySerializerField(source="total_amount")
    class_c_self_pay = MoneySerializerField(source="class_c_amount")
    class_b_self_pay = MoneySerializerField(source="class_b_self_pay_amount")
    eligible = MoneySerializerField(source="eligible_amount")
    deductible = MoneySerializerField(source="deductible_amount")
    copay = MoneySerializerField(source="copay_amount")
    over_cap = MoneySerializerField(source="over_cap_amount")
    pool = MoneySerializerField(source="pool_amount")
    person_share = MoneySerializerField()
    personal_account = MoneySerializerField(source="personal_account_amount")
    cash = MoneySerializerField(source="cash_amount")

    def get_currency(self, obj) -> str:
        return CURRENCY


class SettlementAccountSerializer(serializers.Serializer):
    account_id = serializers.IntegerField(source="paying_account_id")
    holder_person_id = serializers.IntegerField(source="paying_account.person_id")
    family_authorization_id = serializers.IntegerField(allow_null=True)
    balance_after = MoneySerializerField(source="personal_account_balance_after")


class SettlementReversalSerializer(serializers.Serializer):
    reversed_at = serializers.DateTimeField()
    reason = serializers.CharField(source="reversal_reason")
    transfer_id = serializers.IntegerField(source="reversal_transfer_id", allow_null=True)
    request_id = serializers.CharField(source="reversal_request_id")


class SettlementInstitutionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    tier = serializers.ChoiceField(choices=Tier.choices)
    city = serializers.CharField(source="city.code")


class SettlementOutputSerializer(serializers.ModelSerializer):
    institution = SettlementInstitutionSerializer()
    person = serializers.IntegerField(source="person_id")
    cross_city = serializers.SerializerMethodField()
    filing = serializers.IntegerField(source="filing_id", allow_null=True)
    lines = SettlementLineOutputSerializer(many=True)
    policy = SettlementPolicySerializer(source="*")
    breakdown = SettlementBreakdownSerializer(source="*")
    personal_account = serializers.SerializerMethodField()
    transfer_id = serializers.IntegerField(allow_null=True)
    reversal = serializers.SerializerMethodField()

    class Meta:
        model = Settlement
        fields = [
            "id",
            "status",
            "institution",
            "person",
            "cross_city",
            "filing",
            "emergency",
            "emergency_rule_applied",
            "filing_due_date",
            "visit_type",
            "visit_reference",
            "credential_kind",
            "use_personal_account",
            "year",
            "settled_at",
            "lines",
            "policy",
            "breakdown",
            "personal_account",
            "transfer_id",
            "reversal",
            "request_id",
        ]

    def get_cross_city(self, obj) -> bool:
        return obj.institution.city_id != obj.insured_city_id

    @extend_schema_field(SettlementAccountSerializer(allow_null=True))
    def get_personal_account(self, obj):
        if obj.paying_account_id is None:
            return None
        return SettlementAccountSerializer(obj).data

    @extend_schema_field(SettlementReversalSerializer(allow_null=True))
    def get_reversal(self, obj):
        if obj.status != Settlement.Status.REVERSED:
            return None
        return SettlementReversalSerializer(obj).data


class SettlementFilter(filters.FilterSet):
    settled_from = filters.DateFilter(field_name="settled_at", lookup_expr="date__gte")
    settled_to = filters.DateFilter(field_name="settled_at", lookup_expr="date__lte")
    institution = filters.NumberFilter(field_name="institution_id")
    person = filters.NumberFilter(field_name="person_id")

    class Meta:
        model = Settlement
        fields = [
            "status",
            "visit_type",
            "year",
            "visit_reference",
            "institution",
            "person",
            "settled_from",
            "settled_to",
        ]


_SETTLEMENT_EXAMPLE = OpenApiExample(
    "An outpatient visit: class A, B and C lines, the deductible already met",
    value={
        "id": 501,
        "status": "SETTLED",
        "institution": {
            "id": 3,
            "code": "H330100002",
            "name": "Hangzhou Second People's Hospital",
            "tier": "LEVEL_2",
            "city": "330100",
        },
        "person": 9,
        "cross_city": False,
        "filing": None,
        "emergency": False,
        "emergency_rule_applied": False,
        "filing_due_date": None,
        "visit_type": "OUTPATIENT",
        "visit_reference": "MZ20261125-0042",
        "credential_kind": "CARD",
        "use_personal_account": True,
        "year": 2026,
        "settled_at": "2026-11-25T10:12:31+08:00",
        "lines": [
            {
                "line_no": 1,
                "code": "XJ01CAA040A001",
                "name": "Amoxicillin capsules 0.25 g",
                "catalog_class": "A",
                "quantity": "2.000",
                "unit_price": "18.50",
                "amount": "37.00",
                "self_pay_amount": "0.00",
                "eligible_amount": "37.00",
            },
            {
                "line_no": 2,
                "code": "XC10AAA013B001",
                "name": "Atorvastatin calcium tablets 20 mg",
                "catalog_class": "B",
                "quantity": "1.000",
                "unit_price": "60.00",
                "amount": "60.00",
                "self_pay_amount": "6.00",
                "eligible_amount": "54.00",
            },
            {
                "line_no": 3,
                "code": "XA11CCV004C001",
                "name": "Vitamin D3 soft capsules (supplement)",
                "catalog_class": "C",
                "quantity": "1.000",
                "unit_price": "25.00",
                "amount": "25.00",
                "self_pay_amount": "25.00",
                "eligible_amount": "0.00",
            },
        ],
        "policy": {
            "scheme": "EMPLOYEE",
            "insured_city": "330100",
            "fund": "EMPLOYEE_POOL",
            "class_b_self_pay_ratio": "0.1000",
            "annual_deductible": "200.00",
            "deductible_paid_before": "200.00",
            "reimbursement_ratio": "0.8000",
            "annual_cap": "400000.00",
            "pool_paid_before": "1520.00",
            "outpatient_quota": None,
            "outpatient_pool_paid_before": None,
        },
        "breakdown": {
            "currency": "CNY",
            "total": "122.00",
            "class_c_self_pay": "25.00",
            "class_b_self_pay": "6.00",
            "eligible": "91.00",
            "deductible": "0.00",
            "copay": "18.20",
            "over_cap": "0.00",
            "pool": "72.80",
            "person_share": "49.20",
            "personal_account": "49.20",
            "cash": "0.00",
        },
        "personal_account": {
            "account_id": 17,
            "holder_person_id": 9,
            "family_authorization_id": None,
            "balance_after": "1185.36",
        },
        "transfer_id": 2048,
        "reversal": None,
        "request_id": "7f3c2a9e5b1d4c6f",
    },
    response_only=True,
)


@extend_schema_view(
    get=extend_schema(
        summary="Settlements you may see (an institution its own; a person theirs and those their "
        "account paid for a relative; operators their cities')",
        description="Each settlement with its lines, the policy it used and its full breakdown, "
        "newest first. Operators see those made in or for persons of the cities they "
        "administer. Filter by `status`, `visit_type`, `year`, `visit_reference`, "
        "`institution`, `person`, `settled_from` and `settled_to`.",
        tags=["settlement"],
    )
)
class SettlementListApi(ActorMixin, generics.ListAPIView):
    serializer_class = SettlementOutputSerializer
    filterset_class = SettlementFilter

    def get_queryset(self):
        return settlement_list(visible=access.settlements_visible(self.actor, self.request))


class SettlementLineInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32, help_text="Catalog code.")
    quantity = QuantitySerializerField()
    unit_price = MoneySerializerField(
        min_value=Decimal("0.01"), help_text="CNY, at most two decimal places."
    )


class SettlementSubmitInputSerializer(serializers.Serializer):
    visit_type = serializers.ChoiceField(choices=VisitType.choices)
    visit_reference = serializers.CharField(
        max_length=64,
        required=False,
        default="",
        allow_blank=True,
        help_text="Your visit or invoice number; a live settlement per number and institution.",
    )
    use_personal_account = serializers.BooleanField(
        help_text="The person's choice: pay their share from a personal account, up to its balance."
    )
    family_account_holder = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="Family mutual aid: the person id of the employee whose personal account pays "
        "(they must have authorised this person).",
    )
    line_items = SettlementLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    emergency = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The visit is an emergency (rescue). At a non-designated institution, or in "
        "another city without a filing, it is settled under the insured city's emergency rule "
        "(see `/benefit-policies/{city}`) instead of refused, or refused with 422 "
        "`EMERGENCY_REIMBURSEMENT_REQUIRED` where that city reimburses such care through a "
        "claim.",
    )


CARD_PIN_PARAMETER = OpenApiParameter(
    name=CARD_PIN_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The card's 6-digit PIN, entered by the cardholder at the terminal. Required "
    "with `X-Presented-Credential: CARD <number>` and `use_personal_account` true (403 "
    "`CARD_PIN_REQUIRED`); not needed for a cash-only settlement or an e-voucher. A wrong PIN "
    "answers 403 `CARD_PIN_INCORRECT` with `attempts_left`; after 5 wrong PINs in a row "
    "(`CARD_PIN_MAX_FAILURES`) the card pays from no account until the end of the day (409 "
    "`CARD_PIN_LOCKED` with Retry-After and `locked_until`); a right PIN clears the count. "
    "Never stored, logged or echoed, and not part of the Idempotency-Key fingerprint.",
)


# One outpatient visit paid from the personal account: the request the settlement's and the
# quote's examples both send.
_OUTPATIENT_VISIT_REQUEST = {
    "visit_type": "OUTPATIENT",
    "visit_reference": "MZ20261125-0042",
    "use_personal_account": True,
    "line_items": [
        {"code": "XJ01CAA040A001", "quantity": "2", "unit_price": "18.50"},
        {"code": "XC10AAA013B001", "quantity": "1", "unit_price": "60.00"},
        {"code": "XA11CCV004C001", "quantity": "1", "unit_price": "25.00"},
    ],
}


class SettlementCollectionApi(SettlementListApi):
    """The settlement list, and direct settlement of a visit on POST."""

    @extend_schema(
        summary="Settle a visit directly (institution terminal, for the person presenting a card "
        "or e-voucher)",
        description="The insured city's policy decides: class C items are self-paid, class B items "
        "leave their first share to the person, the year's deductible (per visit type) comes "
        "first, the fund pays its ratio of the rest up to the annual cap (and, outpatient, the "
        "outpatient quota), the personal account pays the person's share up to its balance if "
        "chosen, and the rest is cash. The ledger transfer matches the breakdown to the cent. "
        "A person insured in another city needs a valid cross-city filing for this one "
        "(`CROSS_CITY_FILING_REQUIRED` otherwise, with how to file and how to claim "
        "reimbursement), unless the visit is an `emergency` (see the field). Designated institutions' "
        "terminals only (403 `TERMINAL_REQUIRED`, `INSTITUTION_NOT_DESIGNATED`), for the person "
        "presenting a card or e-voucher (403 `CREDENTIAL_REQUIRED`; 422 `CARD_NOT_ACTIVE` for a "
        "card not yet activated). With a card, paying from a personal account needs the "
        f"cardholder's PIN in `{CARD_PIN_HEADER}` (see the header). Also refused: an item not in "
        "the catalog (422 `CATALOG_ITEM_UNKNOWN`), a bad amount (400 `LINE_AMOUNT_INVALID`), a visit reference "
        "already settled here (409 `VISIT_ALREADY_SETTLED`), family aid without the holder's "
        "authorisation (422 `FAMILY_AUTHORIZATION_MISSING`).",
        tags=["settlement"],
        request=SettlementSubmitInputSerializer,
        parameters=[PRESENTED_CREDENTIAL_PARAMETER, CARD_PIN_PARAMETER, IDEMPOTENCY_KEY_PARAMETER],
        responses={201: SettlementOutputSerializer},
        examples=[
            OpenApiExample(
                "An outpatient visit paid from the personal account",
                value=_OUTPATIENT_VISIT_REQUEST,
                request_only=True,
            ),
            OpenApiExample(
                "Family mutual aid: a relative's account pays",
                value={
                    "visit_type": "OUTPATIENT",
                    "use_personal_account": True,
                    "family_account_holder": 9,
                    "line_items": [
                        {"code": "XN02BEA071A001", "quantity": "1", "unit_price": "12.00"}
                    ],
                },
                request_only=True,
            ),
            _SETTLEMENT_EXAMPLE,
        ],
    )
    def post(self, request):
        if not self.actor.is_institution:
            raise DomainError(SettlementErrorCode.TERMINAL_REQUIRED)
        values = _validated(
            SettlementSubmitInputSerializer,
            request,
            amount_code=SettlementErrorCode.LINE_AMOUNT_INVALID,
        )
        now = clock.now()
        credential = access.presented_credential(request)
        if credential is not None and values["use_personal_account"]:
            # Before, and outside, the settlement's transaction: a wrong PIN refuses the
            # settlement, and its count must not be rolled back with it.
            credential = card_pin_verify(
                credential=credential, pin=request.headers.get(CARD_PIN_HEADER), now=now
            )
        return self._settle(request, values=values, credential=credential, now=now)

    @idempotent
    def _settle(self, request, *, values, credential, now):
        settlement = settlement_submit(
            institution=request.user.institution,
            credential=credential,
            visit_type=values["visit_type"],
            visit_reference=values["visit_reference"],
            use_personal_account=values["use_personal_account"],
            family_account_holder_id=values["family_account_holder"],
            lines=[LineInput(**line) for line in values["line_items"]],
            emergency=values["emergency"],
            by=request.user,
            now=now,
        )
        settlement = settlement_list(visible=access.settlements_visible(self.actor, request)).get(
            pk=settlement.pk
        )
        response = Response(SettlementOutputSerializer(settlement).data, status=201)
        response["Location"] = f"/api/v1/settlements/{settlement.pk}"
        return response


class SettlementQuoteLineSerializer(serializers.Serializer):
    line_no = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    catalog_class = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=10, decimal_places=3)
    unit_price = MoneySerializerField()
    amount = MoneySerializerField()
    self_pay_amount = MoneySerializerField()
    eligible_amount = MoneySerializerField()


class SettlementQuoteAccountSerializer(serializers.Serializer):
    account_id = serializers.IntegerField(source="paying_account_id")
    family_authorization_id = serializers.IntegerField(allow_null=True)
    balance_after = MoneySerializerField(
        source="personal_account_balance_after",
        help_text="The account's balance if the visit were settled now.",
    )


class SettlementQuoteOutputSerializer(serializers.Serializer):
    """A settlement as it would be made now: the figures of ``POST /settlements`` to the cent,
    with nothing saved (no id, no transfer)."""

    quoted_at = serializers.DateTimeField(source="settled_at")
    institution = SettlementInstitutionSerializer()
    person = serializers.IntegerField(source="person_id")
    cross_city = serializers.SerializerMethodField()
    filing = serializers.IntegerField(source="filing_id", allow_null=True)
    emergency = serializers.BooleanField()
    emergency_rule_applied = serializers.BooleanField()
    filing_due_date = serializers.DateField(allow_null=True)
    visit_type = serializers.CharField()
    visit_reference = serializers.CharField()
    credential_kind = serializers.CharField()
    use_personal_account = serializers.BooleanField()
    year = serializers.IntegerField()
    lines = serializers.SerializerMethodField()
    policy = SettlementPolicySerializer(source="*")
    breakdown = SettlementBreakdownSerializer(source="*")
    personal_account = serializers.SerializerMethodField()

    def get_cross_city(self, obj) -> bool:
        return obj.institution.city_id != obj.insured_city_id

    @extend_schema_field(SettlementQuoteLineSerializer(many=True))
    def get_lines(self, obj):
        return SettlementQuoteLineSerializer(self.context["lines"], many=True).data

    @extend_schema_field(SettlementQuoteAccountSerializer(allow_null=True))
    def get_personal_account(self, obj):
        if obj.paying_account_id is None:
            return None
        return SettlementQuoteAccountSerializer(obj).data


class SettlementQuoteApi(ActorMixin, APIView):
    @extend_schema(
        summary="Quote a visit's settlement: every figure settling it now would give, posting "
        "nothing",
        description="The same input, the same checks and refusals, and the same calculation as "
        "`POST /api/v1/settlements`, for the same callers (a designated institution's terminal, "
        "for the person presenting a card or e-voucher; with a card and "
        f"`use_personal_account`, the cardholder's PIN in `{CARD_PIN_HEADER}`), at the moment "
        "of the request: the lines, the policy figures, the breakdown and the personal "
        "account's balance after, to the cent. Nothing is saved or posted and no deductible or "
        "quota is used, so settling right after gives the same figures unless something else "
        "settled for the person in between. A visit reference already settled here answers 409 "
        "`VISIT_ALREADY_SETTLED`. Answers 200; there is nothing to retry, so no "
        "Idempotency-Key.",
        tags=["settlement"],
        request=SettlementSubmitInputSerializer,
        parameters=[PRESENTED_CREDENTIAL_PARAMETER, CARD_PIN_PARAMETER],
        responses={200: SettlementQuoteOutputSerializer},
        examples=[
            OpenApiExample(
                "Quote an outpatient visit paid from the personal account",
                value=_OUTPATIENT_VISIT_REQUEST,
                request_only=True,
            ),
            OpenApiExample(
                "The quote: what settling would give, nothing posted",
                value={
                    key: value
                    for key, value in _SETTLEMENT_EXAMPLE.value.items()
                    if key
                    in {
                        "institution",
                        "person",
                        "cross_city",
                        "filing",
                        "emergency",
                        "emergency_rule_applied",
                        "filing_due_date",
                        "visit_type",
                        "visit_reference",
                        "credential_kind",
                        "use_personal_account",
                        "year",
                        "lines",
                        "policy",
                        "breakdown",
                    }
                }
                | {
                    "quoted_at": "2026-11-25T10:12:31+08:00",
                    "personal_account": {
                        "account_id": 17,
                        "family_authorization_id": None,
                        "balance_after": "1185.36",
                    },
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        if not self.actor.is_institution:
            raise DomainError(SettlementErrorCode.TERMINAL_REQUIRED)
        values = _validated(
            SettlementSubmitInputSerializer,
            request,
            amount_code=SettlementErrorCode.LINE_AMOUNT_INVALID,
        )
        now = clock.now()
        credential = access.presented_credential(request)
        if credential is not None and values["use_personal_account"]:
            # As for settling: the PIN is checked, and its count kept, outside the quote.
            credential = card_pin_verify(
                credential=credential, pin=request.headers.get(CARD_PIN_HEADER), now=now
            )
        quote = settlement_quote(
            institution=request.user.institution,
            credential=credential,
            visit_type=values["visit_type"],
            visit_reference=values["visit_reference"],
            use_personal_account=values["use_personal_account"],
            family_account_holder_id=values["family_account_holder"],
            lines=[LineInput(**line) for line in values["line_items"]],
            emergency=values["emergency"],
            by=request.user,
            now=now,
        )
        return Response(
            SettlementQuoteOutputSerializer(quote.settlement, context={"lines": quote.lines}).data
        )


@extend_schema_view(
    get=extend_schema(
        summary="One settlement with its full breakdown",
        description="The settlement's lines, the policy figures it used, the breakdown (which "
        "sums to the total, to the cent), the personal account that paid with its balance "
        "after, the ledger transfer and any reversal. For whoever may see it (see the "
        "settlement list); anyone else gets 404.",
        tags=["settlement"],
        examples=[_SETTLEMENT_EXAMPLE],
    )
)
class SettlementDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = SettlementOutputSerializer
    lookup_url_kwarg = "settlement_id"

    def get_queryset(self):
        return settlement_list(visible=access.settlements_visible(self.actor, self.request))


class SettlementReverseApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)

    @extend_schema(
        summary="Reverse (refund) a settlement: the institution that made it, or an operator",
        description="Posts a new transfer the other way (the original is never edited) and gives "
        "back the year's deductible, cap and quota usage exactly as the settlement took them. "
        "The institution's terminal that made it, or an operator of the insured city, whose fund "
        "the reversal moves (an operator of the care city only: 403 "
        "`REVERSAL_MOVES_OTHER_CITY_FUND`; other roles: 403 `ROLE_NOT_ALLOWED`; a settlement the "
        "caller may not see: 404). Care in another city is reversed inside each city through its "
        "clearing accounts, and the monthly clearing carries the reversal. A second reversal "
        "answers 409 `SETTLEMENT_ALREADY_REVERSED`.",
        tags=["settlement"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=SettlementOutputSerializer,
        examples=[
            OpenApiExample(
                "Refund",
                value={"reason": "Prescription cancelled by the doctor."},
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request, settlement_id: int):
        settlement = get_object_or_404(
            access.settlements_visible(self.actor, request), pk=settlement_id
        )
        access.require_settlement_reversible(self.actor, settlement)
        values = _validated(self.InputSerializer, request)
        settlement = settlement_reverse(
            settlement=settlement, reason=values["reason"], by=request.user, now=clock.now()
        )
        settlement = settlement_list(visible=access.settlements_visible(self.actor, request)).get(
            pk=settlement.pk
        )
        return Response(SettlementOutputSerializer(settlement).data)


# --- Cross-city filings ----------------------------------------------------------------------


class FilingOutputSerializer(serializers.ModelSerializer):
    city = serializers.CharField(source="city.code")
    insured_city = serializers.CharField(source="person.city.code")
    valid_today = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username")

    class Meta:
        model = CrossCityFiling
        fields = [
            "id",
            "person",
            "insured_city",
            "city",
            "category",
            "valid_from",
            "valid_until",
            "valid_today",
            "note",
            "recorded_at",
            "created_by",
            "request_id",
            "revoked_at",
        ]

    def get_valid_today(self, obj) -> bool:
        from common import clock

        return obj.is_valid_on(clock.today())


class FilingFilter(filters.FilterSet):
    city = filters.CharFilter(field_name="city__code", help_text="The care city's code.")
    active = filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull")

    class Meta:
        model = CrossCityFiling
        fields = ["person", "city", "category", "active"]


@extend_schema_view(
    get=extend_schema(
        summary="Cross-city filings you may see",
        description="Filings that let a person insured in one city settle directly in another, "
        "newest first, each saying whether it is valid today. An insured person sees their own; "
        "an operator those of persons insured in their cities and those naming their cities; a "
        "terminal, for the person presenting a card or e-voucher, the filings naming its own "
        "city. Filter by `person`, `city` (the care city), `category` and `active`.",
        tags=["filings"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class FilingListApi(ActorMixin, generics.ListAPIView):
    serializer_class = FilingOutputSerializer
    filterset_class = FilingFilter

    def get_queryset(self):
        return (
            access.filings_visible(self.actor, self.request)
            .select_related("created_by")
            .order_by("-id")
        )


class FilingRecordInputSerializer(serializers.Serializer):
    person = serializers.IntegerField(
        required=False, min_value=1, help_text="Operators: the person. Insured persons: omit."
    )
    city = serializers.RegexField(r"^\d{6}$", help_text="The city where care will be sought.")
    category = serializers.ChoiceField(choices=CrossCityFiling.Category.choices)
    valid_from = serializers.DateField(required=False, help_text="Defaults to today.")
    valid_until = serializers.DateField(
        required=False, help_text="Defaults to the insured city's filing validity."
    )
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


def _acting_person(actor, request, person_id: int | None) -> InsuredPerson:
    """Whom a person-level write is for: an insured person acts for themselves; an operator for a
    person of a city they administer."""
    if actor.is_insured:
        if actor.person_id is None or person_id not in (None, actor.person_id):
            raise DomainError(CommonErrorCode.NOT_FOUND, _("No such insured person."))
        return InsuredPerson.objects.select_related("city").get(pk=actor.person_id)
    access.require_role(actor, User.Role.OPERATOR)
    if person_id is None:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR, errors=[field_error("person", _("Required."))]
        )
    person = get_object_or_404(
        access.persons_visible(actor, request).select_related("city"), pk=person_id
    )
    access.require_city(actor, person.city_id)
    return person


class FilingCollectionApi(FilingListApi):
    """The filing list, and recording a filing on POST."""

    @extend_schema(
        summary="Record a cross-city filing (the person, or an operator of the insured city)",
        description="Files the person for direct settlement in another city, from `valid_from` "
        "(default today) to `valid_until` (default: the insured city's filing validity). An "
        "insured person files for themselves (omit `person`); an operator of the insured city "
        "names the person. Refused: the insured city itself (422 `FILING_CITY_INVALID`), an "
        "unknown city (400 `VALIDATION_ERROR`), unusable dates (400 "
        "`FILING_VALIDITY_INVALID`), a period overlapping another filing for that city (409 "
        "`FILING_OVERLAPS`).",
        tags=["filings"],
        request=FilingRecordInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: FilingOutputSerializer},
        examples=[
            OpenApiExample(
                "A retiree moving to Xiamen (the person themselves)",
                value={"city": "350200", "category": "RELOCATED_RETIREE"},
                request_only=True,
            ),
            OpenApiExample(
                "A referral, recorded by an operator",
                value={
                    "person": 9,
                    "city": "350100",
                    "category": "REFERRAL",
                    "valid_from": "2026-11-25",
                    "valid_until": "2027-02-25",
                    "note": "Referred by Hangzhou First People's Hospital.",
                },
                request_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request):
        values = _validated(FilingRecordInputSerializer, request)
        person = _acting_person(self.actor, request, values.pop("person", None))
        city = City.objects.filter(code=values.pop("city")).first()
        if city is None:
            raise DomainError(
                CommonErrorCode.VALIDATION_ERROR, errors=[field_error("city", _("Unknown city."))]
            )
        filing = filing_record(person=person, city=city, by=request.user, now=clock.now(), **values)
        return Response(FilingOutputSerializer(filing).data, status=201)


@extend_schema_view(
    get=extend_schema(
        summary="One cross-city filing",
        description="One filing with its category, validity and whether it is valid today, for "
        "whoever may see it (see the filing list); anyone else gets 404.",
        tags=["filings"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class FilingDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = FilingOutputSerializer
    lookup_url_kwarg = "filing_id"

    def get_queryset(self):
        return access.filings_visible(self.actor, self.request).select_related("created_by")


class FilingRevokeApi(ActorMixin, APIView):
    @extend_schema(
        summary="Revoke a cross-city filing (the person, or an operator of the insured city)",
        description="Ends the filing now; settlements already made stay as they are. The person "
        "themselves or an operator of the insured city (403 `ROLE_NOT_ALLOWED` or "
        "`CITY_NOT_ADMINISTERED`; a filing the caller may not see: 404). Revoking twice answers "
        "409 `FILING_ALREADY_REVOKED`.",
        tags=["filings"],
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=FilingOutputSerializer,
    )
    @idempotent
    def post(self, request, filing_id: int):
        filing = get_object_or_404(access.filings_visible(self.actor, request), pk=filing_id)
        # Filings are kept by the insured city's agency: the person or that city's operators.
        access.require_role(self.actor, User.Role.INSURED, User.Role.OPERATOR)
        if self.actor.is_operator:
            access.require_city(self.actor, filing.person.city_id)
        filing = filing_revoke(filing=filing, by=request.user)
        return Response(FilingOutputSerializer(filing).data)


# --- Family mutual aid -----------------------------------------------------------------------


class FamilyAuthorizationOutputSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = FamilyAuthorization
        fields = [
            "id",
            "account_holder",
            "beneficiary",
            "relation",
            "granted_at",
            "active",
            "revoked_at",
            "request_id",
        ]


class FamilyAuthorizationFilter(filters.FilterSet):
    active = filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull")

    class Meta:
        model = FamilyAuthorization
        fields = ["account_holder", "beneficiary", "relation", "active"]


@extend_schema_view(
    get=extend_schema(
        summary="Family mutual-aid authorisations you may see",
        description="A terminal presenting a person's card or e-voucher sees the active "
        "authorisations that person may settle with (`family_account_holder`). An insured "
        "person sees those they granted and those granted to them; an operator those of persons "
        "of their cities. Filter by `account_holder`, `beneficiary`, `relation` and `active`.",
        tags=["family-aid"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class FamilyAuthorizationListApi(ActorMixin, generics.ListAPIView):
    serializer_class = FamilyAuthorizationOutputSerializer
    filterset_class = FamilyAuthorizationFilter

    def get_queryset(self):
        return access.family_authorizations_visible(self.actor, self.request).order_by("-id")


class FamilyAuthorizationGrantInputSerializer(serializers.Serializer):
    account_holder = serializers.IntegerField(
        required=False, min_value=1, help_text="Operators: the employee. Insured persons: omit."
    )
    beneficiary_resident_id = serializers.CharField(max_length=18)
    beneficiary_name = serializers.CharField(max_length=64)
    relation = serializers.ChoiceField(choices=FamilyAuthorization.Relation.choices)


class FamilyAuthorizationCollectionApi(FamilyAuthorizationListApi):
    """The authorisation list, and granting one on POST."""

    @extend_schema(
        summary="Authorise a close relative to use your personal account for their settlements",
        description="The relative is named by resident ID number and name, which must both match. "
        "Their settlements may then draw on the account holder's personal account (never "
        "wellness spending). The employee grants it themselves (omit `account_holder`), or an "
        "operator of their city names them. Refused: no person matches the ID number and name "
        "(422 `FAMILY_BENEFICIARY_UNKNOWN`, the same answer whichever is wrong), the holder "
        "themselves (422 `FAMILY_BENEFICIARY_IS_HOLDER`), a holder who is not an employee with "
        "a personal account (422 `FAMILY_HOLDER_NOT_ELIGIBLE`), a relative insured in another "
        "city where the policy keeps aid within the city (422 `FAMILY_AID_OTHER_CITY`), a "
        "relative already authorised (409 `FAMILY_AUTHORIZATION_EXISTS`).",
        tags=["family-aid"],
        request=FamilyAuthorizationGrantInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: FamilyAuthorizationOutputSerializer},
        examples=[
            OpenApiExample(
                "A parent",
                value={
                    "beneficiary_resident_id": "330106195607022461",
                    "beneficiary_name": "张敏",
                    "relation": "PARENT",
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        values = _validated(FamilyAuthorizationGrantInputSerializer, request)
        holder = _acting_person(self.actor, request, values.get("account_holder"))
        beneficiary = InsuredPerson.objects.filter(
            resident_id=normalize_resident_id(values["beneficiary_resident_id"]),
            name=values["beneficiary_name"].strip(),
        ).first()
        if beneficiary is None:
            # The same answer whichever of the two is wrong: no probing for ID numbers.
            raise DomainError(
                SettlementErrorCode.FAMILY_BENEFICIARY_UNKNOWN,
                errors=[field_error("beneficiary_resident_id", _("No match with that name."))],
            )
        authorization = family_authorization_grant(
            account_holder=holder,
            beneficiary=beneficiary,
            relation=values["relation"],
            by=request.user,
        )
        return Response(FamilyAuthorizationOutputSerializer(authorization).data, status=201)


@extend_schema_view(
    get=extend_schema(
        summary="One family mutual-aid authorisation",
        description="Who may pay from whose personal account, the relation, and whether the "
        "authorisation is still active, for whoever may see it (see the authorisation list); "
        "anyone else gets 404.",
        tags=["family-aid"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class FamilyAuthorizationDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = FamilyAuthorizationOutputSerializer
    lookup_url_kwarg = "authorization_id"

    def get_queryset(self):
        return access.family_authorizations_visible(self.actor, self.request)


class FamilyAuthorizationRevokeApi(ActorMixin, APIView):
    @extend_schema(
        summary="Revoke a family authorisation (the holder, the relative, or an operator)",
        description="Ends the authorisation now: the relative's later settlements can no longer "
        "draw on the holder's account; earlier ones stay. The holder, the relative, or an "
        "operator who may see it (other roles: 403 `ROLE_NOT_ALLOWED`; one the caller may not "
        "see: 404). Revoking twice answers 409 `FAMILY_AUTHORIZATION_REVOKED`.",
        tags=["family-aid"],
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=FamilyAuthorizationOutputSerializer,
    )
    @idempotent
    def post(self, request, authorization_id: int):
        authorization = get_object_or_404(
            access.family_authorizations_visible(self.actor, request), pk=authorization_id
        )
        # Visible means: the holder or the relative themselves, or an operator of either city.
        access.require_role(self.actor, User.Role.INSURED, User.Role.OPERATOR)
        authorization = family_authorization_revoke(authorization=authorization, by=request.user)
        return Response(FamilyAuthorizationOutputSerializer(authorization).data)
