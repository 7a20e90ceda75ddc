from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response

import access
from accounts.selectors import city_fund
from api.base import ActorMixin, operated_city
from cities.models import City
from common import clock
from common.errors import CommonErrorCode, DomainError, field_error
from common.money import MoneyField, MoneySerializerField, NonNegativeMoneySerializerField
from provisioning.switches import city_switches_change


class CityOutputSerializer(serializers.ModelSerializer):
    average_wage = MoneySerializerField()
    payment_base_min = MoneySerializerField()
    payment_base_max = MoneySerializerField()
    retiree_monthly_credit = MoneySerializerField()
    resident_individual_contribution = MoneySerializerField()
    resident_government_subsidy = MoneySerializerField()
    subsidized_individual_contribution = MoneySerializerField()
    resident_monthly_account_credit = MoneySerializerField()
    outpatient_pooling_annual_quota = MoneySerializerField()

    class Meta:
        model = City
        exclude = ["id", "created_at"]


@extend_schema_view(
    get=extend_schema(
        summary="Cities you may see, with their switches and policy figures",
        description="Each city's switches (online inquiry, public upload channel, platform "
        "capacity, upload schedule, resident-account abolition), its medical-insurance agency's "
        "name, address and phone (`agency_*`, blank where not recorded: the remedies then give the "
        "national hotline 12393) and its contribution and crediting figures, by 6-digit division "
        "code. An operator sees the cities they "
        "administer, an insured person their own city, an institution terminal its city, a "
        "superuser all. Filter by `online_inquiry_launched` and `has_public_upload_channel`.",
        tags=["cities"],
    )
)
class CityListApi(ActorMixin, generics.ListAPIView):
    serializer_class = CityOutputSerializer
    filterset_fields = ["online_inquiry_launched", "has_public_upload_channel"]

    def get_queryset(self):
        return access.cities_visible(self.actor).order_by("code")


class CitySwitchesInputSerializer(serializers.ModelSerializer):
    # Every money figure of a city is an amount or a bound, never below zero.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        MoneyField: NonNegativeMoneySerializerField,
    }

    class Meta:
        model = City
        exclude = ["id", "code", "created_at", "latest_upload"]


@extend_schema_view(
    get=extend_schema(
        summary="One city",
        description="One city's switches and figures, by its 6-digit division code, for a caller "
        "who may see it (see the city list); any other city answers 404.",
        tags=["cities"],
    )
)
class CityDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = CityOutputSerializer
    lookup_field = "code"
    lookup_url_kwarg = "city_code"

    def get_queryset(self):
        return access.cities_visible(self.actor)

    @extend_schema(
        summary="Change a city's switches or policy figures (operators of the city)",
        description="Only the fields sent change; every change is kept in the city's history. "
        "Operators of the city and superusers only (403 `CITY_NOT_ADMINISTERED`; an unknown city "
        "404). Invalid figures answer 400 `VALIDATION_ERROR` with field `errors`.",
        tags=["cities"],
        request=CitySwitchesInputSerializer(partial=True),
        responses=CityOutputSerializer,
        examples=[
            OpenApiExample(
                "Launch online inquiry",
                value={"online_inquiry_launched": True},
                request_only=True,
            ),
            OpenApiExample(
                "Switch the query platform busy",
                value={"platform_busy_forced": True},
                request_only=True,
            ),
            OpenApiExample(
                "Record the agency the remedies send people to",
                value={
                    "agency_name": "Nanping Medical Insurance Service Centre",
                    "agency_address": "Service hall, Nanping",
                    "agency_phone": "0599-12393",
                },
                request_only=True,
            ),
        ],
    )
    def patch(self, request, city_code: str):
        city = operated_city(self.actor, city_code)
        data = CitySwitchesInputSerializer(city, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        city = city_switches_change(
            city=city, now=clock.now(), by=request.user, **data.validated_data
        )
        return Response(CityOutputSerializer(city).data)


# --- A city's fund -------------------------------------------------------------------------------


class CityFundOutputSerializer(serializers.Serializer):
    city = serializers.CharField(help_text="The city's 6-digit division code.")
    pools = serializers.DictField(
        child=MoneySerializerField(),
        help_text="Each pooled fund's balance, by account kind (negative: overdrawn).",
    )
    pools_total = MoneySerializerField()
    in_deficit = serializers.BooleanField(help_text="Whether any pool is below zero.")
    deficits = serializers.DictField(
        child=MoneySerializerField(), help_text="The pools below zero, with their balance."
    )
    personal_accounts_total = MoneySerializerField()
    personal_accounts_count = serializers.IntegerField()
    awaiting_crediting = MoneySerializerField(
        help_text="Contributions' personal-account share not yet credited."
    )
    owed_to_institutions = MoneySerializerField()
    contributions_received = MoneySerializerField()
    clearing_payable = MoneySerializerField(
        help_text="Owed to other cities for care there of persons insured here, not cleared yet "
        "(negative: a reversal after the clearing, to be carried by the next one)."
    )
    clearing_receivable = MoneySerializerField(
        help_text="Paid to this city's institutions for persons insured elsewhere, not cleared yet."
    )
    settled_with_other_cities = MoneySerializerField(
        help_text="The net the monthly clearings have paid to other cities (negative: received)."
    )
    reimbursements_paid_to_banks = MoneySerializerField()


_FUND_EXAMPLE = OpenApiExample(
    "A fund with an overdrawn outpatient pool",
    value={
        "city": "350700",
        "pools": {
            "EMPLOYEE_POOL": "1250400.00",
            "RESIDENT_POOL": "380200.00",
            "OUTPATIENT_POOL": "-1520.00",
        },
        "pools_total": "1629080.00",
        "in_deficit": True,
        "deficits": {"OUTPATIENT_POOL": "-1520.00"},
        "personal_accounts_total": "402310.50",
        "personal_accounts_count": 1200,
        "awaiting_crediting": "2400.00",
        "owed_to_institutions": "83000.00",
        "contributions_received": "2100000.00",
        "clearing_payable": "12000.00",
        "clearing_receivable": "4300.00",
        "settled_with_other_cities": "56000.00",
        "reimbursements_paid_to_banks": "0.00",
    },
    response_only=True,
)


@extend_schema_view(
    get=extend_schema(
        summary="A city's fund: pools, personal accounts, clearing positions and deficits",
        description="The city's medical-insurance fund as its ledger accounts stand now: each "
        "pooled fund, the personal accounts' total, what its institutions are owed, and its "
        "cross-city clearing positions (what it owes other cities for its insured persons' care "
        "there, what it paid its institutions for persons insured elsewhere, and the net the "
        "monthly clearings settled). A pool below zero is listed in `deficits` and flags "
        "`in_deficit`: a fund can be overdrawn, and it is reported, never hidden. Operators of "
        "the city and superusers; a caller who may see the city but does not administer it: 403 "
        "`CITY_NOT_ADMINISTERED`; a city the caller may not see (another operator's) or that "
        "does not exist: 404, as `GET /api/v1/cities/{code}` answers.",
        tags=["cities"],
        responses=CityFundOutputSerializer,
        examples=[_FUND_EXAMPLE],
    )
)
class CityFundApi(ActorMixin, generics.GenericAPIView):
    serializer_class = CityFundOutputSerializer

    def get(self, request, city_code: str):
        if not access.cities_visible(self.actor).filter(code=city_code).exists():
            # As `GET /api/v1/cities/{code}` answers: a city the caller may not see is not there.
            raise DomainError(
                CommonErrorCode.NOT_FOUND,
                _("No city %(code)s.") % {"code": city_code},
                errors=[field_error("city", _("Unknown city."))],
            )
        city = operated_city(self.actor, city_code)
        fund = city_fund(city_id=city.id)
        data = {
            "city": city.code,
            **{
                name: getattr(fund, name)
                for name in CityFundOutputSerializer().fields
                if name != "city"
            },
        }
        return Response(CityFundOutputSerializer(data).data)
