from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from accounts.reasons import REASON_CHOICES
from api.base import IDEMPOTENCY_KEY_PARAMETER, ActorMixin
from api.idempotency import idempotent
from api.persons.apis import PersonOutputSerializer
from cards.models import EVoucher, SocialSecurityCard
from common.errors import CommonErrorCode, DomainError, field_error
from sandbox.error_codes import SandboxErrorCode
from sandbox.scenarios import DEMO_PIN, SCENARIOS, scenario_create
from sandbox.services import MAX_ADVANCE_DAYS, clock_advance, clock_state, require_sandbox

_SANDBOX_NOTE = " Sandbox mode only: with it off, this answers 404 `SANDBOX_DISABLED`."


class ScenarioSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=REASON_CHOICES))
    visible = serializers.BooleanField(help_text="Whether GET /api/v1/me/balance shows a balance.")
    notices = serializers.ListField(
        child=serializers.CharField(),
        help_text="The notices beside the balance (`EMPLOYER_ARREARS`, `EMPLOYER_UNDERPAID`).",
    )
    parameters = serializers.ListField(
        child=serializers.CharField(), help_text="What a client may choose when creating it."
    )


def scenario_output(scenario) -> dict:
    return {
        "code": scenario.code,
        "title": scenario.title,
        "description": scenario.description,
        "reasons": [reason.value for reason in scenario.reasons],
        "visible": scenario.visible,
        "notices": list(scenario.notices),
        "parameters": list(scenario.parameters),
    }


class ScenarioParametersSerializer(serializers.Serializer):
    card_ready_working_day = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=3,
        help_text="A card being made at a street point (CARD_BEING_MADE, BRAND_NEW_ENROLEE): the "
        "working day after today it is ready on, within the point's three.",
    )
    arrears_months = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=12,
        help_text="EMPLOYER_ARREARS: the months up to last month the employer left unpaid.",
    )
    paid_base_ratio = serializers.DecimalField(
        required=False,
        max_digits=3,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("0.99"),
        help_text="EMPLOYER_UNDERPAID: the share of the declared wage the employer pays on.",
    )


def scenario_parameters(scenario, data) -> dict:
    """The chosen parameters, each one the scenario takes (a field error otherwise)."""
    parameters = ScenarioParametersSerializer(data=data or {})
    parameters.is_valid(raise_exception=True)
    chosen = parameters.validated_data
    foreign = sorted(set(chosen) - set(scenario.parameters))
    if foreign:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            _("%(scenario_code)s takes no %(join)s.")
            % {"scenario_code": scenario.code, "join": ", ".join(foreign)},
            errors=[field_error(name, _("This scenario does not take it.")) for name in foreign],
        )
    return dict(chosen)


class ScenarioListApi(APIView):
    @extend_schema(
        summary="The scenario catalogue: one per reason code, plus BALANCE_VISIBLE and combinations",
        description="Each entry lists the reasons its person's online balance query will give, in "
        "order, and whether the balance shows. Any authenticated caller." + _SANDBOX_NOTE,
        tags=["sandbox"],
        responses=ScenarioSerializer(many=True),
    )
    def get(self, request):
        require_sandbox()
        return Response([scenario_output(scenario) for scenario in SCENARIOS.values()])


class ScenarioCreateApi(ActorMixin, APIView):
    class OutputSerializer(serializers.Serializer):
        scenario = ScenarioSerializer()
        person = PersonOutputSerializer()
        username = serializers.CharField()
        authorization = serializers.CharField(
            help_text="The exact Authorization header value that acts as this person."
        )
        card_number = serializers.CharField(
            allow_null=True, help_text="For X-Presented-Credential: CARD <number>."
        )
        card_pin = serializers.CharField(
            allow_null=True,
            help_text="When the card is activated: the sandbox's demo PIN it was activated with, "
            "for X-Card-PIN when a settlement with the card pays from the personal account.",
        )
        evoucher_qr_codes_url = serializers.CharField(
            allow_null=True,
            help_text="When the e-voucher is activated: POST here with `authorization` (acting as "
            "the person, as their app does) for a short-lived code to present as "
            "X-Presented-Credential: EVOUCHER <code>.",
        )

    @extend_schema(
        summary="Create a fresh person in exactly a scenario's state",
        description="Builds the person through the real services (enrolment, card, e-voucher, "
        "contributions, crediting, uploads as the scenario needs) and answers with the person "
        "and an `authorization` value; `GET /api/v1/me/balance` with it gives the scenario's "
        "reasons. Any authenticated caller. An unknown scenario code answers 404 "
        "`SCENARIO_NOT_FOUND`. An optional body chooses what the scenario's `parameters` list "
        "(an employer's `arrears_months`, its `paid_base_ratio`, a street-point card's "
        "`card_ready_working_day`); any other is 400 "
        "`VALIDATION_ERROR`." + _SANDBOX_NOTE,
        tags=["sandbox"],
        request=ScenarioParametersSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=[
            OpenApiExample(
                "The card ready on the first working day (CARD_BEING_MADE)",
                value={"card_ready_working_day": 1},
                request_only=True,
            ),
            OpenApiExample(
                "Five unpaid months (EMPLOYER_ARREARS)",
                value={"arrears_months": 5},
                request_only=True,
            ),
            OpenApiExample(
                "Paid on half the wage (EMPLOYER_UNDERPAID)",
                value={"paid_base_ratio": "0.50"},
                request_only=True,
            ),
        ],
        responses={
            201: OutputSerializer,
            404: OpenApiResponse(description="Unknown scenario, or sandbox off"),
        },
    )
    @idempotent
    def post(self, request, code: str):
        require_sandbox()
        scenario = SCENARIOS.get(code)
        if scenario is None:
            raise DomainError(SandboxErrorCode.SCENARIO_NOT_FOUND)
        parameters = scenario_parameters(scenario, request.data)
        built = scenario_create(code, by=request.user, parameters=parameters)
        person = built.person
        card = SocialSecurityCard.objects.filter(person=person).order_by("-id").first()
        voucher = person.evoucher
        voucher.refresh_from_db()
        activated = voucher.status == EVoucher.Status.ACTIVATED
        return Response(
            self.OutputSerializer(
                {
                    "scenario": scenario_output(scenario),
                    "person": person,
                    "username": built.username,
                    "authorization": built.authorization,
                    "card_number": card.number if card else None,
                    "card_pin": DEMO_PIN
                    if card and card.status == SocialSecurityCard.Status.ACTIVE
                    else None,
                    "evoucher_qr_codes_url": reverse("me-evoucher-qr-codes") if activated else None,
                }
            ).data,
            status=201,
        )


class ClockSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    today = serializers.DateField()
    frozen = serializers.BooleanField(
        help_text="False until first advanced: the clock follows real time."
    )
    sandbox_mode = serializers.BooleanField()


class ClockApi(APIView):
    @extend_schema(
        summary="The simulated clock",
        description="The time every rule and job of this server goes by: `now`, `today`, and "
        "whether it is frozen (it follows real time until first advanced). Any authenticated "
        "caller." + _SANDBOX_NOTE,
        tags=["sandbox"],
        responses=ClockSerializer,
    )
    def get(self, request):
        require_sandbox()
        return Response(ClockSerializer(clock_state()).data)


_STEP_FIELDS = ("days", "hours", "minutes")


class ClockAdvanceApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        days = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ADVANCE_DAYS)
        hours = serializers.IntegerField(
            required=False, min_value=0, max_value=MAX_ADVANCE_DAYS * 24
        )
        minutes = serializers.IntegerField(
            required=False, min_value=0, max_value=MAX_ADVANCE_DAYS * 24 * 60
        )
        to = serializers.DateTimeField(
            required=False,
            help_text="Advance to this time instead (ISO 8601; without an offset, Asia/Shanghai).",
        )

        def validate(self, attrs):
            step = any(name in attrs for name in _STEP_FIELDS)
            if step == ("to" in attrs):
                raise serializers.ValidationError(
                    _("Give either a step (days, hours and/or minutes) or to.")
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        previous = serializers.DateTimeField()
        now = serializers.DateTimeField()
        days = serializers.ListField(
            child=serializers.DictField(), help_text="What ran on each day that had work."
        )

    @extend_schema(
        summary="Move the simulated clock forward and run whatever became due",
        description="By a step (`days`, `hours` and `minutes`, in any combination) or `to` a time. "
        "Day by day: street-point cards become ready, contributions are collected, personal "
        "accounts credited and cities upload, each on its city's schedule; a day's work runs when "
        "the clock first reaches that day, so 90 minutes from 23:00 runs the next day's work. "
        "Waits on the simulated clock (a face-authentication lock) pass with it; a query "
        "platform's busy window (PLATFORM_BUSY) is real time and does not. The response reports "
        "what ran. The clock never moves back. Operators and superusers only." + _SANDBOX_NOTE,
        tags=["sandbox"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=OutputSerializer,
        examples=[
            OpenApiExample("A day", value={"days": 1}, request_only=True),
            OpenApiExample(
                "Past a face-authentication lock", value={"minutes": 31}, request_only=True
            ),
            OpenApiExample(
                "Hours and minutes together", value={"hours": 1, "minutes": 30}, request_only=True
            ),
            OpenApiExample(
                "To a time", value={"to": "2026-11-25T00:30:00+08:00"}, request_only=True
            ),
            OpenApiExample(
                "What ran",
                value={
                    "previous": "2026-11-24T23:00:00+08:00",
                    "now": "2026-11-25T00:30:00+08:00",
                    "days": [
                        {
                            "day": "2026-11-25",
                            "cards_ready": 0,
                            "jobs": [
                                {
                                    "kind": "creditingrun",
                                    "id": 12,
                                    "city": "330100",
                                    "status": "SUCCEEDED",
                                    "items_done": 3,
                                    "credited_count": "2",
                                    "credited_amount": "420.00",
                                }
                            ],
                        }
                    ],
                },
                response_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request):
        require_sandbox()
        access.require_simulated_clock_movable(self.actor)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = clock_advance(by=request.user, **data.validated_data)
        return Response(self.OutputSerializer(report).data)
