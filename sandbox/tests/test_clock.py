"""The simulated clock through the API: steps of minutes and hours, the day's work on a partial
day, and which waits it governs (a face-authentication lock) and which it does not (a query
platform's busy window, real seconds)."""

import time
from datetime import datetime

import pytest

from accounts.models import CreditingRun
from cities.tests.factories import CityFactory
from common.models import JobStatus
from persons.tests.factories import PersonFactory
from tests.support import MONDAY_MORNING, SHANGHAI, client_for, set_clock
from users.tests.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(agreement):
    return client_for(OperatorFactory())


def _advance(operator_client, **step):
    response = operator_client.post("/api/v1/sandbox/clock/advance", step, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def _insured_client(**city):
    person = PersonFactory(city=CityFactory(**city))
    user = UserFactory()
    person.user = user
    person.save()
    return client_for(user)


def test_the_clock_advances_by_minutes_and_hours(operator_client):
    set_clock(MONDAY_MORNING)
    assert _advance(operator_client, minutes=31)["now"] == "2026-11-02T09:31:00+08:00"
    assert _advance(operator_client, hours=1, minutes=29)["now"] == "2026-11-02T11:00:00+08:00"
    assert _advance(operator_client, days=1, hours=2)["now"] == "2026-11-03T13:00:00+08:00"
    state = operator_client.get("/api/v1/sandbox/clock").json()
    assert state["now"] == "2026-11-03T13:00:00+08:00" and state["today"] == "2026-11-03"


@pytest.mark.parametrize(
    "body",
    [{}, {"minutes": 5, "to": "2026-12-01T00:00:00+08:00"}, {"minutes": -1}, {"hours": 10**6}],
)
def test_a_step_is_one_of_its_forms_and_bounded(operator_client, body):
    set_clock(MONDAY_MORNING)
    response = operator_client.post("/api/v1/sandbox/clock/advance", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"


def test_ninety_minutes_across_midnight_run_the_new_days_jobs(operator_client):
    city = CityFactory(crediting_day=25)
    PersonFactory(city=city)
    set_clock(datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI))
    report = _advance(operator_client, minutes=90)
    assert report["now"] == "2026-11-25T00:30:00+08:00"
    ran = [
        (day["day"], job["kind"], job["city"], job["status"])
        for day in report["days"]
        for job in day["jobs"]
    ]
    assert ("2026-11-25", "creditingrun", city.code, "SUCCEEDED") in ran
    run = CreditingRun.objects.get(city=city, period="2026-11-01")
    assert run.status == JobStatus.SUCCEEDED
    # The rest of the day does not run the day's work again.
    again = _advance(operator_client, hours=2)
    assert all(day["day"] != "2026-11-25" for day in again["days"])
    assert CreditingRun.objects.get(pk=run.pk).executions == run.executions


def test_a_face_authentication_lock_lifts_when_the_simulated_clock_passes_it(
    operator_client, agreement, settings
):
    set_clock(MONDAY_MORNING)
    insured = _insured_client()
    insured.post(
        "/api/v1/me/evoucher/agreement",
        {"platform": "ALIPAY", "agreement_version": agreement.version},
        format="json",
    )
    for _ in range(settings.EVOUCHER_FACE_AUTH_MAX_FAILURES):
        failed = insured.post(
            "/api/v1/me/evoucher/face-authentications",
            {"sandbox_outcome": "FACE_MISMATCH"},
            format="json",
        )
        assert failed.status_code == 201
    lock = settings.EVOUCHER_FACE_AUTH_LOCK_MINUTES
    assert failed.json()["retry_after"] == lock * 60

    locked = insured.post(
        "/api/v1/me/evoucher/face-authentications", {"sandbox_outcome": "PASS"}, format="json"
    )
    assert locked.status_code == 409 and locked.json()["code"] == "FACE_AUTH_LOCKED"
    body = locked.json()
    # Local time everywhere, with the offset in the API, and the clock that governs the wait named.
    assert body["locked_until"] == "2026-11-02T09:30:00+08:00"
    assert "until 2026-11-02 09:30." in body["detail"]
    assert "simulated clock" in body["detail"]
    assert locked["Retry-After"] == str(lock * 60 + 1)
    reasons = insured.get("/api/v1/me/balance").json()["reasons"]
    evoucher = next(reason for reason in reasons if reason["code"] == "EVOUCHER_NOT_ACTIVATED")
    assert "until 2026-11-02 09:30." in evoucher["detail"]
    assert "simulated clock" in evoucher["detail"]

    _advance(operator_client, minutes=lock - 1)
    still = insured.post(
        "/api/v1/me/evoucher/face-authentications", {"sandbox_outcome": "PASS"}, format="json"
    )
    assert still.status_code == 409 and still["Retry-After"] == "61"

    _advance(operator_client, minutes=2)
    passed = insured.post(
        "/api/v1/me/evoucher/face-authentications", {"sandbox_outcome": "PASS"}, format="json"
    )
    assert passed.status_code == 201 and passed.json()["activated"] is True


def test_a_busy_platform_waits_real_seconds_whatever_the_simulated_clock_does(operator_client):
    set_clock(MONDAY_MORNING)
    insured = _insured_client(query_capacity=1, query_window_seconds=3600)
    window = int(time.time() // 3600)
    assert "PLATFORM_BUSY" not in [
        r["code"] for r in insured.get("/api/v1/me/balance").json()["reasons"]
    ]
    busy = insured.get("/api/v1/me/balance")
    reason = next(r for r in busy.json()["reasons"] if r["code"] == "PLATFORM_BUSY")
    assert "real seconds" in reason["remedy"]
    assert int(busy["Retry-After"]) == reason["retry_after"] > 0

    _advance(operator_client, hours=2)
    after = insured.get("/api/v1/me/balance").json()["reasons"]
    if int(time.time() // 3600) != window:
        pytest.skip("the real hour turned during the test, so the window really passed")
    assert "PLATFORM_BUSY" in [r["code"] for r in after]


def test_the_clock_stays_where_a_refused_step_found_it(operator_client):
    set_clock(MONDAY_MORNING)
    refused = operator_client.post(
        "/api/v1/sandbox/clock/advance", {"to": "2026-11-02T08:59:00+08:00"}, format="json"
    )
    assert refused.status_code == 409
    # The time it names is local, as the clock's own endpoint gives it.
    assert "2026-11-02 09:00" in refused.json()["detail"]
    assert operator_client.get("/api/v1/sandbox/clock").json()["now"] == (
        MONDAY_MORNING.isoformat()
    )


def test_an_advance_says_when_it_lists_only_some_of_its_events(operator_client, monkeypatch):
    import sandbox.apis

    cities = [CityFactory(crediting_day=25) for _ in range(2)]
    for city in cities:
        PersonFactory(city=city)
    set_clock(datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI))
    monkeypatch.setattr(sandbox.apis, "EVENTS_SHOWN", 1)
    cut = _advance(operator_client, minutes=90)
    assert len(cut["events"]) == 1 and cut["events_total"] >= 2
    assert cut["events_truncated"] is True
    superuser = client_for(UserFactory(is_superuser=True, is_staff=True))
    listed = superuser.get(cut["events_url"]).json()["results"]
    assert cut["events"][0]["id"] in {event["id"] for event in listed}
    assert len(listed) == cut["events_total"]
    # Job counts are numbers, as in the events; amounts stay strings.
    jobs = [job for day in cut["days"] for job in day["jobs"] if job["kind"] == "creditingrun"]
    assert len(jobs) == 2
    for job in jobs:
        assert type(job["credited_count"]) is int
        assert isinstance(job["credited_amount"], str)
