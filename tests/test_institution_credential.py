"""The institution channel answers for the credential presented, and never disagrees with a
settlement made with that credential: for every card state, every e-voucher state and either
credential, the balance a terminal is shown (visible or hidden, and why) and a settlement paying
from the personal account go the same way, end to end through the API on PostgreSQL."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cards.models import EVoucher, SocialSecurityCard
from cards.services import (
    card_activate,
    card_apply,
    card_mark_ready,
    card_report_lost,
    evoucher_accept_agreement,
    evoucher_agreement_current,
    evoucher_face_authenticate,
    evoucher_presentation_code_issue,
)
from cities.tests.factories import CityFactory
from common import clock
from persons.tests.factories import PersonFactory
from settlement.models import CatalogItem
from settlement.tests.factories import (
    TEST_PIN,
    CatalogItemFactory,
    InstitutionFactory,
    fund_personal_account,
)
from tests.support import client_for, set_clock
from users.tests.factories import TerminalFactory

CARD_STATES = ["NONE", "PENDING", "READY", "ISSUED", "ACTIVE", "LOST"]
EVOUCHER_STATES = ["NOT_ACTIVATED", "AGREEMENT_ACCEPTED", "ACTIVATED"]
SETTLEMENT = {
    "visit_type": "OUTPATIENT",
    "use_personal_account": True,
    "line_items": [{"code": "T-PARITY", "quantity": "1", "unit_price": "80.00"}],
}
# What the balance answer's reason is called in a settlement's refusal.
SETTLEMENT_REFUSAL_FOR_REASON = {"CARD_NOT_ACTIVATED": "CARD_NOT_ACTIVE"}
UNKNOWN_CARD = "Z99999999"
STALE_CODE = "NOT-A-CURRENT-CODE"


def card_in(person, state: str) -> SocialSecurityCard | None:
    if state == "NONE":
        return None
    site = (
        SocialSecurityCard.Site.STREET_POINT
        if state in ("PENDING", "READY")
        else SocialSecurityCard.Site.COUNTY_CENTER
    )
    card = card_apply(person=person, site=site, insured_resident_id=person.resident_id, by=None)
    if state == "READY":
        card = card_mark_ready(card=card)
    if state in ("ACTIVE", "LOST"):
        card = card_activate(card=card, pin=TEST_PIN, by=None)
    if state == "LOST":
        card = card_report_lost(card=card, by=None)
    return card


def evoucher_in(person, state: str) -> None:
    if state == "NOT_ACTIVATED":
        return
    evoucher_accept_agreement(
        person=person,
        platform=EVoucher.Platform.WECHAT,
        agreement_version=evoucher_agreement_current().version,
        by=None,
    )
    if state == "ACTIVATED":
        evoucher_face_authenticate(person=person, outcome=None, by=None)


def presented(person, card, evoucher_state: str, kind: str) -> dict[str, str]:
    """The headers a terminal sends: the card's number (PIN entered), or the e-voucher's current
    code; a person without that credential can only show something that identifies nobody."""
    if kind == "CARD":
        number = card.number if card is not None else UNKNOWN_CARD
        return {"HTTP_X_PRESENTED_CREDENTIAL": f"CARD {number}", "HTTP_X_CARD_PIN": TEST_PIN}
    code = (
        evoucher_presentation_code_issue(person=person).code
        if evoucher_state == "ACTIVATED"
        else STALE_CODE
    )
    return {"HTTP_X_PRESENTED_CREDENTIAL": f"EVOUCHER {code}"}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["CARD", "EVOUCHER"])
@pytest.mark.parametrize("evoucher_state", EVOUCHER_STATES)
@pytest.mark.parametrize("card_state", CARD_STATES)
def test_the_balance_answer_and_the_settlement_agree(agreement, card_state, evoucher_state, kind):
    city = CityFactory()
    hospital = InstitutionFactory(city=city, level=3)
    CatalogItemFactory(code="T-PARITY", catalog_class=CatalogItem.CatalogClass.A)
    person = PersonFactory(city=city)
    fund_personal_account(person, "500.00")
    card = card_in(person, card_state)
    evoucher_in(person, evoucher_state)
    terminal = client_for(TerminalFactory(institution=hospital))
    headers = presented(person, card, evoucher_state, kind)

    answer = terminal.get(f"/api/v1/persons/{person.pk}/balance", **headers)
    settled = terminal.post("/api/v1/settlements", SETTLEMENT, format="json", **headers)

    if answer.status_code == 403:
        # Not a credential at all: both refuse it alike, with the same code.
        assert settled.status_code == 403
        assert answer.json()["code"] == settled.json()["code"] == "CREDENTIAL_INVALID"
        assert answer.json()["detail"] == settled.json()["detail"]
        return
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["channel"] == "INSTITUTION"
    if body["visible"]:
        assert settled.status_code == 201, settled.content
        assert Decimal(settled.json()["breakdown"]["personal_account"]) > 0
        assert Decimal(body["balance"]["amount"]) == Decimal("500.00")
    else:
        hiding = [reason["code"] for reason in body["reasons"]]
        assert len(hiding) == 1
        assert settled.status_code in (403, 409, 422), settled.content
        assert settled.json()["code"] == SETTLEMENT_REFUSAL_FOR_REASON[hiding[0]]

    # And what each combination is: an activated e-voucher serves whatever the card's state; a
    # card serves only once active; a card not handed over or lost, or a code that is not
    # current, is no credential.
    serves = (kind == "EVOUCHER" and evoucher_state == "ACTIVATED") or (
        kind == "CARD" and card_state == "ACTIVE"
    )
    assert body["visible"] is serves
    if kind == "CARD" and card_state == "ISSUED":
        reason = body["reasons"][0]
        assert reason["code"] == "CARD_NOT_ACTIVATED"
        assert "card presented" in reason["detail"]
        assert "e-voucher can be presented instead" in reason["remedy"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("card_state", "says"),
    [
        ("PENDING", "still being made"),
        ("READY", "ready for pick-up"),
        ("LOST", "reported lost"),
    ],
)
def test_a_card_that_is_no_credential_is_refused_with_its_reason(agreement, card_state, says):
    city = CityFactory()
    person = PersonFactory(city=city)
    card = card_in(person, card_state)
    terminal = client_for(TerminalFactory(institution=InstitutionFactory(city=city)))
    refused = terminal.get(
        f"/api/v1/persons/{person.pk}/balance", HTTP_X_PRESENTED_CREDENTIAL=f"CARD {card.number}"
    )
    assert refused.status_code == 403
    problem = refused.json()
    assert (problem["code"], problem["current_status"]) == ("CREDENTIAL_INVALID", card_state)
    assert says in problem["detail"] and "e-voucher" in problem["detail"]
    unknown = terminal.get(
        f"/api/v1/persons/{person.pk}/balance", HTTP_X_PRESENTED_CREDENTIAL=f"CARD {UNKNOWN_CARD}"
    )
    assert unknown.json()["code"] == "CREDENTIAL_INVALID" and "current_status" not in unknown.json()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["CARD", "EVOUCHER"])
def test_the_terminals_balance_answer_costs_two_queries_after_authentication(agreement, kind):
    """The credential read once (the access policy and the answer share it), then the one
    statement of the balance facts; the simulated clock comes from the cache."""
    city = CityFactory()
    person = PersonFactory(city=city)
    card = card_in(person, "ISSUED")
    evoucher_in(person, "ACTIVATED")
    set_clock(clock.now())
    clock.now()
    terminal = client_for(TerminalFactory(institution=InstitutionFactory(city=city)))
    # In sandbox mode a terminal's first request finds its city's world clock, then the server
    # remembers it (sandbox mode off, it never looks).
    headers = presented(person, card, "ACTIVATED", kind)
    terminal.get(f"/api/v1/persons/{person.pk}/balance", **headers)
    with CaptureQueriesContext(connection) as captured:
        response = terminal.get(f"/api/v1/persons/{person.pk}/balance", **headers)
    assert response.status_code == 200 and response.json()["visible"] is (kind == "EVOUCHER")
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) == 3, statements
    authentication, credential, facts = statements
    assert "knox_authtoken" in authentication
    assert ("cards_socialsecuritycard" if kind == "CARD" else "cards_evoucherpresentationcode") in (
        credential
    )
    assert "FROM persons_insuredperson p" in facts


# --- What a terminal answers for each scenario, as the README's table says -----------------------

README = Path(__file__).resolve().parent.parent / "README.md"
TABLE_HEADING = "| scenario | with the card | with the e-voucher |"


def terminal_answer(terminal, person_id: int, header: str | None) -> str:
    """A terminal's balance answer in the README's words."""
    if header is None:
        return "nothing to present"
    response = terminal.get(
        f"/api/v1/persons/{person_id}/balance", HTTP_X_PRESENTED_CREDENTIAL=header
    )
    if response.status_code == 403:
        return f"refused: {response.json()['code']} ({response.json()['current_status']})"
    body = response.json()
    codes = ", ".join(reason["code"] for reason in body["reasons"])
    if body["visible"]:
        return f"visible; {codes}" if codes else "visible"
    return f"hidden: {codes}"


def readme_terminal_table() -> dict[str, tuple[str, str]]:
    lines = README.read_text().splitlines()
    start = lines.index(TABLE_HEADING) + 2
    rows = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        code, by_card, by_evoucher = (
            cell.strip().strip("`") for cell in line.strip("|").split("|")
        )
        rows[code] = (by_card, by_evoucher)
    return rows


@pytest.mark.django_db
def test_the_readme_says_what_a_terminal_answers_for_every_scenario(agreement, api_client):
    from cities.models import City
    from sandbox.scenarios import SCENARIOS, scenario_create
    from tests.support import MONDAY_MORNING

    set_clock(MONDAY_MORNING)
    documented = readme_terminal_table()
    assert set(documented) == set(SCENARIOS)
    for code in SCENARIOS:
        built = scenario_create(code)
        person = built.person
        card = SocialSecurityCard.objects.filter(person=person).order_by("-id").first()
        terminal = client_for(
            TerminalFactory(
                institution=InstitutionFactory(city=City.objects.get(pk=person.city_id))
            )
        )
        evoucher = None
        if EVoucher.objects.get(person=person).status == EVoucher.Status.ACTIVATED:
            evoucher = f"EVOUCHER {evoucher_presentation_code_issue(person=person).code}"
        answers = (
            terminal_answer(terminal, person.pk, f"CARD {card.number}" if card else None),
            terminal_answer(terminal, person.pk, evoucher),
        )
        assert answers == documented[code], code
