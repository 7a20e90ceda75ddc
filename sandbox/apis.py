import re
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from accounts.reasons import REASON_CHOICES
from api.base import IDEMPOTENCY_KEY_PARAMETER, ActorMixin
from api.idempotency import idempotent
from api.persons.apis import PersonOutputSerializer
from cards.models import EVoucher, SocialSecurityCard
from common import clock
from common.errors import CommonErrorCode, DomainError, field_error
from persons.models import InsuredPerson
from sandbox.error_codes import SandboxErrorCode
from sandbox.middleware import WORLD_HEADER
from sandbox.models import SandboxWorld
from sandbox.scenarios import DEMO_PIN, GENERAL_PARAMETERS, SCENARIOS, scenario_create
from sandbox.services import MAX_ADVANCE_DAYS, clock_advance, clock_state, require_sandbox
from sandbox.world import CITY_PROFILES
from sandbox.worlds import (
    developer_create,
    world_create,
    world_current,
    world_delete,
    world_get,
    worlds_of,
)
from users.models import User
from users.throttles import LoginAddressThrottle

# How many of its events a clock advance lists; `events_url` pages through all of them.
EVENTS_SHOWN = 1000

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


WORLD_ID = re.compile(r"[1-9][0-9]{0,17}")
WORLD_PARAMETER = OpenApiParameter(
    name=WORLD_HEADER,
    type=int,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Sandbox developers: the id of the world of theirs to act in (default: their "
    "newest). Another developer's world, or none, answers 404 `WORLD_NOT_FOUND`.",
)


def caller_world(request) -> SandboxWorld | None:
    """A developer's world for this request (the header's, else their newest); None for other
    callers, who act on the shared clock and in the shared cities. A header that is not a
    world's id is refused whoever sends it, as the schema says what it holds."""
    world_id = request.headers.get(WORLD_HEADER)
    if world_id is not None and not WORLD_ID.fullmatch(world_id):
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error(WORLD_HEADER, _("Send a world's id, a whole number."))],
        )
    if getattr(request.user, "role", None) != User.Role.DEVELOPER:
        return None
    return world_current(request.user, world_id)


def caller_world_required(request) -> SandboxWorld | None:
    world = caller_world(request)
    if world is None and getattr(request.user, "role", None) == User.Role.DEVELOPER:
        raise DomainError(
            SandboxErrorCode.WORLD_NOT_FOUND,
            _("Create a world first: POST /api/v1/sandbox/worlds."),
        )
    return world


class ScenarioParametersSerializer(serializers.Serializer):
    city_profile = serializers.ChoiceField(
        required=False,
        choices=list(CITY_PROFILES),
        help_text="Any scenario: the city profile to enrol the person in instead of the "
        "scenario's own (the profile's reasons then join the scenario's).",
    )
    scheme = serializers.ChoiceField(
        required=False,
        choices=InsuredPerson.Scheme.choices,
        help_text="Any scenario: the scheme instead of the scenario's own (a resident has no "
        "employer).",
    )
    declared_wage = serializers.DecimalField(
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("1.00"),
        help_text="Any scenario with an active employee: the declared monthly wage in CNY "
        "instead of the city's average wage.",
    )
    enrolled_on = serializers.DateField(
        required=False,
        help_text="Any scenario: the day enrolled, at the latest the scenario's own (today for a "
        "new enrolee, else the first month of its history).",
    )
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
    # A serializer drops keys it does not know; a typo must not pass unnoticed.
    unknown = set(data or {}) - set(parameters.fields) if hasattr(data, "keys") else set()
    parameters.is_valid(raise_exception=True)
    chosen = parameters.validated_data
    foreign = sorted((set(chosen) - set(scenario.parameters) - set(GENERAL_PARAMETERS)) | unknown)
    if foreign:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            _("%(scenario_code)s takes no %(join)s.")
            % {"scenario_code": scenario.code, "join": ", ".join(foreign)},
            errors=[
                field_error(
                    name,
                    _("No scenario takes it.")
                    if name in unknown
                    else _("This scenario does not take it."),
                )
                for name in foreign
            ],
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
        "`card_ready_working_day`) and, for any scenario, `city_profile`, `scheme`, "
        "`declared_wage` and `enrolled_on`; any other is 400 `VALIDATION_ERROR`. A sandbox "
        "developer's person is created in their world (`X-Sandbox-World`, else their newest; "
        "with none, 404 `WORLD_NOT_FOUND`), in that world's city of the profile, on its "
        "clock." + _SANDBOX_NOTE,
        tags=["sandbox"],
        request=ScenarioParametersSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, WORLD_PARAMETER],
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
            OpenApiExample(
                "A well-paid employee enrolled in spring, in Xiamen's small platform",
                value={
                    "city_profile": "small_platform",
                    "declared_wage": "25000.00",
                    "enrolled_on": "2026-03-01",
                },
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
        world = caller_world_required(request)
        built = scenario_create(code, by=request.user, parameters=parameters, world=world)
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
        "caller: a sandbox developer sees their world's clock (`X-Sandbox-World`, else their "
        "newest), a person or terminal of a world that world's, everyone else the shared clock "
        "(the demo world's)." + _SANDBOX_NOTE,
        tags=["sandbox"],
        parameters=[WORLD_PARAMETER],
        responses=ClockSerializer,
    )
    def get(self, request):
        require_sandbox()
        caller_world(request)  # a malformed X-Sandbox-World is refused, whoever sends it
        return Response(ClockSerializer(clock_state(clock.current_clock_id())).data)


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
        world = serializers.IntegerField(
            allow_null=True, help_text="The world whose clock moved; null: the shared clock."
        )
        events = serializers.ListField(
            child=serializers.DictField(),
            help_text="The events this advance caused (recorded under its request id), oldest "
            f"first: at most the first {EVENTS_SHOWN}; `events_truncated` says when there were "
            "more, and `events_url` lists them all.",
        )
        events_total = serializers.IntegerField(
            help_text="How many events this advance caused, all told."
        )
        events_truncated = serializers.BooleanField(
            help_text=f"True when it caused more than the {EVENTS_SHOWN} listed in `events`."
        )
        events_url = serializers.CharField(
            allow_null=True,
            help_text="`GET /api/v1/events` filtered by this request's id: every event it caused, "
            "newest first, page by page.",
        )

    @extend_schema(
        summary="Move the simulated clock forward and run whatever became due",
        description="By a step (`days`, `hours` and `minutes`, in any combination) or `to` a time. "
        "Day by day: street-point cards become ready, contributions are collected, personal "
        "accounts credited and cities upload, each on its city's schedule; a day's work runs when "
        "the clock first reaches that day, so 90 minutes from 23:00 runs the next day's work. "
        "Waits on the simulated clock (a face-authentication lock) pass with it; a query "
        "platform's busy window (PLATFORM_BUSY) is real time and does not. The response reports "
        "what ran and the events it caused. The clock never moves back. Operators and "
        "superusers move the shared clock (the demo world's); a sandbox developer moves their "
        "own world's alone (`X-Sandbox-World`, else their newest; with none, 404 "
        "`WORLD_NOT_FOUND`), and no other world nor the demo world moves." + _SANDBOX_NOTE,
        tags=["sandbox"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, WORLD_PARAMETER],
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
                                    "credited_count": 2,
                                    "credited_amount": "420.00",
                                }
                            ],
                        }
                    ],
                    "world": None,
                    "events": [
                        {
                            "id": "evt_01JD0Q7Z9K3M",
                            "type": "crediting_run.completed",
                            "object_type": "crediting_run",
                            "object_id": "12",
                        }
                    ],
                    "events_total": 1,
                    "events_truncated": False,
                    "events_url": "/api/v1/events?request_id=6f1d2c3b-8a9e-4b7c-9d0e-1f2a3b4c5d6e",
                },
                response_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request):
        require_sandbox()
        access.require_simulated_clock_movable(self.actor)
        world = caller_world_required(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clock_id = world.clock_id if world is not None else clock.SHARED_CLOCK_ID
        report = clock_advance(by=request.user, clock_id=clock_id, **data.validated_data)
        request_id = getattr(request, "request_id", "")
        events, total = events_of_request(request_id)
        output = {
            "previous": report.previous,
            "now": report.now,
            "days": report.days,
            "world": world.pk if world is not None else None,
            "events": events,
            "events_total": total,
            "events_truncated": total > len(events),
            "events_url": f"{reverse('event-list')}?{urlencode({'request_id': request_id})}"
            if request_id
            else None,
        }
        return Response(self.OutputSerializer(output).data)


def events_of_request(request_id: str) -> tuple[list[dict], int]:
    """The first ``EVENTS_SHOWN`` events recorded under this request id (the advance's own and
    its jobs'), oldest first, and how many there are in all; none before the event log is
    installed."""
    from django.apps import apps

    if not request_id or not apps.is_installed("events"):
        return [], 0
    event_model = apps.get_model("events", "Event")
    rows = event_model.objects.filter(request_id=request_id)
    total = rows.count()
    shown = [
        {
            "id": getattr(event, "public_id", None) or str(event.pk),
            "type": event.type,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "occurred_at": clock.as_iso(event.occurred_at),
            "data": event.data,
        }
        for event in rows.order_by("id")[:EVENTS_SHOWN]
    ]
    return shown, total


# --- Sandbox developers and their worlds ---------------------------------------------------


class TextRegexField(serializers.RegexField):
    """A RegexField that takes a JSON string only: DRF would read 1234 as "1234", which the schema
    (a string) refuses."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class DeveloperCreateApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginAddressThrottle]

    class InputSerializer(serializers.Serializer):
        username = TextRegexField(
            r"^[a-z0-9][a-z0-9-]{2,39}$",
            required=False,
            help_text="3 to 40 lower-case letters, digits and hyphens; default: a random one.",
        )

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        role = serializers.ChoiceField(choices=[User.Role.DEVELOPER])
        authorization = serializers.CharField(
            help_text="The exact Authorization header value, shown once."
        )

    @extend_schema(
        summary="Sign up as a sandbox developer",
        description="A new login of the DEVELOPER role and its API token, shown once. A "
        "developer creates worlds of their own (`POST /api/v1/sandbox/worlds`), each on a clock "
        "only they move, and administers their worlds' cities as an operator does. No "
        "authentication; rate limited per client address like logins. A username already taken "
        "answers 409 `CONFLICT`." + _SANDBOX_NOTE,
        tags=["sandbox"],
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            409: OpenApiResponse(description="Username taken"),
            429: OpenApiResponse(description="Too many sign-ups from this address"),
        },
        examples=[
            OpenApiExample("A chosen username", value={"username": "dev-alice"}, request_only=True)
        ],
    )
    def post(self, request):
        require_sandbox()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data.get("username")
        if username and User.objects.filter(username=username).exists():
            raise DomainError(
                CommonErrorCode.CONFLICT,
                _("The username %(username)s is taken.") % {"username": username},
                errors=[field_error("username", _("Taken."))],
            )
        user, token = developer_create(username=username)
        return Response(
            self.OutputSerializer(
                {"username": user.username, "role": user.role, "authorization": f"Token {token}"}
            ).data,
            status=201,
        )


class WorldSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    now = serializers.DateTimeField(help_text="The world's clock.")
    today = serializers.DateField()
    city_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="The world's cities (one per profile its scenarios used so far).",
    )
    persons = serializers.IntegerField(help_text="How many persons the world holds.")
    created_at = serializers.DateTimeField()


def world_output(world: SandboxWorld) -> dict:
    now = clock.now(world.clock_id)
    cities = world.clock.cities.order_by("code")
    return {
        "id": world.pk,
        "name": world.name,
        "now": now,
        "today": clock.localdate(now),
        "city_codes": list(cities.values_list("code", flat=True)),
        "persons": InsuredPerson.objects.filter(city__in=cities).count(),
        "created_at": world.created_at,
    }


def _developer(actor) -> None:
    if not actor.is_developer:
        raise DomainError(SandboxErrorCode.DEVELOPER_ONLY)


@extend_schema_view(
    get=extend_schema(
        summary="The caller's sandbox worlds",
        description="A sandbox developer's worlds, newest first. Developers only (403 "
        "`DEVELOPER_ONLY`)." + _SANDBOX_NOTE,
        tags=["sandbox"],
        responses={
            200: WorldSerializer(many=True),
            403: OpenApiResponse(description="Not a developer"),
        },
    ),
    post=extend_schema(
        summary="Create a sandbox world",
        description="An empty world of the caller's own, its clock starting at the shared "
        "clock's time. Scenario persons created next (`POST /api/v1/sandbox/scenarios/{code}`) "
        "go into it, in cities of its own; `POST /api/v1/sandbox/clock/advance` moves its clock "
        "and runs its cities' due work alone. Developers only (403 `DEVELOPER_ONLY`); 409 "
        "`WORLDS_FULL` when the sandbox has no room left." + _SANDBOX_NOTE,
        tags=["sandbox"],
        request={
            "application/json": {
                "type": "object",
                "properties": {"name": {"type": "string", "maxLength": 64}},
            }
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: WorldSerializer,
            403: OpenApiResponse(description="Not a developer"),
            409: OpenApiResponse(description="No room for another world"),
        },
        examples=[OpenApiExample("Named", value={"name": "checkout tests"}, request_only=True)],
    ),
)
class WorldListCreateApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def get(self, request):
        require_sandbox()
        _developer(self.actor)
        return Response(WorldSerializer(map(world_output, worlds_of(request.user)), many=True).data)

    @idempotent
    def post(self, request):
        require_sandbox()
        _developer(self.actor)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        world = world_create(owner=request.user, name=data.validated_data.get("name", ""))
        return Response(WorldSerializer(world_output(world)).data, status=201)


class WorldDeletedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    deleted = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rows erased, by model."
    )


@extend_schema_view(
    get=extend_schema(
        summary="One of the caller's sandbox worlds",
        description="Another developer's world, or none, answers 404 `WORLD_NOT_FOUND`."
        + _SANDBOX_NOTE,
        tags=["sandbox"],
        responses={200: WorldSerializer, 404: OpenApiResponse(description="Not the caller's")},
    ),
    delete=extend_schema(
        summary="Delete a sandbox world and everything in it",
        description="Erases, in one transaction, the world's clock, cities, persons, logins, "
        "cards, accounts and their ledger, jobs and history; nothing outside it changes. A world "
        "whose money moved to or from an account outside it answers 409 `WORLD_ENTANGLED`. "
        "Another developer's world, or none, answers 404 `WORLD_NOT_FOUND`." + _SANDBOX_NOTE,
        tags=["sandbox"],
        responses={
            200: WorldDeletedSerializer,
            404: OpenApiResponse(description="Not the caller's"),
            409: OpenApiResponse(description="Money moved across the world's border"),
        },
    ),
)
class WorldDetailApi(ActorMixin, APIView):
    def get(self, request, world_id: int):
        require_sandbox()
        _developer(self.actor)
        world = world_get(owner=request.user, world_id=world_id)
        return Response(WorldSerializer(world_output(world)).data)

    def delete(self, request, world_id: int):
        require_sandbox()
        _developer(self.actor)
        world = world_get(owner=request.user, world_id=world_id)
        erased = world_delete(world=world)
        return Response(WorldDeletedSerializer({"id": world_id, "deleted": erased}).data)
