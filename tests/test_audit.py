"""Every status change and every money movement traces back to who, when and which request."""

from datetime import date

import pytest

from accounts.models import Contribution
from cards.models import SocialSecurityCard
from cities.models import City
from persons.resident_id import make_resident_id
from sandbox.world import sandbox_city
from tests.support import MONDAY_MORNING, client_for, set_clock
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(agreement):
    set_clock(MONDAY_MORNING)
    city = sandbox_city("standard")
    operator = OperatorFactory(cities=[city])
    return city, operator, client_for(operator)


def _enrol(client, city, request_id):
    response = client.post(
        "/api/v1/persons",
        {
            "resident_id": make_resident_id("110105", date(1980, 1, 1), 11),
            "name": "Audit Person",
            "city": city.code,
            "scheme": "EMPLOYEE",
            "employment_status": "ACTIVE",
            "declared_wage": "9000.00",
        },
        format="json",
        HTTP_X_REQUEST_ID=request_id,
    )
    assert response.status_code == 201
    return response.json()


def test_money_movements_carry_who_when_and_the_request(setting):
    city, operator, client = setting
    person = _enrol(client, city, "audit-enrol-0001")
    response = client.post(
        "/api/v1/contributions",
        {"person": person["id"], "period": "2026-11-01"},
        format="json",
        HTTP_X_REQUEST_ID="audit-contribution-0001",
    )
    assert response.status_code == 201 and response["X-Request-ID"] == "audit-contribution-0001"
    transfer = Contribution.objects.get(pk=response.json()["id"]).transfer
    assert transfer.created_by == operator
    assert transfer.request_id == "audit-contribution-0001"
    assert transfer.posted_at == MONDAY_MORNING and transfer.created_at is not None
    assert transfer.memo
    entries = client.get(f"/api/v1/accounts?person={person['id']}").json()["results"]
    ledger = client.get(f"/api/v1/accounts/{entries[0]['id']}/entries").json()["results"]
    assert (
        ledger == []
    )  # the personal account only moves at crediting; the clearing account holds it


def test_status_changes_carry_who_when_and_the_request(setting):
    city, operator, client = setting
    person = _enrol(client, city, "audit-enrol-0002")
    card = client.post(
        "/api/v1/cards",
        {
            "person": person["id"],
            "site": "COUNTY_CENTER",
            "insured_resident_id": person["resident_id"],
        },
        format="json",
        HTTP_X_REQUEST_ID="audit-card-apply-01",
    ).json()
    client.post(
        f"/api/v1/cards/{card['id']}/activate",
        {"pin": "258036"},
        format="json",
        HTTP_X_REQUEST_ID="audit-card-activate",
    )
    history = list(SocialSecurityCard.objects.get(pk=card["id"]).history.order_by("history_id"))
    assert [record.status for record in history] == ["PENDING", "READY", "ISSUED", "ACTIVE"]
    assert {record.history_user for record in history} == {operator}
    assert [record.request_id for record in history] == ["audit-card-apply-01"] * 3 + [
        "audit-card-activate"
    ]
    assert all(record.history_date for record in history)

    client.patch(
        f"/api/v1/cities/{city.code}",
        {"platform_busy_forced": True},
        format="json",
        HTTP_X_REQUEST_ID="audit-city-switch1",
    )
    change = City.objects.get(pk=city.pk).history.first()
    assert change.platform_busy_forced is True
    assert change.history_user == operator and change.request_id == "audit-city-switch1"
    previous = change.prev_record
    assert [delta.field for delta in change.diff_against(previous).changes] == [
        "platform_busy_forced"
    ]
