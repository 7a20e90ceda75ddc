"""The event log, as each caller may see it (``access.events_visible``)."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers

import access
from api.base import ActorMixin
from common.pagination import NewestFirstCursorPagination
from events.models import Event, EventType


class EventObjectSerializer(serializers.Serializer):
    type = serializers.CharField(help_text=_("The kind of object the event is about."))
    id = serializers.CharField(help_text=_("The object's id (a city's code for a city)."))


class EventOutputSerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="public_id", help_text=_("Stable; the webhook-id of its deliveries.")
    )
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField(
        help_text=_("When it happened on the domain's (simulated) clock.")
    )
    created_at = serializers.DateTimeField(help_text=_("When it was recorded, in real time."))
    object = serializers.SerializerMethodField()
    city = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    person_id = serializers.IntegerField(allow_null=True)
    institution_id = serializers.IntegerField(allow_null=True)
    data = serializers.JSONField(
        help_text=_(
            "A small snapshot of the object; for a change, `before` and `after`. For "
            "person.balance.changed, per channel whose answer changed, its summary before and "
            "after (`visible`, `primary_reason`, `reasons`)."
        )
    )
    request_id = serializers.CharField(help_text=_("The request that caused it, if any."))
    idempotency_key = serializers.CharField(
        help_text=_("The Idempotency-Key of that request, if it sent one.")
    )
    is_test = serializers.BooleanField(help_text=_("Triggered by the sandbox as a test."))

    class Meta:
        model = Event
        fields = [
            "id",
            "type",
            "occurred_at",
            "created_at",
            "object",
            "city",
            "person_id",
            "institution_id",
            "data",
            "request_id",
            "idempotency_key",
            "is_test",
        ]

    @extend_schema_field(EventObjectSerializer)
    def get_object(self, event: Event) -> dict:
        return {"type": event.object_type, "id": event.object_id}


class EventFilter(filters.FilterSet):
    type = filters.MultipleChoiceFilter(
        choices=EventType.choices,
        distinct=False,  # no join repeats an event; DISTINCT would compare every column
        help_text=_("Events of this type; repeat the parameter for several (any of them)."),
    )
    object_type = filters.CharFilter()
    object_id = filters.CharFilter()
    request_id = filters.CharFilter(
        help_text=_("Events recorded by this request (its X-Request-ID), such as a clock advance.")
    )
    after = filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        help_text=_("Events that occurred at or after this time (ISO 8601)."),
    )
    before = filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lt",
        help_text=_("Events that occurred before this time (ISO 8601)."),
    )

    class Meta:
        model = Event
        fields = ["type", "object_type", "object_id", "request_id", "after", "before"]


_BALANCE_EVENT_EXAMPLE = OpenApiExample(
    "A card activated at the counter: the balance now shows at institutions",
    value={
        "id": "evt_3f9a1c2e7b5d4e0f8a6b2c9d1e3f5a7b",
        "type": "person.balance.changed",
        "occurred_at": "2026-11-03T09:30:00+08:00",
        "created_at": "2026-11-03T09:30:00.412+08:00",
        "object": {"type": "person", "id": "1042"},
        "city": "330100",
        "person_id": 1042,
        "institution_id": None,
        "data": {
            "cause": "card.activate",
            "exact": True,
            "channels": {
                "INSTITUTION": {
                    "before": {
                        "visible": False,
                        "primary_reason": "CARD_NOT_ACTIVATED",
                        "reasons": ["CARD_NOT_ACTIVATED"],
                    },
                    "after": {"visible": True, "primary_reason": None, "reasons": []},
                }
            },
        },
        "request_id": "6f1d2c3b-8a9e-4b7c-9d0e-1f2a3b4c5d6e",
        "idempotency_key": "activate-card-1042",
        "is_test": False,
    },
    response_only=True,
)
_SETTLEMENT_EVENT_EXAMPLE = OpenApiExample(
    "A settlement made at a hospital",
    value={
        "id": "evt_0b7e2d9c4a6f4c1e9f3a5b7d2c8e6a4f",
        "type": "settlement.created",
        "occurred_at": "2026-11-03T10:05:00+08:00",
        "created_at": "2026-11-03T10:05:00.088+08:00",
        "object": {"type": "settlement", "id": "501"},
        "city": "330100",
        "person_id": 1042,
        "institution_id": 7,
        "data": {
            "status": "SETTLED",
            "visit_type": "OUTPATIENT",
            "visit_reference": "OP-20261103-0042",
            "total_amount": "386.00",
            "pool_amount": "201.60",
            "personal_account_amount": "184.40",
            "cash_amount": "0.00",
        },
        "request_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "idempotency_key": "",
        "is_test": False,
    },
    response_only=True,
)


@extend_schema_view(
    get=extend_schema(
        summary="Events you may see, newest first",
        description="Every change the platform reports: a balance answer that changed on a "
        "channel, card and e-voucher changes, contributions, creditings and crediting runs, "
        "uploads, settlements and their reversals, filings, family authorisations and city "
        "switches. A person sees their own; an institution the events of its own settlements and, "
        "while it presents a card or e-voucher (X-Presented-Credential), that person's; "
        "an operator those of the cities they administer; a superuser all. Follow `next` for "
        "older events (the cursor stays stable while new events arrive). Filter by `type`, "
        "`object_type`, `object_id` and `request_id`, and by when they occurred (`after`, `before`, on the "
        "domain's clock). Events are kept for EVENTS_RETENTION_DAYS days (30 by default).",
        tags=["events"],
        examples=[_BALANCE_EVENT_EXAMPLE, _SETTLEMENT_EVENT_EXAMPLE],
    )
)
class EventListApi(ActorMixin, generics.ListAPIView):
    serializer_class = EventOutputSerializer
    pagination_class = NewestFirstCursorPagination
    filterset_class = EventFilter

    def get_queryset(self):
        return access.events_visible(self.actor, self.request).select_related("city")


@extend_schema_view(
    get=extend_schema(
        summary="One event",
        description="The event with this id (`evt_...`), if the caller may see it; otherwise 404, "
        "as for an event that does not exist or is past the retention window.",
        tags=["events"],
        examples=[_BALANCE_EVENT_EXAMPLE],
        responses={
            200: EventOutputSerializer,
            404: OpenApiResponse(description="No such event, or not visible to the caller."),
        },
    )
)
class EventDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = EventOutputSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "event_id"

    def get_queryset(self):
        return access.events_visible(self.actor, self.request).select_related("city")
