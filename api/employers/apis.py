"""Employers (Social Insurance Law art. 4): registering one, its employees, how it pays at the
monthly collection, and paying its arrears. Operators of the employer's city."""

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from accounts.employer_payments import (
    EmployerState,
    employer_arrears_pay,
    employer_state,
    employers_with_state,
)
from api.base import IDEMPOTENCY_KEY_PARAMETER, ActorMixin, operated_city
from api.idempotency import idempotent
from common import clock
from common.money import MoneySerializerField
from employers.models import Employer
from employers.services import (
    employer_employee_add,
    employer_payment_mode_set,
    employer_register,
)

_OPERATORS = (
    " Operators of the employer's city and superusers only (403 `CITY_NOT_ADMINISTERED`); an "
    "employer they cannot see answers 404."
)
_EXAMPLE = {
    "id": 3,
    "name": "Hangzhou Westlake Trading Co., Ltd.",
    "credit_code": "91330100MA2H0001XF",
    "city": "330100",
    "payment_mode": "NOT_PAYING",
    "paid_base_ratio": None,
    "state": "IN_ARREARS",
    "employees_count": 2,
    "arrears_since": "2026-09-01",
    "arrears_months": 4,
    "arrears_amount": "8000.00",
}


class EmployerStateField(serializers.ChoiceField):
    """The employer's state, worked out from the row ``employers_with_state`` annotates."""

    def to_representation(self, employer) -> str:
        return employer_state(employer)


class EmployerOutputSerializer(serializers.ModelSerializer):
    city = serializers.CharField(source="city.code")
    paid_base_ratio = serializers.DecimalField(
        max_digits=3, decimal_places=2, coerce_to_string=True, allow_null=True
    )
    state = EmployerStateField(
        source="*",
        choices=[EmployerState.PAYING, EmployerState.IN_ARREARS, EmployerState.UNDERPAYING],
        help_text="`PAYING`; `IN_ARREARS` while any employee's month is unpaid (from "
        "`arrears_since`); `UNDERPAYING` while it pays on a base below the declared wages.",
    )
    employees_count = serializers.IntegerField()
    arrears_since = serializers.DateField(
        allow_null=True, help_text="The first unpaid month, or null."
    )
    arrears_months = serializers.IntegerField(help_text="Unpaid employee-months.")
    arrears_amount = MoneySerializerField(
        help_text="What the unpaid months owe (employer and individual shares)."
    )

    class Meta:
        model = Employer
        fields = [
            "id",
            "name",
            "credit_code",
            "city",
            "payment_mode",
            "paid_base_ratio",
            "state",
            "employees_count",
            "arrears_since",
            "arrears_months",
            "arrears_amount",
        ]


def _employer_response(employer_id: int, status: int) -> Response:
    employer = employers_with_state(Employer.objects.filter(pk=employer_id)).get()
    return Response(EmployerOutputSerializer(employer).data, status=status)


class EmployerFilter(filters.FilterSet):
    city = filters.CharFilter(field_name="city__code", help_text="6-digit division code")
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")
    in_arrears = filters.BooleanFilter(
        field_name="arrears_since", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Employer
        fields = ["city", "credit_code", "payment_mode", "name", "in_arrears"]


class EmployerCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    credit_code = serializers.CharField(
        max_length=18, help_text="The unified social credit code (18 characters, GB 32100-2015)."
    )
    city = serializers.RegexField(r"^\d{6}$", help_text="6-digit division code")


@extend_schema_view(
    get=extend_schema(
        summary="Employers of the cities you administer, with their payment state",
        description="Each employer with its unified social credit code, city, payment mode, "
        "state (`PAYING`, `IN_ARREARS`, `UNDERPAYING`), employees and what its unpaid months "
        "owe. Operators see their cities' employers, a superuser all, other roles an empty list. "
        "Filter by `city`, `credit_code`, `payment_mode`, `in_arrears` or part of the `name`.",
        tags=["employers"],
        examples=[
            OpenApiExample(
                "An employer in arrears",
                value=_EXAMPLE,
                response_only=True,
            )
        ],
    )
)
class EmployerCollectionApi(ActorMixin, generics.ListAPIView):
    serializer_class = EmployerOutputSerializer
    filterset_class = EmployerFilter

    def get_queryset(self):
        return employers_with_state(
            access.city_owned_visible(self.actor, Employer.objects.all())
        ).order_by("id")

    @extend_schema(
        summary="Register an employer (operators of its city)",
        description="Its name, unified social credit code (18 characters; the check character is "
        "verified, 400 `CREDIT_CODE_INVALID` otherwise) and city. Registering the same code with "
        "the same name and city again answers the same employer; another employer with that code "
        "is 409 `CREDIT_CODE_TAKEN`. A new employer pays on its employees' declared wages."
        " Operators of the city only (403 `CITY_NOT_ADMINISTERED`; an unknown city 404).",
        tags=["employers"],
        request=EmployerCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: EmployerOutputSerializer},
        examples=[
            OpenApiExample(
                "A company in Hangzhou",
                value={
                    "name": "Hangzhou Westlake Trading Co., Ltd.",
                    "credit_code": "91330100MA2H0001XF",
                    "city": "330100",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Registered",
                value=_EXAMPLE
                | {
                    "payment_mode": "PAYING",
                    "state": "PAYING",
                    "employees_count": 0,
                    "arrears_since": None,
                    "arrears_months": 0,
                    "arrears_amount": "0.00",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def post(self, request):
        data = EmployerCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        city = operated_city(self.actor, data.validated_data["city"])
        employer = employer_register(
            name=data.validated_data["name"],
            credit_code=data.validated_data["credit_code"],
            city=city,
            by=request.user,
        )
        return _employer_response(employer.id, 201)


@extend_schema_view(
    get=extend_schema(
        summary="One employer, with its payment state",
        description="As in the list. Operators of the employer's city and superusers; anyone "
        "else gets 404.",
        tags=["employers"],
        examples=[OpenApiExample("An employer in arrears", value=_EXAMPLE, response_only=True)],
    )
)
class EmployerDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = EmployerOutputSerializer
    lookup_url_kwarg = "employer_id"

    def get_queryset(self):
        return employers_with_state(access.city_owned_visible(self.actor, Employer.objects.all()))


def _operated_employer(view, employer_id: int) -> Employer:
    employer = get_object_or_404(
        access.city_owned_visible(view.actor, Employer.objects.all()), pk=employer_id
    )
    access.require_city(view.actor, employer.city_id)
    return employer


class EmployerEmployeeAddApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        person = serializers.IntegerField(min_value=1)
        started_on = serializers.DateField()

    @extend_schema(
        summary="Take on an employee (operators of the employer's city)",
        description="The person, an active employee insured in the employer's city (422 "
        "`EMPLOYEE_NOT_ELIGIBLE` otherwise), is from now on paid for by this employer at each "
        "month's collection; a person who had another employer moves. Asking again changes "
        "nothing. A person the caller cannot see answers 404." + _OPERATORS,
        tags=["employers"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: EmployerOutputSerializer},
        examples=[
            OpenApiExample(
                "From September", value={"person": 9, "started_on": "2026-09-01"}, request_only=True
            ),
            OpenApiExample("The employer", value=_EXAMPLE, response_only=True),
        ],
    )
    @idempotent
    def post(self, request, employer_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        employer = _operated_employer(self, employer_id)
        person = get_object_or_404(
            access.persons_visible(self.actor, request), pk=data.validated_data["person"]
        )
        employer_employee_add(
            employer=employer, person=person, started_on=data.validated_data["started_on"]
        )
        return _employer_response(employer.id, 200)


class EmployerPaymentModeApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        payment_mode = serializers.ChoiceField(choices=Employer.PaymentMode.choices)
        paid_base_ratio = serializers.DecimalField(
            max_digits=3,
            decimal_places=2,
            required=False,
            allow_null=True,
            min_value=0,
            max_value=1,
            help_text="`UNDERPAYING` only: the share of each declared wage it pays on, 0.01 to "
            "0.99.",
        )

    @extend_schema(
        summary="Set how an employer pays at the monthly collection (operators of its city)",
        description="What the employer does at the next collections: `PAYING` on its employees' "
        "declared wages; `NOT_PAYING`, so each employee's month is recorded unpaid (an arrear: "
        "nothing is received, nothing credited); `UNDERPAYING` on `paid_base_ratio` of each "
        "declared wage (clamped to the city's bounds), so the months show a base used below the "
        "base due and the personal account is credited on the base used. A mode that does not "
        "fit its ratio is 400 `PAYMENT_MODE_INVALID`. Months already collected keep what they "
        "were." + _OPERATORS,
        tags=["employers"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: EmployerOutputSerializer},
        examples=[
            OpenApiExample("Stops paying", value={"payment_mode": "NOT_PAYING"}, request_only=True),
            OpenApiExample(
                "Pays on 60 % of the wages",
                value={"payment_mode": "UNDERPAYING", "paid_base_ratio": "0.60"},
                request_only=True,
            ),
            OpenApiExample("The employer", value=_EXAMPLE, response_only=True),
        ],
    )
    @idempotent
    def post(self, request, employer_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        employer = _operated_employer(self, employer_id)
        employer_payment_mode_set(
            employer=employer,
            mode=data.validated_data["payment_mode"],
            paid_base_ratio=data.validated_data.get("paid_base_ratio"),
            by=request.user,
        )
        return _employer_response(employer.id, 200)


class ArrearsPaymentOutputSerializer(serializers.Serializer):
    employer = EmployerOutputSerializer()
    months = serializers.IntegerField(help_text="Employee-months paid.")
    persons = serializers.IntegerField()
    amount = MoneySerializerField(help_text="Employer and individual shares paid.")


class EmployerArrearsPaymentApi(ActorMixin, APIView):
    @extend_schema(
        summary="The employer pays its arrears (operators of its city)",
        description="Every unpaid month of its employees is received on its base due, as one "
        "contribution each, and the employer pays again from now on (`PAYING`). The personal "
        "accounts are credited the shares those months missed at the next crediting run, or "
        "at once by running this month's crediting again (`POST /api/v1/crediting-runs`); each "
        "month is credited once however often either runs. Nothing owed: 409 `NO_ARREARS`, so "
        "a retry never pays twice." + _OPERATORS,
        tags=["employers"],
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: ArrearsPaymentOutputSerializer},
        examples=[
            OpenApiExample(
                "Four months of two employees",
                value={
                    "employer": _EXAMPLE
                    | {
                        "payment_mode": "PAYING",
                        "state": "PAYING",
                        "arrears_since": None,
                        "arrears_months": 0,
                        "arrears_amount": "0.00",
                    },
                    "months": 4,
                    "persons": 2,
                    "amount": "8000.00",
                },
                response_only=True,
                status_codes=["201"],
            )
        ],
    )
    @idempotent
    def post(self, request, employer_id: int):
        employer = _operated_employer(self, employer_id)
        paid = employer_arrears_pay(employer=employer, today=clock.today(), by=request.user)
        refreshed = employers_with_state(Employer.objects.filter(pk=employer.id)).get()
        return Response(
            ArrearsPaymentOutputSerializer(
                {
                    "employer": refreshed,
                    "months": paid.months,
                    "persons": paid.persons,
                    "amount": paid.amount,
                }
            ).data,
            status=201,
        )
