from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response

import access
from api.base import ActorMixin, operated_city
from cities.models import City
from common import clock
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
