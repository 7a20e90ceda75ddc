"""Webhook endpoints (register, change, rotate the secret, delete) and deliveries (send a batch,
retry one, resend an event), each a plain function taking the time it decides by."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from common import clock
from common.errors import CommonErrorCode, DomainError, field_error
from events.models import Event, EventType
from users.models import User
from webhooks import rules
from webhooks.destinations import url_check
from webhooks.error_codes import WebhookErrorCode
from webhooks.models import ALL_EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.sending import AttemptResult, Outgoing, send_all
from webhooks.signing import secret_generate

# Who may own an endpoint (a superuser too).
OWNER_ROLES = {User.Role.INSTITUTION, User.Role.OPERATOR, "DEVELOPER"}


# --- Endpoints -------------------------------------------------------------------------------

# Recorded in English whatever language the worker runs in; shown translated
# (WebhookAttempt.shown_error).
NO_SUCCESS_STATUS = gettext_noop("the receiver did not answer 2xx")


def event_types_check(event_types: Iterable[str]) -> list[str]:
    """The event types asked for, each known (or "*" alone for all), without repeats."""
    asked = list(dict.fromkeys(event_types))
    if not asked:
        raise DomainError(
            WebhookErrorCode.WEBHOOK_EVENT_TYPE_UNKNOWN,
            _('Ask for at least one event type, or "*" for all.'),
            errors=[field_error("event_types", _("This list may not be empty."))],
        )
    unknown = [name for name in asked if name != ALL_EVENT_TYPES and name not in EventType.values]
    if unknown:
        raise DomainError(
            WebhookErrorCode.WEBHOOK_EVENT_TYPE_UNKNOWN,
            _("Unknown event types: %(types)s. GET /api/v1/events lists the types sent.")
            % {"types": ", ".join(unknown)},
            errors=[
                field_error(f"event_types.{asked.index(name)}", _("Unknown event type."))
                for name in unknown
            ],
        )
    return [ALL_EVENT_TYPES] if ALL_EVENT_TYPES in asked else asked


def _owner_check(owner: User) -> None:
    if not (owner.is_superuser or owner.role in OWNER_ROLES):
        raise DomainError(WebhookErrorCode.WEBHOOK_OWNER_NOT_ALLOWED)


def endpoint_create(
    *, owner: User, url: str, event_types: Iterable[str], description: str = "", now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its signing secret (shown to the owner this once)."""
    _owner_check(owner)
    url, event_types = url_check(url), event_types_check(event_types)
    try:
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.create(
                owner=owner,
                url=url,
                event_types=event_types,
                description=description,
                secret=secret_generate(),
            )
    except IntegrityError:
        existing = WebhookEndpoint.objects.filter(owner=owner, url=url).first()
        raise DomainError(
            WebhookErrorCode.WEBHOOK_ENDPOINT_EXISTS,
            _(
                "Endpoint %(id)s has this URL already. Change it with PATCH, or rotate its "
                "secret if it was lost."
            )
            % {"id": existing.pk if existing else "?"},
            extra={"endpoint_id": existing.pk if existing else None},
        ) from None
    return endpoint, endpoint.secret


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    now: datetime,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
    is_enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change what was given. Enabling clears the reason it was disabled (its pending deliveries
    resume); disabling by the owner says so."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if url is not None:
            endpoint.url = url_check(url)
        if event_types is not None:
            endpoint.event_types = event_types_check(event_types)
        if description is not None:
            endpoint.description = description
        if is_enabled is True and not endpoint.is_enabled:
            endpoint.is_enabled = True
            endpoint.disabled_reason = ""
            endpoint.disabled_at = None
            endpoint.consecutive_failures = 0
            endpoint.failing_since = None
        elif is_enabled is False and endpoint.is_enabled:
            endpoint.is_enabled = False
            endpoint.disabled_reason = _("Disabled by its owner.")
            endpoint.disabled_at = now
        endpoint.save()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, now: datetime) -> str:
    """A new secret (shown this once); the current one keeps signing, beside the new, for
    ``WEBHOOK_SECRET_ROTATION_HOURS`` so receivers can switch without missing a delivery.
    Rotating again within that window replaces only the new secret: the one receivers held
    before the window (a retried rotation whose answer was lost) keeps working until it ends."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if len(endpoint.secrets_valid_at(now)) == 1:
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = now + timedelta(
                hours=settings.WEBHOOK_SECRET_ROTATION_HOURS
            )
        endpoint.secret = secret_generate()
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
    return endpoint.secret


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Gone with its deliveries and their attempts; a batch being sent finds nothing to record."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


# --- What is sent ----------------------------------------------------------------------------


def event_payload(event: Event) -> dict:
    """The JSON body of a delivery (Standard Webhooks: type, timestamp, data), ``data`` being the
    event as ``GET /api/v1/events/{id}`` shows it."""
    occurred_at = clock.as_iso(event.occurred_at)
    return {
        "type": event.type,
        "timestamp": occurred_at,
        "data": {
            "id": event.public_id,
            "type": event.type,
            "occurred_at": occurred_at,
            "created_at": clock.as_iso(event.created_at),
            "object": {"type": event.object_type, "id": event.object_id},
            "city": event.city.code if event.city_id and event.city else None,
            "person_id": event.person_id,
            "institution_id": event.institution_id,
            "data": event.data,
            "request_id": event.request_id,
            "idempotency_key": event.idempotency_key,
            "is_test": event.is_test,
        },
    }


def event_body(event: Event) -> str:
    return json.dumps(event_payload(event), ensure_ascii=False, separators=(",", ":"), default=str)


# --- Sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    sent: int
    succeeded: int
    failed: int
    retrying: dict[int, datetime]  # delivery id -> when its next attempt is due


def deliveries_send(*, delivery_ids: list[int], now: datetime) -> BatchOutcome:
    """Send each delivery of the batch that is still PENDING and due, its endpoint enabled, and
    record the attempt: delivered, retried later (``WEBHOOK_RETRY_DELAYS``) or FAILED after the
    last retry. An endpoint that keeps failing is disabled, with the reason.

    The rows stay locked while their requests are out, so a second message for the same delivery
    (a redelivered task) skips them; if the worker dies, its connection closes, the locks go and
    nothing is recorded, so the delivery is sent again with the same webhook-id."""
    with transaction.atomic():
        deliveries = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                id__in=delivery_ids,
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=now,
                endpoint__is_enabled=True,
            )
            .select_related("event__city")
            .order_by("id")
        )
        if not deliveries:
            return BatchOutcome(sent=0, succeeded=0, failed=0, retrying={})
        # A batch is one endpoint's (the dispatcher's batches are); read each endpoint once.
        endpoints = WebhookEndpoint.objects.in_bulk(
            {delivery.endpoint_id for delivery in deliveries}
        )
        outgoing = []
        for delivery in deliveries:
            delivery.endpoint = endpoints[delivery.endpoint_id]
            outgoing.append(
                Outgoing(
                    delivery_id=delivery.pk,
                    url=delivery.endpoint.url,
                    webhook_id=delivery.event.public_id,
                    body=event_body(delivery.event),
                    secrets=delivery.endpoint.secrets_valid_at(now),
                )
            )
        results = {result.delivery_id: result for result in send_all(outgoing)}
        return _attempts_record(deliveries, results, now)


def _attempts_record(
    deliveries: list[WebhookDelivery], results: dict[int, AttemptResult], now: datetime
) -> BatchOutcome:
    attempts, retrying = [], {}
    succeeded, failed = [], []
    failures_by_endpoint: dict[int, int] = {}
    first_failure_by_endpoint: dict[int, datetime] = {}
    endpoints_succeeded: set[int] = set()
    for delivery in deliveries:
        result = results[delivery.pk]
        ok = rules.attempt_succeeded(result.status_code) and not result.error
        delivery.round_attempts += 1
        delivery.attempts_total += 1
        attempts.append(
            WebhookAttempt(
                delivery=delivery,
                number=delivery.attempts_total,
                started_at=result.started_at,
                duration_ms=result.duration_ms,
                succeeded=ok,
                status_code=result.status_code,
                response_excerpt=result.response_excerpt,
                error=result.error or ("" if ok else NO_SUCCESS_STATUS),
            )
        )
        endpoint_id = delivery.endpoint_id
        if ok:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.delivered_at = result.started_at
            delivery.next_attempt_at = None
            succeeded.append(delivery)
            endpoints_succeeded.add(endpoint_id)
            continue
        first_failure_by_endpoint.setdefault(endpoint_id, result.started_at)
        delay = rules.retry_delay(
            attempts_made=delivery.round_attempts, delays=settings.WEBHOOK_RETRY_DELAYS
        )
        if delay is None:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            failed.append(delivery)
            failures_by_endpoint[endpoint_id] = failures_by_endpoint.get(endpoint_id, 0) + 1
        else:
            delivery.next_attempt_at = now + delay
            delivery.enqueued_at = None
            retrying[delivery.pk] = delivery.next_attempt_at
    WebhookAttempt.objects.bulk_create(attempts)
    _deliveries_save(deliveries)
    _endpoints_account(endpoints_succeeded, first_failure_by_endpoint, failures_by_endpoint, now)
    return BatchOutcome(
        sent=len(deliveries), succeeded=len(succeeded), failed=len(failed), retrying=retrying
    )


def _deliveries_save(deliveries: list[WebhookDelivery]) -> None:
    """Each delivery's new state in one ``UPDATE ... FROM (VALUES ...)`` (Django's bulk_update
    builds a CASE per row and field, which costs more than the batch's requests)."""
    rows = ", ".join(
        ["(%s, %s, %s, %s, %s::timestamptz, %s::timestamptz, %s::timestamptz)"] * len(deliveries)
    )
    params: list = []
    for delivery in deliveries:
        params += [
            delivery.pk,
            delivery.status,
            delivery.round_attempts,
            delivery.attempts_total,
            delivery.next_attempt_at,
            delivery.enqueued_at,
            delivery.delivered_at,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {WebhookDelivery._meta.db_table} AS delivery
               SET status = new.status, round_attempts = new.round_attempts,
                   attempts_total = new.attempts_total, next_attempt_at = new.next_attempt_at,
                   enqueued_at = new.enqueued_at, delivered_at = new.delivered_at
              FROM (VALUES {rows}) AS new (id, status, round_attempts, attempts_total,
                                           next_attempt_at, enqueued_at, delivered_at)
             WHERE delivery.id = new.id
            """,  # noqa: S608 (a model's table name and placeholders; values are parameters)
            params,
        )


def _endpoints_account(
    succeeded: set[int],
    first_failure: dict[int, datetime],
    final_failures: dict[int, int],
    now: datetime,
) -> None:
    """A success clears an endpoint's failing streak; failures extend it, and an endpoint whose
    streak is too long or too old is disabled, with the reason."""
    for endpoint_id in sorted(succeeded | set(first_failure)):
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:  # deleted while its batch was out
            continue
        if endpoint_id in succeeded:
            endpoint.consecutive_failures = final_failures.get(endpoint_id, 0)
            endpoint.failing_since = (
                first_failure.get(endpoint_id) if endpoint_id in final_failures else None
            )
        else:
            endpoint.consecutive_failures += final_failures.get(endpoint_id, 0)
            endpoint.failing_since = endpoint.failing_since or first_failure[endpoint_id]
        reason = rules.disable_reason(
            consecutive_failures=endpoint.consecutive_failures,
            failing_since=endpoint.failing_since,
            now=now,
            max_failures=settings.WEBHOOK_DISABLE_AFTER_FAILURES,
            max_hours=settings.WEBHOOK_DISABLE_AFTER_HOURS,
        )
        if reason and endpoint.is_enabled:
            endpoint.is_enabled = False
            endpoint.disabled_reason = reason
            endpoint.disabled_at = now
        endpoint.save(
            update_fields=[
                "consecutive_failures",
                "failing_since",
                "is_enabled",
                "disabled_reason",
                "disabled_at",
                "updated_at",
            ]
        )


# --- Sending again ---------------------------------------------------------------------------


def delivery_retry(*, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Send a delivery again now, in a new round of retries (same webhook-id). A delivery that is
    PENDING already is brought forward."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if not WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, is_enabled=True).exists():
            raise DomainError(WebhookErrorCode.WEBHOOK_ENDPOINT_DISABLED)
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.round_attempts = 0
        delivery.next_attempt_at = now
        delivery.enqueued_at = None
        delivery.save(update_fields=["status", "round_attempts", "next_attempt_at", "enqueued_at"])
    return delivery


def deliveries_retry(*, delivery_ids: list[int], now: datetime) -> tuple[int, int]:
    """Send these deliveries again now, each in a new round (the console's action); those whose
    endpoint is disabled are left as they are. Answers (queued, skipped)."""
    with transaction.atomic():
        queued = WebhookDelivery.objects.filter(
            id__in=delivery_ids, endpoint__is_enabled=True
        ).update(
            status=WebhookDelivery.Status.PENDING,
            round_attempts=0,
            next_attempt_at=now,
            enqueued_at=None,
        )
    return queued, len(set(delivery_ids)) - queued


def event_resend(
    *, event: Event, owner: User, now: datetime, endpoint: WebhookEndpoint | None = None
) -> list[WebhookDelivery]:
    """Deliver ``event`` again to the owner's enabled endpoints that take its type (or to the one
    endpoint named, whatever types it takes), each in a new round, with the same webhook-id."""
    endpoints = WebhookEndpoint.objects.filter(owner=owner, is_enabled=True)
    if endpoint is not None:
        endpoints = endpoints.filter(pk=endpoint.pk)
    else:
        endpoints = endpoints.filter(
            Q(event_types__contains=[ALL_EVENT_TYPES]) | Q(event_types__contains=[event.type])
        )
    endpoint_ids = list(endpoints.order_by("id").values_list("id", flat=True))
    if not endpoint_ids:
        raise DomainError(WebhookErrorCode.WEBHOOK_NO_ENDPOINT)
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, endpoint_id=endpoint_id, next_attempt_at=now)
                for endpoint_id in endpoint_ids
            ],
            ignore_conflicts=True,
        )
        deliveries = list(
            WebhookDelivery.objects.select_for_update()
            .filter(event=event, endpoint_id__in=endpoint_ids)
            .order_by("id")
        )
        for delivery in deliveries:
            delivery.status = WebhookDelivery.Status.PENDING
            delivery.round_attempts = 0
            delivery.next_attempt_at = now
            delivery.enqueued_at = None
        WebhookDelivery.objects.bulk_update(
            deliveries, ["status", "round_attempts", "next_attempt_at", "enqueued_at"]
        )
    return deliveries


# --- Test events (the sandbox) ---------------------------------------------------------------


def _trigger_base_event(*, type: str, object_type: str, object_id: str, data: dict, visible_events):
    """The newest event about the object the caller may see, which a triggered event starts from;
    refused for an unknown type, an object with no such event, or overrides of keys its data
    does not have."""
    if type not in EventType.values:
        raise DomainError(
            WebhookErrorCode.WEBHOOK_EVENT_TYPE_UNKNOWN,
            errors=[field_error("type", _("Unknown event type."))],
        )
    latest = (
        visible_events.filter(object_type=object_type, object_id=str(object_id))
        .order_by("-id")
        .first()
    )
    if latest is None:
        raise DomainError(
            WebhookErrorCode.WEBHOOK_TRIGGER_OBJECT_NOT_FOUND,
            _(
                "No event about %(object_type)s %(object_id)s that you may see: trigger events "
                "for an object that has some (GET /api/v1/events?object_type=...&object_id=...)."
            )
            % {"object_type": object_type, "object_id": object_id},
        )
    base = latest.data if isinstance(latest.data, dict) else {}
    # An override must replace what an event of this type says, not add a second shape beside
    # it (``status`` beside ``before.status``) that contradicts it.
    unknown = sorted(set(data) - set(base)) if latest.type == type else []
    if unknown:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            _(
                "%(type)s events about %(object_type)s %(object_id)s have no %(unknown)s in their "
                "data; override its own keys: %(known)s."
            )
            % {
                "type": type,
                "object_type": object_type,
                "object_id": object_id,
                "unknown": ", ".join(unknown),
                "known": ", ".join(sorted(base)),
            },
            errors=[
                field_error(f"data.{key}", _("Not a key of this event type's data."))
                for key in unknown
            ],
        )
    return latest


def event_trigger(
    *,
    owner: User,
    type: str,
    object_type: str,
    object_id: str,
    data: dict,
    visible_events,
    now: datetime,
    sent_at: datetime,
) -> tuple[Event, list[WebhookDelivery]]:
    """Record a test event (``is_test``) of ``type`` about an object the caller may see, and
    deliver it to the caller's enabled endpoints that take that type (nobody else's). The object
    is known by the events about it the caller may see (``visible_events``): the newest gives its
    city, person and institution and the starting ``data``, which ``data`` overrides key by key.
    ``now`` is the domain's (simulated) time the event occurs at; ``sent_at`` the real time its
    deliveries fall due."""
    from events.services import event_record

    latest = _trigger_base_event(
        type=type,
        object_type=object_type,
        object_id=object_id,
        data=data,
        visible_events=visible_events,
    )
    base = latest.data if isinstance(latest.data, dict) else {}
    with transaction.atomic():
        event = event_record(
            type=type,
            now=now,
            object_type=object_type,
            object_id=object_id,
            data=base | data,
            city_id=latest.city_id,
            person_id=latest.person_id,
            institution_id=latest.institution_id,
            is_test=True,
            triggered_by_id=owner.pk,
        )
        if event is None:  # recording is turned off (EVENTS_ENABLED)
            raise DomainError(
                WebhookErrorCode.WEBHOOK_TRIGGER_OBJECT_NOT_FOUND,
                _("Events are not recorded on this server (EVENTS_ENABLED is off)."),
            )
        endpoints = WebhookEndpoint.objects.filter(owner=owner, is_enabled=True).filter(
            Q(event_types__contains=[ALL_EVENT_TYPES]) | Q(event_types__contains=[type])
        )
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=sent_at)
                for endpoint in endpoints.order_by("id")
            ]
        )
    return event, deliveries
