import pytest
from django.test import override_settings

from sandbox.scenarios import SCENARIOS
from tests.support import MONDAY_MORNING, client_for, set_clock
from users.tests.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(agreement):
    return client_for(OperatorFactory())


def test_catalogue_has_one_scenario_per_reason_and_combinations(operator_client):
    body = operator_client.get("/api/v1/sandbox/scenarios").json()
    codes = {entry["code"] for entry in body}
    assert {
        "BALANCE_VISIBLE",
        "CITY_INQUIRY_NOT_LAUNCHED",
        "EVOUCHER_NOT_ACTIVATED",
        "WRONG_CHANNEL",
        "PERSONAL_ACCOUNT_ABOLISHED",
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
        "PLATFORM_BUSY",
        "FUNDS_NOT_YET_TRANSFERRED",
    } <= codes
    assert any(len(entry["reasons"]) > 1 for entry in body)
    visible = next(entry for entry in body if entry["code"] == "BALANCE_VISIBLE")
    assert visible["reasons"] == [] and visible["visible"] is True


@pytest.mark.parametrize("code", list(SCENARIOS))
def test_each_scenario_person_gets_exactly_its_reasons(code, operator_client, api_client):
    created = operator_client.post(f"/api/v1/sandbox/scenarios/{code}")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["scenario"]["code"] == code
    balance = api_client.get("/api/v1/me/balance", HTTP_AUTHORIZATION=body["authorization"])
    assert balance.status_code == 200
    assert [reason["code"] for reason in balance.json()["reasons"]] == list(SCENARIOS[code].reasons)
    assert balance.json()["visible"] is SCENARIOS[code].visible
    assert balance.json()["person_id"] == body["person"]["id"]


def test_unknown_scenario_is_a_problem(operator_client):
    response = operator_client.post("/api/v1/sandbox/scenarios/NO_SUCH_STATE")
    assert response.status_code == 404 and response.json()["code"] == "SCENARIO_NOT_FOUND"


def test_scenario_creation_replays_with_the_same_idempotency_key(operator_client):
    first = operator_client.post(
        "/api/v1/sandbox/scenarios/BALANCE_VISIBLE", HTTP_IDEMPOTENCY_KEY="scenario-1"
    )
    again = operator_client.post(
        "/api/v1/sandbox/scenarios/BALANCE_VISIBLE", HTTP_IDEMPOTENCY_KEY="scenario-1"
    )
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    other = operator_client.post(
        "/api/v1/sandbox/scenarios/PLATFORM_BUSY", HTTP_IDEMPOTENCY_KEY="scenario-1"
    )
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_clock_only_moves_forward(operator_client):
    set_clock(MONDAY_MORNING)
    assert operator_client.get("/api/v1/sandbox/clock").json()["today"] == "2026-11-02"
    advanced = operator_client.post("/api/v1/sandbox/clock/advance", {"days": 2}, format="json")
    assert advanced.status_code == 200
    assert advanced.json()["now"].startswith("2026-11-04T09:00")
    back = operator_client.post(
        "/api/v1/sandbox/clock/advance", {"to": "2026-11-01T00:00:00+08:00"}, format="json"
    )
    assert back.status_code == 409 and back.json()["code"] == "CLOCK_CANNOT_GO_BACK"
    both = operator_client.post(
        "/api/v1/sandbox/clock/advance",
        {"days": 1, "to": "2026-12-01T00:00:00+08:00"},
        format="json",
    )
    assert both.status_code == 400 and both.json()["code"] == "VALIDATION_ERROR"
    assert operator_client.get("/api/v1/sandbox/clock").json()["today"] == "2026-11-04"


def test_only_operators_advance_the_clock(agreement):
    insured = client_for(UserFactory())
    response = insured.post("/api/v1/sandbox/clock/advance", {"days": 1}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "ROLE_NOT_ALLOWED"


@override_settings(SANDBOX_MODE=False)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/sandbox/scenarios"),
        ("post", "/api/v1/sandbox/scenarios/BALANCE_VISIBLE"),
        ("get", "/api/v1/sandbox/clock"),
        ("post", "/api/v1/sandbox/clock/advance"),
    ],
)
def test_sandbox_endpoints_say_so_when_sandbox_mode_is_off(method, path, operator_client):
    response = getattr(operator_client, method)(path, {"days": 1}, format="json")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "SANDBOX_DISABLED" and "SANDBOX_MODE" in body["detail"]


@override_settings(SANDBOX_MODE=False)
def test_face_outcome_cannot_be_chosen_outside_the_sandbox(agreement):
    from persons.tests.factories import PersonFactory
    from users.tests.factories import UserFactory as Users

    person = PersonFactory()
    user = Users()
    person.user = user
    person.save()
    client = client_for(user)
    client.post(
        "/api/v1/me/evoucher/agreement",
        {"platform": "ALIPAY", "agreement_version": agreement.version},
        format="json",
    )
    refused = client.post(
        "/api/v1/me/evoucher/face-authentications",
        {"sandbox_outcome": "FACE_MISMATCH"},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "SANDBOX_OUTCOME_NOT_ALLOWED"


def test_a_scenario_person_settles_from_the_account_with_the_demo_pin_it_is_told(operator_client):
    from persons.models import InsuredPerson
    from settlement.models import CatalogItem
    from settlement.tests.factories import CatalogItemFactory, InstitutionFactory
    from users.tests.factories import TerminalFactory

    set_clock(MONDAY_MORNING)
    body = operator_client.post("/api/v1/sandbox/scenarios/BALANCE_VISIBLE").json()
    assert body["card_pin"] == "258036"
    person = InsuredPerson.objects.get(pk=body["person"]["id"])
    CatalogItemFactory(code="SBX-A", catalog_class=CatalogItem.CatalogClass.A)
    hospital = client_for(TerminalFactory(institution=InstitutionFactory(city=person.city)))
    visit = {
        "visit_type": "OUTPATIENT",
        "use_personal_account": True,
        "line_items": [{"code": "SBX-A", "quantity": "1", "unit_price": "10.00"}],
    }
    card = f"CARD {body['card_number']}"
    without = hospital.post("/api/v1/settlements", visit, HTTP_X_PRESENTED_CREDENTIAL=card)
    assert without.status_code == 403 and without.json()["code"] == "CARD_PIN_REQUIRED"
    paid = hospital.post(
        "/api/v1/settlements",
        visit,
        HTTP_X_PRESENTED_CREDENTIAL=card,
        HTTP_X_CARD_PIN=body["card_pin"],
    )
    assert paid.status_code == 201, paid.content
    assert paid.json()["personal_account"]["holder_person_id"] == person.pk
    # A card not yet activated has no PIN to tell.
    issued = operator_client.post("/api/v1/sandbox/scenarios/CARD_NOT_ACTIVATED").json()
    assert issued["card_number"] and issued["card_pin"] is None


def test_an_unknown_scenario_parameter_is_refused(operator_client):
    response = operator_client.post(
        "/api/v1/sandbox/scenarios/BALANCE_VISIBLE", {"bogus": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert [error["field"] for error in response.json()["errors"]] == ["bogus"]
