"""City uploads to the national platform: a snapshot row for every person, in resumable chunks."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from accounts.crediting import crediting_run_execute, crediting_run_open
from accounts.models import Account, Transfer
from accounts.services import Leg, contribution_record, transfer_post
from accounts.tests.support import at, refused, set_clock
from cities.models import City
from cities.tests.factories import CityFactory
from common.models import JobStatus
from persons.tests.factories import PersonFactory, ResidentFactory, RetireeFactory
from uploads.error_codes import UploadErrorCode
from uploads.models import BalanceSnapshot, CityUpload
from uploads.services import upload_execute, upload_open, upload_person_now

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
FEB = date(2026, 2, 1)


@pytest.fixture(autouse=True)
def now():
    return set_clock(at(TODAY, 2))


@pytest.fixture
def city():
    # Resident accounts are abolished from 1 March: residents enrolled before keep theirs.
    return CityFactory(resident_accounts_abolished_on=date(2026, 3, 1))


@pytest.fixture
def people(city):
    """Persons of every kind, one of them credited."""
    credited = PersonFactory(city=city, declared_wage=Decimal("10000.00"), enrolled_on=FEB)
    contribution_record(person=credited, period=FEB)
    run, _ = crediting_run_open(city=city, period=FEB)
    crediting_run_execute(run_id=run.id)
    return {
        "credited": credited,
        "uncredited": PersonFactory(city=city, enrolled_on=FEB),
        "retiree": RetireeFactory(city=city, enrolled_on=FEB),
        "resident": ResidentFactory(city=city, enrolled_on=FEB),
        "no_account": ResidentFactory(city=city, enrolled_on=date(2026, 3, 10)),
    }


def open_upload(city, **kwargs) -> CityUpload:
    upload, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR, **kwargs)
    return upload


def rows(city) -> dict[int, tuple]:
    return {
        s.person_id: (s.upload_id, s.has_personal_account, s.balance, s.credited, s.as_of)
        for s in BalanceSnapshot.objects.filter(person__city=city)
    }


def live(person) -> tuple[bool, Decimal]:
    account = Account.objects.filter(person=person).first()
    return (account is not None, account.balance if account else Decimal("0.00"))


def test_an_upload_writes_a_snapshot_row_for_every_person_in_the_city(city, people, now):
    outsider = PersonFactory(city=CityFactory())
    upload = open_upload(city)
    assert upload.as_of == now
    outcome = upload_execute(upload_id=upload.id)
    upload.refresh_from_db()

    snapshot = rows(city)
    assert set(snapshot) == {person.id for person in people.values()}
    for name, person in people.items():
        has_account, balance = live(person)
        assert snapshot[person.id] == (upload.id, has_account, balance, name == "credited", now)
    assert snapshot[people["credited"].id][2] == Decimal("200.00")
    assert snapshot[people["no_account"].id][1:3] == (False, Decimal("0.00"))
    assert not BalanceSnapshot.objects.filter(person=outsider).exists()

    assert (outcome.status, upload.status) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED)
    assert upload.items_total == upload.items_done == len(people)
    assert City.objects.get(pk=city.pk).latest_upload_id == upload.id


def test_an_upload_is_as_of_the_time_its_first_run_is_given_not_the_clocks(city, people):
    """The job reads the clock once per run and passes it; the upload reads no clock then."""
    opened_at = at(TODAY, 1)
    upload = open_upload(city, now=opened_at)
    assert upload.as_of == opened_at
    run_at = at(date(2026, 3, 17), 3)
    upload_execute(upload_id=upload.id, now=run_at)
    upload.refresh_from_db()
    assert upload.as_of == run_at
    assert {row[4] for row in rows(city).values()} == {run_at}
    # A later run of a finished upload moves nothing.
    upload_execute(upload_id=upload.id, now=at(date(2026, 3, 18), 3))
    upload.refresh_from_db()
    assert upload.as_of == run_at


@pytest.mark.parametrize("chunk_size", [1, 2, 4, 1000])
def test_chunk_sizes_give_the_same_snapshot(city, people, chunk_size):
    upload = open_upload(city)
    outcome = upload_execute(upload_id=upload.id, chunk_size=chunk_size)
    assert outcome.chunks == -(-len(people) // chunk_size)
    assert {pid: row[:4] for pid, row in rows(city).items()} == {
        person.id: (upload.id, *live(person), name == "credited") for name, person in people.items()
    }


class Interrupted(Exception):
    pass


def test_an_interrupted_upload_resumes_and_only_then_becomes_the_latest(city, people):
    earlier = open_upload(city)
    upload_execute(upload_id=earlier.id)
    set_clock(at(date(2026, 3, 17), 2))
    upload = open_upload(city)

    def interrupt(count):
        raise Interrupted("worker killed")

    with pytest.raises(Interrupted):
        upload_execute(upload_id=upload.id, chunk_size=2, progress=interrupt)
    upload.refresh_from_db()
    assert (upload.status, upload.items_done) == (JobStatus.FAILED, 2)
    assert "worker killed" in upload.error
    first_two = sorted(person.id for person in people.values())[:2]
    assert (
        sorted(BalanceSnapshot.objects.filter(upload=upload).values_list("person_id", flat=True))
        == first_two
    )
    # The online channel still points at the last finished upload.
    assert City.objects.get(pk=city.pk).latest_upload_id == earlier.id

    outcome = upload_execute(upload_id=upload.id, chunk_size=2)
    upload.refresh_from_db()
    assert upload.status == JobStatus.SUCCEEDED
    assert (upload.executions, upload.items_done) == (2, len(people))
    assert outcome.items_done == len(people) - 2  # it went on from where it stopped
    assert {row[0] for row in rows(city).values()} == {upload.id}
    assert City.objects.get(pk=city.pk).latest_upload_id == upload.id


def test_running_a_finished_upload_again_changes_nothing(city, people):
    upload = open_upload(city)
    upload_execute(upload_id=upload.id)
    before = rows(city)
    upload.refresh_from_db()
    executions = upload.executions

    # Money moves after the upload; a repeat of it still shows the picture at its as-of time.
    pool = Account.objects.get(city=city, kind=Account.Kind.EMPLOYEE_POOL)
    transfer_post(
        kind=Transfer.Kind.SETTLEMENT,
        key="after-upload",
        memo="pharmacy",
        legs=[
            Leg(people["credited"].personal_account.id, Decimal("-50.00")),
            Leg(pool.id, Decimal("50.00")),
        ],
    )
    outcome = upload_execute(upload_id=upload.id)
    assert outcome.status == JobStatus.SUCCEEDED
    assert rows(city) == before
    upload.refresh_from_db()
    assert upload.executions == executions

    # The next upload carries the change.
    set_clock(at(date(2026, 3, 17), 2))
    upload_execute(upload_id=open_upload(city).id)
    assert rows(city)[people["credited"].id][2] == Decimal("150.00")


def test_an_older_upload_finishing_late_does_not_become_the_latest(city, people):
    older = open_upload(city)
    set_clock(at(date(2026, 3, 17), 2))
    newer = open_upload(city)
    upload_execute(upload_id=newer.id)
    upload_execute(upload_id=older.id)
    assert City.objects.get(pk=city.pk).latest_upload_id == newer.id


def test_an_older_upload_finishing_late_leaves_the_newer_snapshot_rows(city, people):
    older = open_upload(city)
    later = set_clock(at(date(2026, 3, 17), 2))
    newer = open_upload(city)
    upload_execute(upload_id=newer.id)
    upload_execute(upload_id=older.id)
    assert {(row[0], row[4]) for row in rows(city).values()} == {(newer.id, later)}


def test_a_city_without_a_public_channel_never_uploads(people):
    city = CityFactory(no_channel=True)
    person = PersonFactory(city=city)
    with refused(UploadErrorCode.NO_PUBLIC_CHANNEL):
        upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)
    with refused(UploadErrorCode.NO_PUBLIC_CHANNEL):
        upload_open(city=city, trigger=CityUpload.Trigger.SCHEDULE, due_on=TODAY)
    with refused(UploadErrorCode.NO_PUBLIC_CHANNEL):
        upload_person_now(person=person)
    assert not CityUpload.objects.filter(city=city).exists()
    assert not BalanceSnapshot.objects.filter(person=person).exists()


def test_a_scheduled_upload_is_recorded_once_per_day(city):
    first, created = upload_open(city=city, trigger=CityUpload.Trigger.SCHEDULE, due_on=TODAY)
    again, created_again = upload_open(city=city, trigger=CityUpload.Trigger.SCHEDULE, due_on=TODAY)
    assert (created, created_again, again.pk) == (True, False, first.pk)
    tomorrow, created = upload_open(
        city=city, trigger=CityUpload.Trigger.SCHEDULE, due_on=date(2026, 3, 17)
    )
    assert created and tomorrow.pk != first.pk
    # Operators may upload in between, as often as they like.
    assert open_upload(city).pk not in (first.pk, tomorrow.pk)


def test_the_sandbox_fast_forward_uploads_one_person_only(city, people):
    person = people["credited"]
    upload = CityUpload.objects.get(pk=upload_person_now(person=person).pk)
    assert set(rows(city)) == {person.id}
    assert rows(city)[person.id][:3] == (upload.id, True, Decimal("200.00"))
    assert (upload.status, upload.items_done) == (JobStatus.SUCCEEDED, 1)
    # The city has uploaded: its latest upload is this one, and only ever moves forward.
    assert City.objects.get(pk=city.pk).latest_upload_id == upload.id
    newer = open_upload(city)
    upload_execute(upload_id=newer.id)
    upload_person_now(person=person)
    assert City.objects.get(pk=city.pk).latest_upload_id > newer.id


@pytest.mark.django_db(transaction=True)
def test_concurrent_executions_of_an_upload_complete_it_once():
    set_clock(at(TODAY, 2))
    city = CityFactory()
    persons = [PersonFactory(city=city) for _ in range(7)]
    upload = open_upload(city)
    start = threading.Barrier(2)
    outcomes: list = []

    def execute():
        try:
            start.wait(timeout=10)
            outcomes.append(upload_execute(upload_id=upload.id, chunk_size=2))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=execute) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [getattr(o, "status", o) for o in outcomes] == [JobStatus.SUCCEEDED] * 2
    assert set(rows(city)) == {person.id for person in persons}
    assert City.objects.get(pk=city.pk).latest_upload_id == upload.id
