"""A list's paging and yes/no filters take only what they document: anything else is a field
error, never a silent fallback to the first page, the default size or no filter at all."""

import pytest

from tests.support import client_for


@pytest.fixture
def superuser_client(db):
    from sandbox.world import sandbox_city
    from users.tests.factories import SuperuserFactory

    sandbox_city("standard")
    sandbox_city("not_launched")
    return client_for(SuperuserFactory())


def _field_errors(response) -> list[str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    return [error["field"] for error in body["errors"]]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "", "1.5", "2 "])
def test_an_unreadable_page_size_is_a_field_error(superuser_client, value):
    response = superuser_client.get("/api/v1/cities", {"page_size": value})
    assert _field_errors(response) == ["page_size"]


@pytest.mark.parametrize("value", ["abc", "0", "", "last", "-2"])
def test_an_unreadable_page_number_is_a_field_error(superuser_client, value):
    response = superuser_client.get("/api/v1/cities", {"page": value})
    assert _field_errors(response) == ["page"]


def test_a_page_size_and_number_are_honoured_and_the_size_capped(superuser_client):
    first = superuser_client.get("/api/v1/cities", {"page_size": "1"}).json()
    second = superuser_client.get("/api/v1/cities", {"page_size": "1", "page": "2"}).json()
    assert first["count"] == 2 and len(first["results"]) == 1 and len(second["results"]) == 1
    assert first["results"][0]["code"] != second["results"][0]["code"]
    huge = superuser_client.get("/api/v1/cities", {"page_size": "100000"})
    assert huge.status_code == 200 and len(huge.json()["results"]) == 2


def test_a_cursor_list_refuses_an_unreadable_page_size(superuser_client):
    from accounts.models import Account

    account = Account.objects.first()
    response = superuser_client.get(f"/api/v1/accounts/{account.id}/entries", {"page_size": "x"})
    assert _field_errors(response) == ["page_size"]


@pytest.mark.parametrize("value", ["yes", "1", "0", "True", ""])
def test_a_yes_no_filter_takes_only_true_or_false(superuser_client, value):
    response = superuser_client.get("/api/v1/cities", {"online_inquiry_launched": value})
    assert _field_errors(response) == ["online_inquiry_launched"]


def test_a_yes_no_filter_filters(superuser_client):
    launched = superuser_client.get("/api/v1/cities", {"online_inquiry_launched": "true"}).json()
    not_launched = superuser_client.get(
        "/api/v1/cities", {"online_inquiry_launched": "false"}
    ).json()
    assert launched["count"] == 1 and not_launched["count"] == 1
    assert launched["results"][0]["online_inquiry_launched"] is True
    assert not_launched["results"][0]["online_inquiry_launched"] is False


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("/api/v1/crediting-runs", "status"),
        ("/api/v1/persons", "scheme"),
        ("/api/v1/settlements", "settled_from"),
        ("/api/v1/settlements", "year"),
        ("/api/v1/accounts", "person"),
    ],
)
def test_an_empty_choice_date_or_number_is_a_field_error_not_every_row(
    superuser_client, address, name
):
    response = superuser_client.get(address, {name: ""})
    assert _field_errors(response) == [name]


def test_an_empty_text_filter_is_no_filter(superuser_client):
    assert superuser_client.get("/api/v1/employers", {"name": ""}).status_code == 200
