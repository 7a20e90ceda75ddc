from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import (
    IDEMPOTENCY_KEY_PARAMETER,
    PRESENTED_CREDENTIAL_PARAMETER,
    ActorMixin,
    operated_city,
)
from common.idempotency import idempotent
from common.money import MoneySerializerField
from persons.models import InsuredPerson
from persons.services import person_enrol, person_login_create
from users import access


class PersonOutputSerializer(serializers.ModelSerializer):
    city = serializers.CharField(source="city.code")
    declared_wage = MoneySerializerField(allow_null=True)

    class Meta:
        model = InsuredPerson
        fields = [
            "id",
            "resident_id",
            "name",
            "sex",
            "birth_date",
            "city",
            "scheme",
            "employment_status",
            "subsidy_category",
            "declared_wage",
            "enrolled_on",
        ]


class PersonFilter(filters.FilterSet):
    city = filters.CharFilter(field_name="city__code", help_text="6-digit division code")
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = InsuredPerson
        fields = ["city", "scheme", "employment_status", "subsidy_category", "resident_id", "name"]


class PersonListApi(ActorMixin, generics.ListAPIView):
    serializer_class = PersonOutputSerializer
    filterset_class = PersonFilter

    def get_queryset(self):
        return (
            access.persons_visible(self.actor, self.request).select_related("city").order_by("id")
        )

    @extend_schema(
        summary="Insured persons you may see",
        tags=["persons"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PersonDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = PersonOutputSerializer
    lookup_url_kwarg = "person_id"

    def get_queryset(self):
        return access.persons_visible(self.actor, self.request).select_related("city")

    @extend_schema(
        summary="One insured person", tags=["persons"], parameters=[PRESENTED_CREDENTIAL_PARAMETER]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PersonEnrolInputSerializer(serializers.Serializer):
    resident_id = serializers.CharField(
        max_length=18, help_text="18-character GB 11643 resident ID number."
    )
    name = serializers.CharField(max_length=64)
    city = serializers.RegexField(r"^\d{6}$", help_text="The city's 6-digit division code.")
    scheme = serializers.ChoiceField(choices=InsuredPerson.Scheme.choices)
    employment_status = serializers.ChoiceField(
        choices=InsuredPerson.EmploymentStatus.choices, required=False, default="", allow_blank=True
    )
    subsidy_category = serializers.ChoiceField(
        choices=InsuredPerson.SubsidyCategory.choices,
        required=False,
        default=InsuredPerson.SubsidyCategory.NONE,
    )
    declared_wage = MoneySerializerField(required=False, allow_null=True, default=None, min_value=0)
    enrolled_on = serializers.DateField(required=False, help_text="Defaults to today.")


class PersonCollectionApi(PersonListApi):
    """GET lists the persons you may see; POST enrols one (operators of the city)."""

    @extend_schema(
        summary="Enrol an insured person (operators of the city)",
        description="Creates the person, their e-voucher (not activated) and, for employees and for "
        "residents where resident accounts still exist, a personal account at 0.00.",
        tags=["persons"],
        request=PersonEnrolInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: PersonOutputSerializer},
    )
    @idempotent
    def post(self, request):
        data = PersonEnrolInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        city = operated_city(self.actor, values.pop("city"))
        person = person_enrol(city=city, by=request.user, **values)
        return Response(PersonOutputSerializer(person).data, status=201)


class PersonLoginCreateApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]{3,150}$")
        password = serializers.CharField(
            min_length=10, max_length=128, style={"input_type": "password"}
        )

    class OutputSerializer(serializers.Serializer):
        person_id = serializers.IntegerField()
        username = serializers.CharField()

    @extend_schema(
        summary="Give a person their own login (the online channel); operators of the city",
        tags=["persons"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OutputSerializer},
    )
    @idempotent
    def post(self, request, person_id: int):
        person = get_object_or_404(access.persons_visible(self.actor, request), pk=person_id)
        access.require_city(self.actor, person.city_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = person_login_create(person=person, **data.validated_data)
        return Response({"person_id": person.id, "username": user.username}, status=201)
