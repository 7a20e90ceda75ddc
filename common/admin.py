"""Admin building blocks shared by the apps: the console's scope (every register asks
access/ who may see, change and act on what), read-only registers, progress bars for
recorded jobs, and the idempotency log."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import access
from common.models import IdempotencyRecord, JobStatus

_LISTED_IDS = 10


def console_actor(request) -> access.Actor:
    """The person at the console, looked up once per request (the admin asks many times)."""
    actor = getattr(request, "_console_actor", None)
    if actor is None or actor.user is not request.user:
        actor = access.actor_of(request)
        request._console_actor = actor
    return actor


def _ids_text(ids) -> str:
    ids = sorted(ids, key=str)
    shown = ", ".join(f"#{pk}" for pk in ids[:_LISTED_IDS])
    if len(ids) <= _LISTED_IDS:
        return shown
    return gettext("%(shown)s and %(count)s more") % {
        "shown": shown,
        "count": len(ids) - _LISTED_IDS,
    }


class ConsoleAdminMixin:
    """What every register of the console shares: only those ``access.console_admits`` may use it;
    a row is seen, changed, deleted or acted on only as ``row_visible`` and ``rows_actionable``
    allow; an action on a selection that holds a missing or unreachable row does nothing and says
    why, before anything runs."""

    def row_visible(self, request, obj) -> bool:
        raise NotImplementedError

    def row_actionable(self, request, obj) -> bool:
        """Whether the person may change, delete or run an action on this row."""
        raise NotImplementedError

    def rows_actionable(self, request, queryset: QuerySet) -> QuerySet:
        """The rows of ``queryset`` the person may change, delete or run an action on."""
        raise NotImplementedError

    def _admits(self, request) -> bool:
        return access.console_admits(console_actor(request))

    def has_module_permission(self, request) -> bool:
        return self._admits(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return (
            self._admits(request)
            and super().has_view_permission(request, obj)
            and (obj is None or self.row_visible(request, obj))
        )

    def has_add_permission(self, request) -> bool:
        return self._admits(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return (
            self._admits(request)
            and super().has_change_permission(request, obj)
            and (obj is None or self.row_actionable(request, obj))
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return (
            self._admits(request)
            and super().has_delete_permission(request, obj)
            and (obj is None or self.row_actionable(request, obj))
        )

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history would save a posted old version over the row: a card back to
        # ACTIVE, a city's switches back, past the services and their state machines.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def response_action(self, request, queryset):
        refusal = self._selection_refusal(request, queryset)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    def _selection_refusal(self, request, queryset: QuerySet) -> str:
        """Why the selected rows may not be acted on ("" if they may). ``queryset`` is the list
        the action was chosen from, already limited to what the person sees."""
        across = request.POST.get("select_across", "").lower() not in ("", "0", "false")
        ids, malformed = set(), []
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                ids.add(self.model._meta.pk.to_python(value))
            except ValidationError:
                malformed.append(value)
        if malformed:
            shown = ", ".join(map(repr, malformed[:_LISTED_IDS]))
            if len(malformed) == 1:
                return gettext("Nothing was done: %(values)s is not an id.") % {"values": shown}
            return gettext("Nothing was done: %(values)s are not ids.") % {"values": shown}
        if not ids and not across:
            return ""  # Django's own "Items must be selected" answers that
        found = set(queryset.filter(pk__in=ids).values_list("pk", flat=True))
        if ids - found:
            return gettext(
                "Nothing was done: %(ids)s is not in this list (no such record, or not in the "
                "cities you administer)."
            ) % {"ids": _ids_text(ids - found)}
        targets = queryset if across else queryset.filter(pk__in=ids)
        reachable = self.rows_actionable(request, targets).values("pk")
        beyond = list(targets.exclude(pk__in=reachable).values_list("pk", flat=True))
        if beyond:
            return gettext(
                "Nothing was done: %(ids)s may be looked at but not acted on here (only the "
                "operators of its city, or a superuser for what holds nationwide)."
            ) % {"ids": _ids_text(beyond)}
        return ""


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A filter by a related row lists only the rows the person sees in that row's own register
    (an operator of four cities is offered those four), not every row of the table."""

    def field_choices(self, field, request, model_admin):
        related_admin = model_admin.admin_site._registry.get(field.remote_field.model)
        if related_admin is None:
            return super().field_choices(field, request, model_admin)
        rows = related_admin.get_queryset(request)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            rows = rows.order_by(*ordering)
        return [(row.pk, str(row)) for row in rows]


# Every register's filter by a related row (city, person__city, ...), before Django's own.
admin.FieldListFilter.register(
    lambda field: bool(field.remote_field), ScopedRelatedFieldListFilter, take_priority=True
)


def _paths(lookup: str | tuple[str, ...]) -> tuple[str, ...]:
    return (lookup,) if isinstance(lookup, str) else tuple(lookup)


class CityScopedAdminMixin(ConsoleAdminMixin):
    """Rows of one city or several. ``city_lookup`` is the path from the model to its city id, or
    several paths for rows that belong to more than one city: operators of any of them see the row.
    ``city_change_lookup`` (the same by default) says whose operators may change the row and run
    actions on it: a filing is seen by the city of care too, but kept by the insured city."""

    city_lookup: str | tuple[str, ...] = "city_id"
    city_change_lookup: str | tuple[str, ...] | None = None

    def _change_paths(self) -> tuple[str, ...]:
        return _paths(self.city_change_lookup or self.city_lookup)

    def get_queryset(self, request) -> QuerySet:
        return access.city_rows_visible(
            console_actor(request), super().get_queryset(request), _paths(self.city_lookup)
        )

    def row_visible(self, request, obj) -> bool:
        return access.city_row_visible(console_actor(request), obj, _paths(self.city_lookup))

    def rows_actionable(self, request, queryset: QuerySet) -> QuerySet:
        return access.city_rows_visible(console_actor(request), queryset, self._change_paths())

    def row_actionable(self, request, obj) -> bool:
        return access.city_row_visible(console_actor(request), obj, self._change_paths())


class NationalAdminMixin(ConsoleAdminMixin):
    """Records that hold for every city (the e-voucher agreement, the catalogue, the beat schedules,
    the simulated clock): operators may look where their permissions allow; only a superuser
    adds, changes, deletes or runs an action."""

    def row_visible(self, request, obj) -> bool:
        return True

    def rows_actionable(self, request, queryset: QuerySet) -> QuerySet:
        return queryset if self._national_editable(request) else queryset.none()

    def row_actionable(self, request, obj) -> bool:
        return self._national_editable(request)

    def _national_editable(self, request) -> bool:
        return access.national_editable(console_actor(request))

    def has_add_permission(self, request) -> bool:
        return self._national_editable(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._national_editable(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._national_editable(request) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        return super().get_actions(request) if self._national_editable(request) else {}


class SuperuserOnlyAdminMixin(NationalAdminMixin):
    """Records no city operator has business with (logins, tokens, groups, the idempotency log,
    which holds other people's answers): hidden from everyone but superusers."""

    def _admits(self, request) -> bool:
        return super()._admits(request) and self._national_editable(request)


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


def progress_bar(job) -> str:
    """A recorded job's progress as a bar coloured by its status, with its percentage."""
    colour = _STATUS_COLOURS.get(job.status, "#8a8a8a")
    return format_html(
        '<div class="console-progress" title="{}"><div class="console-progress-track">'
        '<div style="width:{}%;background:{}"></div></div><span>{}% · {}</span></div>',
        _("%(done)s of %(total)s") % {"done": job.items_done, "total": job.items_total},
        job.progress_percent,
        colour,
        job.progress_percent,
        job.get_status_display(),
    )


class RecordedJobAdminMixin(CityScopedAdminMixin, ReadOnlyAdminMixin):
    """Lists a recorded job with a progress bar and lets an operator run it (again)."""

    list_display_links = None
    actions = ["run_again"]

    @admin.display(description=_("Progress"))
    def progress(self, job) -> str:
        return progress_bar(job)

    @admin.display(description="Status")
    def coloured_status(self, job) -> str:
        return format_html(
            '<b style="color:{}">{}</b>',
            _STATUS_COLOURS.get(job.status, "#000"),
            job.get_status_display(),
        )

    @admin.action(description=_("Run the selected jobs (again); nothing is ever posted twice"))
    def run_again(self, request, queryset):
        from jobs.services import job_enqueue

        for job in queryset:
            job_enqueue(job)
        messages.success(
            request,
            gettext("Sent %(count)s job(s) to the workers; refresh to follow their progress.")
            % {"count": queryset.count()},
        )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "owner", "method", "path", "key", "response_status", "request_id"]
    list_filter = ["method", "response_status"]
    search_fields = ["key", "path", "request_id", "owner__username"]
    date_hierarchy = "created_at"
