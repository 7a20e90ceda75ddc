"""A person asking to activate their own card is told where activation happens (the agency's
counter, with their ID and a PIN chosen there), with a stable code and a remedy naming their
city's agency, not that they do not administer the city; the card stays as it was. End to end
through the API on PostgreSQL."""

import pytest

from cards.models import SocialSecurityCard
from cards.services import card_apply
from cities.tests.factories import CityFactory
from persons.services import person_login_create
from persons.tests.factories import PersonFactory
from settlement.tests.factories import active_card, issued_card
from tests.support import client_for
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db
AGENCY = {
    "agency_name": "Quanzhou Medical Insurance Service Centre",
    "agency_address": "Service hall, Quanzhou",
    "agency_phone": "0595-12393",
}


def holder(city, card_maker):
    person = PersonFactory(city=city)
    card = card_maker(person)
    user = person_login_create(person=person, username=f"holder-{person.pk}", password=None)
    return client_for(user), card


def activate(client, card):
    return client.post(f"/api/v1/cards/{card.pk}/activate", {"pin": "418207"}, format="json")


def test_the_holder_is_sent_to_the_counter_of_their_citys_agency():
    city = CityFactory(**AGENCY)
    client, card = holder(city, issued_card)
    refused = activate(client, card)
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "CARD_ACTIVATED_AT_COUNTER"
    assert "administer" not in problem["detail"]
    assert (
        "counter of Quanzhou Medical Insurance Service Centre (Service hall, Quanzhou)"
        in (problem["detail"])
    )
    assert "your ID" in problem["detail"] and "PIN" in problem["detail"]
    assert "0595-12393" in problem["remedy"]
    assert problem["contact"] == {
        "hotline": "0595-12393",
        "agency": {
            "name": AGENCY["agency_name"],
            "address": AGENCY["agency_address"],
            "phone": AGENCY["agency_phone"],
        },
    }
    assert problem["current_status"] == "ISSUED"
    assert SocialSecurityCard.objects.get(pk=card.pk).status == SocialSecurityCard.Status.ISSUED
    # The code is in the published problem list with its title.
    listed = client.get("/api/v1/problems/CARD_ACTIVATED_AT_COUNTER").json()
    assert listed["status"] == 403 and "counter" in listed["title"]


def test_without_a_recorded_agency_the_national_hotline_is_given():
    client, card = holder(CityFactory(), issued_card)
    problem = activate(client, card).json()
    assert problem["code"] == "CARD_ACTIVATED_AT_COUNTER"
    assert "the local medical-insurance agency" in problem["detail"]
    assert "national medical-insurance hotline on 12393" in problem["remedy"]
    assert problem["contact"] == {"hotline": "12393"}


@pytest.mark.parametrize(
    ("make", "status", "says"),
    [
        (
            lambda person: card_apply(
                person=person,
                site=SocialSecurityCard.Site.STREET_POINT,
                insured_resident_id=person.resident_id,
                by=None,
            ),
            "PENDING",
            "still being made",
        ),
        (active_card, "ACTIVE", "already active"),
    ],
)
def test_the_answer_fits_the_cards_state(make, status, says):
    client, card = holder(CityFactory(), make)
    problem = activate(client, card).json()
    assert (problem["code"], problem["current_status"]) == ("CARD_ACTIVATED_AT_COUNTER", status)
    assert says in problem["detail"]


def test_another_persons_card_is_not_found_and_the_counter_still_activates():
    city = CityFactory()
    client, _ = holder(city, issued_card)
    _, someone_elses = holder(city, issued_card)
    assert activate(client, someone_elses).status_code == 404
    operator = client_for(OperatorFactory(cities=[city]))
    activated = activate(operator, someone_elses)
    assert activated.status_code == 200 and activated.json()["status"] == "ACTIVE"
