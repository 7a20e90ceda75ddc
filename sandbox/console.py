"""The operators' console: the Django admin site with a home dashboard (the simulated clock, each
of the operator's cities with its switches and latest upload, the jobs running or failed, and
today's counts) and an app list grouped and named as operators speak of it."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import access
from accounts.models import ContributionCollection, Crediting, CreditingRun
from cities.limiter import busy_answers_count
from cities.models import City
from common import clock
from common.models import JobStatus
from settlement.models import Settlement
from uploads.models import CityUpload

# How long a failed job stays on the dashboard.
FAILED_JOBS_SHOWN_FOR = timedelta(days=7)
JOBS_SHOWN = 20

# The switches an operator flips from the dashboard and the city's page, in the order shown.
CITY_SWITCHES = (
    "online_inquiry_launched",
    "personal_account_shown_online",
    "has_public_upload_channel",
    "platform_busy_forced",
    "interface_busy_forced",
)

# The app list's sections, in order: a section gathers the apps named, under its own name. Apps
# not named here follow, under their own names.
_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (_("Insured persons"), ("persons",)),
    (_("Cards and e-vouchers"), ("cards",)),
    (_("Accounts and ledger"), ("accounts",)),
    (_("Settlements and benefits"), ("settlement",)),
    (_("Cities"), ("cities",)),
    (_("Uploads to the national platform"), ("uploads",)),
    (_("Employers"), ("employers",)),
    (_("Designated institutions"), ("institutions", "fsi")),
    (_("Daily jobs and schedules"), ("jobs", "django_celery_beat")),
    (_("Sandbox clock and request log"), ("common", "sandbox")),
    (_("Logins, groups and API tokens"), ("users", "auth", "knox")),
)
_MODEL_NAMES = {
    ("cards", "EVoucher"): _("E-vouchers"),
    ("cards", "EVoucherAgreement"): _("E-voucher user agreements"),
    ("knox", "AuthToken"): _("API login tokens"),
    ("common", "SimulatedClock"): _("Simulated clock"),
    ("common", "IdempotencyRecord"): _("Idempotency log (answers kept per key)"),
}


@dataclass
class CityPanel:
    city: City
    settlements_today: int = 0
    creditings_today: int = 0
    busy_answers_today: int | None = 0
    switches: list[dict] = field(default_factory=list)


@dataclass
class Dashboard:
    now: datetime
    sandbox_mode: bool
    clock_movable: bool
    cities: list[CityPanel]
    jobs: list


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(clock.localdate(now), time.min))
    return start, start + timedelta(days=1)


def _counts_by_city(queryset, city_path: str, city_ids) -> dict[int, int]:
    rows = (
        queryset.filter(**{f"{city_path}__in": city_ids})
        .values(city_path)
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row[city_path]: row["n"] for row in rows}


def _jobs(city_ids, now: datetime) -> list:
    """The jobs of the cities that are waiting, running, or failed lately, newest first."""
    showing = Q(status__in=[JobStatus.PENDING, JobStatus.RUNNING]) | Q(
        status=JobStatus.FAILED, queued_at__gte=now - FAILED_JOBS_SHOWN_FOR
    )
    jobs = []
    for model in (CityUpload, CreditingRun, ContributionCollection):
        jobs += list(
            model.objects.filter(showing, city_id__in=city_ids)
            .select_related("city")
            .order_by("-queued_at")[:JOBS_SHOWN]
        )
    jobs.sort(key=lambda job: job.queued_at, reverse=True)
    return jobs[:JOBS_SHOWN]


def dashboard_for(actor: access.Actor, *, now: datetime) -> Dashboard:
    """What the console's home shows ``actor`` at ``now``: only the cities they see."""
    cities = list(
        access.city_rows_visible(
            actor, City.objects.select_related("latest_upload"), ("id",)
        ).order_by("code")
    )
    city_ids = [city.pk for city in cities]
    start, end = _day_bounds(now)
    settlements = _counts_by_city(
        Settlement.objects.filter(settled_at__gte=start, settled_at__lt=end),
        "institution__city_id",
        city_ids,
    )
    creditings = _counts_by_city(
        Crediting.objects.filter(transfer__posted_at__gte=start, transfer__posted_at__lt=end),
        "account__city_id",
        city_ids,
    )
    today = clock.localdate(now)
    panels = []
    for city in cities:
        panel = CityPanel(
            city=city,
            settlements_today=settlements.get(city.pk, 0),
            creditings_today=creditings.get(city.pk, 0),
            busy_answers_today=busy_answers_count(city_id=city.pk, day=today),
        )
        panel.switches = [
            {
                "name": name,
                "label": City._meta.get_field(name).verbose_name,
                "on": getattr(city, name),
            }
            for name in CITY_SWITCHES
        ]
        panels.append(panel)
    return Dashboard(
        now=now,
        sandbox_mode=settings.SANDBOX_MODE,
        clock_movable=settings.SANDBOX_MODE and access.simulated_clock_movable(actor),
        cities=panels,
        jobs=_jobs(city_ids, now),
    )


class ConsoleAdminSite(admin.AdminSite):
    site_header = _("Yibao medical-insurance console")
    site_title = _("Yibao console")
    index_title = _("Operations")
    index_template = "admin/console_index.html"
    # The navigation column took a quarter of a 1280-pixel screen from every table; the home
    # page lists every register, and the breadcrumbs lead back to it.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        from common.admin import console_actor

        actor = console_actor(request)
        context = {"dashboard": dashboard_for(actor, now=clock.now())} if actor.is_operator else {}
        return super().index(request, {**context, **(extra_context or {})})

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return [self._named(app) for app in apps]
        by_label = {app["app_label"]: self._named(app) for app in apps}
        sections = []
        for name, labels in _SECTIONS:
            members = [by_label.pop(label) for label in labels if label in by_label]
            if not members:
                continue
            section = dict(members[0], name=name)
            section["models"] = [model for member in members for model in member["models"]]
            sections.append(section)
        return sections + sorted(by_label.values(), key=lambda app: str(app["name"]).lower())

    @staticmethod
    def _named(app: dict) -> dict:
        models = [
            dict(
                model,
                name=_MODEL_NAMES.get((app["app_label"], model["object_name"]), model["name"]),
            )
            for model in app["models"]
        ]
        return dict(app, models=models)
