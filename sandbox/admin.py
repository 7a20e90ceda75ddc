from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

import access
from common import clock
from common.admin import NationalAdminMixin, console_actor
from common.errors import DomainError
from common.models import SimulatedClock

# The dashboard's steps of the simulated clock.
ADVANCE_STEPS = {"1h": {"hours": 1}, "1d": {"days": 1}, "7d": {"days": 7}, "30d": {"days": 30}}


def _local_text(value) -> str:
    """A moment as the console shows it: local time with its zone."""
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


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

    def get_queryset(self, request):
        # The console's clock is the shared one; a sandbox world's is its developer's, moved
        # through the API.
        return super().get_queryset(request).filter(pk=clock.SHARED_CLOCK_ID)

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

    def get_urls(self):
        return [
            path(
                "advance/",
                self.admin_site.admin_view(self.advance_view),
                name="common_simulatedclock_advance",
            ),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def advance_view(self, request):
        """The dashboard's advance buttons: one step of ``ADVANCE_STEPS``, then back home."""
        step = ADVANCE_STEPS.get(request.POST.get("step", ""))
        if not self._clock_movable(request):
            raise PermissionDenied
        if step is None:
            messages.error(request, _("Choose one of the steps offered."))
        else:
            self._advance(request, **step)
        return redirect(request.POST.get("next") or reverse("admin:index"))

    def _advance(self, request, days: int = 0, hours: int = 0):
        from sandbox.services import clock_advance

        try:
            report = clock_advance(days=days, hours=hours, by=request.user)
        except DomainError as error:
            messages.error(request, error.detail)
            return
        ran = sum(len(day["jobs"]) for day in report.days)
        ready = sum(day["cards_ready"] for day in report.days)
        messages.success(
            request,
            _(
                "Clock now %(now)s: %(jobs)s job(s) ran (collection, crediting, uploads), "
                "%(cards)s card(s) became ready."
            )
            % {"now": _local_text(report.now), "jobs": ran, "cards": ready},
        )
        for day in report.days:
            for job in day["jobs"]:
                messages.info(
                    request,
                    _("%(day)s %(kind)s #%(id)s for %(city)s: %(status)s")
                    % {
                        "day": f"{day['day']:%Y-%m-%d}",
                        "kind": job["kind"],
                        "id": job["id"],
                        "city": job["city"],
                        "status": job["status"],
                    },
                )

    @admin.action(description=_("Advance the clock by 1 day"))
    def advance_one_day(self, request, queryset):
        self._advance(request, 1)

    @admin.action(description=_("Advance the clock by 7 days"))
    def advance_one_week(self, request, queryset):
        self._advance(request, 7)

    @admin.action(description=_("Advance the clock by 30 days"))
    def advance_one_month(self, request, queryset):
        self._advance(request, 30)
