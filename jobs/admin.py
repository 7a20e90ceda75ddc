from django.contrib import admin

from common.admin import ReadOnlyAdminMixin
from jobs.models import JobDay


@admin.register(JobDay)
class JobDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "scheduled_at", "summary"]
    date_hierarchy = "day"
