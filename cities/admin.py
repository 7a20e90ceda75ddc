from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

import access
from cities.models import City
from common import clock
from common.admin import CityScopedAdminMixin, console_actor
from common.errors import DomainError
from sandbox.console import CITY_SWITCHES

# The console's actions on one city (see CityAdmin.act_view): name -> the admin action it runs.
CITY_ACTIONS = {
    "switch": "_switch",
    "upload": "upload_now",
    "collect": "collect_contributions_now",
    "credit": "credit_this_month",
}
CITY_RUNS = (
    ("upload", _("Upload"), _("Upload %(city)s's accounts to the national platform now?")),
    ("credit", _("Credit"), _("Credit this month's personal accounts of %(city)s now?")),
)


def _posted_switches(request) -> dict[str, bool]:
    """The switches a console form posts, each "true" or "false"; others are ignored."""
    return {
        name: request.POST[name] == "true"
        for name in CITY_SWITCHES
        if request.POST.get(name) in ("true", "false")
    }


@admin.register(City)
class CityAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    city_lookup = "id"
    list_display = [
        "code",
        "name",
        "switches",
        "upload_schedule",
        "latest_upload_shown",
        "fund_state",
        "run",
    ]
    list_display_links = ["code", "name"]
    list_select_related = ["latest_upload__city"]
    list_filter = [
        "online_inquiry_launched",
        "personal_account_shown_online",
        "has_public_upload_channel",
        "platform_busy_forced",
        "interface_busy_forced",
        "upload_frequency",
    ]
    search_fields = ["code", "name", "name_zh"]
    readonly_fields = ["latest_upload_shown", "created_at", "fund_shown"]
    change_form_template = "admin/cities/city/change_form.html"
    actions = [
        "upload_now",
        "collect_contributions_now",
        "credit_this_month",
        "force_busy",
        "lift_busy",
    ]
    fieldsets = [
        (None, {"fields": ["code", "name", "name_zh", "created_at"]}),
        (_("Fund (pools, personal accounts, cross-city clearing)"), {"fields": ["fund_shown"]}),
        (
            _("Medical-insurance agency (where remedies send people)"),
            {
                "fields": [
                    "agency_name",
                    "agency_name_zh",
                    "agency_address",
                    "agency_address_zh",
                    "agency_phone",
                ]
            },
        ),
        (
            _("Online channel and national platform"),
            {
                "fields": [
                    "online_inquiry_launched",
                    "personal_account_shown_online",
                    "has_public_upload_channel",
                    ("upload_frequency", "upload_day"),
                    "latest_upload_shown",
                    ("query_capacity", "query_window_seconds"),
                    "platform_busy_forced",
                    "interface_busy_forced",
                ]
            },
        ),
        (
            _("Employee scheme"),
            {
                "fields": [
                    "average_wage",
                    ("payment_base_min", "payment_base_max"),
                    ("employer_rate", "individual_rate"),
                    "retiree_monthly_credit",
                    ("contribution_day", "crediting_day"),
                ]
            },
        ),
        (
            _("Resident scheme"),
            {
                "fields": [
                    ("resident_individual_contribution", "resident_government_subsidy"),
                    "subsidized_individual_contribution",
                    "resident_outpatient_pool_share",
                    "resident_accounts_abolished_on",
                    "resident_monthly_account_credit",
                    ("outpatient_pooling_ratio", "outpatient_pooling_annual_quota"),
                ]
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:
        # A new insurance region is a national decision, whatever cities an operator administers.
        return access.national_editable(console_actor(request)) and super().has_add_permission(
            request
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return access.national_editable(console_actor(request)) and super().has_delete_permission(
            request, obj
        )

    @admin.display(description=_("Switches"))
    def switches(self, city) -> str:
        return format_html_join(
            " ",
            '<span class="console-flag {}" title="{}">{}</span>',
            (
                (
                    "on" if getattr(city, name) else "off",
                    _("on") if getattr(city, name) else _("off"),
                    City._meta.get_field(name).verbose_name,
                )
                for name in CITY_SWITCHES
            ),
        )

    @admin.display(description=_("Fund"))
    def fund_state(self, city) -> str:
        """A pool below zero is flagged in the list, never left to be found."""
        from accounts.selectors import city_fund

        fund = city_fund(city_id=city.pk)
        if fund.in_deficit:
            return format_html('<b style="color:#ba2121">{}</b>', _("Deficit"))
        return _("Balanced")

    @admin.display(description=_("Fund"))
    def fund_shown(self, city) -> str:
        from accounts.models import Account
        from accounts.selectors import city_fund

        if city is None or city.pk is None:
            return "-"
        fund = city_fund(city_id=city.pk)
        kinds = dict(Account.Kind.choices)
        rows = [(kinds[kind], amount, amount < 0) for kind, amount in fund.pools.items()]
        rows += [
            (
                _("Personal accounts (%(count)s)") % {"count": fund.personal_accounts_count},
                fund.personal_accounts_total,
                False,
            ),
            (kinds[Account.Kind.PERSONAL_ACCOUNT_CLEARING], fund.awaiting_crediting, False),
            (_("Owed to institutions"), fund.owed_to_institutions, False),
            (_("Owed to other cities (clearing payable)"), fund.clearing_payable, False),
            (_("Owed by other cities (clearing receivable)"), fund.clearing_receivable, False),
            (_("Net paid to other cities by the clearings"), fund.settled_with_other_cities, False),
            (_("Contributions received"), fund.contributions_received, False),
            (_("Reimbursements paid to bank accounts"), fund.reimbursements_paid_to_banks, False),
        ]
        return render_to_string(
            "admin/console_city_fund.html", {"rows": rows, "in_deficit": fund.in_deficit}
        )

    @admin.display(description=_("Uploads"), ordering="upload_frequency")
    def upload_schedule(self, city) -> str:
        return city.get_upload_frequency_display()

    @admin.display(description=_("Latest upload"))
    def latest_upload_shown(self, city) -> str:
        return render_to_string("admin/console_upload.html", {"upload": city.latest_upload})

    @admin.display(description=_("Run now"))
    def run(self, city) -> str:
        """Buttons of the row: they send the list's form to the city's action instead."""
        return format_html_join(
            "",
            '<button type="submit" form="changelist-form" formaction="{}" class="button console-small" '
            'data-confirm="{}">{}</button>',
            (
                (
                    reverse("admin:cities_city_act", args=[city.pk, action]),
                    question % {"city": city.shown_name},
                    label,
                )
                for action, label, question in CITY_RUNS
            ),
        )

    def get_urls(self):
        return [
            path(
                "<int:city_id>/act/<str:action>/",
                self.admin_site.admin_view(self.act_view),
                name="cities_city_act",
            ),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def act_view(self, request, city_id: int, action: str):
        """One action on one city from the dashboard, the list or the city's page: a switch, or
        a job (upload, contribution collection, crediting) sent to the workers."""
        city = self.get_queryset(request).filter(pk=city_id).first()
        if city is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(city_id))
        if not self.has_change_permission(request, city) or action not in CITY_ACTIONS:
            raise PermissionDenied
        if action == "switch":
            self._switch(request, City.objects.filter(pk=city.pk), **_posted_switches(request))
        else:
            getattr(self, CITY_ACTIONS[action])(request, City.objects.filter(pk=city.pk))
        back = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = reverse("admin:cities_city_change", args=[city.pk])
        return redirect(back)

    def save_model(self, request, obj, form, change):
        from common import clock
        from provisioning.services import city_provision
        from provisioning.switches import city_switches_change

        if change:
            city_switches_change(
                city=obj,
                now=clock.now(),
                by=request.user,
                **{name: getattr(obj, name) for name in form.changed_data},
            )
        else:
            created = city_provision(
                code=obj.code,
                name=obj.name,
                by=request.user,
                **{
                    name: getattr(obj, name)
                    for name in form.changed_data
                    if name not in ("code", "name")
                },
            )
            obj.pk = created.pk

    def _start(self, request, queryset, opener, label: str):
        from jobs.services import job_enqueue

        started = 0
        for city in queryset:
            try:
                job, _created = opener(city)
            except DomainError as error:
                messages.warning(request, f"{city}: {error.detail}")
                continue
            job_enqueue(job)
            started += 1
        if started:
            messages.success(
                request,
                _("%(job)s sent to the workers for %(count)s city(ies); follow its progress.")
                % {"job": label, "count": started},
            )

    @admin.action(description=_("Upload to the national platform now"))
    def upload_now(self, request, queryset):
        from uploads.models import CityUpload
        from uploads.services import upload_open

        self._start(
            request,
            queryset,
            lambda city: upload_open(
                city=city, trigger=CityUpload.Trigger.OPERATOR, by=request.user
            ),
            _("Upload"),
        )

    @admin.action(description=_("Collect this month's contributions now"))
    def collect_contributions_now(self, request, queryset):
        from accounts.crediting import contribution_collection_open

        self._start(
            request,
            queryset,
            lambda city: contribution_collection_open(
                city=city, period=clock.today(), by=request.user
            ),
            _("Contribution collection"),
        )

    @admin.action(description=_("Credit this month's personal accounts now"))
    def credit_this_month(self, request, queryset):
        from accounts.crediting import crediting_run_open

        self._start(
            request,
            queryset,
            lambda city: crediting_run_open(city=city, period=clock.today(), by=request.user),
            _("Crediting"),
        )

    @admin.action(description=_("Switch the query platform to busy"))
    def force_busy(self, request, queryset):
        self._switch(request, queryset, platform_busy_forced=True)

    @admin.action(description=_("Switch the query platform back to normal"))
    def lift_busy(self, request, queryset):
        self._switch(request, queryset, platform_busy_forced=False)

    def _switch(self, request, queryset, **switches):
        from common import clock
        from provisioning.switches import city_switches_change

        for city in queryset:
            city_switches_change(city=city, now=clock.now(), by=request.user, **switches)
        messages.success(request, _("Updated %(count)s city(ies).") % {"count": queryset.count()})
