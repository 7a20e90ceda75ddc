"""The card scenarios: a street point's card ready on the working day the client chooses (or the
day its number gives), and the institution channel answering for the credential presented, each
reached through the sandbox's API and moved on with its clock."""

from datetime import date, timedelta

import pytest

from cards.models import SocialSecurityCard
from cards.services import street_point_ready_working_day
from cities.models import City
from settlement.tests.factories import InstitutionFactory
from tests.support import MONDAY_MORNING, client_for, set_clock
from users.tests.factories import OperatorFactory, TerminalFactory

pytestmark = pytest.mark.django_db
MONDAY = MONDAY_MORNING.date()  # 2 November 2026: working days 1 to 3 are Tue, Wed, Thu


@pytest.fixture
def operator_client(agreement):
    set_clock(MONDAY_MORNING)
    return client_for(OperatorFactory())


def created(client, code, **parameters):
    response = client.post(f"/api/v1/sandbox/scenarios/{code}", parameters or None, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def card_of(body) -> SocialSecurityCard:
    return SocialSecurityCard.objects.get(number=body["card_number"])


def test_the_catalogue_lists_the_ready_day_as_a_parameter(operator_client):
    body = {s["code"]: s for s in operator_client.get("/api/v1/sandbox/scenarios").json()}
    assert body["CARD_BEING_MADE"]["parameters"] == ["card_ready_working_day"]
    assert body["CARD_BEING_MADE"]["reasons"] == ["CARD_NOT_ACTIVATED"]
    assert body["BRAND_NEW_ENROLEE"]["parameters"] == ["card_ready_working_day"]


@pytest.mark.parametrize("working_day", [1, 2, 3])
def test_the_card_is_ready_on_the_working_day_chosen(operator_client, api_client, working_day):
    body = created(operator_client, "CARD_BEING_MADE", card_ready_working_day=working_day)
    ready_on = MONDAY + timedelta(days=working_day)
    assert (card_of(body).site, card_of(body).ready_on) == ("STREET_POINT", ready_on)
    me = {"HTTP_AUTHORIZATION": body["authorization"]}
    (reason,) = api_client.get("/api/v1/me/balance", **me).json()["reasons"]
    assert (reason["code"], reason["expected_date"]) == ("CARD_NOT_ACTIVATED", ready_on.isoformat())

    # The day before, still being made; on the day, ready for pick-up.
    if working_day > 1:
        operator_client.post("/api/v1/sandbox/clock/advance", {"days": working_day - 1})
        assert card_of(body).status == SocialSecurityCard.Status.PENDING
        operator_client.post("/api/v1/sandbox/clock/advance", {"days": 1})
    else:
        operator_client.post("/api/v1/sandbox/clock/advance", {"days": 1})
    assert card_of(body).status == SocialSecurityCard.Status.READY


def test_without_a_choice_the_day_is_the_one_the_number_gives(operator_client):
    body = created(operator_client, "CARD_BEING_MADE")
    card = card_of(body)
    assert card.ready_on == MONDAY + timedelta(days=street_point_ready_working_day(card.number))


@pytest.mark.parametrize(
    ("code", "parameters", "field"),
    [
        ("CARD_BEING_MADE", {"card_ready_working_day": 4}, "card_ready_working_day"),
        ("CARD_BEING_MADE", {"card_ready_working_day": 0}, "card_ready_working_day"),
        ("BALANCE_VISIBLE", {"card_ready_working_day": 2}, "card_ready_working_day"),
    ],
)
def test_a_ready_day_out_of_range_or_for_another_scenario_is_refused(
    operator_client, code, parameters, field
):
    refused = operator_client.post(f"/api/v1/sandbox/scenarios/{code}", parameters, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == field


def test_at_a_terminal_the_e_voucher_serves_where_the_card_is_not_activated(
    operator_client, api_client
):
    body = created(operator_client, "CARD_NOT_ACTIVATED")
    institution = InstitutionFactory(city=City.objects.get(code=body["person"]["city"]))
    terminal = client_for(TerminalFactory(institution=institution))
    balance_url = f"/api/v1/persons/{body['person']['id']}/balance"

    by_card = terminal.get(balance_url, HTTP_X_PRESENTED_CREDENTIAL=f"CARD {body['card_number']}")
    assert by_card.json()["visible"] is False
    assert [r["code"] for r in by_card.json()["reasons"]] == ["CARD_NOT_ACTIVATED"]

    code = api_client.post(
        body["evoucher_qr_codes_url"], HTTP_AUTHORIZATION=body["authorization"]
    ).json()["code"]
    by_evoucher = terminal.get(balance_url, HTTP_X_PRESENTED_CREDENTIAL=f"EVOUCHER {code}")
    assert (by_evoucher.json()["visible"], by_evoucher.json()["reasons"]) == (True, [])
    assert by_evoucher.json()["channel"] == "INSTITUTION"
    assert date.fromisoformat(by_evoucher.json()["balance"]["as_of"][:10]) == MONDAY
