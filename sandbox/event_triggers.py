"""Sandbox tool: trigger a test event of a chosen type for an object, delivered to the caller's
own webhook endpoints."""

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from api.base import IDEMPOTENCY_KEY_PARAMETER, ActorMixin
from api.idempotency import idempotent
from api.webhooks.apis import DeliveryOutputSerializer
from common import clock
from events.models import EventType
from sandbox.services import require_sandbox
from webhooks.models import WebhookDelivery
from webhooks.services import event_trigger
from webhooks.tasks import dispatch_after_commit


class TriggerInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EventType.values)
    object_type = serializers.CharField(max_length=64, help_text="As events name it: `card`, ...")
    object_id = serializers.CharField(max_length=64)
    data = serializers.DictField(
        required=False,
        default=dict,
        help_text="Overrides, key by key, of the newest event's `data` about the object: "
        "when that event is of the same type, only its own keys (a change's `before` and "
        "`after`, each whole).",
    )


class TriggerOutputSerializer(serializers.Serializer):
    event = serializers.CharField(help_text="The test event's id (the webhook-id).")
    deliveries = DeliveryOutputSerializer(many=True)


class EventTriggerApi(ActorMixin, APIView):
    @extend_schema(
        summary="Trigger a test event for an object (sandbox)",
        description="Records an event of the chosen type about an object you may see (one with "
        "events you may see in `GET /api/v1/events`), marked `is_test`, with the newest of those "
        "events' city, person and `data`, overridden by `data` key by key (a key that event's "
        "`data` does not have, when it is of the same type: 400 `VALIDATION_ERROR`); and "
        "delivers it to your own enabled webhook endpoints that take the type, and nobody "
        "else's. Only you (and superusers) see it in `GET /api/v1/events`. An object "
        "without such events: 404 `WEBHOOK_TRIGGER_OBJECT_NOT_FOUND`. Sandbox mode only: with "
        "it off, this answers 404 `SANDBOX_DISABLED`.",
        tags=["sandbox", "webhooks"],
        request=TriggerInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: TriggerOutputSerializer},
        examples=[
            OpenApiExample(
                "A card reported lost",
                value={
                    "type": "card.status_changed",
                    "object_type": "card",
                    "object_id": "41",
                    "data": {"before": {"status": "ACTIVE"}, "after": {"status": "LOST"}},
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        require_sandbox()
        data = TriggerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event, deliveries = event_trigger(
            owner=request.user,
            visible_events=access.events_visible(self.actor, request),
            now=clock.now(),
            sent_at=timezone.now(),
            **data.validated_data,
        )
        transaction.on_commit(lambda: dispatch_after_commit(sender=None))
        rows = (
            WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in deliveries])
            .select_related("event")
            .prefetch_related("attempts")
            .order_by("id")
        )
        body = {"event": event.public_id, "deliveries": rows}
        return Response(TriggerOutputSerializer(body).data, status=201)
