"""Every reason a balance is hidden, reached through the real flows over the API (not the scenario
shortcut), and removed through its remedy where one exists."""

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts.models import CreditingRun
from cards.services import street_point_ready_working_day
from common.models import JobStatus
from persons.resident_id import make_resident_id
from sandbox.world import CITY_PROFILES, sandbox_city
from settlement.tests.factories import InstitutionFactory, PharmacyFactory
from tests.support import MONDAY_MORNING, client_for, set_clock, wait_for
from uploads.models import CityUpload
from users.tests.factories import OperatorFactory, TerminalFactory

pytestmark = pytest.mark.django_db

MONDAY = MONDAY_MORNING
PIN = "258036"


class World:
    """Cities with their real switches, an operator of all of them, a hospital and a pharmacy."""

    def __init__(self):
        set_clock(MONDAY)
        self.cities = {key: sandbox_city(key) for key in CITY_PROFILES}
        self.operator = OperatorFactory(cities=list(self.cities.values()))
        self.op = client_for(self.operator)
        hangzhou = self.cities["standard"]
        self.hospital = client_for(
            TerminalFactory(institution=InstitutionFactory(city=hangzhou, level=3))
        )
        self.pharmacy = client_for(TerminalFactory(institution=PharmacyFactory(city=hangzhou)))
        self._sequence = 0

    def enrol(
        self, profile: str, *, scheme="EMPLOYEE", status="ACTIVE", wage="10000.00", subsidy="NONE"
    ) -> dict:
        self._sequence += 1
        body = {
            "resident_id": make_resident_id("110105", date(1980, 1, 1), self._sequence),
            "name": f"Flow Person {self._sequence}",
            "city": self.cities[profile].code,
            "scheme": scheme,
            "subsidy_category": subsidy,
        }
        if scheme == "EMPLOYEE":
            body.update(
                employment_status=status, declared_wage=wage if status == "ACTIVE" else None
            )
        response = self.op.post("/api/v1/persons", body, format="json")
        assert response.status_code == 201, response.json()
        person = response.json()
        username = f"flow{self._sequence}"
        password = "a-long-enough-password"
        assert (
            self.op.post(
                f"/api/v1/persons/{person['id']}/login",
                {"username": username, "password": password},
                format="json",
            ).status_code
            == 201
        )
        login = self.anonymous().post(
            "/api/v1/auth/login", {"username": username, "password": password}, format="json"
        )
        assert login.status_code == 200, login.json()
        person["client"] = self.anonymous()
        person["client"].credentials(HTTP_AUTHORIZATION=login.json()["authorization"])
        return person

    @staticmethod
    def anonymous():
        from rest_framework.test import APIClient

        return APIClient()

    def card_at_county_centre(self, person: dict) -> dict:
        card = self.op.post(
            "/api/v1/cards",
            {
                "person": person["id"],
                "site": "COUNTY_CENTER",
                "insured_resident_id": person["resident_id"],
            },
            format="json",
        )
        assert card.status_code == 201, card.json()
        assert card.json()["status"] == "ISSUED"
        return card.json()

    def activate_card(self, card: dict) -> None:
        response = self.op.post(f"/api/v1/cards/{card['id']}/activate", {"pin": PIN}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "ACTIVE"

    def activate_evoucher_online(self, person: dict) -> dict:
        version = person["client"].get("/api/v1/evoucher-agreements/current").json()["version"]
        accepted = person["client"].post(
            "/api/v1/me/evoucher/agreement",
            {"platform": "WECHAT", "agreement_version": version},
            format="json",
        )
        assert accepted.status_code == 200, accepted.json()
        passed = person["client"].post(
            "/api/v1/me/evoucher/face-authentications", {"sandbox_outcome": "PASS"}, format="json"
        )
        assert passed.status_code == 201 and passed.json()["activated"] is True
        return passed.json()["evoucher"]

    def advance(self, days: int) -> dict:
        response = self.op.post("/api/v1/sandbox/clock/advance", {"days": days}, format="json")
        assert response.status_code == 200, response.json()
        return response.json()

    def onboard(self, person: dict) -> dict:
        """Card and e-voucher active, a month's contribution credited, data uploaded: the clock runs
        from 2 Nov to 6 Dec (collection on 10 Nov, crediting on 25 Nov, and every city's next
        scheduled upload after that, the monthly ones on 5 Dec)."""
        card = self.card_at_county_centre(person)
        self.activate_card(card)
        self.activate_evoucher_online(person)
        self.advance(34)
        return card


def reasons(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [reason["code"] for reason in response.json()["reasons"]]


def my_balance(person: dict):
    return person["client"].get("/api/v1/me/balance")


@pytest.fixture
def world(agreement):
    return World()


def test_new_enrolee_gets_four_reasons_and_each_remedy_removes_one(world):
    person = world.enrol("standard")
    assert reasons(my_balance(person)) == [
        "EVOUCHER_NOT_ACTIVATED",
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
        "FUNDS_NOT_YET_TRANSFERRED",
    ]
    funds = my_balance(person).json()["reasons"][-1]
    assert funds["expected_date"] == "2026-11-25"  # collected 10 Nov, credited 25 Nov

    world.activate_evoucher_online(person)
    assert reasons(my_balance(person)) == [
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
        "FUNDS_NOT_YET_TRANSFERRED",
    ]

    card = world.op.post(
        "/api/v1/cards",
        {
            "person": person["id"],
            "site": "STREET_POINT",
            "insured_resident_id": person["resident_id"],
        },
        format="json",
    ).json()
    # Within 3 working days of Monday 2 November, on the day the card's number gives.
    ready_on = date(2026, 11, 2) + timedelta(days=street_point_ready_working_day(card["number"]))
    assert card["status"] == "PENDING" and card["ready_on"] == ready_on.isoformat()
    card_reason = my_balance(person).json()["reasons"][0]
    assert (
        card_reason["code"] == "CARD_NOT_ACTIVATED"
        and card_reason["expected_date"] == ready_on.isoformat()
    )

    report = world.advance(3)  # Hangzhou uploads daily; the card is ready by the 5th
    assert sum(day["cards_ready"] for day in report["days"]) == 1
    assert reasons(my_balance(person)) == ["CARD_NOT_ACTIVATED", "FUNDS_NOT_YET_TRANSFERRED"]

    assert (
        world.op.post(f"/api/v1/cards/{card['id']}/collect", format="json").json()["status"]
        == "ISSUED"
    )
    world.activate_card(card)
    body = my_balance(person).json()
    assert [reason["code"] for reason in body["reasons"]] == ["FUNDS_NOT_YET_TRANSFERRED"]
    assert body["visible"] is True and body["balance"]["amount"] == "0.00"

    world.advance(
        22
    )  # to 27 Nov: contribution collected on the 10th, credited on the 25th, uploaded daily
    body = my_balance(person).json()
    assert body["reasons"] == []
    assert body["visible"] is True
    assert body["balance"] == {
        "amount": "200.00",  # 2 % of a 10,000.00 base
        "currency": "CNY",
        "as_of": body["balance"]["as_of"],
        "source": "snapshot",
    }
    assert body["balance"]["as_of"].startswith("2026-11-27")


def test_city_without_online_inquiry_and_its_counter_remedy(world):
    person = world.enrol("not_launched")
    assert reasons(my_balance(person))[0] == "CITY_INQUIRY_NOT_LAUNCHED"
    world.onboard(person)
    assert reasons(my_balance(person)) == ["CITY_INQUIRY_NOT_LAUNCHED"]
    remedy = my_balance(person).json()["reasons"][0]["remedy"]
    assert "counter" in remedy and "12393" in remedy

    at_counter = world.op.get(f"/api/v1/persons/{person['id']}/balance").json()
    assert at_counter["channel"] == "COUNTER" and at_counter["visible"] is True
    assert (
        at_counter["balance"]["source"] == "live" and Decimal(at_counter["balance"]["amount"]) > 0
    )

    nanping = CITY_PROFILES["not_launched"].code
    assert (
        world.op.patch(
            f"/api/v1/cities/{nanping}", {"online_inquiry_launched": True}, format="json"
        ).status_code
        == 200
    )
    assert reasons(my_balance(person)) == []


def test_voucher_activated_at_a_pharmacy_removes_the_reason(world):
    person = world.enrol("standard")
    card = world.card_at_county_centre(person)
    world.activate_card(card)
    world.advance(34)
    assert reasons(my_balance(person)) == ["EVOUCHER_NOT_ACTIVATED"]

    activated = world.pharmacy.post(
        "/api/v1/evouchers/pharmacy-activations",
        {"resident_id": person["resident_id"], "name": person["name"]},
        format="json",
    )
    assert activated.status_code == 200, activated.json()
    assert activated.json()["status"] == "ACTIVATED" and activated.json()["platform"] == "PHARMACY"
    assert reasons(my_balance(person)) == []

    # The person shows the e-voucher from their own app; that code identifies them at a hospital.
    assert person["client"].get("/api/v1/me/evoucher").json()["status"] == "ACTIVATED"
    shown = person["client"].post("/api/v1/me/evoucher/qr-codes")
    assert shown.status_code == 201, shown.json()
    at_hospital = world.hospital.get(
        f"/api/v1/persons/{person['id']}/balance",
        HTTP_X_PRESENTED_CREDENTIAL=shown.json()["credential"],
    )
    assert at_hospital.json()["channel"] == "INSTITUTION" and at_hospital.json()["visible"] is True


def test_wrong_channel_and_the_institution_remedy(world):
    person = world.enrol("counter_only")
    card = world.onboard(person)
    assert reasons(my_balance(person)) == ["WRONG_CHANNEL"]
    reason = my_balance(person).json()["reasons"][0]
    assert reason["channels"] == ["INSTITUTION", "COUNTER"]

    at_hospital = world.hospital.get(
        f"/api/v1/persons/{person['id']}/balance",
        HTTP_X_PRESENTED_CREDENTIAL=f"CARD {card['number']}",
    )
    assert at_hospital.status_code == 200
    assert at_hospital.json()["visible"] is True and at_hospital.json()["reasons"] == []


def test_resident_in_a_city_that_abolished_personal_accounts(world):
    person = world.enrol("abolished", scheme="RESIDENT")
    assert "PERSONAL_ACCOUNT_ABOLISHED" in reasons(my_balance(person))
    world.onboard(person)
    body = my_balance(person).json()
    assert [reason["code"] for reason in body["reasons"]] == ["PERSONAL_ACCOUNT_ABOLISHED"]
    assert body["visible"] is False and body["balance"] is None
    pooling = body["reasons"][0]["outpatient_pooling"]
    assert pooling["remaining"] == pooling["annual_quota"] and pooling["used"] == "0.00"


def test_lost_card_brings_the_reason_back_until_the_replacement_is_active(world):
    person = world.enrol("standard")
    card = world.onboard(person)
    assert reasons(my_balance(person)) == []

    lost = person["client"].post(f"/api/v1/cards/{card['id']}/report-lost", format="json")
    assert lost.status_code == 200 and lost.json()["status"] == "LOST"
    assert reasons(my_balance(person)) == ["CARD_NOT_ACTIVATED"]
    # A lost card no longer identifies anyone at an institution.
    presented = world.hospital.get(
        f"/api/v1/persons/{person['id']}/balance",
        HTTP_X_PRESENTED_CREDENTIAL=f"CARD {card['number']}",
    )
    assert presented.status_code == 403 and presented.json()["code"] == "CREDENTIAL_INVALID"

    replacement = world.op.post(
        f"/api/v1/cards/{card['id']}/replace",
        {"site": "COUNTY_CENTER", "insured_resident_id": person["resident_id"]},
        format="json",
    )
    assert replacement.status_code == 201 and replacement.json()["replaces"] == card["id"]
    world.activate_card(replacement.json())
    assert reasons(my_balance(person)) == []


def test_a_real_burst_makes_the_platform_busy_and_it_cools_down(world):
    xiamen = CITY_PROFILES["small_platform"].code
    world.op.patch(
        f"/api/v1/cities/{xiamen}", {"query_capacity": 3, "query_window_seconds": 1}, format="json"
    )
    person = world.enrol("small_platform")
    world.onboard(person)
    # Start at the beginning of a fresh one-second window, so the burst lands in one window.
    time.sleep(1 - (time.time() % 1) + 0.02)
    answers = [my_balance(person) for _ in range(4)]
    assert [reasons(answer) for answer in answers[:3]] == [[], [], []]
    busy = answers[3]
    assert reasons(busy) == ["PLATFORM_BUSY"]
    assert busy["Retry-After"] == "1" and busy.json()["reasons"][0]["retry_after"] == 1
    time.sleep(1.05)
    assert reasons(my_balance(person)) == []

    world.op.patch(f"/api/v1/cities/{xiamen}", {"platform_busy_forced": True}, format="json")
    assert reasons(my_balance(person)) == ["PLATFORM_BUSY"]
    world.op.patch(f"/api/v1/cities/{xiamen}", {"platform_busy_forced": False}, format="json")
    assert reasons(my_balance(person)) == []


@pytest.mark.django_db(transaction=True)
def test_city_opens_its_channel_and_an_upload_on_a_worker_brings_the_data(world, celery_worker):
    person = world.enrol("no_channel")
    world.onboard(person)
    assert reasons(my_balance(person)) == ["DATA_NOT_UPLOADED"]
    assert my_balance(person).json()["reasons"][0]["expected_date"] is None  # no channel: never

    zhumadian = CITY_PROFILES["no_channel"].code
    refused = world.op.post("/api/v1/uploads", {"city": zhumadian}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "NO_PUBLIC_CHANNEL"

    world.op.patch(
        f"/api/v1/cities/{zhumadian}", {"has_public_upload_channel": True}, format="json"
    )
    still = my_balance(person).json()["reasons"]
    assert [reason["code"] for reason in still] == ["DATA_NOT_UPLOADED"] and still[0][
        "expected_date"
    ]

    started = world.op.post("/api/v1/uploads", {"city": zhumadian}, format="json")
    assert started.status_code == 202, started.json()
    upload_id = started.json()["id"]
    wait_for(lambda: CityUpload.objects.get(pk=upload_id).status == JobStatus.SUCCEEDED)
    progress = world.op.get(f"/api/v1/uploads/{upload_id}").json()
    assert progress["progress_percent"] == 100 and progress["items_done"] == progress["items_total"]
    assert reasons(my_balance(person)) == []


@pytest.mark.django_db(transaction=True)
def test_crediting_started_twice_at_once_on_a_worker_posts_once(world, celery_worker):
    person = world.enrol("standard")
    world.advance(10)  # to 12 Nov: November's contribution collected on the 10th
    first = world.op.post(
        "/api/v1/crediting-runs", {"city": "330100", "period": "2026-11-01"}, format="json"
    )
    second = world.op.post(
        "/api/v1/crediting-runs", {"city": "330100", "period": "2026-11-20"}, format="json"
    )
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]  # one run per city and month
    run_id = first.json()["id"]
    wait_for(
        lambda: (
            CreditingRun.objects.get(pk=run_id).status == JobStatus.SUCCEEDED
            and CreditingRun.objects.get(pk=run_id).executions >= 2
        )
    )
    run = world.op.get(f"/api/v1/crediting-runs/{run_id}").json()
    assert run["credited_count"] == 1 and run["credited_amount"] == "200.00"
    at_counter = world.op.get(f"/api/v1/persons/{person['id']}/balance").json()
    assert at_counter["balance"]["amount"] == "200.00"
