from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

import access
from cities.models import City
from common import clock
from common.admin import CityScopedAdminMixin, console_actor
from common.errors import DomainError


@admin.register(City)
class CityAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    city_lookup = "id"
    list_display = [
        "code",
        "name",
        "online_inquiry_launched",
        "personal_account_shown_online",
        "has_public_upload_channel",
        "upload_frequency",
        "platform_busy_forced",
        "resident_accounts_abolished_on",
        "latest_upload",
    ]
    list_select_related = ["latest_upload__city"]
    list_filter = [
        "online_inquiry_launched",
        "personal_account_shown_online",
        "has_public_upload_channel",
        "platform_busy_forced",
        "interface_busy_forced",
        "upload_frequency",
    ]
    search_fields = ["code", "name"]
    readonly_fields = ["latest_upload", "created_at"]
    actions = [
        "upload_now",
        "collect_contributions_now",
        "credit_this_month",
        "force_busy",
        "lift_busy",
    ]
    fieldsets = [
        (None, {"fields": ["code", "name", "created_at"]}),
        (
            "Medical-insurance agency (where remedies send people)",
            {"fields": ["agency_name", "agency_address", "agency_phone"]},
        ),
        (
            "Online channel and national platform",
            {
                "fields": [
                    "online_inquiry_launched",
                    "personal_account_shown_online",
                    "has_public_upload_channel",
                    ("upload_frequency", "upload_day"),
                    "latest_upload",
                    ("query_capacity", "query_window_seconds"),
                    "platform_busy_forced",
                    "interface_busy_forced",
                ]
            },
        ),
        (
            "Employee scheme",
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
            "Resident scheme",
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
                job, _ = opener(city)
            except DomainError as error:
                messages.warning(request, f"{city}: {error.detail}")
                continue
            job_enqueue(job)
            started += 1
        if started:
            messages.success(
                request,
                f"{label} sent to the workers for {started} city(ies); follow the progress in its list.",
            )

    @admin.action(description="Upload to the national platform now")
    def upload_now(self, request, queryset):
        from uploads.models import CityUpload
        from uploads.services import upload_open

        self._start(
            request,
            queryset,
            lambda city: upload_open(
                city=city, trigger=CityUpload.Trigger.OPERATOR, by=request.user
            ),
            "Upload",
        )

    @admin.action(description="Collect this month's contributions now")
    def collect_contributions_now(self, request, queryset):
        from accounts.crediting import contribution_collection_open

        self._start(
            request,
            queryset,
            lambda city: contribution_collection_open(
                city=city, period=clock.today(), by=request.user
            ),
            "Contribution collection",
        )

    @admin.action(description="Credit this month's personal accounts now")
    def credit_this_month(self, request, queryset):
        from accounts.crediting import crediting_run_open

        self._start(
            request,
            queryset,
            lambda city: crediting_run_open(city=city, period=clock.today(), by=request.user),
            "Crediting",
        )

    @admin.action(description="Switch the query platform to busy")
    def force_busy(self, request, queryset):
        self._switch(request, queryset, platform_busy_forced=True)

    @admin.action(description="Switch the query platform back to normal")
    def lift_busy(self, request, queryset):
        self._switch(request, queryset, platform_busy_forced=False)

    def _switch(self, request, queryset, **switches):
        from common import clock
        from provisioning.switches import city_switches_change

        for city in queryset:
            city_switches_change(city=city, now=clock.now(), by=request.user, **switches)
        messages.success(request, f"Updated {queryset.count()} city(ies).")
