"""Each city's medical-insurance agency (social security bureau) as data: recorded by the city's
operators, shown with the city, read by the balance answer's one statement, and named in the
remedies that send a person to a counter or a phone; the national 12393 where a city has none.
End to end on PostgreSQL, by the real flow and by scenario."""

import pytest

from cities.models import City
from cities.tests.factories import CityFactory
from inquiry.channels import Channel
from inquiry.facts import AgencyContact, balance_facts
from inquiry.tests.test_facts import login, settled
from sandbox.scenarios import scenario_create
from sandbox.world import CITY_PROFILES, sandbox_city
from tests.support import client_for
from users.tests.factories import OperatorFactory

NANPING_AGENCY = {
    "agency_name": "Nanping Medical Insurance Service Centre",
    "agency_address": "Service hall, 1 Binjiang Road, Nanping",
    "agency_phone": "0599-12393",
}

pytestmark = pytest.mark.django_db


def test_operators_record_the_agency_and_the_remedy_names_it(api_client, agreement):
    city = CityFactory(not_launched=True)
    person = settled(city)
    operator = client_for(OperatorFactory(cities=[city]))

    login(api_client, person)
    before = api_client.get("/api/v1/me/balance").json()["reasons"][0]
    assert before["code"] == "CITY_INQUIRY_NOT_LAUNCHED"
    assert "national medical-insurance hotline on 12393" in before["remedy"]
    assert before["hotline"] == "12393" and "agency" not in before

    changed = operator.patch(f"/api/v1/cities/{city.code}", NANPING_AGENCY, format="json")
    assert changed.status_code == 200, changed.content
    assert {key: changed.json()[key] for key in NANPING_AGENCY} == NANPING_AGENCY
    shown = operator.get(f"/api/v1/cities/{city.code}").json()
    assert {key: shown[key] for key in NANPING_AGENCY} == NANPING_AGENCY
    assert City.history.filter(id=city.id).first().agency_phone == "0599-12393"

    after = api_client.get("/api/v1/me/balance").json()["reasons"][0]
    assert after["remedy"] == (
        "Bring your social security card to the counter of Nanping Medical Insurance Service "
        "Centre (Service hall, 1 Binjiang Road, Nanping), or call Nanping Medical Insurance "
        "Service Centre on 0599-12393 to check it."
    )
    assert after["hotline"] == "0599-12393"
    assert after["agency"] == {
        "name": NANPING_AGENCY["agency_name"],
        "address": NANPING_AGENCY["agency_address"],
        "phone": NANPING_AGENCY["agency_phone"],
    }


def test_a_phone_that_is_not_a_number_is_refused():
    city = CityFactory()
    operator = client_for(OperatorFactory(cities=[city]))
    refused = operator.patch(
        f"/api/v1/cities/{city.code}", {"agency_phone": "call us"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "agency_phone"


def test_the_balance_statement_reads_the_agency(agreement):
    city = CityFactory(**NANPING_AGENCY)
    person = settled(city)
    assert balance_facts(year=2026, person_id=person.pk).city.agency == AgencyContact(
        name=NANPING_AGENCY["agency_name"],
        address=NANPING_AGENCY["agency_address"],
        phone=NANPING_AGENCY["agency_phone"],
    )


@pytest.mark.parametrize(
    ("code", "profile"),
    [
        ("CITY_INQUIRY_NOT_LAUNCHED", "not_launched"),
        ("WRONG_CHANNEL", "counter_only"),
        ("DATA_NOT_UPLOADED", "no_channel"),
    ],
)
def test_the_scenarios_cities_send_people_to_their_configured_agency(
    api_client, agreement, code, profile
):
    built = scenario_create(code)
    api_client.credentials(HTTP_AUTHORIZATION=built.authorization)
    reason = api_client.get("/api/v1/me/balance").json()["reasons"][0]
    assert reason["code"] == code
    agency = CITY_PROFILES[profile].agency
    if agency:
        assert reason["hotline"] == agency["agency_phone"]
        assert agency["agency_name"] in reason["remedy"]
    else:  # Zhumadian is configured without one: the national hotline answers.
        assert reason["hotline"] == "12393" and "agency" not in reason
        assert "national medical-insurance hotline on 12393" in reason["remedy"]


def test_a_sandbox_city_provisioned_before_contacts_gets_its_profiles_contact_once():
    profile = CITY_PROFILES["not_launched"]
    City.objects.filter(code=profile.code).delete()
    bare = CityFactory(code=profile.code, name=profile.name)
    assert bare.agency_phone == ""
    assert sandbox_city("not_launched").agency_phone == "0599-12393"
    # An operator's own contact is kept.
    City.objects.filter(pk=bare.pk).update(agency_phone="0599-87654321")
    assert sandbox_city("not_launched").agency_phone == "0599-87654321"


def test_the_counter_channel_needs_no_agency():
    # The counter is the agency: its answer names no other.
    city = CityFactory(personal_account_shown_online=False, **NANPING_AGENCY)
    from common import clock
    from inquiry.answer import balance_inquire

    person = settled(city)
    answer = balance_inquire(channel=Channel.COUNTER, now=clock.now(), person_id=person.pk)
    assert (answer.visible, answer.reasons) == (True, [])
