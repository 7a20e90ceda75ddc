"""Admin building blocks shared by the apps: read-only registers, city scoping for operators,
progress bars for recorded jobs, and the idempotency log."""

import operator
from functools import reduce

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.utils.html import format_html

from common.models import IdempotencyRecord, JobStatus


class CityScopedAdminMixin:
    """Operators see only rows of the cities they administer; superusers see everything.
    ``city_lookup`` is the path from the model to its city id, or several paths for rows that
    belong to more than one city (operators of any of them see the row)."""

    city_lookup: str | tuple[str, ...] = "city_id"

    def get_queryset(self, request) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        cities = request.user.cities.values("id")
        lookups = (self.city_lookup,) if isinstance(self.city_lookup, str) else self.city_lookup
        return queryset.filter(
            reduce(operator.or_, (Q(**{f"{lookup}__in": cities}) for lookup in lookups))
        )


class ReadOnlyAdminMixin:
    """For records that only services write (ledger, history, audit): look, never touch."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


_STATUS_COLOURS = {
    JobStatus.PENDING: "#8a8a8a",
    JobStatus.RUNNING: "#1f6fb2",
    JobStatus.SUCCEEDED: "#2e7d32",
    JobStatus.FAILED: "#c62828",
}


class RecordedJobAdminMixin(CityScopedAdminMixin, ReadOnlyAdminMixin):
    """Lists a recorded job with a progress bar and lets an operator run it (again)."""

    list_display_links = None
    actions = ["run_again"]

    @admin.display(description="Progress")
    def progress(self, job) -> str:
        colour = _STATUS_COLOURS.get(job.status, "#8a8a8a")
        return format_html(
            '<div style="width:140px;background:#eee;border-radius:3px" title="{} of {}">'
            '<div style="width:{}%;background:{};color:#fff;font-size:11px;padding:1px 4px;border-radius:3px;'
            'white-space:nowrap">{}%</div></div>',
            job.items_done,
            job.items_total,
            max(job.progress_percent, 12),
            colour,
            job.progress_percent,
        )

    @admin.display(description="Status")
    def coloured_status(self, job) -> str:
        return format_html(
            '<b style="color:{}">{}</b>',
            _STATUS_COLOURS.get(job.status, "#000"),
            job.get_status_display(),
        )

    @admin.action(description="Run the selected jobs (again); nothing is ever posted twice")
    def run_again(self, request, queryset):
        from jobs.services import job_enqueue

        for job in queryset:
            job_enqueue(job)
        messages.success(
            request,
            f"Sent {queryset.count()} job(s) to the workers; refresh to follow their progress.",
        )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "owner", "method", "path", "key", "response_status", "request_id"]
    list_filter = ["method", "response_status"]
    search_fields = ["key", "path", "request_id", "owner__username"]
    date_hierarchy = "created_at"
