"""The operators' console for employers: each employer with its state (paying, in arrears from a
month, underpaying), its employees and its months, and the actions an operator needs: record that
it stopped paying or pays again, and take in its arrears."""

from django.contrib import admin, messages
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

import access
from accounts.employer_payments import (
    EmployerState,
    employer_arrears_pay,
    employer_state,
    employers_with_state,
)
from accounts.models import Contribution, ContributionArrear
from common import clock
from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin, console_actor
from common.errors import DomainError
from common.money import ZERO
from employers.models import Employer, Employment
from employers.services import employer_payment_mode_set, employer_register

_STATE_LABELS = {
    EmployerState.PAYING: (_("Paying"), "#2e7d32"),
    EmployerState.IN_ARREARS: (_("In arrears"), "#c62828"),
    EmployerState.UNDERPAYING: (_("Underpaying"), "#b26a00"),
}
_MONTHS_SHOWN = 12


class EmploymentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Employment
    fields = ["person_link", "declared_wage", "started_on"]
    readonly_fields = fields
    extra = 0
    verbose_name = "employee"
    verbose_name_plural = (
        "employees (take one on through the API: POST /api/v1/employers/{id}/employees)"
    )

    @admin.display(description=_("Person"))
    def person_link(self, employment) -> str:
        url = reverse("admin:persons_insuredperson_change", args=[employment.person_id])
        return format_html('<a href="{}">{}</a>', url, employment.person)

    @admin.display(description=_("Declared wage"))
    def declared_wage(self, employment):
        return employment.person.declared_wage


class UnpaidMonthInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ContributionArrear
    fields = ["person", "period", "base_due", "employer_amount", "individual_amount", "paid_at"]
    readonly_fields = fields
    extra = 0
    ordering = ["-period", "person"]
    verbose_name = "month left unpaid"
    verbose_name_plural = (
        "months left unpaid at the collection (a date under Paid at: paid with the arrears)"
    )


@admin.register(Employer)
class EmployerAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "name",
        "credit_code",
        "city",
        "state",
        "employees_count",
        "arrears_since",
        "arrears_owed",
        "payment_mode",
    ]
    list_filter = ["city", "payment_mode"]
    search_fields = ["name", "credit_code"]
    fields = ["name", "credit_code", "city", "payment_mode", "paid_base_ratio", "monthly_payments"]
    inlines = [EmploymentInline, UnpaidMonthInline]
    actions = ["pay_arrears", "stop_paying", "resume_paying"]

    def get_queryset(self, request):
        return employers_with_state(super().get_queryset(request))

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # a new employer has neither yet

    def get_readonly_fields(self, request, obj=None):
        # Its code and city identify it; how it pays changes through the services.
        if obj is None:
            return ["monthly_payments"]
        return ["name", "credit_code", "city", "monthly_payments"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # its contributions and arrears refer to it

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "city":
            kwargs["queryset"] = access.cities_visible(console_actor(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            employer_payment_mode_set(
                employer=obj,
                mode=obj.payment_mode,
                paid_base_ratio=obj.paid_base_ratio,
                by=request.user,
            )
            return
        access.require_city(console_actor(request), obj.city_id)
        saved = employer_register(
            name=obj.name, credit_code=obj.credit_code, city=obj.city, by=request.user
        )
        if obj.payment_mode != Employer.PaymentMode.PAYING:
            saved = employer_payment_mode_set(
                employer=saved,
                mode=obj.payment_mode,
                paid_base_ratio=obj.paid_base_ratio,
                by=request.user,
            )
        obj.pk = saved.pk
        obj._state.adding = False

    @admin.display(description=_("State"))
    def state(self, employer) -> str:
        text, colour = _STATE_LABELS[employer_state(employer)]
        return format_html('<b style="color:{}">{}</b>', colour, text)

    @admin.display(description=_("Employees"), ordering="employees_count")
    def employees_count(self, employer) -> int:
        return employer.employees_count

    @admin.display(description=_("In arrears since"), ordering="arrears_since")
    def arrears_since(self, employer):
        return f"{employer.arrears_since:%Y-%m}" if employer.arrears_since else "-"

    @admin.display(description=_("Arrears owed (CNY)"))
    def arrears_owed(self, employer) -> str:
        return f"{employer.arrears_amount:.2f}" if employer.arrears_months else "-"

    @admin.display(description=_("Monthly payments (latest 12 months)"))
    def monthly_payments(self, employer) -> str:
        if employer.pk is None:
            return "-"
        rows = _monthly_payments(employer)
        if not rows:
            return _("No month collected yet.")
        header = format_html_join(
            "",
            "<th>{}</th>",
            (
                (title,)
                for title in (
                    _("Month"),
                    _("Paid"),
                    _("Underpaid"),
                    _("Unpaid"),
                    _("Received (CNY)"),
                    _("Still owed (CNY)"),
                )
            ),
        )
        header = format_html("<tr>{}</tr>", header)
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            rows,
        )
        return format_html("<table>{}{}</table>", header, body)

    def _each(self, request, queryset, act, done: str) -> None:
        changed = 0
        for employer in queryset:
            try:
                act(employer)
            except DomainError as error:
                messages.warning(
                    request,
                    _("%(employer)s: %(detail)s")
                    % {"employer": employer.name, "detail": error.detail},
                )
                continue
            changed += 1
        if changed:
            messages.success(
                request, _("%(done)s for %(count)s employer(s).") % {"done": done, "count": changed}
            )

    @admin.action(description=_("Take in the arrears (each unpaid month paid on its base due)"))
    def pay_arrears(self, request, queryset):
        today = clock.today()
        self._each(
            request,
            queryset,
            lambda employer: employer_arrears_pay(employer=employer, today=today, by=request.user),
            _("Arrears taken in; the missing credits follow at the next crediting run"),
        )

    @admin.action(description=_("Stopped paying (its employees' next months are left unpaid)"))
    def stop_paying(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda employer: employer_payment_mode_set(
                employer=employer, mode=Employer.PaymentMode.NOT_PAYING, by=request.user
            ),
            _("Recorded as not paying from the next collection"),
        )

    @admin.action(description=_("Pays on the declared wages again"))
    def resume_paying(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda employer: employer_payment_mode_set(
                employer=employer, mode=Employer.PaymentMode.PAYING, by=request.user
            ),
            _("Recorded as paying on the declared wages from the next collection"),
        )


def _monthly_payments(employer: Employer) -> list[tuple]:
    """Per month, newest first: employees paid in full, underpaid, unpaid; received and owed."""
    received = (
        Contribution.objects.filter(employer=employer)
        .values("period")
        .annotate(
            paid=Count("id", filter=Q(base_due__isnull=True) | Q(payment_base__gte=F("base_due"))),
            underpaid=Count("id", filter=Q(payment_base__lt=F("base_due"))),
            amount=Sum("employer_amount") + Sum("individual_amount"),
        )
    )
    unpaid = (
        ContributionArrear.objects.filter(employer=employer, contribution__isnull=True)
        .values("period")
        .annotate(count=Count("id"), owed=Sum("employer_amount") + Sum("individual_amount"))
    )
    months: dict = {}
    for row in received:
        months[row["period"]] = [row["paid"], row["underpaid"], 0, row["amount"], ZERO]
    for row in unpaid:
        month = months.setdefault(row["period"], [0, 0, 0, ZERO, ZERO])
        month[2], month[4] = row["count"], row["owed"]
    latest = sorted(months, reverse=True)[:_MONTHS_SHOWN]
    return [
        (
            f"{period:%Y-%m}",
            *months[period][:3],
            f"{months[period][3]:.2f}",
            f"{months[period][4]:.2f}",
        )
        for period in latest
    ]
