"""Webhook endpoints, deliveries and attempts in the console: read only (the owner changes an
endpoint through the API), scoped to the operator's cities (the owner's institution's city, or a
city the owning operator administers), with an action to send deliveries again. Secrets are never
shown."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import deliveries_retry
from webhooks.tasks import dispatch_after_commit

_ENDPOINT_CITIES = ("owner__institution__city_id", "owner__cities__id")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = _ENDPOINT_CITIES
    list_display = [
        "id",
        "owner",
        "url",
        "is_enabled",
        "consecutive_failures",
        "disabled_reason",
        "created_at",
    ]
    list_filter = ["is_enabled"]
    search_fields = ["url", "owner__username"]
    list_select_related = ["owner"]
    # The secrets are the owner's alone: never on a console page.
    exclude = ["secret", "previous_secret"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "succeeded",
        "status_code",
        "error",
        "response_excerpt",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = tuple(f"endpoint__{path}" for path in _ENDPOINT_CITIES)
    list_display = [
        "id",
        "endpoint",
        "event",
        "status",
        "attempts_total",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status"]
    list_select_related = ["endpoint", "event"]
    search_fields = ["event__public_id", "endpoint__url"]
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    @admin.action(description=_("Send the selected deliveries again (same webhook-id)"))
    def send_again(self, request, queryset):
        sent, refused = deliveries_retry(
            delivery_ids=list(queryset.values_list("id", flat=True)), now=timezone.now()
        )
        dispatch_after_commit(sender=None)
        messages.success(
            request,
            _("%(sent)s delivery(ies) queued; %(refused)s skipped (endpoint disabled).")
            % {"sent": sent, "refused": refused},
        )


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = tuple(f"delivery__endpoint__{path}" for path in _ENDPOINT_CITIES)
    list_display = [
        "delivery",
        "number",
        "started_at",
        "duration_ms",
        "succeeded",
        "status_code",
        "error",
    ]
    list_filter = ["succeeded"]
    list_select_related = ["delivery"]
