"""Webhook endpoints, deliveries and attempts in the console: read only (the owner changes an
endpoint through the API), with an action to send deliveries again. An operator sees their own
endpoints and those of the institutions of their cities (whose failing deliveries they support);
another operator's or a developer's endpoint is its owner's business alone, as over the API.
Secrets are never shown."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import deliveries_retry
from webhooks.tasks import dispatch_after_commit


class EndpointScopedAdminMixin(CityScopedAdminMixin):
    """Rows of the endpoints of institutions in the operator's cities, and of the operator's own
    endpoints. ``owner_path`` is the path from the model to the endpoint's owner."""

    owner_path = "owner"

    def get_queryset(self, request):
        own = admin.ModelAdmin.get_queryset(self, request).filter(**{self.owner_path: request.user})
        return super().get_queryset(request) | own

    def row_visible(self, request, obj) -> bool:
        return self._owned(request, obj) or super().row_visible(request, obj)

    def row_actionable(self, request, obj) -> bool:
        return self._owned(request, obj) or super().row_actionable(request, obj)

    def rows_actionable(self, request, queryset):
        own = queryset.filter(**{self.owner_path: request.user})
        return super().rows_actionable(request, queryset) | own

    def _owned(self, request, obj) -> bool:
        owner = obj
        for step in self.owner_path.split("__"):
            owner = getattr(owner, step)
        return owner is not None and owner.pk == request.user.pk


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(EndpointScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "owner__institution__city_id"
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


@admin.display(description=_("error"))
def _attempt_error_column(model_admin, attempt) -> str:
    """An attempt's error in the reader's language (the inline's and the list's column)."""
    return attempt.shown_error


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
        "error_shown",
        "response_excerpt",
    ]
    readonly_fields = fields

    error_shown = _attempt_error_column

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(EndpointScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "endpoint__owner__institution__city_id"
    owner_path = "endpoint__owner"
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
class WebhookAttemptAdmin(EndpointScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "delivery__endpoint__owner__institution__city_id"
    owner_path = "delivery__endpoint__owner"
    list_display = [
        "delivery",
        "number",
        "started_at",
        "duration_ms",
        "succeeded",
        "status_code",
        "error_shown",
    ]
    list_filter = ["succeeded"]
    list_select_related = ["delivery"]

    error_shown = _attempt_error_column
