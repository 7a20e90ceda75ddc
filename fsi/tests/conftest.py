"""Fixtures for the interface: a Hangzhou-like sandbox city with a level-3 hospital and its
terminal, and a client that speaks the envelope (msgids in sequence, sign-in on demand)."""

import itertools
from datetime import datetime
from decimal import Decimal

import pytest
from django.test import Client

from cards.credentials import PresentedCredential
from cards.models import SocialSecurityCard
from cards.services import card_pin_verify
from fsi.registry import TRANSACTIONS, Call, transaction
from sandbox.scenarios import DEMO_PIN, PersonSpec, build_person
from sandbox.world import sandbox_city
from settlement.models import CatalogItem, Settlement
from settlement.services import LineInput, settlement_reverse, settlement_submit
from settlement.tests.factories import CatalogItemFactory, InstitutionFactory
from tests.support import MONDAY_MORNING, set_clock
from users.tests.factories import TerminalFactory, token_for

SERVICE = "/fsi/api/rsfComIfsService/callService"
_SEQUENCE = itertools.count(1)


class Terminal:
    """A hospital system: sends envelopes as the platform's clients do."""

    def __init__(self, user, client: Client | None = None) -> None:
        self.user = user
        self.institution = user.institution
        self.authorization = token_for(user)
        self.client = client or Client()
        self.sign_no = ""

    def msgid(self, moment: datetime | None = None) -> str:
        moment = moment or MONDAY_MORNING
        return f"{self.institution.code}{moment:%Y%m%d%H%M%S}{next(_SEQUENCE):04d}"

    def envelope(self, infno: str, input: dict | None = None, **fields) -> dict:
        envelope = {
            "infno": infno,
            "msgid": self.msgid(),
            "mdtrtarea_admvs": self.institution.city.code,
            "insuplc_admdvs": self.institution.city.code,
            "recer_sys_code": "FSI_LOCAL",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "SM2",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "0001",
            "opter_name": "Clerk Li",
            "inf_time": "2026-11-02 09:00:00",
            "fixmedins_code": self.institution.code,
            "fixmedins_name": self.institution.name,
            "sign_no": self.sign_no,
            "input": input if input is not None else {},
        }
        envelope.update(fields)
        return envelope

    def post(self, body, *, raw: bool = False, **headers):
        import json

        data = body if raw else json.dumps(body, ensure_ascii=False)
        return self.client.post(
            SERVICE,
            data=data,
            content_type="application/json",
            HTTP_AUTHORIZATION=self.authorization,
            **headers,
        )

    def send(self, infno: str, input: dict | None = None, **fields) -> dict:
        response = self.post(self.envelope(infno, input, **fields))
        assert response.status_code == 200, response.content
        return response.json()

    def sign_in(self) -> str:
        answer = self.send("9001", {"signIn": {"opter_no": "0001", "mac": "", "ip": "10.0.0.8"}})
        assert answer["infcode"] == 0, answer
        self.sign_no = answer["output"]["signinoutb"]["sign_no"]
        return self.sign_no


@pytest.fixture
def city(agreement):
    set_clock(MONDAY_MORNING)
    return sandbox_city("standard")


@pytest.fixture
def hospital(city):
    return InstitutionFactory(city=city, level=3)


@pytest.fixture
def terminal(hospital) -> Terminal:
    return Terminal(TerminalFactory(institution=hospital))


@pytest.fixture
def signed_in(terminal) -> Terminal:
    terminal.sign_in()
    return terminal


@pytest.fixture
def employee(city):
    """An employee of the city with an active card, credited: the balance is visible."""
    person = build_person(PersonSpec()).person
    person.card = SocialSecurityCard.objects.get(
        person=person, status=SocialSecurityCard.Status.ACTIVE
    )
    return person


@pytest.fixture
def card_not_activated(city):
    """An employee whose card is issued but not activated: the institution channel hides the
    balance (CARD_NOT_ACTIVATED)."""
    person = build_person(PersonSpec(card="ISSUED")).person
    person.card = SocialSecurityCard.objects.get(person=person)
    return person


@pytest.fixture
def item():
    return CatalogItemFactory(code="FSI-A", catalog_class=CatalogItem.CatalogClass.A)


@pytest.fixture
def settling_transaction(hospital, item):
    """A transaction that settles with the card presented and whose undo reverses it, as the
    outpatient settlement does: registered for the test only."""

    def settle(call: Call) -> dict:
        data = call.input["data"]
        credential = card_pin_verify(
            credential=PresentedCredential(
                kind="CARD", value=data["card"], person_id=int(data["psn_no"])
            ),
            pin=DEMO_PIN,
            now=call.now,
        )
        settlement = settlement_submit(
            institution=call.institution,
            credential=credential,
            visit_type="OUTPATIENT",
            lines=[LineInput(code="FSI-A", quantity=Decimal("1"), unit_price=Decimal("120.00"))],
            use_personal_account=True,
            by=call.user,
            now=call.now,
        )
        return {"setlinfo": {"setl_id": str(settlement.pk)}}

    def undo(call: Call, output: dict) -> dict:
        settlement = Settlement.objects.get(pk=int(output["setlinfo"]["setl_id"]))
        settlement_reverse(settlement=settlement, reason="2601", by=call.user, now=call.now)
        return {"setl_id": str(settlement.pk)}

    transaction("8801", name_zh="测试结算", name_en="Test settlement", undo=undo)(settle)
    yield "8801"
    del TRANSACTIONS["8801"]
