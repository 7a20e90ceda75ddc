"""Property-based fuzzing of every operation in the project's own OpenAPI schema: no server
errors, and every response (problems included) conforms to the schema."""

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go straight into the WSGI application: keep Django from closing the test's
    database connection at the end of each request (its own test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def superuser_authorization(db, agreement):
    from sandbox.world import sandbox_city
    from tests.support import MONDAY_MORNING, set_clock
    from users.tests.factories import SuperuserFactory, token_for

    set_clock(MONDAY_MORNING)
    sandbox_city("standard")
    return token_for(SuperuserFactory())


@schema.parametrize()
@hypothesis.settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
@pytest.mark.django_db
def test_every_operation_answers_within_its_schema(case, superuser_authorization):
    if case.path == "/api/v1/sandbox/clock/advance" and isinstance(case.body, dict):
        # Keep each generated clock step small: a year of simulated days per example is slow, not wrong.
        case.body = {key: value for key, value in case.body.items() if key != "to"}
        # Days, hours and minutes add up: each is kept to at most three days' worth.
        for name, most in (("days", 3), ("hours", 72), ("minutes", 4320)):
            if isinstance(case.body.get(name), int):
                case.body[name] = min(case.body[name], most)
    case.call_and_validate(headers={"Authorization": superuser_authorization}, checks=CHECKS)
