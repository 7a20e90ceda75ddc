"""The sandbox switches a city's platform busy for the interface: every message of its
institutions is refused as busy, nothing is carried out, and the same message goes through once
the switch is lifted."""

import pytest
from rest_framework.test import APIClient

from fsi.models import Message
from fsi.tests.conftest import Terminal
from users.tests.factories import OperatorFactory, TerminalFactory, token_for

pytestmark = pytest.mark.django_db


def _switch_busy(city, busy: bool) -> None:
    # The operator's real flow: the city's switches in the REST API.
    operator = OperatorFactory(cities=[city])
    response = APIClient().patch(
        f"/api/v1/cities/{city.code}",
        {"interface_busy_forced": busy},
        format="json",
        HTTP_AUTHORIZATION=token_for(operator),
    )
    assert response.status_code == 200, response.content
    assert response.json()["interface_busy_forced"] is busy


def _person_query(person) -> dict:
    return {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": person.card.number}}


def test_a_busy_platform_refuses_the_message_and_the_same_message_goes_through_later(
    signed_in, employee, city
):
    _switch_busy(city, True)
    envelope = signed_in.envelope("1101", _person_query(employee))

    refused = signed_in.post(envelope)
    assert refused.status_code == 200
    answer = refused.json()
    assert answer["infcode"] == -1 and answer["extension"]["code"] == "PLATFORM_BUSY"
    assert "繁忙" in answer["err_msg"]
    # Nothing was carried out under the msgid: it stays free for the same message.
    assert not Message.objects.filter(msgid=envelope["msgid"], claims_msgid=True).exists()

    _switch_busy(city, False)
    again = signed_in.post(envelope).json()
    assert again["infcode"] == 0, again
    assert again["extension"]["replayed"] is False
    assert again["output"]["baseinfo"]["psn_no"] == str(employee.pk)


def test_a_busy_platform_refuses_sign_in_too_and_only_in_that_city(terminal, city):
    _switch_busy(city, True)
    answer = terminal.send("9001", {"signIn": {"opter_no": "0001"}})
    assert answer["extension"]["code"] == "PLATFORM_BUSY"

    elsewhere = Terminal(TerminalFactory())
    assert elsewhere.institution.city_id != city.pk
    assert elsewhere.send("9001", {"signIn": {"opter_no": "0001"}})["infcode"] == 0
