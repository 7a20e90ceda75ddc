"""Cross-cutting API behaviour: problem details, request ids, health, schema and docs."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/api/v1/problems/{code}"
    assert body["request_id"] == response["X-Request-ID"]
    assert body["title"] and body["detail"]
    return body


def test_health_reports_database_and_broker(api_client):
    response = api_client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {
        "ok": True,
        "vendor": "postgresql",
        "latency_ms": body["database"]["latency_ms"],
    }
    assert body["broker"]["ok"] is True


def test_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql"


def test_connections_run_without_jit_compilation():
    """The jobs' set-based statements cost enough for PostgreSQL to JIT-compile them, which took
    longer than running them (settings, DATABASE_JIT)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_schema_and_docs_answer(api_client):
    schema = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/health" in document["paths"]
    assert "Problem" in document["components"]["schemas"]
    docs = api_client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_malformed_json_is_a_problem(api_client):
    response = api_client.post(
        "/api/v1/auth/login", data="{not json", content_type="application/json"
    )
    assert_problem(response, 400, "MALFORMED_REQUEST")


def test_unknown_route_is_a_problem(api_client):
    for path in ("/api/v1/no-such-thing", "/api/v2/", "/nowhere"):
        assert_problem(api_client.get(path), 404, "NOT_FOUND")
    assert_problem(api_client.delete("/api/v1/no-such-thing"), 404, "NOT_FOUND")


@pytest.mark.parametrize("query", ["format=", "format=xml"])
def test_a_format_the_page_does_not_render_is_not_found(api_client, query):
    """The schema lists the formats a page renders; an empty one is no exception."""
    assert api_client.get("/api/v1/balance-reasons?format=json").status_code == 200
    assert_problem(api_client.get(f"/api/v1/balance-reasons?{query}"), 404, "NOT_FOUND")


def test_a_browser_outside_the_api_gets_a_page_not_json(client):
    response = client.get("/admin-nowhere/", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_is_a_problem(api_client):
    assert_problem(api_client.get("/api/v1/auth/login"), 405, "METHOD_NOT_ALLOWED")


def test_unauthenticated_call_is_a_problem(api_client):
    response = api_client.get("/api/v1/me")
    assert_problem(response, 401, "NOT_AUTHENTICATED")
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token_is_refused(api_client):
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION="Token " + "f" * 64)
    assert_problem(response, 401, "AUTHENTICATION_FAILED")


def test_validation_errors_list_the_fields(api_client):
    body = assert_problem(
        api_client.post("/api/v1/auth/login", {"username": ""}, format="json"),
        400,
        "VALIDATION_ERROR",
    )
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"username", "password"}


def test_client_request_id_is_echoed_and_a_bad_one_replaced(api_client):
    response = api_client.get("/api/v1/health", HTTP_X_REQUEST_ID="client-trace-0001")
    assert response["X-Request-ID"] == "client-trace-0001"
    response = api_client.get("/api/v1/health", HTTP_X_REQUEST_ID="bad id with spaces")
    assert response["X-Request-ID"] != "bad id with spaces"
    assert len(response["X-Request-ID"]) == 32


def test_problem_catalogue_lists_every_code(api_client):
    response = api_client.get("/api/v1/problems")
    codes = {entry["code"] for entry in response.json()}
    assert {"VALIDATION_ERROR", "NOT_FOUND", "INVALID_CREDENTIALS"} <= codes
    assert api_client.get("/api/v1/problems/NOT_FOUND").json()["status"] == 404
    assert_problem(api_client.get("/api/v1/problems/NOPE"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("guess", "page"),
    [
        ("/api/v1/docs/", "/api/v1/docs"),
        ("/api/docs", "/api/v1/docs"),
        ("/api/docs/", "/api/v1/docs"),
        ("/api/v1/redoc/", "/api/v1/redoc"),
    ],
)
def test_the_guessed_addresses_of_the_api_pages_lead_to_them(api_client, guess, page):
    response = api_client.get(guess)
    assert response.status_code == 302
    assert response["Location"] == page
    assert api_client.get(page).status_code == 200
