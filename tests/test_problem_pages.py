"""Each error code's page: what causes it, what to do, the operations that answer with it (read
from the code), an example; as JSON for programs and as HTML for a browser."""

import pytest

from api.problem_reach import PLUMBING_CODES, operations_by_code
from api.views import all_error_codes

pytestmark = pytest.mark.django_db


def _operation_ids(body) -> set[str]:
    return {operation["operation_id"] for operation in body["operations"]}


def test_a_code_lists_the_operations_that_raise_it_and_not_the_others(api_client):
    body = api_client.get("/api/v1/problems/CARD_ACTIVATED_AT_COUNTER").json()
    assert body["status"] == 403
    assert "cards_activate_create" in _operation_ids(body)
    # The address's other method and unrelated operations do not raise it.
    assert "cards_list" not in _operation_ids(body)
    assert "me_balance_retrieve" not in _operation_ids(body)
    assert body["action"] and body["cause"] == body["title"]
    assert body["example"]["code"] == "CARD_ACTIVATED_AT_COUNTER"
    assert body["example"]["type"] == "/api/v1/problems/CARD_ACTIVATED_AT_COUNTER"


def test_a_settlement_rule_is_found_behind_the_settlement_operations(api_client):
    body = api_client.get("/api/v1/problems/CROSS_CITY_FILING_REQUIRED").json()
    assert {"settlements_create", "settlements_quote_create"} <= _operation_ids(body)
    assert "settlements_list" not in _operation_ids(body)


def test_a_rule_reached_through_the_national_interface_names_its_transaction(api_client):
    body = api_client.get("/api/v1/problems/VISIT_NOT_DISCHARGED").json()
    paths = {(op["path"], op["operation_id"]) for op in body["operations"]}
    assert any(path == "/fsi/api/rsfComIfsService/callService" for path, _ in paths)
    assert all(op["reference"].startswith("/fsi/docs/") for op in body["operations"])


def test_every_code_is_answered_somewhere():
    """A code no operation reaches is either dead or hidden from the analysis: both are bugs."""
    reached = operations_by_code()
    unplaced = [
        code
        for code, member in all_error_codes().items()
        if code not in reached
        and code not in PLUMBING_CODES
        and type(member).__name__ != "FsiErrorCode"  # the interface's envelope refusals
    ]
    assert unplaced == []


def test_a_plumbing_code_says_where_it_applies(api_client):
    body = api_client.get("/api/v1/problems/IDEMPOTENCY_KEY_REUSED").json()
    assert body["answered_by"] == PLUMBING_CODES["IDEMPOTENCY_KEY_REUSED"]
    assert "new key" in body["action"]


def test_a_browser_gets_the_page(api_client):
    response = api_client.get(
        "/api/v1/problems/CROSS_CITY_FILING_REQUIRED", HTTP_ACCEPT="text/html,*/*;q=0.8"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<code>CROSS_CITY_FILING_REQUIRED</code>" in page
    assert "POST /api/v1/settlements</code>" in page
    assert "/api/v1/redoc#operation/settlements_create" in page
    assert "&quot;code&quot;: &quot;CROSS_CITY_FILING_REQUIRED&quot;" in page  # the example


def test_the_list_is_a_page_too_with_a_link_to_each_code(api_client):
    response = api_client.get("/api/v1/problems", HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for code in all_error_codes():
        assert f'href="/api/v1/problems/{code}"' in page
    assert isinstance(api_client.get("/api/v1/problems").json(), list)


def test_an_unknown_code_is_a_problem_even_for_a_browser(api_client):
    response = api_client.get("/api/v1/problems/NO_SUCH_CODE", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "NOT_FOUND"


def test_each_reason_has_a_page_with_its_scenario_and_a_real_example(api_client):
    from accounts.reasons import REASON_ORDER

    for order, code in enumerate(REASON_ORDER, start=1):
        body = api_client.get(f"/api/v1/balance-reasons/{code.value}").json()
        assert body["order"] == order
        assert body["scenario"] == f"POST /api/v1/sandbox/scenarios/{code.value}"
        example_codes = [reason["code"] for reason in body["example"]["reasons"]]
        assert code.value in example_codes
        assert body["remedy"]  # the example's own remedy for this reason
    page = api_client.get("/api/v1/balance-reasons/DATA_NOT_UPLOADED", HTTP_ACCEPT="text/html")
    assert page["Content-Type"].startswith("text/html")
    assert "POST /api/v1/sandbox/scenarios/DATA_NOT_UPLOADED" in page.content.decode()
    missing = api_client.get("/api/v1/balance-reasons/NOPE", HTTP_ACCEPT="text/html")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


def test_a_reason_page_speaks_the_callers_language(api_client):
    english = api_client.get("/api/v1/balance-reasons/CARD_NOT_ACTIVATED").json()
    chinese = api_client.get(
        "/api/v1/balance-reasons/CARD_NOT_ACTIVATED", HTTP_ACCEPT_LANGUAGE="zh-Hans"
    ).json()
    assert english["code"] == chinese["code"] and english["order"] == chinese["order"]
    assert english["title"] != chinese["title"]
    # The remedy and the example are the Chinese answer, not the English one.
    assert chinese["remedy"] != english["remedy"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese["remedy"])
    example_titles = [reason["title"] for reason in chinese["example"]["reasons"]]
    assert chinese["title"] in example_titles


def test_the_reason_list_is_a_page_too(api_client):
    page = api_client.get("/api/v1/balance-reasons", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert 'href="/api/v1/balance-reasons/DATA_NOT_UPLOADED"' in page.content.decode()
    assert api_client.get("/api/v1/balance-reasons").json()[0]["order"] == 1
