from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from api.base import (
    IDEMPOTENCY_KEY_PARAMETER,
    PRESENTED_CREDENTIAL_PARAMETER,
    ActorMixin,
    operated_city,
)
from api.idempotency import idempotent
from common.money import MoneySerializerField
from persons.models import InsuredPerson
from persons.services import person_login_create
from provisioning.services import person_enrol


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


@extend_schema_view(
    get=extend_schema(
        summary="Insured persons you may see",
        description="An insured person sees themselves; an institution terminal the person whose "
        "card or e-voucher it presents (403 `CREDENTIAL_REQUIRED` without one, "
        "`CREDENTIAL_INVALID` for one that identifies nobody); an operator the persons of the "
        "cities they administer; a superuser everyone. Filter by `city`, `scheme`, "
        "`employment_status`, `subsidy_category`, `resident_id` or part of the `name`.",
        tags=["persons"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class PersonListApi(ActorMixin, generics.ListAPIView):
    serializer_class = PersonOutputSerializer
    filterset_class = PersonFilter

    def get_queryset(self):
        return (
            access.persons_visible(self.actor, self.request).select_related("city").order_by("id")
        )


@extend_schema_view(
    get=extend_schema(
        summary="One insured person",
        description="The person's identity, city, scheme, employment status, subsidy category, "
        "declared wage and enrolment date, for a caller who may see them (see the person list); "
        "anyone else gets 404, never 403, so ids reveal nothing.",
        tags=["persons"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class PersonDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = PersonOutputSerializer
    lookup_url_kwarg = "person_id"

    def get_queryset(self):
        return access.persons_visible(self.actor, self.request).select_related("city")


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
    """The person list, and enrolment on POST."""

    @extend_schema(
        summary="Enrol an insured person (operators of the city)",
        description="Creates the person, their e-voucher (not activated) and, for employees and for "
        "residents where resident accounts still exist, a personal account at 0.00. Operators "
        "of the city and superusers only (403 `CITY_NOT_ADMINISTERED`). Refused: an invalid "
        "resident ID number (400 `RESIDENT_ID_INVALID`), fields that do not fit the scheme (400 "
        "`SCHEME_FIELDS_INVALID`: an employee needs an employment status and no subsidy "
        "category, a resident has no employment status or declared wage), a subsidy category the "
        "resident does not qualify for by age on the day (422 `SUBSIDY_CATEGORY_NOT_QUALIFIED`: "
        "`LOW_INCOME_ELDERLY` needs 60 or more, `LOW_INCOME_MINOR` under 18, `DISABLED` working "
        "age, 16 or more; `MINIMUM_LIVING` any age), a resident ID already enrolled (409 "
        "`ALREADY_ENROLLED`).",
        tags=["persons"],
        request=PersonEnrolInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: PersonOutputSerializer},
        examples=[
            OpenApiExample(
                "An active employee",
                value={
                    "resident_id": "330106198803141234",
                    "name": "王芳",
                    "city": "330100",
                    "scheme": "EMPLOYEE",
                    "employment_status": "ACTIVE",
                    "declared_wage": "9800.00",
                },
                request_only=True,
            ),
            OpenApiExample(
                "A resident on the minimum living guarantee",
                value={
                    "resident_id": "330106201605203128",
                    "name": "李娜",
                    "city": "330100",
                    "scheme": "RESIDENT",
                    "subsidy_category": "MINIMUM_LIVING",
                },
                request_only=True,
            ),
        ],
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
        description="Creates the username and password the person logs in with to query their "
        "own balance online. Operators of the person's city and superusers only (403 "
        "`CITY_NOT_ADMINISTERED`; a person the caller may not see 404). Refused: the person "
        "already has a login (409 `LOGIN_EXISTS`), the username is taken (409 "
        "`USERNAME_TAKEN`), a password under 10 characters (400 `VALIDATION_ERROR`).",
        tags=["persons"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OutputSerializer},
        examples=[
            OpenApiExample(
                "A login",
                value={"username": "wang.fang", "password": "correct-horse-42"},
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request, person_id: int):
        person = get_object_or_404(access.persons_visible(self.actor, request), pk=person_id)
        access.require_city(self.actor, person.city_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = person_login_create(person=person, **data.validated_data)
        return Response({"person_id": person.id, "username": user.username}, status=201)
