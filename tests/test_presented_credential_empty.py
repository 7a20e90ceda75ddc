"""A terminal that sends X-Presented-Credential empty presents a malformed credential, not none:
it is refused as such, instead of being answered as if nobody had been presented."""

import pytest

from tests.support import client_for


@pytest.fixture
def terminal_client(db):
    from users.tests.factories import TerminalFactory

    return client_for(TerminalFactory())


@pytest.mark.parametrize("address", ["/api/v1/filings", "/api/v1/accounts", "/api/v1/persons"])
def test_an_empty_presented_credential_is_refused(terminal_client, address):
    response = terminal_client.get(address, HTTP_X_PRESENTED_CREDENTIAL="")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "CREDENTIAL_INVALID"


@pytest.mark.parametrize("address", ["/api/v1/filings", "/api/v1/accounts"])
def test_no_presented_credential_is_still_the_terminals_own_view(terminal_client, address):
    response = terminal_client.get(address)
    assert response.status_code == 200, response.content
    # Only the institution's own rows, no person's.
    assert all(row.get("person") is None for row in response.json()["results"])
