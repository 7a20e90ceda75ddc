from django.contrib import admin, messages

import access
from common import clock
from common.admin import NationalAdminMixin, console_actor
from common.errors import DomainError
from common.models import SimulatedClock


@admin.register(SimulatedClock)
class SimulatedClockAdmin(NationalAdminMixin, admin.ModelAdmin):
    """The sandbox clock: advance it with the actions; it never goes back. Nobody edits the row;
    whoever may move the clock through the API (access/ decides) may use the actions."""

    list_display = ["now", "updated_at"]
    actions = ["advance_one_day", "advance_one_week", "advance_one_month"]
    readonly_fields = ["now", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _clock_movable(self, request) -> bool:
        return access.simulated_clock_movable(console_actor(request))

    def rows_actionable(self, request, queryset):
        return queryset if self._clock_movable(request) else queryset.none()

    def row_actionable(self, request, obj) -> bool:
        return self._clock_movable(request)

    def get_actions(self, request):
        if not self._clock_movable(request):
            return {}
        return super(NationalAdminMixin, self).get_actions(request)

    def changelist_view(self, request, extra_context=None):
        # The clock row appears once the clock is first used, so there is always something to act on.
        clock.simulated_clock_ensure(starting_at=clock.now())
        return super().changelist_view(request, extra_context)

    def _advance(self, request, days: int):
        from sandbox.services import clock_advance

        try:
            report = clock_advance(days=days, by=request.user)
        except DomainError as error:
            messages.error(request, error.detail)
            return
        ran = sum(len(day["jobs"]) for day in report.days)
        ready = sum(day["cards_ready"] for day in report.days)
        messages.success(
            request,
            f"Clock now {clock.as_text(report.now)}: {ran} job(s) ran (collection, crediting, uploads), "
            f"{ready} card(s) became ready.",
        )
        for day in report.days:
            for job in day["jobs"]:
                messages.info(
                    request,
                    f"{day['day']:%Y-%m-%d} {job['kind']} #{job['id']} for {job['city']}: {job['status']}",
                )

    @admin.action(description="Advance the clock by 1 day")
    def advance_one_day(self, request, queryset):
        self._advance(request, 1)

    @admin.action(description="Advance the clock by 7 days")
    def advance_one_week(self, request, queryset):
        self._advance(request, 7)

    @admin.action(description="Advance the clock by 30 days")
    def advance_one_month(self, request, queryset):
        self._advance(request, 30)
