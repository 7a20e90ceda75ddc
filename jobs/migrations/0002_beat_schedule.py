"""The default beat schedule, stored in the database so operators can edit it in the admin."""

from django.db import migrations

SCHEDULE = [
    # (task, name, every N minutes)
    ("jobs.schedule_due_jobs", "Schedule each day's due jobs (cards, collection, crediting, uploads)", 10),
    ("jobs.sweep_recorded_jobs", "Re-send recorded jobs whose message or worker was lost", 5),
    ("users.purge_expired_tokens", "Delete expired API tokens", 60),
]


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for task, name, minutes in SCHEDULE:
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval, "enabled": True})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for _, name, _ in SCHEDULE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
