from django.contrib import admin

from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin
from events.models import Event


@admin.register(Event)
class EventAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The event log: operators see their cities' events; nobody edits one."""

    list_display = [
        "public_id",
        "type",
        "occurred_at",
        "created_at",
        "city",
        "object_type",
        "object_id",
        "person_id",
        "is_test",
    ]
    list_filter = ["type", "is_test", "city"]
    search_fields = ["public_id", "object_id", "request_id", "idempotency_key"]
    list_select_related = ["city"]
    date_hierarchy = "created_at"
    show_full_result_count = False
