"""The employers API: registering, taking on employees, payment modes and arrears, the list's
state and filters, and the refusals a client branches on."""

from datetime import date

import pytest

from accounts.employer_payments import contribution_arrear_record
from accounts.tests.support import set_clock
from cities.tests.factories import CityFactory
from common import clock
from employers.credit_code import make_credit_code
from employers.models import Employer
from employers.services import employer_employee_add
from employers.tests.factories import EmployerFactory
from persons.tests.factories import PersonFactory, RetireeFactory
from tests.support import client_for
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)


@pytest.fixture
def city():
    set_clock(TODAY)
    return CityFactory()


@pytest.fixture
def op(city):
    return client_for(OperatorFactory(cities=[city]))


def test_register_an_employer_and_a_retry_answers_the_same_one(city, op):
    body = {
        "name": "Acme",
        "credit_code": make_credit_code(city.code, "MA0000001"),
        "city": city.code,
    }
    first = op.post("/api/v1/employers", body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json() | {"id": 0} == {
        "id": 0,
        "name": "Acme",
        "credit_code": body["credit_code"],
        "city": city.code,
        "payment_mode": "PAYING",
        "paid_base_ratio": None,
        "state": "PAYING",
        "employees_count": 0,
        "arrears_since": None,
        "arrears_months": 0,
        "arrears_amount": "0.00",
    }
    again = op.post("/api/v1/employers", body, format="json")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    taken = op.post("/api/v1/employers", body | {"name": "Other"}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "CREDIT_CODE_TAKEN"


def test_a_wrong_check_character_is_a_field_error(city, op):
    code = make_credit_code(city.code, "MA0000001")
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    response = op.post(
        "/api/v1/employers",
        {"name": "Acme", "credit_code": wrong, "city": city.code},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "CREDIT_CODE_INVALID"
    assert [e["field"] for e in response.json()["errors"]] == ["credit_code"]
    assert not Employer.objects.exists()


def test_another_citys_operator_cannot_register_or_see(city, op):
    other = client_for(OperatorFactory(cities=[CityFactory()]))
    code = make_credit_code(city.code, "MA0000001")
    refused = other.post(
        "/api/v1/employers", {"name": "Acme", "credit_code": code, "city": city.code}, format="json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "CITY_NOT_ADMINISTERED"
    employer = EmployerFactory(city=city)
    assert other.get(f"/api/v1/employers/{employer.id}").status_code == 404
    assert other.get("/api/v1/employers").json()["results"] == []
    assert other.post(f"/api/v1/employers/{employer.id}/arrears-payment").status_code == 404


def test_employees_and_payment_modes_with_their_refusals(city, op):
    employer = EmployerFactory(city=city)
    url = f"/api/v1/employers/{employer.id}"
    person = PersonFactory(city=city)
    added = op.post(
        f"{url}/employees", {"person": person.id, "started_on": "2026-03-01"}, format="json"
    )
    assert added.status_code == 200 and added.json()["employees_count"] == 1
    retiree = RetireeFactory(city=city)
    refused = op.post(
        f"{url}/employees", {"person": retiree.id, "started_on": "2026-03-01"}, format="json"
    )
    assert refused.status_code == 422 and refused.json()["code"] == "EMPLOYEE_NOT_ELIGIBLE"
    under = op.post(
        f"{url}/payment-mode",
        {"payment_mode": "UNDERPAYING", "paid_base_ratio": "0.60"},
        format="json",
    )
    assert under.status_code == 200
    assert (under.json()["state"], under.json()["paid_base_ratio"]) == ("UNDERPAYING", "0.60")
    missing = op.post(f"{url}/payment-mode", {"payment_mode": "UNDERPAYING"}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "PAYMENT_MODE_INVALID"
    assert [e["field"] for e in missing.json()["errors"]] == ["paid_base_ratio"]
    stray = op.post(
        f"{url}/payment-mode", {"payment_mode": "PAYING", "paid_base_ratio": "0.60"}, format="json"
    )
    assert stray.status_code == 400
    nothing_owed = op.post(f"{url}/arrears-payment")
    assert nothing_owed.status_code == 409 and nothing_owed.json()["code"] == "NO_ARREARS"


def test_the_list_filters_by_arrears(city, op):
    owing, paying = EmployerFactory(city=city), EmployerFactory(city=city)
    person = PersonFactory(city=city, enrolled_on=date(2026, 1, 1))
    employer_employee_add(employer=owing, person=person, started_on=date(2026, 1, 1))
    contribution_arrear_record(
        person=person, period=date(2026, 2, 1), employer=owing, now=clock.now()
    )
    listed = op.get("/api/v1/employers?in_arrears=true").json()["results"]
    assert [(e["id"], e["state"], e["arrears_since"]) for e in listed] == [
        (owing.id, "IN_ARREARS", "2026-02-01")
    ]
    others = op.get("/api/v1/employers?in_arrears=false").json()["results"]
    assert [e["id"] for e in others] == [paying.id]


def test_who_changed_how_an_employer_pays_is_kept(city):
    operator = OperatorFactory(cities=[city])
    employer = EmployerFactory(city=city)
    response = client_for(operator).post(
        f"/api/v1/employers/{employer.id}/payment-mode",
        {"payment_mode": "NOT_PAYING"},
        format="json",
        HTTP_X_REQUEST_ID="mode-change-1",
    )
    assert response.status_code == 200
    latest = employer.history.first()
    assert (latest.payment_mode, latest.history_user, latest.request_id) == (
        "NOT_PAYING",
        operator,
        "mode-change-1",
    )
    again = client_for(operator).post(
        f"/api/v1/employers/{employer.id}/payment-mode",
        {"payment_mode": "NOT_PAYING"},
        format="json",
    )
    assert again.status_code == 200 and employer.history.count() == 2  # created, then changed
