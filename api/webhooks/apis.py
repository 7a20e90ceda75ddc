"""Webhook endpoints and their deliveries: each caller registers and sees only their own."""

from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from api.base import IDEMPOTENCY_KEY_PARAMETER, ActorMixin
from api.idempotency import idempotent
from common.errors import DomainError
from events.models import EventType
from webhooks.error_codes import WebhookErrorCode
from webhooks.models import ALL_EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
    event_resend,
)
from webhooks.tasks import dispatch_after_commit

TAGS = ["webhooks"]
_EVENT_TYPE_CHOICES = [ALL_EVENT_TYPES, *EventType.values]

_WHO = (
    " Institution terminals, operators and sandbox developers each see and change only the "
    "endpoints they registered; another's answers 404."
)

_ENDPOINT_EXAMPLE = {
    "id": 7,
    "url": "https://hooks.example.com/yibao",
    "description": "Balance changes for the clinic's app",
    "event_types": ["person.balance.changed", "card.status_changed"],
    "is_enabled": True,
    "disabled_reason": "",
    "disabled_at": None,
    "consecutive_failures": 0,
    "failing_since": None,
    "previous_secret_valid_until": None,
    "created_at": "2026-11-02T09:00:00+08:00",
    "updated_at": "2026-11-02T09:00:00+08:00",
}
_SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 (a documentation example)


class EndpointOutputSerializer(serializers.ModelSerializer):
    previous_secret_valid_until = serializers.SerializerMethodField(
        help_text="During a rotation: until when the previous secret still signs, beside the new."
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_enabled",
            "disabled_reason",
            "disabled_at",
            "consecutive_failures",
            "failing_since",
            "previous_secret_valid_until",
            "created_at",
            "updated_at",
        ]

    def get_previous_secret_valid_until(self, endpoint) -> str | None:
        until = endpoint.previous_secret_expires_at
        if not endpoint.previous_secret or until is None or until <= timezone.now():
            return None
        return serializers.DateTimeField().to_representation(until)


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (`whsec_<base64>`): shown in this answer only. Verify each "
        "delivery with it (Standard Webhooks)."
    )

    class Meta(EndpointOutputSerializer.Meta):
        fields = [*EndpointOutputSerializer.Meta.fields, "secret"]


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=2000,
        help_text="http or https, no credentials, no fragment; in production a public address.",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=_EVENT_TYPE_CHOICES),
        min_length=1,
        max_length=len(_EVENT_TYPE_CHOICES),
        help_text='The event types to deliver, or `["*"]` for all.',
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class EndpointUpdateInputSerializer(EndpointInputSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=_EVENT_TYPE_CHOICES),
        min_length=1,
        max_length=len(_EVENT_TYPE_CHOICES),
        required=False,
    )
    is_enabled = serializers.BooleanField(
        required=False,
        help_text="false pauses deliveries (they wait); true resumes them and clears the reason "
        "an endpoint was disabled.",
    )


def _own_endpoints(actor):
    return access.webhook_endpoints_visible(actor, WebhookEndpoint.objects.all())


def _validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    get=extend_schema(
        summary="Your webhook endpoints",
        description="The endpoints you registered, newest first, with whether each is enabled and, "
        "if not, why. Secrets are never shown here." + _WHO,
        tags=TAGS,
    )
)
class EndpointCollectionApi(ActorMixin, generics.ListAPIView):
    serializer_class = EndpointOutputSerializer

    def get_queryset(self):
        return _own_endpoints(self.actor).order_by("-id")

    @extend_schema(
        summary="Register a webhook endpoint",
        description="Events of the chosen types that you may see (the rules of `GET "
        "/api/v1/events`) are POSTed to the URL from now on, signed as the Standard Webhooks "
        "specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The answer "
        "holds the signing `secret`, **shown this once**. The URL must be http or https without "
        "credentials or fragment (400 `WEBHOOK_URL_INVALID`); in production it must resolve to "
        "public addresses only (422 `WEBHOOK_URL_NOT_ALLOWED`, `WEBHOOK_URL_UNRESOLVABLE`). "
        "An unknown type: 400. A second endpoint at the same URL: 409 `WEBHOOK_ENDPOINT_EXISTS` "
        "(a retried registration never makes a twin). Insured persons: 403 "
        "`WEBHOOK_OWNER_NOT_ALLOWED`.",
        tags=TAGS,
        request=EndpointInputSerializer,
        responses={201: EndpointWithSecretSerializer},
        examples=[
            OpenApiExample(
                "Balance and card changes",
                value={
                    "url": "https://hooks.example.com/yibao",
                    "event_types": ["person.balance.changed", "card.status_changed"],
                    "description": "Balance changes for the clinic's app",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Created, with its secret",
                value=_ENDPOINT_EXAMPLE | {"secret": _SECRET_EXAMPLE},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request):
        data = _validated(EndpointInputSerializer, request.data)
        endpoint, secret = endpoint_create(
            owner=request.user,
            url=data["url"],
            event_types=data["event_types"],
            description=data.get("description", ""),
            now=timezone.now(),
        )
        body = EndpointOutputSerializer(endpoint).data | {"secret": secret}
        return Response(body, status=201)


@extend_schema_view(
    get=extend_schema(
        summary="One of your webhook endpoints",
        description="Without its secret." + _WHO,
        tags=TAGS,
    ),
    patch=extend_schema(
        summary="Change a webhook endpoint",
        description="Any of `url`, `event_types`, `description`, `is_enabled`. Enabling an "
        "endpoint that was disabled (by you, or automatically after failing) clears the reason "
        "and its waiting deliveries resume. The URL is checked as at registration." + _WHO,
        tags=TAGS,
        request=EndpointUpdateInputSerializer,
        examples=[
            OpenApiExample("Enable again", value={"is_enabled": True}, request_only=True),
            OpenApiExample("Every event type", value={"event_types": ["*"]}, request_only=True),
        ],
    ),
    delete=extend_schema(
        summary="Delete a webhook endpoint",
        description="With its deliveries and their attempts; nothing more is sent to it." + _WHO,
        tags=TAGS,
        responses={204: None},
    ),
)
class EndpointDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = EndpointOutputSerializer
    lookup_url_kwarg = "endpoint_id"

    def get_queryset(self):
        return _own_endpoints(self.actor)

    def patch(self, request, endpoint_id: int):
        endpoint = self.get_object()
        data = _validated(EndpointUpdateInputSerializer, request.data)
        endpoint = endpoint_update(endpoint=endpoint, now=timezone.now(), **data)
        return Response(EndpointOutputSerializer(endpoint).data)

    def delete(self, request, endpoint_id: int):
        endpoint_delete(endpoint=self.get_object())
        return Response(status=204)


class EndpointSecretRotationApi(ActorMixin, APIView):
    @extend_schema(
        summary="Rotate an endpoint's signing secret",
        description="Answers the new secret, **shown this once**. For the next "
        "`WEBHOOK_SECRET_ROTATION_HOURS` (24 by default) every delivery carries two signatures, "
        "one per secret, so a receiver can switch to the new secret at its own pace. Rotating "
        "again inside that window replaces only the new secret." + _WHO,
        tags=TAGS,
        request=None,
        responses={200: EndpointWithSecretSerializer},
        examples=[
            OpenApiExample(
                "Rotated",
                value=_ENDPOINT_EXAMPLE
                | {
                    "previous_secret_valid_until": "2026-11-03T09:00:00+08:00",
                    "secret": _SECRET_EXAMPLE,
                },
                response_only=True,
            )
        ],
    )
    def post(self, request, endpoint_id: int):
        endpoint = get_object_or_404(_own_endpoints(self.actor), pk=endpoint_id)
        secret = endpoint_rotate_secret(endpoint=endpoint, now=timezone.now())
        endpoint.refresh_from_db()
        return Response(EndpointOutputSerializer(endpoint).data | {"secret": secret})


class AttemptOutputSerializer(serializers.ModelSerializer):
    error = serializers.CharField(
        source="shown_error",
        help_text="Why the attempt failed (empty when it succeeded): a network error as it came, "
        "or the receiver's answer not being 2xx.",
    )

    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "succeeded",
            "status_code",
            "response_excerpt",
            "error",
        ]


class DeliveryOutputSerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(
        source="event.public_id", help_text="The event's id: the same on every attempt."
    )
    event_type = serializers.CharField(source="event.type")
    attempts = AttemptOutputSerializer(many=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "webhook_id",
            "event_type",
            "status",
            "attempts_total",
            "round_attempts",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "attempts",
        ]


_DELIVERY_EXAMPLE = {
    "id": 4102,
    "endpoint": 7,
    "webhook_id": "evt_3f1c9a0e5b7d4c2a8e6f1b0d9c7a5e3f",
    "event_type": "card.status_changed",
    "status": "SUCCEEDED",
    "attempts_total": 2,
    "round_attempts": 2,
    "next_attempt_at": None,
    "delivered_at": "2026-11-02T09:00:06+08:00",
    "created_at": "2026-11-02T09:00:00+08:00",
    "attempts": [
        {
            "number": 1,
            "started_at": "2026-11-02T09:00:00+08:00",
            "duration_ms": 12,
            "succeeded": False,
            "status_code": 500,
            "response_excerpt": "Internal Server Error",
            "error": "the receiver did not answer 2xx",
        },
        {
            "number": 2,
            "started_at": "2026-11-02T09:00:06+08:00",
            "duration_ms": 9,
            "succeeded": True,
            "status_code": 204,
            "response_excerpt": "",
            "error": "",
        },
    ],
}


def _deliveries(actor):
    return (
        access.webhook_endpoints_visible(
            actor, WebhookDelivery.objects.all(), owner_path="endpoint__owner"
        )
        .select_related("event")
        .prefetch_related(Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number")))
    )


@extend_schema_view(
    get=extend_schema(
        summary="An endpoint's deliveries, with every attempt",
        description="Newest first: each delivery's status (`PENDING` while it is sent or waits "
        "for a retry, `SUCCEEDED`, or `FAILED` after the last retry), when its next attempt is "
        "due, and each attempt's HTTP status, duration, an excerpt of the answer and the error "
        "(a timeout, a refused or closed connection). Filter by `status`." + _WHO,
        tags=TAGS,
        examples=[OpenApiExample("Retried once", value=_DELIVERY_EXAMPLE, response_only=True)],
    )
)
class EndpointDeliveryListApi(ActorMixin, generics.ListAPIView):
    serializer_class = DeliveryOutputSerializer
    filterset_fields = ["status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = get_object_or_404(_own_endpoints(self.actor), pk=self.kwargs["endpoint_id"])
        return _deliveries(self.actor).filter(endpoint=endpoint).order_by("-id")


class DeliveryRetryApi(ActorMixin, APIView):
    @extend_schema(
        summary="Send a delivery again now",
        description="Starts a new round of retries (the same `webhook-id`, so a receiver that "
        "stores the ids it handled sees a repeat). The endpoint must be enabled (409 "
        "`WEBHOOK_ENDPOINT_DISABLED`)." + _WHO,
        tags=TAGS,
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={202: DeliveryOutputSerializer},
        examples=[
            OpenApiExample(
                "Queued",
                value=_DELIVERY_EXAMPLE
                | {"status": "PENDING", "round_attempts": 0, "delivered_at": None},
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    @idempotent
    def post(self, request, delivery_id: int):
        delivery = get_object_or_404(_deliveries(self.actor), pk=delivery_id)
        delivery_retry(delivery=delivery, now=timezone.now())
        _dispatch_soon()
        return Response(
            DeliveryOutputSerializer(_deliveries(self.actor).get(pk=delivery.pk)).data,
            status=202,
        )


class ResendInputSerializer(serializers.Serializer):
    endpoint = serializers.IntegerField(
        required=False,
        help_text="One of your endpoints (whatever types it takes); by default every enabled "
        "endpoint of yours that takes the event's type.",
    )


class EventResendApi(ActorMixin, APIView):
    @extend_schema(
        summary="Resend an event to your webhook endpoints",
        description="Delivers an event you may see (`GET /api/v1/events`) again, with the same "
        "`webhook-id`, to your enabled endpoints that take its type, or to the one named. An "
        "event you may not see: 404 `WEBHOOK_EVENT_NOT_VISIBLE`; no endpoint to send it to: 422 "
        "`WEBHOOK_NO_ENDPOINT`.",
        tags=TAGS,
        request=ResendInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={202: DeliveryOutputSerializer(many=True)},
        examples=[
            OpenApiExample("To every endpoint that takes it", value={}, request_only=True),
            OpenApiExample("To one endpoint", value={"endpoint": 7}, request_only=True),
        ],
    )
    @idempotent
    def post(self, request, event_id: str):
        data = _validated(ResendInputSerializer, request.data)
        event = access.events_visible(self.actor, request).filter(public_id=event_id).first()
        if event is None:
            raise DomainError(WebhookErrorCode.WEBHOOK_EVENT_NOT_VISIBLE)
        endpoint = None
        if data.get("endpoint") is not None:
            endpoint = _own_endpoints(self.actor).filter(pk=data["endpoint"]).first()
            if endpoint is None:
                raise DomainError(WebhookErrorCode.WEBHOOK_NO_ENDPOINT)
        deliveries = event_resend(
            event=event, owner=request.user, now=timezone.now(), endpoint=endpoint
        )
        _dispatch_soon()
        ids = [delivery.pk for delivery in deliveries]
        rows = _deliveries(self.actor).filter(pk__in=ids).order_by("id")
        return Response(DeliveryOutputSerializer(rows, many=True).data, status=202)


def _dispatch_soon() -> None:
    """Hand the deliveries made due to a worker once this request's transaction commits."""
    transaction.on_commit(lambda: dispatch_after_commit(sender=None))
