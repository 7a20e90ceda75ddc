"""The monthly clearing between cities: its runs and the statement of each city pair and month."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response

import access
from api.base import ActorMixin
from api.idempotency import idempotent
from api.jobs import RecordedJobOutputSerializer
from common import clock
from common.errors import DomainError
from common.money import MoneySerializerField
from jobs.services import job_enqueue
from settlement.clearing import clearing_run_open
from settlement.models import ClearingRun, ClearingStatement
from users.error_codes import UserErrorCode

STATEMENT_CITY_PATHS = ("city_a_id", "city_b_id")


class ClearingStatementOutputSerializer(serializers.ModelSerializer):
    city_a = serializers.CharField(source="city_a.code")
    city_b = serializers.CharField(source="city_b.code")
    a_to_b_settled_amount = MoneySerializerField()
    a_to_b_reversed_amount = MoneySerializerField()
    b_to_a_settled_amount = MoneySerializerField()
    b_to_a_reversed_amount = MoneySerializerField()
    a_owes = MoneySerializerField(help_text="A's settled less reversed: what A owes B.")
    b_owes = MoneySerializerField(help_text="B's settled less reversed: what B owes A.")
    net_amount = MoneySerializerField(help_text="What A pays B, net (negative: B pays A).")

    class Meta:
        model = ClearingStatement
        fields = [
            "id",
            "period",
            "city_a",
            "city_b",
            "a_to_b_settled_count",
            "a_to_b_settled_amount",
            "a_to_b_reversed_count",
            "a_to_b_reversed_amount",
            "b_to_a_settled_count",
            "b_to_a_settled_amount",
            "b_to_a_reversed_count",
            "b_to_a_reversed_amount",
            "a_owes",
            "b_owes",
            "net_amount",
            "transfer_a",
            "transfer_b",
            "netted_at",
            "run",
        ]


_STATEMENT_EXAMPLE = OpenApiExample(
    "November between two cities",
    value={
        "id": 12,
        "period": "2026-11-01",
        "city_a": "330100",
        "city_b": "350700",
        "a_to_b_settled_count": 41,
        "a_to_b_settled_amount": "52310.40",
        "a_to_b_reversed_count": 1,
        "a_to_b_reversed_amount": "310.00",
        "b_to_a_settled_count": 12,
        "b_to_a_settled_amount": "9800.00",
        "b_to_a_reversed_count": 0,
        "b_to_a_reversed_amount": "0.00",
        "a_owes": "52000.40",
        "b_owes": "9800.00",
        "net_amount": "42200.40",
        "transfer_a": 90211,
        "transfer_b": 90212,
        "netted_at": "2026-12-01T02:00:11+08:00",
        "run": 3,
    },
    response_only=True,
)

_STATEMENTS_DESCRIPTION = (
    "One statement per city pair and month: each direction's settlements of care in the other "
    "city and their reversals (a reversal after its month was cleared counts in the month it was "
    "reversed, as a negative item), what each city owes the other, and the net. Each city's "
    "netting transfer is posted inside that city (its clearing payable and receivable against its "
    "cross-city settlement account); no transfer moves money between two cities' accounts. An "
    "operator sees the statements involving the cities they administer, a superuser all; other "
    "roles see an empty list."
)


@extend_schema_view(
    get=extend_schema(
        summary="Cross-city clearing statements (operators of either city)",
        description=_STATEMENTS_DESCRIPTION + " Filter by `period` (first of the month).",
        tags=["clearing"],
        examples=[_STATEMENT_EXAMPLE],
    )
)
class ClearingStatementListApi(ActorMixin, generics.ListAPIView):
    serializer_class = ClearingStatementOutputSerializer
    filterset_fields = ["period"]

    def get_queryset(self):
        return access.city_rows_visible(
            self.actor,
            ClearingStatement.objects.select_related("city_a", "city_b"),
            STATEMENT_CITY_PATHS,
        ).order_by("-period", "city_a_id", "city_b_id")


@extend_schema_view(
    get=extend_schema(
        summary="One cross-city clearing statement",
        description=_STATEMENTS_DESCRIPTION + " A statement the caller may not see answers 404.",
        tags=["clearing"],
        examples=[_STATEMENT_EXAMPLE],
    )
)
class ClearingStatementDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = ClearingStatementOutputSerializer
    lookup_url_kwarg = "statement_id"

    def get_queryset(self):
        return access.city_rows_visible(
            self.actor,
            ClearingStatement.objects.select_related("city_a", "city_b"),
            STATEMENT_CITY_PATHS,
        )


class ClearingRunOutputSerializer(RecordedJobOutputSerializer):
    city = None
    period = serializers.DateField()
    statements_count = serializers.IntegerField()
    settlements_count = serializers.IntegerField()
    reversals_count = serializers.IntegerField()


class ClearingRunInputSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="Any day of the month; the month is what counts.")


def _runs_visible(actor):
    # The clearing of every city pair at once: operators may follow it, only a superuser starts it.
    return ClearingRun.objects.all() if actor.is_operator else ClearingRun.objects.none()


@extend_schema_view(
    get=extend_schema(
        summary="Monthly cross-city clearing runs",
        description="One run per month clears every city pair (see the clearing statements), "
        "newest first, with status and progress. Operators and superusers; other roles see an "
        "empty list. Filter by `status` and `period`.",
        tags=["clearing"],
    )
)
class ClearingRunCollectionApi(ActorMixin, generics.ListAPIView):
    serializer_class = ClearingRunOutputSerializer
    filterset_fields = ["status", "period"]

    def get_queryset(self):
        return _runs_visible(self.actor).order_by("-period")

    @extend_schema(
        summary="Start (or re-run) the clearing of a month that has ended (superusers)",
        description="Clears every city pair's cross-city settlements and reversals not cleared "
        "before, exactly once, and posts each city's netting transfer inside it. Answers 202 at "
        "once; the run goes on a worker and its progress is on the row. A month has one run: "
        "asking again answers the same run, and runs it again only if it has not finished "
        "(a finished clearing is final; what it could not see goes to the next month's). "
        "Superusers only (403 `ROLE_NOT_ALLOWED`). A month that has not ended: 422 "
        "`CLEARING_PERIOD_NOT_ENDED`.",
        tags=["clearing"],
        request=ClearingRunInputSerializer,
        responses={202: ClearingRunOutputSerializer},
        examples=[OpenApiExample("November", value={"period": "2026-11-01"}, request_only=True)],
    )
    @idempotent
    def post(self, request):
        if not access.national_editable(self.actor):
            raise DomainError(UserErrorCode.ROLE_NOT_ALLOWED)
        data = ClearingRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run, _ = clearing_run_open(
            period=data.validated_data["period"], by=request.user, today=clock.today()
        )
        job_enqueue(run)
        return Response(ClearingRunOutputSerializer(run).data, status=202)


@extend_schema_view(
    get=extend_schema(
        summary="One monthly clearing run, with its progress",
        description="The run's status, settlements done of total, its counts and any error. "
        "Operators and superusers; any other caller gets 404.",
        tags=["clearing"],
    )
)
class ClearingRunDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = ClearingRunOutputSerializer
    lookup_url_kwarg = "job_id"

    def get_queryset(self):
        return _runs_visible(self.actor)
