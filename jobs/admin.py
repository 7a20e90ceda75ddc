from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from common.admin import NationalAdminMixin, ReadOnlyAdminMixin
from jobs.models import JobDay


@admin.register(JobDay)
class JobDayAdmin(NationalAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "scheduled_at", "summary"]
    date_hierarchy = "day"


# The beat schedule runs every city's jobs at once: django_celery_beat's own registers, kept
# read-only for city operators (no enabling, disabling, running or editing a task).
for _model in (PeriodicTask, ClockedSchedule, CrontabSchedule, SolarSchedule, IntervalSchedule):
    admin.site.unregister(_model)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(NationalAdminMixin, beat_admin.PeriodicTaskAdmin):
    pass


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(NationalAdminMixin, beat_admin.ClockedScheduleAdmin):
    pass


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(NationalAdminMixin, beat_admin.CrontabScheduleAdmin):
    pass


@admin.register(SolarSchedule)
class SolarScheduleAdmin(NationalAdminMixin, beat_admin.SolarScheduleAdmin):
    pass


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(NationalAdminMixin, beat_admin.IntervalScheduleAdmin):
    pass
