from django.contrib import admin

from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin, RecordedJobAdminMixin
from uploads.models import BalanceSnapshot, CityUpload


@admin.register(CityUpload)
class CityUploadAdmin(RecordedJobAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "city",
        "trigger",
        "as_of",
        "coloured_status",
        "progress",
        "executions",
        "finished_at",
    ]
    list_filter = ["status", "trigger", "city"]


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "person__city_id"
    list_display = ["person", "balance", "credited", "has_personal_account", "as_of", "upload"]
    search_fields = ["person__resident_id", "person__name"]
    list_select_related = ["person", "upload__city"]
