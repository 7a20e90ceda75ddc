"""Reimbursement claims (Social Insurance Law arts. 28 and 29): the person files, the insured
city's agency reviews, an approval pays."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from api.base import IDEMPOTENCY_KEY_PARAMETER, ActorMixin
from api.idempotency import idempotent
from cities.models import City
from claims.models import ClaimLine, ClaimReceipt, ReimbursementClaim
from claims.selectors import claim_list
from claims.services import (
    MAX_ATTACHMENTS,
    MAX_RECEIPTS,
    CategoryTotal,
    ClaimPayout,
    ClaimVisit,
    Decision,
    ReceiptInput,
    claim_review,
    claim_submit,
    claim_withdraw,
)
from common import clock
from common.errors import CommonErrorCode, DomainError, field_error
from common.money import CURRENCY, MoneySerializerField, QuantitySerializerField
from common.problems import flatten_validation_errors
from institutions.models import Tier
from persons.models import InsuredPerson
from settlement.models import CatalogItem, VisitType
from settlement.services import MAX_LINES, LineInput
from users.models import User


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    if not serializer.is_valid():
        errors = flatten_validation_errors(serializer.errors)
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            _("Some fields are invalid; see errors."),
            errors=errors,
        )
    return dict(serializer.validated_data)


# --- Output ----------------------------------------------------------------------------------


class ClaimLineOutputSerializer(serializers.ModelSerializer):
    unit_price = MoneySerializerField()
    amount = MoneySerializerField()

    class Meta:
        model = ClaimLine
        fields = ["line_no", "code", "name", "catalog_class", "quantity", "unit_price", "amount"]


class ClaimReceiptOutputSerializer(serializers.ModelSerializer):
    amount = MoneySerializerField()

    class Meta:
        model = ClaimReceipt
        fields = ["number", "issued_on", "amount"]


class ClaimInstitutionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="institution_id", allow_null=True)
    code = serializers.CharField(source="institution_code")
    name = serializers.CharField(source="institution_name")
    designated = serializers.BooleanField(source="institution_designated")
    tier = serializers.ChoiceField(choices=Tier.choices)


class ClaimPayoutOutputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        source="payout_method", choices=ReimbursementClaim.Payout.choices
    )
    bank_name = serializers.CharField()
    bank_account_holder = serializers.CharField()
    bank_account_number = serializers.CharField(
        source="bank_account_masked", help_text="Masked: the last four digits only."
    )
    account_id = serializers.IntegerField(source="payout_account_id", allow_null=True)
    transfer_id = serializers.IntegerField(source="payout_transfer_id", allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)


class ClaimReviewOutputSerializer(serializers.Serializer):
    reviewed_at = serializers.DateTimeField()
    reviewed_by = serializers.CharField(source="reviewed_by.username")
    reason_code = serializers.CharField()
    reason = serializers.CharField()


class ClaimFiguresSerializer(serializers.Serializer):
    """The fund's share as the review computed it, the settlement's figures in their order."""

    year = serializers.IntegerField()
    class_b_self_pay_ratio = serializers.DecimalField(max_digits=5, decimal_places=4)
    annual_deductible = MoneySerializerField()
    deductible_paid_before = MoneySerializerField()
    reimbursement_ratio = serializers.DecimalField(max_digits=5, decimal_places=4)
    annual_cap = MoneySerializerField()
    pool_paid_before = MoneySerializerField()
    outpatient_quota = MoneySerializerField(allow_null=True)
    outpatient_pool_paid_before = MoneySerializerField(allow_null=True)
    class_c_amount = MoneySerializerField()
    class_b_self_pay_amount = MoneySerializerField()
    eligible_amount = MoneySerializerField()
    deductible_amount = MoneySerializerField()
    copay_amount = MoneySerializerField()
    over_cap_amount = MoneySerializerField()
    fund_share_amount = MoneySerializerField()


class ClaimOutputSerializer(serializers.ModelSerializer):
    insured_city = serializers.CharField(source="insured_city.code")
    care_city = serializers.CharField(source="care_city.code")
    institution = ClaimInstitutionSerializer(source="*")
    claimed_amount = MoneySerializerField()
    approved_amount = MoneySerializerField(allow_null=True)
    currency = serializers.SerializerMethodField()
    lines = ClaimLineOutputSerializer(many=True)
    receipts = ClaimReceiptOutputSerializer(many=True)
    payout = ClaimPayoutOutputSerializer(source="*")
    review = serializers.SerializerMethodField()
    figures = serializers.SerializerMethodField()

    class Meta:
        model = ReimbursementClaim
        fields = [
            "id",
            "status",
            "route",
            "person",
            "insured_city",
            "care_city",
            "institution",
            "visit_type",
            "visit_date",
            "emergency",
            "emergency_rule_applied",
            "description",
            "claimed_amount",
            "approved_amount",
            "currency",
            "lines",
            "receipts",
            "attachments",
            "payout",
            "submitted_at",
            "review",
            "figures",
            "request_id",
        ]

    def get_currency(self, obj) -> str:
        return CURRENCY

    @extend_schema_field(ClaimReviewOutputSerializer(allow_null=True))
    def get_review(self, obj):
        return ClaimReviewOutputSerializer(obj).data if obj.reviewed_at else None

    @extend_schema_field(ClaimFiguresSerializer(allow_null=True))
    def get_figures(self, obj):
        return ClaimFiguresSerializer(obj).data if obj.fund_share_amount is not None else None


_CLAIM_EXAMPLE = OpenApiExample(
    "An inpatient stay in another city, approved and paid to the bank",
    value={
        "id": 12,
        "status": "APPROVED",
        "route": "CROSS_CITY",
        "person": 9,
        "insured_city": "330100",
        "care_city": "310100",
        "institution": {
            "id": 4,
            "code": "H310100001",
            "name": "Shanghai First People's Hospital",
            "designated": True,
            "tier": "LEVEL_3",
        },
        "visit_type": "INPATIENT",
        "visit_date": "2026-11-02",
        "emergency": False,
        "emergency_rule_applied": False,
        "description": "",
        "claimed_amount": "5000.00",
        "approved_amount": "3145.00",
        "currency": "CNY",
        "lines": [
            {
                "line_no": 1,
                "code": "",
                "name": "",
                "catalog_class": "A",
                "quantity": "1.000",
                "unit_price": "4000.00",
                "amount": "4000.00",
            },
            {
                "line_no": 2,
                "code": "",
                "name": "",
                "catalog_class": "B",
                "quantity": "1.000",
                "unit_price": "1000.00",
                "amount": "1000.00",
            },
        ],
        "receipts": [{"number": "SH-2026-0001234", "issued_on": "2026-11-09", "amount": "5000.00"}],
        "attachments": [
            {
                "file_name": "receipt-1.jpg",
                "content_type": "image/jpeg",
                "size_bytes": 183422,
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            }
        ],
        "payout": {
            "method": "BANK",
            "bank_name": "ICBC Hangzhou",
            "bank_account_holder": "Li Hua",
            "bank_account_number": "**** 0123",
            "account_id": 31,
            "transfer_id": 804,
            "paid_at": "2026-11-20T10:02:11+08:00",
        },
        "submitted_at": "2026-11-12T09:30:00+08:00",
        "review": {
            "reviewed_at": "2026-11-20T10:02:11+08:00",
            "reviewed_by": "op-hangzhou",
            "reason_code": "",
            "reason": "",
        },
        "figures": {
            "year": 2026,
            "class_b_self_pay_ratio": "0.1000",
            "annual_deductible": "1300.00",
            "deductible_paid_before": "0.00",
            "reimbursement_ratio": "0.8500",
            "annual_cap": "648000.00",
            "pool_paid_before": "0.00",
            "outpatient_quota": None,
            "outpatient_pool_paid_before": None,
            "class_c_amount": "0.00",
            "class_b_self_pay_amount": "100.00",
            "eligible_amount": "4900.00",
            "deductible_amount": "1300.00",
            "copay_amount": "540.00",
            "over_cap_amount": "0.00",
            "fund_share_amount": "3060.00",
        },
        "request_id": "3f1c2a7e9b",
    },
    response_only=True,
)


class ClaimFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ReimbursementClaim.Status.choices)
    route = filters.ChoiceFilter(choices=ReimbursementClaim.Route.choices)
    insured_city = filters.CharFilter(field_name="insured_city__code", help_text="City code.")

    class Meta:
        model = ReimbursementClaim
        fields = ["status", "route", "person", "insured_city"]


@extend_schema_view(
    get=extend_schema(
        summary="Reimbursement claims you may see (a person their own; operators their cities')",
        description="Claims newest first, each with its lines, receipts, payout and, once "
        "reviewed, the decision and the figures. An insured person sees their own; an operator "
        "the claims of persons insured in the cities they administer (whose agency reviews them). "
        "Filter by `status`, `route`, `person` and `insured_city`.",
        tags=["reimbursement claims"],
        examples=[_CLAIM_EXAMPLE],
    )
)
class ClaimListApi(ActorMixin, generics.ListAPIView):
    serializer_class = ClaimOutputSerializer
    filterset_class = ClaimFilter

    def get_queryset(self):
        return claim_list(visible=access.reimbursement_claims_visible(self.actor))


# --- Filing ----------------------------------------------------------------------------------


class ClaimLineInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32, help_text="Catalog code.")
    quantity = QuantitySerializerField()
    unit_price = MoneySerializerField(min_value=Decimal("0.01"))


class ClaimCategoryTotalInputSerializer(serializers.Serializer):
    catalog_class = serializers.ChoiceField(choices=CatalogItem.CatalogClass.choices)
    amount = MoneySerializerField(min_value=Decimal("0.01"))


class ClaimReceiptInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64, help_text="The receipt's (invoice's) number.")
    issued_on = serializers.DateField()
    amount = MoneySerializerField(min_value=Decimal("0.01"))


class ClaimAttachmentInputSerializer(serializers.Serializer):
    """A scanned receipt's metadata; the file itself is kept by the client."""

    file_name = serializers.CharField(max_length=255)
    content_type = serializers.ChoiceField(choices=["image/jpeg", "image/png", "application/pdf"])
    size_bytes = serializers.IntegerField(min_value=1, max_value=20 * 1024 * 1024)
    sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")


class ClaimPayoutInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=ReimbursementClaim.Payout.choices)
    bank_name = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    bank_account_holder = serializers.CharField(
        max_length=64, required=False, default="", allow_blank=True
    )
    bank_account_number = serializers.CharField(
        max_length=34, required=False, default="", allow_blank=True, help_text="8 to 34 digits."
    )


class ClaimSubmitInputSerializer(serializers.Serializer):
    institution_code = serializers.CharField(
        max_length=32,
        required=False,
        default="",
        allow_blank=True,
        help_text="An institution this system knows (see /api/v1/institutions). Otherwise give "
        "`institution_name`, `care_city` and `tier` as on the receipts.",
    )
    institution_name = serializers.CharField(
        max_length=128, required=False, default="", allow_blank=True
    )
    care_city = serializers.RegexField(
        r"^\d{6}$", required=False, allow_null=True, default=None, help_text="The city's code."
    )
    tier = serializers.ChoiceField(
        choices=Tier.choices, required=False, allow_blank=True, default=""
    )
    visit_type = serializers.ChoiceField(choices=VisitType.choices)
    visit_date = serializers.DateField()
    emergency = serializers.BooleanField(
        default=False, help_text="The visit was an emergency (rescue), as its records show."
    )
    description = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True
    )
    line_items = ClaimLineInputSerializer(
        many=True, required=False, default=list, max_length=MAX_LINES
    )
    category_totals = ClaimCategoryTotalInputSerializer(
        many=True, required=False, default=list, max_length=3
    )
    receipts = ClaimReceiptInputSerializer(many=True, allow_empty=False, max_length=MAX_RECEIPTS)
    attachments = ClaimAttachmentInputSerializer(
        many=True, required=False, default=list, max_length=MAX_ATTACHMENTS
    )
    payout = ClaimPayoutInputSerializer()


_CLAIM_REQUEST = {
    "institution_code": "H310100001",
    "visit_type": "INPATIENT",
    "visit_date": "2026-11-02",
    "category_totals": [
        {"catalog_class": "A", "amount": "4000.00"},
        {"catalog_class": "B", "amount": "1000.00"},
    ],
    "receipts": [{"number": "SH-2026-0001234", "issued_on": "2026-11-09", "amount": "5000.00"}],
    "attachments": [
        {
            "file_name": "receipt-1.jpg",
            "content_type": "image/jpeg",
            "size_bytes": 183422,
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        }
    ],
    "payout": {
        "method": "BANK",
        "bank_name": "ICBC Hangzhou",
        "bank_account_holder": "Li Hua",
        "bank_account_number": "6222020200112340123",
    },
}


class ClaimCollectionApi(ClaimListApi):
    """The claim list, and filing a claim on POST."""

    @extend_schema(
        summary="File a reimbursement claim (the insured person)",
        description="For care the person paid in full: in another city without a cross-city "
        "filing (`route` CROSS_CITY), or an emergency at a non-designated institution or "
        "elsewhere without a filing (`route` EMERGENCY, under the insured city's emergency "
        "rule). Name the institution by `institution_code`, or by `institution_name`, "
        "`care_city` and `tier` as on the receipts. Give the fee lines as catalog `line_items` "
        "or as `category_totals` by class; the receipts must add up to them. Attachments are "
        "metadata only. The claim waits for the insured city's agency "
        "(`POST /api/v1/reimbursement-claims/{id}/review`). Refused: care the institution "
        "settles directly, or a non-designated institution without an emergency (422 "
        "`CLAIM_ROUTE_NOT_AVAILABLE`), an unknown institution code (422 "
        "`CLAIM_INSTITUTION_UNKNOWN`), a future visit (422 `CLAIM_VISIT_DATE_INVALID`), "
        "receipts that do not add up (422 `CLAIM_RECEIPTS_MISMATCH`), a receipt already in "
        "another live claim (409 `CLAIM_RECEIPT_ALREADY_CLAIMED`), a payout without a usable "
        "account (422 `CLAIM_PAYOUT_INVALID`), an item not in the catalog (422 "
        "`CATALOG_ITEM_UNKNOWN`). Insured persons only (403 `ROLE_NOT_ALLOWED`).",
        tags=["reimbursement claims"],
        request=ClaimSubmitInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: ClaimOutputSerializer,
            409: OpenApiResponse(description="`CLAIM_RECEIPT_ALREADY_CLAIMED`."),
            422: OpenApiResponse(
                description="`CLAIM_ROUTE_NOT_AVAILABLE`, `CLAIM_RECEIPTS_MISMATCH`, "
                "`CLAIM_PAYOUT_INVALID` and the others above."
            ),
        },
        examples=[
            OpenApiExample(
                "A stay in another city without a filing, totals by class, paid to a bank",
                value=_CLAIM_REQUEST,
                request_only=True,
            ),
            OpenApiExample(
                "An emergency at a clinic this system does not know, to the personal account",
                value={
                    "institution_name": "Xiamen Harbour Clinic",
                    "care_city": "350200",
                    "tier": "LEVEL_1",
                    "visit_type": "OUTPATIENT",
                    "visit_date": "2026-11-20",
                    "emergency": True,
                    "line_items": [
                        {"code": "XJ01CAA040A001", "quantity": "2", "unit_price": "18.50"}
                    ],
                    "receipts": [
                        {"number": "XM-77812", "issued_on": "2026-11-20", "amount": "37.00"}
                    ],
                    "payout": {"method": "PERSONAL_ACCOUNT"},
                },
                request_only=True,
            ),
            _CLAIM_EXAMPLE,
        ],
    )
    @idempotent
    def post(self, request):
        access.require_role(self.actor, User.Role.INSURED)
        if self.actor.person_id is None:
            raise DomainError(CommonErrorCode.NOT_FOUND, "No such insured person.")
        values = _validated(ClaimSubmitInputSerializer, request)
        care_city = None
        if values["care_city"]:
            care_city = City.objects.filter(code=values["care_city"]).first()
            if care_city is None:
                raise DomainError(
                    CommonErrorCode.VALIDATION_ERROR,
                    errors=[field_error("care_city", "Unknown city.")],
                )
        person = InsuredPerson.objects.select_related("city").get(pk=self.actor.person_id)
        claim = claim_submit(
            person=person,
            visit=ClaimVisit(
                visit_date=values["visit_date"],
                visit_type=values["visit_type"],
                emergency=values["emergency"],
                institution_code=values["institution_code"],
                institution_name=values["institution_name"],
                care_city=care_city,
                tier=values["tier"],
                description=values["description"],
            ),
            line_items=[LineInput(**line) for line in values["line_items"]],
            category_totals=[CategoryTotal(**total) for total in values["category_totals"]],
            receipts=[ReceiptInput(**receipt) for receipt in values["receipts"]],
            payout=ClaimPayout(**values["payout"]),
            attachments=[dict(attachment) for attachment in values["attachments"]],
            by=request.user,
            now=clock.now(),
        )
        claim = claim_list(visible=access.reimbursement_claims_visible(self.actor)).get(pk=claim.pk)
        response = Response(ClaimOutputSerializer(claim).data, status=201)
        response["Location"] = f"/api/v1/reimbursement-claims/{claim.pk}"
        return response


@extend_schema_view(
    get=extend_schema(
        summary="One reimbursement claim",
        description="The claim with its lines, receipts, payout, decision and figures, for the "
        "person who filed it or an operator of the insured city; anyone else gets 404.",
        tags=["reimbursement claims"],
        examples=[_CLAIM_EXAMPLE],
    )
)
class ClaimDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = ClaimOutputSerializer
    lookup_url_kwarg = "claim_id"

    def get_queryset(self):
        return claim_list(visible=access.reimbursement_claims_visible(self.actor))


# --- Review ----------------------------------------------------------------------------------


class ClaimReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.ALL)
    amount = MoneySerializerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="PARTLY_APPROVE only: what the fund pays, above 0 and below its share.",
    )
    reason_code = serializers.ChoiceField(
        choices=ReimbursementClaim.RejectionReason.choices,
        required=False,
        default="",
        allow_blank=True,
        help_text="REJECT: required. PARTLY_APPROVE: optional.",
    )
    reason = serializers.CharField(
        max_length=500,
        required=False,
        default="",
        allow_blank=True,
        help_text="Shown to the person. Required with REJECT and PARTLY_APPROVE.",
    )


class ClaimReviewApi(ActorMixin, APIView):
    @extend_schema(
        summary="Review a claim (an operator of the insured city): approve, partly approve or "
        "reject",
        description="APPROVE computes the fund's share by the insured city's settlement rules "
        "(class-B first share, the year's deductible, the ratio for the tier or the emergency "
        "ratio, the annual cap and outpatient quota, and the year's usage so far, which it then "
        "counts as a settlement would) and pays it at once, in the same transaction, in one "
        "balanced ledger transfer from the pool: to the person's personal account, or to the "
        "city's bank-payout clearing account for the bank account given. PARTLY_APPROVE pays "
        "`amount` instead (above 0 and below the share; 422 `CLAIM_PARTIAL_AMOUNT_INVALID` "
        "otherwise, with the share) with a `reason`. REJECT records `reason_code` and "
        "`reason`; nothing moves and the receipts may be claimed again. There is no separate "
        "payment step. A claim is reviewed once: a second review, or a reviewer who lost a race "
        "to another, gets 409 `CLAIM_ALREADY_REVIEWED`. An emergency in another city, where the "
        "insured city asks a filing to follow within N days, is approved only once one has (422 "
        "`CLAIM_FILING_NOT_FOLLOWED`). Operators of the insured city only (403 "
        "`ROLE_NOT_ALLOWED`; a claim the caller may not see: 404).",
        tags=["reimbursement claims"],
        request=ClaimReviewInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            200: ClaimOutputSerializer,
            404: OpenApiResponse(description="No such claim, or not one of your cities'."),
            409: OpenApiResponse(description="`CLAIM_ALREADY_REVIEWED`."),
            422: OpenApiResponse(
                description="`CLAIM_PARTIAL_AMOUNT_INVALID`, `CLAIM_FILING_NOT_FOLLOWED`."
            ),
        },
        examples=[
            OpenApiExample("Approve", value={"decision": "APPROVE"}, request_only=True),
            OpenApiExample(
                "Partly approve",
                value={
                    "decision": "PARTLY_APPROVE",
                    "amount": "2000.00",
                    "reason": "Two days of the stay were not medically necessary.",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Reject",
                value={
                    "decision": "REJECT",
                    "reason_code": "RECEIPTS_INVALID",
                    "reason": "The receipt numbers do not match the hospital's records.",
                },
                request_only=True,
            ),
            _CLAIM_EXAMPLE,
        ],
    )
    @idempotent
    def post(self, request, claim_id: int):
        claim = get_object_or_404(access.reimbursement_claims_visible(self.actor), pk=claim_id)
        access.require_role(self.actor, User.Role.OPERATOR)
        access.require_city(self.actor, claim.insured_city_id)
        values = _validated(ClaimReviewInputSerializer, request)
        claim = claim_review(claim=claim, by=request.user, now=clock.now(), **values)
        claim = claim_list(visible=access.reimbursement_claims_visible(self.actor)).get(pk=claim.pk)
        return Response(ClaimOutputSerializer(claim).data)


class ClaimWithdrawApi(ActorMixin, APIView):
    @extend_schema(
        summary="Withdraw a claim awaiting review (the person who filed it)",
        description="Ends the claim unreviewed; its receipts may be claimed again. A claim already "
        "reviewed or withdrawn answers 409 `CLAIM_ALREADY_REVIEWED`; another person's: 404.",
        tags=["reimbursement claims"],
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: ClaimOutputSerializer, 409: OpenApiResponse(description="Reviewed.")},
    )
    @idempotent
    def post(self, request, claim_id: int):
        claim = get_object_or_404(access.reimbursement_claims_visible(self.actor), pk=claim_id)
        access.require_role(self.actor, User.Role.INSURED)
        claim = claim_withdraw(claim=claim, by=request.user)
        claim = claim_list(visible=access.reimbursement_claims_visible(self.actor)).get(pk=claim.pk)
        return Response(ClaimOutputSerializer(claim).data)
