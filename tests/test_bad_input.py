"""No 500 from input: each hostile input that used to crash a request (or slip past its checks)
gets a problem response with a stable code, and field errors where a field is to blame."""

import base64
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from cards.models import SocialSecurityCard
from cards.services import card_activate, card_collect, card_report_lost
from cities.tests.factories import CityFactory
from common import clock
from common.errors import DomainError, violated_constraint
from common.money import (
    MONEY_PATTERN,
    MoneySerializerField,
    NonNegativeMoneySerializerField,
    QuantitySerializerField,
)
from common.parsers import MAX_JSON_DEPTH
from persons.resident_id import make_resident_id
from persons.tests.factories import PersonFactory
from settlement.tests.factories import fund_personal_account
from tests.support import client_for
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
BIG = 2**63
ARABIC_INDIC_1000 = "\u0661\u0660\u0660\u0660"


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["request_id"] == response["X-Request-ID"]
    return body


def field_errors(response, status: int = 400, code: str = "VALIDATION_ERROR") -> set[str]:
    return {error["field"] for error in problem(response, status, code).get("errors", [])}


@pytest.fixture
def person():
    return PersonFactory()


@pytest.fixture
def operator(person):
    return client_for(OperatorFactory(cities=[person.city]))


# --- Bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # json's own recursion gives out
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        "[" * (MAX_JSON_DEPTH + 2) + "]" * (MAX_JSON_DEPTH + 2),  # parses, but deeper than allowed
    ],
    ids=["array-100000", "object-100000", "array-just-too-deep"],
)
def test_json_nested_too_deeply_is_a_400(api_client, body):
    response = api_client.post("/api/v1/auth/login", data=body, content_type="application/json")
    problem(response, 400, "REQUEST_NESTED_TOO_DEEPLY")


def test_json_within_the_depth_limit_is_read_as_usual(api_client):
    nested = {"username": "nobody", "password": "wrong-password", "extra": [[[[1]]]]}
    response = api_client.post("/api/v1/auth/login", nested, format="json")
    assert response.status_code in (400, 401)
    assert response.json()["code"] != "REQUEST_NESTED_TOO_DEEPLY"


@pytest.mark.parametrize("number", [BIG, -BIG - 1, 10**30])
def test_an_integer_beyond_bigint_in_a_body_is_a_field_error(operator, number):
    response = operator.post(
        "/api/v1/contributions",
        data=json.dumps({"person": number, "period": "2026-01-01"}),
        content_type="application/json",
    )
    assert field_errors(response) == {"person"}


def test_an_integer_beyond_bigint_deep_in_a_body_names_its_path(api_client):
    response = api_client.post(
        "/api/v1/auth/login",
        data=json.dumps({"username": "x", "line_items": [{"code": "X", "quantity": BIG}]}),
        content_type="application/json",
    )
    assert field_errors(response) == {"line_items.0.quantity"}


def test_a_nul_character_in_a_body_is_a_field_error(operator, person):
    response = operator.post(
        "/api/v1/contributions",
        {"person": person.id, "period": "2026-01-\x0001"},
        format="json",
    )
    assert field_errors(response) == {"period"}


def test_a_body_over_the_upload_limit_is_a_413(operator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"person": 1, "period": "2026-01-01", "note": "x" * 20_000})
    response = operator.post("/api/v1/contributions", data=body, content_type="application/json")
    problem(response, 413, "REQUEST_TOO_LARGE")


def test_a_form_over_the_upload_limit_outside_the_api_is_a_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    # The CSRF check reads the form before any view does.
    response = client.post("/admin/login/", {"username": "x" * 20_000, "password": "y"})
    problem(response, 413, "REQUEST_TOO_LARGE")


# --- Paths and query strings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/cities/%00", "city_code"),
        ("/api/v1/cities/31%0000", "city_code"),
        ("/api/v1/catalog/%00", "code"),
        ("/api/v1/benefit-policies/%00", "city_code"),
        ("/api/v1/problems/%00", "code"),
    ],
)
def test_a_nul_character_in_a_path_parameter_is_a_field_error(operator, path, field):
    assert field_errors(operator.get(path)) == {field}


def test_a_nul_character_in_a_patch_path_is_a_field_error(operator):
    response = operator.patch("/api/v1/cities/%00", {"name": "x"}, format="json")
    assert field_errors(response) == {"city_code"}


@pytest.mark.parametrize(
    "query", ["name=a%00b", "page=1%00", "city=%00", "visit_reference=%00&year=2026"]
)
def test_a_nul_character_in_a_query_parameter_is_a_field_error(operator, query):
    name = query.split("=")[0]
    for path in ("/api/v1/persons", "/api/v1/settlements"):
        response = operator.get(f"{path}?{query}")
        assert field_errors(response) == {name}


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/settlements", "year"),
        ("/api/v1/settlements", "person"),
        ("/api/v1/settlements", "institution"),
        ("/api/v1/institutions", "level"),
    ],
)
@pytest.mark.parametrize("number", [BIG, -BIG - 1])
def test_an_integer_beyond_bigint_in_a_query_parameter_is_a_field_error(
    operator, path, name, number
):
    assert field_errors(operator.get(path, {name: str(number)})) == {name}
    assert operator.get(path, {name: "1"}).status_code == 200


# --- The ledger's cursor -------------------------------------------------------------------


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def funded_account(person):
    for _ in range(3):
        account = fund_personal_account(person, "10.00")
    return account


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        _cursor("p=abc"),
        _cursor("p=1%00"),
        _cursor(f"p={BIG}"),
        _cursor("p=-1"),
        _cursor("p=1.5"),
        _cursor("o=1&r=1&p=" + "9" * 400),
    ],
)
def test_a_crafted_ledger_cursor_is_a_400(operator, funded_account, cursor):
    response = operator.get(f"/api/v1/accounts/{funded_account.id}/entries", {"cursor": cursor})
    body = problem(response, 400, "VALIDATION_ERROR")
    assert [error["field"] for error in body["errors"]] == ["cursor"]


def test_the_cursors_the_api_gives_out_still_page_through_the_ledger(operator, funded_account):
    url = f"/api/v1/accounts/{funded_account.id}/entries?page_size=1"
    seen = []
    while url:
        page = operator.get(url)
        assert page.status_code == 200, page.content
        seen += [entry["id"] for entry in page.json()["results"]]
        url = page.json()["next"]
    assert len(seen) == 3 and seen == sorted(seen, reverse=True)


# --- Money ---------------------------------------------------------------------------------


REFUSED_AMOUNTS = [
    "1e2",
    "1E2",
    "1_000",
    ARABIC_INDIC_1000,
    "\uff11\uff10\uff10",  # full-width digits
    " 100",
    "100 ",
    "+100",
    "100.",
    ".5",
    "100.123",
    "0x10",
    "NaN",
    "Infinity",
    "",
    "1234567890123",
    100.5,
    True,
    None,
    [],
]


@pytest.mark.parametrize("value", REFUSED_AMOUNTS, ids=repr)
def test_an_amount_off_the_published_pattern_is_refused(value):
    with pytest.raises(ValidationError):
        MoneySerializerField().run_validation(value)


@pytest.mark.parametrize("value", ["0", "100", "100.5", "100.50", "-3.20", 100, "999999999999.99"])
def test_an_amount_on_the_published_pattern_is_taken(value):
    assert re.fullmatch(MONEY_PATTERN, str(value))
    assert MoneySerializerField().run_validation(value) == MoneySerializerField().run_validation(
        str(value)
    )


def test_the_schema_publishes_the_pattern_the_field_enforces():
    from common.money import NON_NEGATIVE_MONEY_PATTERN, PatternDecimalFieldExtension

    def published(field):
        return PatternDecimalFieldExtension(field).map_serializer_field(None, "request")["pattern"]

    assert published(MoneySerializerField()) == MONEY_PATTERN
    assert published(NonNegativeMoneySerializerField()) == NON_NEGATIVE_MONEY_PATTERN
    assert published(MoneySerializerField(min_value=0)) == NON_NEGATIVE_MONEY_PATTERN
    with pytest.raises(ValidationError):
        NonNegativeMoneySerializerField().run_validation("-0.01")


@pytest.mark.parametrize(
    "value", ["1e3", "1E-2", ARABIC_INDIC_1000, "-1", "0", "0.0001", "12345678", "1.", 1.5, True]
)
def test_a_quantity_off_the_published_pattern_is_refused(value):
    with pytest.raises(ValidationError):
        QuantitySerializerField().run_validation(value)


def test_a_negative_quantity_or_price_says_it_is_below_the_minimum():
    for field, value in (
        (QuantitySerializerField(), "-1"),
        (NonNegativeMoneySerializerField(), "-0.01"),
        (MoneySerializerField(min_value=Decimal("0.01")), "-1"),
    ):
        with pytest.raises(ValidationError) as refused:
            field.run_validation(value)
        assert refused.value.get_codes() == ["min_value"], (field, value)
    assert NonNegativeMoneySerializerField().run_validation("-0.00") == 0


@pytest.mark.parametrize("value", ["1", "0.5", "0.001", "9999999.999", 2])
def test_a_quantity_on_the_published_pattern_is_taken(value):
    from decimal import Decimal

    from common.money import QUANTITY_PATTERN, PatternDecimalFieldExtension

    assert QuantitySerializerField().run_validation(value) == Decimal(str(value))
    published = PatternDecimalFieldExtension(QuantitySerializerField()).map_serializer_field(
        None, "request"
    )
    assert published["pattern"] == QUANTITY_PATTERN
    assert re.fullmatch(QUANTITY_PATTERN, str(value))


@pytest.mark.parametrize("value", ["1e2", "1_000", ARABIC_INDIC_1000])
def test_a_contribution_base_off_the_pattern_is_a_field_error(operator, person, value):
    response = operator.post(
        "/api/v1/contributions",
        {"person": person.id, "period": "2026-01-01", "payment_base": value},
        format="json",
    )
    assert field_errors(response) == {"payment_base"}


@pytest.mark.parametrize(
    "figure",
    [
        "average_wage",
        "payment_base_min",
        "retiree_monthly_credit",
        "resident_individual_contribution",
        "resident_government_subsidy",
        "subsidized_individual_contribution",
        "resident_monthly_account_credit",
        "outpatient_pooling_annual_quota",
    ],
)
def test_a_negative_city_figure_is_refused_and_changes_nothing(operator, person, figure):
    before = getattr(person.city, figure)
    response = operator.patch(f"/api/v1/cities/{person.city.code}", {figure: "-1.00"}, "json")
    assert field_errors(response) == {figure}
    person.city.refresh_from_db()
    assert getattr(person.city, figure) == before


def test_a_city_figure_on_the_pattern_is_taken(operator, person):
    response = operator.patch(
        f"/api/v1/cities/{person.city.code}", {"average_wage": "9500.00"}, format="json"
    )
    assert response.status_code == 200 and response.json()["average_wage"] == "9500.00"
    response = operator.patch(
        f"/api/v1/cities/{person.city.code}", {"average_wage": "1e4"}, format="json"
    )
    assert field_errors(response) == {"average_wage"}


# --- Dates ---------------------------------------------------------------------------------


def _enrol(client, city, enrolled_on, sequence):
    from datetime import date

    return client.post(
        "/api/v1/persons",
        {
            "resident_id": make_resident_id("110105", date(1990, 5, 1), sequence),
            "name": "Dated",
            "city": city.code,
            "scheme": "EMPLOYEE",
            "employment_status": "ACTIVE",
            "declared_wage": "8000.00",
            "enrolled_on": enrolled_on,
        },
        format="json",
    )


@pytest.mark.parametrize("enrolled_on", ["9999-12-31", "0001-01-01", "1990-04-30"])
def test_an_enrolment_date_out_of_bounds_is_a_field_error(operator, person, enrolled_on):
    response = _enrol(operator, person.city, enrolled_on, 11)
    assert field_errors(response) == {"enrolled_on"}


def test_an_enrolment_up_to_a_year_ahead_is_taken_and_its_balance_answers(operator, person):
    today = clock.today()
    latest = (today + timedelta(days=366)).isoformat()
    too_late = (today + timedelta(days=367)).isoformat()
    assert field_errors(_enrol(operator, person.city, too_late, 13)) == {"enrolled_on"}
    for sequence, day in ((15, latest), (17, "1990-05-01")):
        enrolled = _enrol(operator, person.city, day, sequence)
        assert enrolled.status_code == 201, enrolled.content
        balance = operator.get(f"/api/v1/persons/{enrolled.json()['id']}/balance")
        assert balance.status_code == 200, balance.content


def test_a_filing_starting_more_than_a_year_ahead_is_a_field_error(operator, person):
    elsewhere = CityFactory()
    response = operator.post(
        "/api/v1/filings",
        {
            "person": person.id,
            "city": elsewhere.code,
            "category": "TEMPORARY",
            "valid_from": "9999-12-30",
        },
        format="json",
    )
    assert field_errors(response, 400, "FILING_VALIDITY_INVALID") == {"valid_from"}


# --- Services below the API ----------------------------------------------------------------


@pytest.mark.parametrize("service", [card_collect, card_report_lost])
def test_a_card_service_on_a_missing_card_raises_not_found(service):
    with pytest.raises(DomainError) as refused:
        service(card=SocialSecurityCard(pk=10**12), by=None)
    assert refused.value.code.code == "NOT_FOUND"


def test_activating_a_missing_card_raises_not_found():
    with pytest.raises(DomainError) as refused:
        card_activate(card=SocialSecurityCard(pk=10**12), pin="135790", by=None)
    assert refused.value.code.code == "NOT_FOUND"


def test_a_constraint_is_named_by_the_database_not_by_the_message(person):
    from persons.models import InsuredPerson

    with pytest.raises(IntegrityError) as violated, transaction.atomic():
        InsuredPerson.objects.filter(pk=person.pk).update(declared_wage=-1)
    assert violated_constraint(violated.value) == "person_declared_wage_not_negative"
    assert violated_constraint(IntegrityError("one_live_settlement_per_visit_reference")) is None


def test_input_the_database_refuses_is_a_400_not_a_500(rf):
    """The last line: a value no validation caught (out of range, a NUL character) that the
    database refuses is still the caller's input, answered with a problem, not a crash."""
    from django.db import DataError, connection

    from common.problems import problem_exception_handler

    with pytest.raises(DataError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT %s::smallint", [2**20])
    response = problem_exception_handler(refused.value, {"request": rf.get("/api/v1/x")})
    assert response.status_code == 400
    assert response.data["code"] == "VALIDATION_ERROR"
    assert "smallint" not in response.data["detail"]


@pytest.mark.django_db
def test_a_time_filter_with_an_offset_no_place_has_is_a_field_error(api_client):
    from users.tests.factories import SuperuserFactory, token_for

    api_client.credentials(HTTP_AUTHORIZATION=token_for(SuperuserFactory()))
    response = api_client.get("/api/v1/events", {"after": "1939-04-15T21:09:01+17:49"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "after"
    fine = api_client.get("/api/v1/events", {"after": "2026-11-02T09:00:00+08:00"})
    assert fine.status_code == 200
