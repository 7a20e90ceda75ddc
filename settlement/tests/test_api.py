"""The settlement API: itemised responses, problems for bad input (that change nothing),
idempotent replays, who sees what, filings and family aid over HTTP, the schema."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Entry
from cards.services import evoucher_presentation_code_issue
from cities.tests.factories import CityFactory
from common import clock
from persons.tests.factories import PersonFactory, ResidentFactory
from settlement.models import BenefitPolicy, CrossCityFiling, FamilyAuthorization, Settlement
from settlement.tests.factories import (
    TEST_PIN,
    activated_evoucher,
    active_card,
    filing_for,
    issued_card,
)
from settlement.tests.helpers import balance, city_pool, money_state, settle
from users.tests.factories import OperatorFactory, SuperuserFactory, TerminalFactory, token_for

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
URL = "/api/v1/settlements"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["detail"] and body["request_id"]
    return body


def presenting(person) -> dict:
    """The person's card and its PIN, as the cardholder enters it at the terminal."""
    return {
        "HTTP_X_PRESENTED_CREDENTIAL": f"CARD {person.card.number}",
        "HTTP_X_CARD_PIN": TEST_PIN,
    }


def body(**overrides) -> dict:
    data = {
        "visit_type": "INPATIENT",
        "use_personal_account": True,
        "line_items": [
            {"code": "T-A", "quantity": "2", "unit_price": "1000.00"},
            {"code": "T-B", "quantity": "1", "unit_price": "500.00"},
            {"code": "T-C", "quantity": "1", "unit_price": "100.00"},
        ],
    }
    data.update(overrides)
    return data


def client_for(api_client, user) -> APIClient:
    """A client of its own for ``user`` (``api_client`` stays as it was)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token_for(user))
    return client


@pytest.fixture
def items(item_a, item_b, item_c):
    return item_a, item_b, item_c


# --- Settling ---------------------------------------------------------------------------------


def test_a_settlement_is_itemised_and_matches_the_ledger(
    terminal_client, hospital, employee, items
):
    response = terminal_client.post(URL, body(visit_reference="V-1"), **presenting(employee))
    assert response.status_code == 201, response.content
    data = response.json()
    assert response["Location"] == f"/api/v1/settlements/{data['id']}"
    assert data["status"] == "SETTLED"
    assert data["person"] == employee.pk
    assert data["cross_city"] is False
    assert data["institution"]["tier"] == "LEVEL_3"
    assert data["breakdown"] == {
        "currency": "CNY",
        "total": "2600.00",
        "class_c_self_pay": "100.00",
        "class_b_self_pay": "50.00",
        "eligible": "2450.00",
        "deductible": "1300.00",
        "copay": "172.50",
        "over_cap": "0.00",
        "pool": "977.50",
        "person_share": "1622.50",
        "personal_account": "1000.00",
        "cash": "622.50",
    }
    assert data["policy"]["reimbursement_ratio"] == "0.8500"
    assert data["policy"]["annual_deductible"] == "1300.00"
    assert data["policy"]["fund"] == "EMPLOYEE_POOL"
    assert data["personal_account"] == {
        "account_id": employee.personal_account.pk,
        "holder_person_id": employee.pk,
        "family_authorization_id": None,
        "balance_after": "0.00",
    }
    assert [line["self_pay_amount"] for line in data["lines"]] == ["0.00", "50.00", "100.00"]
    assert data["reversal"] is None
    moved = dict(
        Entry.objects.filter(transfer_id=data["transfer_id"]).values_list("account_id", "amount")
    )
    assert moved == {
        city_pool(hospital.city).pk: -D(data["breakdown"]["pool"]),
        employee.personal_account.pk: -D(data["breakdown"]["personal_account"]),
        hospital.account.pk: D(data["breakdown"]["pool"])
        + D(data["breakdown"]["personal_account"]),
    }


def test_an_activated_e_voucher_can_be_presented(terminal_client, city, items):
    person = PersonFactory(city=city)
    activated_evoucher(person)
    shown = evoucher_presentation_code_issue(person=person)
    response = terminal_client.post(
        URL,
        body(use_personal_account=False),
        HTTP_X_PRESENTED_CREDENTIAL=f"EVOUCHER {shown.code}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["credential_kind"] == "EVOUCHER"


def test_a_replayed_request_settles_once(terminal_client, employee, items):
    headers = {**presenting(employee), "HTTP_IDEMPOTENCY_KEY": "visit-42"}
    first = terminal_client.post(URL, body(), **headers)
    replay = terminal_client.post(URL, body(), **headers)
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Settlement.objects.count() == 1
    assert balance(employee) == D("0.00")
    different = terminal_client.post(URL, body(use_personal_account=False), **headers)
    assert_problem(different, 422, "IDEMPOTENCY_KEY_REUSED")
    assert Settlement.objects.count() == 1


# --- Bad input changes nothing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status", "code", "field"),
    [
        (
            {"code": "NOPE", "quantity": "1", "unit_price": "1.00"},
            422,
            "CATALOG_ITEM_UNKNOWN",
            "line_items.0.code",
        ),
        (
            {"code": "T-A", "quantity": "1", "unit_price": "-1.00"},
            400,
            "LINE_AMOUNT_INVALID",
            "line_items.0.unit_price",
        ),
        (
            {"code": "T-A", "quantity": "1", "unit_price": "1.005"},
            400,
            "LINE_AMOUNT_INVALID",
            "line_items.0.unit_price",
        ),
        (
            {"code": "T-A", "quantity": "1", "unit_price": "NaN"},
            400,
            "LINE_AMOUNT_INVALID",
            "line_items.0.unit_price",
        ),
        (
            {"code": "T-A", "quantity": "1", "unit_price": "Infinity"},
            400,
            "LINE_AMOUNT_INVALID",
            "line_items.0.unit_price",
        ),
        (
            {"code": "T-A", "quantity": "-2", "unit_price": "1.00"},
            400,
            "LINE_AMOUNT_INVALID",
            "line_items.0.quantity",
        ),
        (
            {"code": "T-A", "quantity": "1", "unit_price": 0.1 + 0.2},
            400,
            "LINE_AMOUNT_INVALID",
            "line_items.0.unit_price",
        ),
        ({"code": "T-A", "quantity": "1"}, 400, "VALIDATION_ERROR", "line_items.0.unit_price"),
        # Decimal() alone reads these as 1000, 0.01 and 1: a quantity must be plain ASCII digits.
        *(
            (
                {"code": "T-A", "quantity": quantity, "unit_price": "1.00"},
                400,
                "LINE_AMOUNT_INVALID",
                "line_items.0.quantity",
            )
            for quantity in ("1e3", "1E-2", "\u0661", "1_0", 1.5)
        ),
    ],
)
def test_a_bad_line_is_a_problem_and_changes_nothing(
    terminal_client, employee, items, line, status, code, field
):
    before = money_state()
    response = terminal_client.post(
        URL,
        body(line_items=[line]),
        **presenting(employee),
        HTTP_IDEMPOTENCY_KEY=f"bad-{code}-{field}",
    )
    problem = assert_problem(response, status, code)
    assert field in [error["field"] for error in problem["errors"]]
    assert money_state() == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"visit_type": "HOME_VISIT"}, "VALIDATION_ERROR"),
        ({"line_items": []}, "VALIDATION_ERROR"),
        ({"use_personal_account": None}, "VALIDATION_ERROR"),
        ({"family_account_holder": "abc"}, "VALIDATION_ERROR"),
    ],
)
def test_malformed_fields_are_problems(terminal_client, employee, items, change, code):
    before = money_state()
    assert_problem(terminal_client.post(URL, body(**change), **presenting(employee)), 400, code)
    assert money_state() == before


def test_a_person_who_presents_nothing_is_refused(terminal_client, employee, items):
    before = money_state()
    assert_problem(terminal_client.post(URL, body()), 403, "CREDENTIAL_REQUIRED")
    response = terminal_client.post(URL, body(), HTTP_X_PRESENTED_CREDENTIAL="CARD X00000000")
    assert_problem(response, 403, "CREDENTIAL_INVALID")
    assert money_state() == before


def test_an_issued_card_identifies_but_does_not_pay(terminal_client, city, items):
    person = PersonFactory(city=city)
    card = issued_card(person)
    before = money_state()
    response = terminal_client.post(URL, body(), HTTP_X_PRESENTED_CREDENTIAL=f"CARD {card.number}")
    assert_problem(response, 422, "CARD_NOT_ACTIVE")
    assert money_state() == before


def test_an_institution_of_another_city_needs_a_filing(api_client, other_city, employee, items):
    from settlement.tests.factories import InstitutionFactory

    far_hospital = InstitutionFactory(city=other_city)
    client = client_for(api_client, TerminalFactory(institution=far_hospital))
    before = money_state()
    response = client.post(URL, body(), **presenting(employee))
    problem = assert_problem(response, 422, "CROSS_CITY_FILING_REQUIRED")
    assert problem["insured_city"] == employee.city.code
    assert problem["care_city"] == other_city.code
    assert problem["how_to_file"]["body"] == {"city": other_city.code, "category": "TEMPORARY"}
    assert money_state() == before

    filing_for(employee, other_city)
    response = client.post(URL, body(), **presenting(employee))
    assert response.status_code == 201, response.content
    assert response.json()["cross_city"] is True


def test_only_terminals_settle(api_client, employee, items):
    for user in (OperatorFactory(cities=[employee.city]), SuperuserFactory()):
        response = client_for(api_client, user).post(URL, body(), **presenting(employee))
        assert_problem(response, 403, "TERMINAL_REQUIRED")
    assert not Settlement.objects.exists()


# --- Reading and reversing --------------------------------------------------------------------


@pytest.fixture
def settled(hospital, terminal, employee, items):
    return settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "100.00")]
    )


def test_who_sees_a_settlement(api_client, settled, employee, city, other_city):
    from persons.services import person_login_create

    detail = f"{URL}/{settled.pk}"
    person_login_create(person=employee, username="patient", password="correct-horse-1")
    stranger = PersonFactory(city=city)
    person_login_create(person=stranger, username="stranger", password="correct-horse-1")
    allowed = [
        employee.user,
        TerminalFactory(institution=settled.institution),
        OperatorFactory(cities=[city]),
        SuperuserFactory(),
    ]
    denied = [stranger.user, OperatorFactory(cities=[other_city])]
    for user in allowed:
        client = client_for(api_client, user)
        assert client.get(detail).status_code == 200, user
        assert [row["id"] for row in client.get(URL).json()["results"]] == [settled.pk]
    for user in denied:
        client = client_for(api_client, user)
        assert_problem(client.get(detail), 404, "NOT_FOUND")
        assert client.get(URL).json()["results"] == []


def test_the_institution_reverses_once(terminal_client, settled, employee):
    before = balance(employee)
    response = terminal_client.post(
        f"{URL}/{settled.pk}/reversal", {"reason": "Refund at the desk"}, HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "REVERSED"
    assert data["reversal"]["reason"] == "Refund at the desk"
    assert data["reversal"]["transfer_id"] is not None
    assert balance(employee) == before + settled.personal_account_amount
    replay = terminal_client.post(
        f"{URL}/{settled.pk}/reversal", {"reason": "Refund at the desk"}, HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert replay.json() == data
    again = terminal_client.post(f"{URL}/{settled.pk}/reversal", {"reason": "Again"})
    assert_problem(again, 409, "SETTLEMENT_ALREADY_REVERSED")


def test_a_patient_cannot_reverse_and_a_reason_is_required(api_client, terminal, settled, employee):
    from persons.services import person_login_create

    person_login_create(person=employee, username="patient", password="correct-horse-1")
    response = client_for(api_client, employee.user).post(
        f"{URL}/{settled.pk}/reversal", {"reason": "Mine"}
    )
    assert_problem(response, 403, "ROLE_NOT_ALLOWED")
    response = client_for(api_client, terminal).post(f"{URL}/{settled.pk}/reversal", {})
    assert_problem(response, 400, "VALIDATION_ERROR")
    assert Settlement.objects.get(pk=settled.pk).status == "SETTLED"


def test_filters_on_the_list(terminal_client, settled):
    assert terminal_client.get(URL, {"status": "REVERSED"}).json()["results"] == []
    today = clock.today().isoformat()
    rows = terminal_client.get(URL, {"settled_from": today, "visit_type": "INPATIENT"}).json()
    assert [row["id"] for row in rows["results"]] == [settled.pk]


# --- Filings over HTTP ----------------------------------------------------------------------


def test_a_person_files_for_another_city_then_settles_there(
    api_client, employee, other_city, items
):
    from persons.services import person_login_create
    from settlement.tests.factories import InstitutionFactory

    person_login_create(person=employee, username="traveller", password="correct-horse-1")
    client = client_for(api_client, employee.user)
    response = client.post(
        "/api/v1/filings",
        {"city": other_city.code, "category": "TEMPORARY"},
        HTTP_IDEMPOTENCY_KEY="file-1",
    )
    assert response.status_code == 201, response.content
    filing = response.json()
    assert filing["person"] == employee.pk
    assert filing["insured_city"] == employee.city.code
    assert filing["valid_today"] is True
    assert client.get("/api/v1/filings").json()["results"][0]["id"] == filing["id"]

    far_hospital = InstitutionFactory(city=other_city)
    terminal_client = client_for(api_client, TerminalFactory(institution=far_hospital))
    # The terminal can check the presented person's filing for its own city.
    listed = terminal_client.get("/api/v1/filings", **presenting(employee)).json()["results"]
    assert [row["id"] for row in listed] == [filing["id"]]
    response = terminal_client.post(URL, body(), **presenting(employee))
    assert response.status_code == 201
    assert response.json()["filing"] == filing["id"]


def test_filing_rules_over_http(api_client, employee, city, other_city):
    operator = OperatorFactory(cities=[city])
    client = client_for(api_client, operator)
    assert_problem(
        client.post("/api/v1/filings", {"city": other_city.code, "category": "TEMPORARY"}),
        400,
        "VALIDATION_ERROR",
    )
    response = client.post(
        "/api/v1/filings",
        {"person": employee.pk, "city": city.code, "category": "TEMPORARY"},
    )
    assert_problem(response, 422, "FILING_CITY_INVALID")
    response = client.post(
        "/api/v1/filings",
        {"person": employee.pk, "city": "999999", "category": "TEMPORARY"},
    )
    assert_problem(response, 400, "VALIDATION_ERROR")
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    response = client.post(
        "/api/v1/filings",
        {
            "person": employee.pk,
            "city": other_city.code,
            "category": "TEMPORARY",
            "valid_from": yesterday,
        },
    )
    assert_problem(response, 400, "FILING_VALIDITY_INVALID")
    response = client.post(
        "/api/v1/filings",
        {"person": employee.pk, "city": other_city.code, "category": "RELOCATED_RETIREE"},
    )
    assert response.status_code == 201
    filing_id = response.json()["id"]
    # An operator of another city neither sees the person nor files for them.
    outsider = client_for(api_client, OperatorFactory(cities=[CityFactory()]))
    response = outsider.post(
        "/api/v1/filings",
        {"person": employee.pk, "city": other_city.code, "category": "TEMPORARY"},
    )
    assert_problem(response, 404, "NOT_FOUND")
    assert_problem(outsider.get(f"/api/v1/filings/{filing_id}"), 404, "NOT_FOUND")
    # The care city's operators see it but the insured city's agency keeps it.
    care_operator = client_for(api_client, OperatorFactory(cities=[other_city]))
    assert care_operator.get(f"/api/v1/filings/{filing_id}").status_code == 200
    response = care_operator.post(f"/api/v1/filings/{filing_id}/revocation")
    assert_problem(response, 403, "CITY_NOT_ADMINISTERED")
    response = client_for(api_client, operator).post(f"/api/v1/filings/{filing_id}/revocation")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert CrossCityFiling.objects.get(pk=filing_id).revoked_by == operator


# --- Family aid over HTTP ---------------------------------------------------------------------


def test_an_employee_authorises_a_parent_who_then_settles_on_the_account(
    api_client, hospital, employee, items
):
    from persons.services import person_login_create

    parent = ResidentFactory(city=employee.city)
    parent.card = active_card(parent)
    person_login_create(person=employee, username="holder", password="correct-horse-1")
    client = client_for(api_client, employee.user)
    wrong = client.post(
        "/api/v1/family-authorizations",
        {
            "beneficiary_resident_id": parent.resident_id,
            "beneficiary_name": "Someone Else",
            "relation": "PARENT",
        },
    )
    assert_problem(wrong, 422, "FAMILY_BENEFICIARY_UNKNOWN")
    response = client.post(
        "/api/v1/family-authorizations",
        {
            "beneficiary_resident_id": parent.resident_id.lower(),
            "beneficiary_name": parent.name,
            "relation": "PARENT",
        },
        HTTP_IDEMPOTENCY_KEY="grant-1",
    )
    assert response.status_code == 201, response.content
    grant = response.json()
    assert (grant["account_holder"], grant["beneficiary"], grant["active"]) == (
        employee.pk,
        parent.pk,
        True,
    )

    terminal_client = client_for(api_client, TerminalFactory(institution=hospital))
    listed = terminal_client.get("/api/v1/family-authorizations", **presenting(parent)).json()
    assert [row["account_holder"] for row in listed["results"]] == [employee.pk]
    response = terminal_client.post(
        URL,
        body(
            family_account_holder=employee.pk,
            line_items=[{"code": "T-A", "quantity": "1", "unit_price": "300.00"}],
        ),
        **presenting(parent),
    )
    assert response.status_code == 201, response.content
    settlement = response.json()
    assert settlement["personal_account"]["holder_person_id"] == employee.pk
    assert settlement["personal_account"]["family_authorization_id"] == grant["id"]
    assert settlement["breakdown"]["personal_account"] == "300.00"
    assert balance(employee) == D("700.00")
    # The holder sees the settlement their account paid.
    mine = client_for(api_client, employee.user).get(URL).json()["results"]
    assert [row["id"] for row in mine] == [settlement["id"]]

    response = client_for(api_client, employee.user).post(
        f"/api/v1/family-authorizations/{grant['id']}/revocation"
    )
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert FamilyAuthorization.objects.get(pk=grant["id"]).revoked_by == employee.user
    response = terminal_client.post(
        URL, body(family_account_holder=employee.pk), **presenting(parent)
    )
    assert_problem(response, 422, "FAMILY_AUTHORIZATION_MISSING")


def test_a_resident_cannot_share_an_account(api_client, city):
    from persons.services import person_login_create

    resident = ResidentFactory(city=city)
    other = PersonFactory(city=city)
    person_login_create(person=resident, username="resident", password="correct-horse-1")
    response = client_for(api_client, resident.user).post(
        "/api/v1/family-authorizations",
        {
            "beneficiary_resident_id": other.resident_id,
            "beneficiary_name": other.name,
            "relation": "SPOUSE",
        },
    )
    assert_problem(response, 422, "FAMILY_HOLDER_NOT_ELIGIBLE")


# --- Catalog, policy, institutions, schema ------------------------------------------------------


def test_catalog_policy_and_directory(terminal_client, hospital, items):
    catalog = terminal_client.get("/api/v1/catalog", {"q": "T-", "catalog_class": "B"}).json()
    assert [row["code"] for row in catalog["results"]] == ["T-B"]
    assert terminal_client.get("/api/v1/catalog/T-C").json()["catalog_class"] == "C"
    policy = terminal_client.get(f"/api/v1/benefit-policies/{hospital.city.code}").json()
    assert policy["class_b_self_pay_ratio"] == "0.1000"
    resident_outpatient = next(
        rule
        for rule in policy["rules"]
        if (rule["scheme"], rule["visit_type"], rule["tier"])
        == ("RESIDENT", "OUTPATIENT", "LEVEL_1")
    )
    assert resident_outpatient["ratio_source"] == "CITY_OUTPATIENT_POOLING"
    assert resident_outpatient["reimbursement_ratio"] == "0.5000"
    directory = terminal_client.get("/api/v1/institutions", {"city": hospital.city.code}).json()
    assert [row["code"] for row in directory["results"]] == [hospital.code]


def test_reading_a_policy_writes_nothing_and_a_city_without_one_answers_404(
    terminal_client, hospital
):
    url = f"/api/v1/benefit-policies/{hospital.city.code}"
    with CaptureQueriesContext(connection) as captured:
        assert terminal_client.get(url).status_code == 200
    policy_writes = [
        query["sql"]
        for query in captured
        if "settlement_benefit" in query["sql"] and not query["sql"].startswith("SELECT")
    ]
    assert policy_writes == []

    BenefitPolicy.objects.filter(city=hospital.city).delete()
    body = assert_problem(terminal_client.get(url), 404, "NOT_FOUND")
    assert hospital.city.code in body["detail"]
    assert not BenefitPolicy.objects.filter(city=hospital.city).exists()


def test_the_schema_documents_settlement(api_client):
    document = api_client.get(
        "/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()
    for path in (
        "/api/v1/settlements",
        "/api/v1/settlements/{settlement_id}",
        "/api/v1/settlements/{settlement_id}/reversal",
        "/api/v1/catalog",
        "/api/v1/filings",
        "/api/v1/family-authorizations",
        "/api/v1/family-authorizations/{authorization_id}/revocation",
        "/api/v1/benefit-policies/{city_code}",
    ):
        assert path in document["paths"], path
    submit = document["paths"]["/api/v1/settlements"]["post"]
    assert {p["name"] for p in submit["parameters"]} >= {
        "X-Presented-Credential",
        "Idempotency-Key",
    }
    assert "422" in submit["responses"]


def test_settlement_problem_codes_are_in_the_catalogue(api_client):
    codes = {row["code"] for row in api_client.get("/api/v1/problems").json()}
    assert {"CROSS_CITY_FILING_REQUIRED", "CATALOG_ITEM_UNKNOWN", "CARD_NOT_ACTIVE"} <= codes


# --- The quote ------------------------------------------------------------------------------


def test_a_quote_over_http_gives_the_settlement_s_figures_and_posts_nothing(
    terminal_client, employee, items
):
    before = money_state()

    quoted = terminal_client.post(f"{URL}/quote", body(), format="json", **presenting(employee))

    assert quoted.status_code == 200, quoted.content
    assert money_state() == before
    assert "id" not in quoted.json() and "transfer_id" not in quoted.json()
    settled = terminal_client.post(URL, body(), format="json", **presenting(employee))
    assert settled.status_code == 201, settled.content
    for part in ("breakdown", "policy", "lines"):
        assert quoted.json()[part] == settled.json()[part], part
    assert (
        quoted.json()["personal_account"]["balance_after"]
        == settled.json()["personal_account"]["balance_after"]
    )


def test_a_quote_is_refused_as_a_settlement_is(terminal_client, employee, items):
    assert_problem(
        terminal_client.post(f"{URL}/quote", body(), format="json"), 403, "CREDENTIAL_REQUIRED"
    )
    wrong_pin = presenting(employee) | {"HTTP_X_CARD_PIN": "000000"}
    assert_problem(
        terminal_client.post(f"{URL}/quote", body(), format="json", **wrong_pin),
        403,
        "CARD_PIN_INCORRECT",
    )
    unknown = body(line_items=[{"code": "NOPE", "quantity": "1", "unit_price": "1.00"}])
    assert_problem(
        terminal_client.post(f"{URL}/quote", unknown, format="json", **presenting(employee)),
        422,
        "CATALOG_ITEM_UNKNOWN",
    )
