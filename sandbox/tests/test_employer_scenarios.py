"""The employer scenarios: a person whose employer is in arrears or underpays, built through the
real services, with the notices their balance answer gives and the parameters a client chooses."""

from decimal import Decimal

import pytest

from accounts.models import Account, ContributionArrear
from tests.support import MONDAY_MORNING, client_for, set_clock
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(agreement):
    set_clock(MONDAY_MORNING)
    return client_for(OperatorFactory())


def created(client, code, **parameters):
    response = client.post(f"/api/v1/sandbox/scenarios/{code}", parameters or None, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_catalogue_says_each_scenarios_notices_and_parameters(operator_client):
    body = {s["code"]: s for s in operator_client.get("/api/v1/sandbox/scenarios").json()}
    assert body["EMPLOYER_ARREARS"]["notices"] == ["EMPLOYER_ARREARS"]
    assert body["EMPLOYER_ARREARS"]["parameters"] == ["arrears_months"]
    assert body["EMPLOYER_UNDERPAID"]["parameters"] == ["paid_base_ratio"]
    assert body["EMPLOYER_ARREARS"]["visible"] is True
    assert body["BALANCE_VISIBLE"]["notices"] == [] == body["BALANCE_VISIBLE"]["parameters"]


def test_an_employer_in_arrears_for_the_months_chosen(operator_client, api_client):
    body = created(operator_client, "EMPLOYER_ARREARS", arrears_months=3)
    person_id = body["person"]["id"]
    # Enrolled in July: July paid and credited, August to October unpaid (today is 2 November).
    assert body["person"]["enrolled_on"] == "2026-07-01"
    balance = api_client.get("/api/v1/me/balance", HTTP_AUTHORIZATION=body["authorization"]).json()
    assert (balance["visible"], balance["reasons"]) == (True, [])
    paid_share = Account.objects.get(person_id=person_id).balance
    assert paid_share > 0 and balance["balance"]["amount"] == f"{paid_share:.2f}"
    (notice,) = balance["notices"]
    assert notice["code"] == "EMPLOYER_ARREARS"
    assert notice["months"] == ["2026-08-01", "2026-09-01", "2026-10-01"]
    assert Decimal(notice["account_share_missing"]) == 3 * paid_share
    months = api_client.get(
        f"/api/v1/persons/{person_id}/payment-months", HTTP_AUTHORIZATION=body["authorization"]
    ).json()["results"]
    assert [(m["period"], m["status"]) for m in months] == [
        ("2026-10-01", "UNPAID"),
        ("2026-09-01", "UNPAID"),
        ("2026-08-01", "UNPAID"),
        ("2026-07-01", "PAID"),
    ]
    assert ContributionArrear.objects.filter(person_id=person_id).count() == 3


def test_an_employer_paying_on_half_the_wage(operator_client, api_client):
    body = created(operator_client, "EMPLOYER_UNDERPAID", paid_base_ratio="0.50")
    balance = api_client.get("/api/v1/me/balance", HTTP_AUTHORIZATION=body["authorization"]).json()
    assert (balance["visible"], balance["reasons"]) == (True, [])
    (notice,) = balance["notices"]
    assert (notice["code"], notice["months"]) == ("EMPLOYER_UNDERPAID", ["2026-10-01"])
    (month,) = api_client.get(
        f"/api/v1/persons/{body['person']['id']}/payment-months",
        HTTP_AUTHORIZATION=body["authorization"],
    ).json()["results"]
    assert month["status"] == "UNDERPAID"
    assert Decimal(month["base_used"]) < Decimal(month["base_due"])
    # Credited on the base used: 2 % of it.
    assert balance["balance"]["amount"] == month["account_share"]


@pytest.mark.parametrize(
    ("code", "parameters"),
    [
        ("BALANCE_VISIBLE", {"arrears_months": 2}),
        ("EMPLOYER_UNDERPAID", {"arrears_months": 2}),
        ("EMPLOYER_ARREARS", {"arrears_months": 13}),
        ("EMPLOYER_UNDERPAID", {"paid_base_ratio": "1.00"}),
    ],
)
def test_a_parameter_the_scenario_does_not_take_is_refused(operator_client, code, parameters):
    response = operator_client.post(f"/api/v1/sandbox/scenarios/{code}", parameters, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert [error["field"] for error in response.json()["errors"]] == list(parameters)


def test_the_home_page_lists_the_notice_beside_each_employer_scenario(client, agreement):
    page = client.get("/").content.decode()
    assert "none: the balance is visible; notice beside it: EMPLOYER_ARREARS" in page
    assert "notice beside it: EMPLOYER_UNDERPAID" in page
