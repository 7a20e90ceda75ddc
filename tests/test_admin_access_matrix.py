"""The operators' console keeps the API's scope: every register of the admin, by every role.

The registers come from ``admin.site._registry``, so a ModelAdmin is in the matrix the day it is
registered; the matrix then asks which kind it is (national, superuser-only, or else of a city)
and, for a register of a city, finds a row of it among the rows of city B.

The world: Hangzhou (A) and Quanzhou (B), each with an insured person (active card, activated
e-voucher, credited, uploaded, a login), a relative with an issued card, a hospital and its
terminal, a settlement, a filing for Xiamen, a family
authorisation and the month's collection and upload; then the national records (the agreement,
a catalogue item, the beat schedule, the clock, a job day) and the superuser-only ones (the
Operators group, tokens, an idempotency record). "Rows of B" are the rows that appeared while B's
world was built. Last comes the case that started this: a Quanzhou person's filing for Hangzhou.

Roles: anon; insured and terminal (their logins as provisioned, not staff); insured_staff and
terminal_staff (marked staff by mistake and put in the Operators group); op (operator of A alone);
op_all (operator of every city); super. Each request runs in a savepoint rolled back afterwards,
so every role meets the same world.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.crediting import contribution_collection_open
from accounts.employer_payments import contribution_arrear_record
from cards.credentials import PresentedCredential
from cards.models import SocialSecurityCard
from common import clock
from common.models import IdempotencyRecord, SimulatedClock
from employers.services import employer_employee_add
from employers.tests.factories import EmployerFactory
from jobs.models import JobDay
from sandbox.scenarios import PersonSpec, build_person
from sandbox.world import sandbox_city
from settlement.clearing import clearing_run_open
from settlement.models import (
    CatalogItem,
    ClearingStatement,
    CrossCityFiling,
    FamilyAuthorization,
)
from settlement.services import LineInput, settlement_submit
from settlement.tests.factories import CatalogItemFactory, InstitutionFactory, filing_for
from settlement.visits import FeeLineInput, visit_fee_lines_upload, visit_register
from tests.support import MONDAY_MORNING, set_clock
from uploads.models import CityUpload
from uploads.services import upload_open
from users.models import User
from users.services import operator_group_ensure
from users.tests.factories import OperatorFactory, SuperuserFactory, TerminalFactory, token_for

pytestmark = pytest.mark.django_db

ROLES = ("anon", "insured", "terminal", "insured_staff", "terminal_staff", "op", "op_all", "super")
NOT_STAFF = ("anon", "insured", "terminal")  # the admin sends them to its login page
MISCONFIGURED = ("insured_staff", "terminal_staff")  # staff by mistake: still nothing to see
OPERATORS = ("op", "op_all")

# Records that hold for every city: operators may look (where the Operators group lets them),
# only a superuser changes, adds, deletes or acts.
NATIONAL = {
    "cards.evoucheragreement",
    "settlement.catalogitem",
    "jobs.jobday",
    "common.simulatedclock",
    "settlement.clearingrun",
    "django_celery_beat.periodictask",
    "django_celery_beat.clockedschedule",
    "django_celery_beat.crontabschedule",
    "django_celery_beat.solarschedule",
    "django_celery_beat.intervalschedule",
}
# Records no city operator has business with.
SUPERUSER_ONLY = {"auth.group", "knox.authtoken", "users.user", "common.idempotencyrecord"}
# Registers whose add form a superuser gets; of these, an operator (within their cities) only:
SUPERUSER_ADDS = {
    "cities.city",
    "employers.employer",
    "cards.evoucheragreement",
    "institutions.institution",
    "settlement.catalogitem",
    "settlement.crosscityfiling",
    "django_celery_beat.periodictask",
    "django_celery_beat.clockedschedule",
    "django_celery_beat.crontabschedule",
    "django_celery_beat.solarschedule",
    "django_celery_beat.intervalschedule",
    "auth.group",
    "knox.authtoken",
    "users.user",
}
OPERATOR_ADDS = {"institutions.institution", "settlement.crosscityfiling", "employers.employer"}

REGISTERS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)


def label(model) -> str:
    return model._meta.label_lower


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# --- The world -------------------------------------------------------------------------------


def _row_ids() -> dict:
    return {
        model: set(model._default_manager.values_list("pk", flat=True)) for model, _ in REGISTERS
    }


def _city_world(profile: str, filing_city) -> dict:
    """Everything a city's operators look after, made by the real services."""
    holder = build_person(PersonSpec(city_profile=profile)).person
    relative = build_person(
        PersonSpec(
            city_profile=profile,
            card="ISSUED",
            evoucher_activated=False,
            credited=False,
            uploaded=False,
        )
    ).person
    city = holder.city
    hospital = InstitutionFactory(city=city, level=3)
    terminal = TerminalFactory(institution=hospital)
    card = SocialSecurityCard.objects.get(person=holder, status=SocialSecurityCard.Status.ACTIVE)
    settlement_submit(
        institution=hospital,
        credential=PresentedCredential(kind="CARD", value=card.number, person_id=holder.id),
        visit_type="OUTPATIENT",
        lines=[LineInput(code="ADMIN-MATRIX", quantity=Decimal("1"), unit_price=Decimal("30.00"))],
        use_personal_account=False,
        by=terminal,
    )
    visit = visit_register(
        institution=hospital,
        credential=PresentedCredential(kind="CARD", value=card.number, person_id=holder.id),
        visit_type="OUTPATIENT",
        by=terminal,
        now=clock.now(),
    )
    visit_fee_lines_upload(
        visit=visit,
        lines=[FeeLineInput("1", "ADMIN-MATRIX", Decimal("1"), Decimal("12.00"))],
        by=terminal,
        now=clock.now(),
    )
    filing_for(holder, filing_city)
    _claim_filed(holder, filing_city)
    _clearing_statement(city, filing_city)
    FamilyAuthorization.objects.create(
        account_holder=holder,
        beneficiary=relative,
        relation=FamilyAuthorization.Relation.CHILD,
        granted_at=MONDAY_MORNING,
        created_by=SuperuserFactory(),
    )
    employer = EmployerFactory(city=city)
    employer_employee_add(employer=employer, person=holder, started_on=date(2026, 10, 1))
    contribution_arrear_record(
        person=holder, period=date(2026, 11, 1), employer=employer, now=clock.now()
    )
    contribution_collection_open(city=city, period=date(2026, 11, 1))
    upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)
    _platform_sign_in(terminal)
    _webhook_rows(city, terminal)
    return {
        "city": city,
        "holder": holder,
        "terminal": terminal,
        "issued_card": SocialSecurityCard.objects.get(person=relative),
    }


def _clearing_statement(city, other_city) -> None:
    """September's clearing (one national run, opened by the first city's world) and the
    statement between this city and the other one."""
    run, _ = clearing_run_open(period=date(2026, 9, 1))
    low, high = sorted([city, other_city], key=lambda each: each.pk)
    ClearingStatement.objects.create(run=run, period=run.period, city_a=low, city_b=high)


def _claim_filed(person, care_city) -> None:
    """An emergency at a clinic of another city, paid in full and claimed back, awaiting review."""
    from claims.services import CategoryTotal, ClaimPayout, ClaimVisit, ReceiptInput, claim_submit

    claim_submit(
        person=person,
        visit=ClaimVisit(
            visit_date=clock.today(),
            visit_type="OUTPATIENT",
            emergency=True,
            institution_name="Harbour Clinic",
            care_city=care_city,
            tier="LEVEL_1",
        ),
        category_totals=[CategoryTotal("A", Decimal("80.00"))],
        receipts=[ReceiptInput("ADMIN-MATRIX-1", clock.today(), Decimal("80.00"))],
        payout=ClaimPayout(
            method="BANK", bank_account_holder="Holder", bank_account_number="6222020200112340123"
        ),
        by=person.user if hasattr(person, "user") else SuperuserFactory(),
        now=clock.now(),
    )


def _webhook_rows(city, terminal) -> None:
    """The terminal's webhook endpoint, with an event of its institution delivered there once
    (a failed attempt) and the retry that waits."""
    from django.utils import timezone

    from events.models import Event, EventType
    from webhooks.models import WebhookAttempt, WebhookDelivery
    from webhooks.services import endpoint_create

    endpoint, _ = endpoint_create(
        owner=terminal,
        url=f"http://127.0.0.1:9/{city.code}",
        event_types=["*"],
        now=timezone.now(),
    )
    event = Event.objects.create(
        type=EventType.SETTLEMENT_CREATED,
        occurred_at=MONDAY_MORNING,
        object_type="settlement",
        object_id="1",
        city_id=city.pk,
        institution_id=terminal.institution_id,
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        round_attempts=1,
        attempts_total=1,
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=timezone.now(),
        duration_ms=3,
        succeeded=False,
        error="connection failed: refused",
    )


def _platform_sign_in(terminal) -> None:
    """The terminal signs in on the national platform interface: a sign-in and its message."""
    code = terminal.institution.code
    response = Client().post(
        "/fsi/api/rsfComIfsService/callService",
        {
            "infno": "9001",
            "msgid": f"{code}{MONDAY_MORNING:%Y%m%d%H%M%S}0001",
            "fixmedins_code": code,
            "input": {"signIn": {"opter_no": "0001"}},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=token_for(terminal),
    )
    assert response.json()["infcode"] == 0, response.json()


@dataclass
class World:
    users: dict
    b_rows: dict  # model -> ids of the rows of city B
    a: dict
    b: dict
    cross_filing: CrossCityFiling  # a Quanzhou person's filing for Hangzhou

    def __post_init__(self):
        self.clients = {role: Client() for role in self.users}
        for role, user in self.users.items():
            if user is not None:
                self.clients[role].force_login(user)


@pytest.fixture
def world(agreement) -> World:
    set_clock(MONDAY_MORNING)
    CatalogItemFactory(code="ADMIN-MATRIX", catalog_class=CatalogItem.CatalogClass.A)
    xiamen = sandbox_city("small_platform")
    a = _city_world("standard", filing_city=xiamen)
    before = _row_ids()
    b = _city_world("counter_only", filing_city=xiamen)
    b_rows = {model: ids - before[model] for model, ids in _row_ids().items()}
    cross_filing = filing_for(b["holder"], a["city"])

    JobDay.objects.create(day=clock.today(), summary={"cities": []})
    group = operator_group_ensure()
    super_user = SuperuserFactory()
    IdempotencyRecord.objects.create(
        owner=super_user,
        key="matrix",
        fingerprint="0" * 64,
        method="POST",
        path="/api/v1/cities",
        response_status=200,
    )
    from django_celery_beat.models import ClockedSchedule, CrontabSchedule, SolarSchedule

    ClockedSchedule.objects.create(clocked_time=MONDAY_MORNING)
    CrontabSchedule.objects.create(minute="0", hour="2")
    SolarSchedule.objects.create(event="sunrise", latitude=30.25, longitude=120.17)

    def misconfigured(user: User) -> User:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(group)
        return user

    op = OperatorFactory(cities=[a["city"]])
    op_all = OperatorFactory(cities=list(a["city"].__class__.objects.all()))
    for operator in (op, op_all):
        operator.groups.add(group)
    users = {
        "anon": None,
        "insured": a["holder"].user,
        "terminal": a["terminal"],
        "insured_staff": misconfigured(b["holder"].user),
        "terminal_staff": misconfigured(b["terminal"]),
        "op": op,
        "op_all": op_all,
        "super": super_user,
    }
    return World(users=users, b_rows=b_rows, a=a, b=b, cross_filing=cross_filing)


# --- Reading and replaying admin pages --------------------------------------------------------


def request_as(world: World, role: str, method: str, path: str, data=None):
    """One request in a savepoint rolled back afterwards; with what it changed and sent."""
    client = world.clients[role]
    with transaction.atomic():
        before = _fingerprint()
        logged = LogEntry.objects.count()
        with CaptureOnCommit() as callbacks:
            response = getattr(client, method)(path, data or {})
        effect = Effect(
            counts_changed=_fingerprint() != before,
            logged=LogEntry.objects.count() > logged,
            enqueued=len(callbacks),
        )
        response.effect = effect
        # This request's own messages (the client's cookie still holds earlier unread ones).
        response.notes = [
            str(note) for note in get_messages(response.wsgi_request)._queued_messages
        ]
        transaction.set_rollback(True)
    return response


@dataclass
class Effect:
    counts_changed: bool
    logged: bool
    enqueued: int


class CaptureOnCommit:
    """The on-commit callbacks registered meanwhile (an action enqueues its jobs that way)."""

    def __enter__(self):
        from django.db import connection

        self.connection = connection
        self.start = len(connection.run_on_commit)
        self.callbacks: list = []
        return self.callbacks

    def __exit__(self, *exc):
        self.callbacks.extend(self.connection.run_on_commit[self.start :])


def _fingerprint() -> dict:
    """A digest of every register's table: any change made anywhere shows."""
    from django.db import connection

    digests = {}
    with connection.cursor() as cursor:
        for model, _ in REGISTERS:
            # The table name comes from the model, never from input.
            table = connection.ops.quote_name(model._meta.db_table)
            rows = "string_agg(t::text, '|' ORDER BY t::text)"
            cursor.execute(f"SELECT count(*), md5(coalesce({rows}, '')) FROM {table} t")  # noqa: S608
            digests[label(model)] = cursor.fetchone()
    return digests


def form_data(response) -> dict:
    """What the browser would post back from a change form, unchanged."""
    form_list = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        form_list.append(inline.formset.management_form)
        form_list.extend(inline.formset.forms)
    data: dict = {}
    for form in form_list:
        for name, field in form.fields.items():
            bound = form[name]
            if field.disabled:
                continue
            value = field.prepare_value(bound.value())
            if isinstance(field.widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(field.widget, forms.MultiWidget):
                for index, part in enumerate(field.widget.decompress(value)):
                    if part is not None:
                        data[f"{bound.html_name}_{index}"] = str(part)
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(item) for item in value]
            elif value is not None:
                data[bound.html_name] = str(value)
    return data


def offered_actions(world: World, role: str, model) -> list[str]:
    listing = request_as(world, role, "get", url(model, "changelist"))
    if listing.status_code != 200 or not listing.context["action_form"]:
        return []
    return [name for name, _ in listing.context["action_form"].fields["action"].choices if name]


def row_of(model, pk):
    return model._default_manager.filter(pk=pk).values().first()


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def operator_may_view(world: World, model) -> bool:
    if label(model) in SUPERUSER_ONLY:
        return False
    operator = world.users["op"]
    opts = model._meta
    return operator.has_perm(f"{opts.app_label}.view_{opts.model_name}") or operator.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    )


# --- The matrix ------------------------------------------------------------------------------


def test_every_register_is_classified_and_city_b_has_a_row_of_each(world):
    for model, _ in REGISTERS:
        if label(model) in NATIONAL | SUPERUSER_ONLY:
            assert model._default_manager.exists(), f"the world has no {label(model)}"
        else:
            assert world.b_rows[model], (
                f"{label(model)} is neither national nor superuser-only, and city B's world has "
                "no row of it: add one to _city_world, or classify the register"
            )
    assert set(SUPERUSER_ADDS) <= {label(model) for model, _ in REGISTERS}


def _target(world: World, model):
    if label(model) in NATIONAL | SUPERUSER_ONLY:
        return model._default_manager.order_by("pk").first()
    return model._default_manager.get(pk=min(world.b_rows[model]))


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERS, ids=[label(model) for model, _ in REGISTERS]
)
def test_each_role_sees_and_changes_only_what_it_may(world, model, model_admin):
    kind = label(model)
    national = kind in NATIONAL
    superuser_only = kind in SUPERUSER_ONLY
    of_a_city = not (national or superuser_only)
    target = _target(world, model)
    b_rows = world.b_rows[model] if of_a_city else set()

    # The list.
    for role in ROLES:
        response = request_as(world, role, "get", url(model, "changelist"))
        if role in NOT_STAFF:
            assert is_login_redirect(response), role
        elif role in MISCONFIGURED:
            assert response.status_code == 403, role
        elif role in OPERATORS:
            assert response.status_code == (200 if operator_may_view(world, model) else 403), role
        else:
            assert response.status_code == 200, role
        if response.status_code == 200:
            shown = {row.pk for row in response.context["cl"].result_list}
            if role == "op":
                assert not shown & b_rows, f"{role} sees rows of another city"
            else:
                assert b_rows <= shown, role

    # The add form.
    for role in ROLES:
        response = request_as(world, role, "get", url(model, "add"))
        if role in NOT_STAFF:
            assert is_login_redirect(response), role
        elif role == "super":
            assert response.status_code == (200 if kind in SUPERUSER_ADDS else 403), role
        elif role in OPERATORS:
            assert response.status_code == (200 if kind in OPERATOR_ADDS else 403), role
        else:
            assert response.status_code == 403, role

    # The change form, the delete page and the history of a row of B (or a national row).
    pages = [url(model, "change", target.pk), url(model, "delete", target.pk)]
    pages.append(url(model, "history", target.pk))
    version = _latest_version(target)
    if version is not None:
        pages.append(url(model, "simple_history", target.pk, version.history_id))
    for role in ROLES:
        for page in pages:
            response = request_as(world, role, "get", page)
            if role in NOT_STAFF:
                assert is_login_redirect(response), (role, page)
            elif (
                role in MISCONFIGURED
                or (superuser_only and role != "super")
                or (role == "op" and of_a_city)
            ):
                assert response.status_code in (302, 403, 404), (role, page)
            elif role in OPERATORS and page == pages[0] and operator_may_view(world, model):
                assert response.status_code == 200, (role, page)
                if national:
                    assert not response.context["has_change_permission"], role
                    assert not response.context["has_delete_permission"], role
            assert response.status_code != 500, (role, page)

    # A change posted back: the superuser's own form, unchanged, saves (Django logs even an
    # unchanged save); nobody else's post of it to a row they may not change has any effect.
    page = request_as(world, "super", "get", url(model, "change", target.pk))
    assert page.status_code == 200
    data = form_data(page)
    saved = request_as(world, "super", "post", url(model, "change", target.pk), data)
    if page.context["has_change_permission"]:
        assert saved.status_code == 302 and saved.effect.logged, saved.content[:2000]
    for role in ROLES:
        if role == "super" or (role == "op_all" and of_a_city):
            continue
        before = row_of(model, target.pk)
        posted = [(url(model, "change", target.pk), data)]
        if version is not None:
            posted.append((url(model, "simple_history", target.pk, version.history_id), data))
        for page_url, body in posted:
            response = request_as(world, role, "post", page_url, body)
            assert response.status_code != 500, (role, page_url)
            assert not response.effect.logged, (role, page_url)
            assert not response.effect.counts_changed, (role, page_url)
            assert row_of(model, target.pk) == before, (role, page_url)

    # Every action the superuser is offered, on a row of B (or a national row): nobody else's
    # has any effect, and the operator of A is told why.
    actions = offered_actions(world, "super", model)
    operator_actions = offered_actions(world, "op", model)
    for action in actions:
        body = {"action": action, "_selected_action": [str(target.pk)], "index": "0"}
        for role in ROLES:
            if role == "super" or (role == "op_all" and of_a_city):
                continue
            if model is SimulatedClock and role in OPERATORS:
                continue  # the sandbox clock is every operator's instrument, as in the API
            response = request_as(world, role, "post", url(model, "changelist"), body)
            assert response.status_code in (200, 302, 403), (role, action)
            assert not response.effect.counts_changed, (role, action)
            assert not response.effect.logged and not response.effect.enqueued, (role, action)
            if role == "op" and of_a_city and action in operator_actions:
                assert any(note.startswith("Nothing was done") for note in response.notes), (
                    role,
                    action,
                    response.notes,
                )
        # A row that does not exist: a clear answer, no effect, for the superuser too.
        missing = {**body, "_selected_action": [str(_missing_pk(model))]}
        response = request_as(world, "super", "post", url(model, "changelist"), missing)
        assert response.status_code == 302, action
        assert not response.effect.counts_changed and not response.effect.enqueued, action
        assert any("is not in this list" in note for note in response.notes), response.notes


def _missing_pk(model):
    last = model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0
    return last + 1000 if isinstance(last, int) else f"{last}-gone"


def _latest_version(row):
    """The row's latest historical version, where the register offers django-simple-history's
    view of one (a page that finds the row without the register's queryset)."""
    history = getattr(row, "history", None)
    if history is None:
        return None
    try:
        url(type(row), "simple_history", row.pk, 1)
    except NoReverseMatch:
        return None
    return history.first()


# --- The cases that started this --------------------------------------------------------------


def _post(world: World, role: str, path: str, data: dict):
    return request_as(world, role, "post", path, data)


def test_an_operator_of_the_city_of_care_sees_a_filing_but_the_insured_citys_keep_it(world):
    """A Quanzhou person's filing for Hangzhou: Hangzhou's operator sees it (as the API shows it),
    cannot note or revoke it, alone or in a select-all; Quanzhou's operator can."""
    filing = world.cross_filing
    changelist = url(CrossCityFiling, "changelist")
    listed = request_as(world, "op", "get", changelist)
    assert filing.pk in {row.pk for row in listed.context["cl"].result_list}
    page = request_as(world, "op", "get", url(CrossCityFiling, "change", filing.pk))
    assert page.status_code == 200 and not page.context["has_change_permission"]

    edited = _post(world, "op", url(CrossCityFiling, "change", filing.pk), {"note": "edited"})
    assert edited.status_code == 403
    revoke = {"action": "revoke", "_selected_action": [str(filing.pk)], "index": "0"}
    refused = _post(world, "op", changelist, revoke)
    assert refused.status_code == 302 and not refused.effect.counts_changed
    assert any("not acted on here" in note for note in refused.notes), refused.notes
    everything = {**revoke, "select_across": "1"}
    refused = _post(world, "op", changelist, everything)
    assert not refused.effect.counts_changed  # not even Hangzhou's own filing
    filing.refresh_from_db()
    assert filing.revoked_at is None and filing.note == ""

    quanzhou = OperatorFactory(cities=[world.b["city"]])
    quanzhou.groups.add(operator_group_ensure())
    client = Client()
    client.force_login(quanzhou)
    assert client.post(changelist, revoke).status_code == 302
    filing.refresh_from_db()
    assert filing.revoked_at is not None


def test_the_beat_schedule_is_changed_by_superusers_only(world):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.filter(enabled=True).order_by("pk").first()
    changelist = url(PeriodicTask, "changelist")
    assert offered_actions(world, "op_all", PeriodicTask) == []
    for action in ("disable_tasks", "toggle_tasks", "run_tasks"):
        body = {"action": action, "_selected_action": [str(task.pk)], "index": "0"}
        response = _post(world, "op_all", changelist, body)
        assert not response.effect.counts_changed and not response.effect.enqueued, action
    page = request_as(world, "super", "get", url(PeriodicTask, "change", task.pk))
    renamed = {**form_data(page), "name": "renamed", "args": '["elsewhere"]'}
    response = _post(world, "op_all", url(PeriodicTask, "change", task.pk), renamed)
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.enabled and task.name != "renamed"

    disable = {"action": "disable_tasks", "_selected_action": [str(task.pk)], "index": "0"}
    world.clients["super"].post(changelist, disable)
    task.refresh_from_db()
    assert not task.enabled


def test_a_national_agreement_is_published_by_superusers_only(world):
    from cards.models import EVoucherAgreement

    add = url(EVoucherAgreement, "add")
    new = {"version": "2099.1", "title": "New", "text": "...", "effective_from": "2026-12-01"}
    assert request_as(world, "op_all", "get", add).status_code == 403
    assert _post(world, "op_all", add, new).status_code == 403
    assert not EVoucherAgreement.objects.filter(version="2099.1").exists()
    assert world.clients["super"].post(add, new).status_code == 302
    assert EVoucherAgreement.objects.filter(version="2099.1").exists()


def test_the_simulated_clock_is_moved_by_whoever_the_api_lets_move_it(world):
    """access/ decides once for the API and the console: operators and superusers move
    the sandbox clock; a terminal marked staff by mistake does not."""
    changelist = url(SimulatedClock, "changelist")
    advance = {"action": "advance_one_day", "_selected_action": ["1"], "index": "0"}
    refused = _post(world, "terminal_staff", changelist, advance)
    assert not refused.effect.counts_changed
    assert clock.now() == MONDAY_MORNING
    assert "advance_one_day" in offered_actions(world, "op", SimulatedClock)
    world.clients["op"].post(changelist, advance)
    clock.forget_cached_now()
    assert clock.now() == MONDAY_MORNING + timedelta(days=1)
    world.clients["super"].post(changelist, advance)
    clock.forget_cached_now()
    assert clock.now() == MONDAY_MORNING + timedelta(days=2)


def test_the_card_activation_page_keeps_the_scope(world):
    from settlement.tests.factories import TEST_PIN

    foreign, own = world.b["issued_card"], world.a["issued_card"]
    for card_id in (foreign.pk, _missing_pk(SocialSecurityCard)):
        page = reverse("admin:cards_card_activate", args=[card_id])
        assert request_as(world, "op", "get", page).status_code == 302
        response = _post(world, "op", page, {"pin": TEST_PIN})
        assert response.status_code == 302 and not response.effect.counts_changed
        assert any("Perhaps it was deleted" in note for note in response.notes), response.notes
    foreign.refresh_from_db()
    assert foreign.status == SocialSecurityCard.Status.ISSUED
    own_page = reverse("admin:cards_card_activate", args=[own.pk])
    assert request_as(world, "op", "get", own_page).status_code == 200


def test_a_selection_that_is_not_an_id_is_refused_in_words(world):
    from cities.models import City

    body = {"action": "force_busy", "_selected_action": ["abc"], "index": "0"}
    response = _post(world, "super", url(City, "changelist"), body)
    assert response.status_code == 302 and not response.effect.counts_changed
    assert response.notes == ["Nothing was done: 'abc' is not an id."]


def test_pickers_and_new_rows_stay_in_the_operators_cities(world):
    """The autocomplete behind a form's person or city picker lists the operator's cities only,
    and an institution cannot be added to a city the operator does not administer."""
    from institutions.models import Institution

    people = request_as(
        world,
        "op",
        "get",
        reverse("admin:autocomplete"),
        {"app_label": "settlement", "model_name": "crosscityfiling", "field_name": "person"},
    )
    offered = {int(result["id"]) for result in people.json()["results"]}
    assert world.a["holder"].pk in offered and world.b["holder"].pk not in offered
    cities = request_as(
        world,
        "op",
        "get",
        reverse("admin:autocomplete"),
        {"app_label": "persons", "model_name": "insuredperson", "field_name": "city"},
    )
    assert {int(result["id"]) for result in cities.json()["results"]} == {world.a["city"].pk}

    add = {
        "code": "H-FOREIGN",
        "name": "Elsewhere Hospital",
        "kind": "HOSPITAL",
        "level": 2,
        "city": world.b["city"].pk,
        "is_designated": "on",
        "terminals-TOTAL_FORMS": 0,
        "terminals-INITIAL_FORMS": 0,
    }
    response = _post(world, "op", url(Institution, "add"), add)
    assert response.status_code == 200 and not response.effect.counts_changed
    assert "city" in response.context["adminform"].form.errors
    assert not Institution.objects.filter(code="H-FOREIGN").exists()


def test_history_is_read_never_restored(world):
    """A row's history page shows old versions; posting one back would write a card's or a city's
    old state past the services (and their state machines). Nobody may, in scope or not."""
    from cards.services import card_report_lost

    card = SocialSecurityCard.objects.get(
        person=world.a["holder"], status=SocialSecurityCard.Status.ACTIVE
    )
    active = card.history.first()
    card_report_lost(card=card, by=None)
    page = url(SocialSecurityCard, "simple_history", card.pk, active.history_id)
    for role in ("op", "super"):
        assert request_as(world, role, "get", page).status_code == 200, role
        response = _post(world, role, page, {})
        assert response.status_code == 403, role
        assert not response.effect.counts_changed, role
    card.refresh_from_db()
    assert card.status == SocialSecurityCard.Status.LOST
