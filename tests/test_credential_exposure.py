"""An institution learns a person's credential only from the person presenting it.

The e-voucher is presented by a short-lived code that only the person's own app obtains; a
pharmacy activating a voucher learns no code and cannot tell who is insured; and no endpoint an
institution terminal can call answers with a live e-voucher code, or the card number of anyone
but the person presenting. The walk reuses the access matrix's world and its case for every
endpoint.
"""

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.db import transaction
from knox.models import AuthToken
from rest_framework.test import APIClient

from cards.models import SocialSecurityCard
from cards.services import evoucher_presentation_code_issue
from common import clock
from institutions.models import Institution
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from persons.tests.factories import PersonFactory
from sandbox.scenarios import PersonSpec, build_person
from settlement.tests.factories import PharmacyFactory
from tests import test_access_matrix as matrix
from tests.support import MONDAY_MORNING, client_for, set_clock
from users.tests.factories import OperatorFactory, TerminalFactory

pytestmark = pytest.mark.django_db

world = matrix.world  # the access matrix's world, as a fixture here too

PHARMACY_URL = "/api/v1/evouchers/pharmacy-activations"


def _client(user, presented: str | None = None) -> APIClient:
    api = APIClient()
    _, token = AuthToken.objects.create(user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    if presented:
        api.defaults["HTTP_X_PRESENTED_CREDENTIAL"] = presented
    return api


@pytest.fixture
def exposure(world):
    """Terminals presenting P by card or by a live e-voucher code, or presenting nothing; S, another
    insured person with an active card and a live e-voucher code of their own."""
    clients, values = world
    p = InsuredPerson.objects.get(pk=values["p"])
    hospital = Institution.objects.get(pk=values["hospital"])
    pharmacy = Institution.objects.get(kind=Institution.Kind.PHARMACY, city=hospital.city)
    s = build_person(PersonSpec(), username="exposure-s").person
    s_code = evoucher_presentation_code_issue(person=s).code
    p_code = evoucher_presentation_code_issue(person=p).code
    presenters = {
        "hospital, P's card": clients["terminal"],
        "pharmacy, P's card": clients["pharmacy"],
        "hospital, nothing": clients["bare"],
        "hospital, P's e-voucher": _client(
            TerminalFactory(institution=hospital), f"EVOUCHER {p_code}"
        ),
        "pharmacy, P's e-voucher": _client(
            TerminalFactory(institution=pharmacy), f"EVOUCHER {p_code}"
        ),
    }
    secrets = {
        number: f"the card number of person {person_id}"
        for number, person_id in SocialSecurityCard.objects.exclude(person=p).values_list(
            "number", "person_id"
        )
    }
    assert s.id in {int(what.rsplit(" ", 1)[1]) for what in secrets.values()}
    secrets |= {s_code: "S's live e-voucher code", p_code: "P's live e-voucher code"}
    values = values | {"s": s.id, "s_id": s.resident_id, "s_name": s.name}
    return presenters, values, secrets


def _leaks(response, secrets: dict[str, str]) -> list[str]:
    text = response.content.decode(errors="replace").upper()
    return [what for secret, what in secrets.items() if secret.upper() in text]


EXTRA_CASES = [
    # The old way to learn a code: activate an already active voucher at a pharmacy.
    ("post", PHARMACY_URL, {"resident_id": "{s_id}", "name": "{s_name}"}),
    ("get", "/api/v1/persons/{s}", {}),
    ("get", "/api/v1/persons/{s}/evoucher", {}),
    ("get", "/api/v1/cards?person={s}", {}),
]


def test_no_endpoint_shows_a_terminal_a_credential_nobody_presented(exposure):
    presenters, values, secrets = exposure
    requests = [(case.method, case.path, case.body) for case in matrix.CASES] + EXTRA_CASES
    leaks, answered = [], 0
    for role, client in presenters.items():
        # The credentials really are presented (else the walk would prove nothing).
        if role != "hospital, nothing":
            assert client.get(f"/api/v1/persons/{values['p']}").status_code == 200, role
        for method, path_template, body_template in requests:
            path = path_template.format(**values)
            body = matrix._fill(body_template, values)
            with transaction.atomic():
                response = getattr(client, method)(path, body or None, format="json")
                transaction.set_rollback(True)
            answered += response.status_code < 300
            leaks += [
                f"{role}: {method.upper()} {path}: {what}" for what in _leaks(response, secrets)
            ]
    assert leaks == []
    assert answered > 100


def test_a_pharmacy_activation_answers_without_any_code(agreement):
    set_clock(MONDAY_MORNING)
    person = PersonFactory()
    pharmacy = client_for(TerminalFactory(institution=PharmacyFactory(city=person.city)))
    body = {"resident_id": person.resident_id, "name": person.name}
    first = pharmacy.post(PHARMACY_URL, body, format="json")
    assert first.status_code == 200, first.content
    assert first.json() == {
        "status": "ACTIVATED",
        "platform": "PHARMACY",
        "activated_at": first.json()["activated_at"],
    }
    # Asked again once active (a retry, or someone else's voucher): still no code.
    shown = evoucher_presentation_code_issue(person=person)
    again = pharmacy.post(PHARMACY_URL, body, format="json")
    assert again.status_code == 200 and shown.code not in again.content.decode()


def test_a_pharmacy_cannot_tell_who_is_insured(agreement):
    set_clock(MONDAY_MORNING)
    person = PersonFactory()
    pharmacy = client_for(TerminalFactory(institution=PharmacyFactory(city=person.city)))
    uninsured = make_resident_id("110105", date(1970, 1, 1), 7)
    attempts = {
        "unknown ID": {"resident_id": uninsured, "name": person.name},
        "unknown ID, face fails": {
            "resident_id": uninsured,
            "name": "Nobody",
            "sandbox_face_outcome": "FACE_MISMATCH",
        },
        "insured ID, another name": {"resident_id": person.resident_id, "name": "Nobody"},
        "insured ID, face fails": {
            "resident_id": person.resident_id,
            "name": person.name,
            "sandbox_face_outcome": "FACE_MISMATCH",
        },
        "insured ID, no liveness": {
            "resident_id": person.resident_id,
            "name": person.name,
            "sandbox_face_outcome": "LIVENESS_FAILED",
        },
    }
    answers = {}
    for label, body in attempts.items():
        response = pharmacy.post(PHARMACY_URL, body, format="json")
        answer = response.json()
        answer.pop("request_id")
        answers[label] = (response.status_code, answer)
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    assert answers["unknown ID"][0] == 422
    assert answers["unknown ID"][1]["code"] == "IDENTITY_NOT_VERIFIED"
    person.evoucher.refresh_from_db()
    assert person.evoucher.status == "NOT_ACTIVATED"


def test_only_the_persons_newest_unexpired_code_identifies_them(agreement):
    set_clock(MONDAY_MORNING)
    person = build_person(PersonSpec(), username="codes-p")
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=person.authorization)
    hospital = client_for(TerminalFactory(institution__city=person.person.city))
    url = f"/api/v1/persons/{person.person.id}/balance"

    def presenting(credential: str):
        return hospital.get(url, HTTP_X_PRESENTED_CREDENTIAL=credential)

    older = app.post("/api/v1/me/evoucher/qr-codes").json()
    newer = app.post("/api/v1/me/evoucher/qr-codes").json()
    assert presenting(newer["credential"]).status_code == 200
    refused = presenting(older["credential"])
    assert refused.status_code == 403 and refused.json()["code"] == "CREDENTIAL_INVALID"
    # The voucher's own identifiers are no credential.
    voucher = app.get("/api/v1/me/evoucher").json()
    assert "code" not in voucher
    assert presenting(f"EVOUCHER {voucher['id']}").status_code == 403

    set_clock(clock.now() + timedelta(minutes=settings.EVOUCHER_PRESENTATION_CODE_MINUTES))
    expired = presenting(newer["credential"])
    assert expired.status_code == 403 and expired.json()["code"] == "CREDENTIAL_INVALID"
    fresh = app.post("/api/v1/me/evoucher/qr-codes").json()
    assert presenting(fresh["credential"]).status_code == 200


def test_a_sandbox_person_shows_their_own_e_voucher_through_their_authorization(agreement):
    set_clock(MONDAY_MORNING)
    developer = client_for(OperatorFactory())
    created = developer.post("/api/v1/sandbox/scenarios/BALANCE_VISIBLE")
    assert created.status_code == 201, created.content
    body = created.json()
    assert "evoucher_code" not in body
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=body["authorization"])
    shown = app.post(body["evoucher_qr_codes_url"])
    assert shown.status_code == 201, shown.content
    hospital = client_for(TerminalFactory())
    balance = hospital.get(
        f"/api/v1/persons/{body['person']['id']}/balance",
        HTTP_X_PRESENTED_CREDENTIAL=shown.json()["credential"],
    )
    assert balance.status_code == 200 and balance.json()["channel"] == "INSTITUTION"
    # A person whose e-voucher is not activated has nothing to show.
    inactive = developer.post("/api/v1/sandbox/scenarios/EVOUCHER_NOT_ACTIVATED").json()
    assert inactive["evoucher_qr_codes_url"] is None
