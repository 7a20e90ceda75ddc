"""A client generated from the OpenAPI document by openapi-python-client drives a person's whole
journey against a running server: a sandbox scenario, the e-voucher, the card, the clock, the
balance and a settlement at a hospital. If the schema and the server disagree (a field renamed, a
status undocumented, a header missing), the generated client fails here before a client
developer's does."""

import importlib
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

from cities.models import City
from settlement.tests.factories import CatalogItemFactory, InstitutionFactory
from tests.support import MONDAY_MORNING, set_clock
from users.tests.factories import OperatorFactory, TerminalFactory, token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

PACKAGE = "yibao_medical_insurance_account_api_client"
PIN = "258036"


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory):
    """The client package, generated from the schema this code serves, importable."""
    workdir = tmp_path_factory.mktemp("generated-client")
    schema = SchemaGenerator().get_schema(request=None, public=True)
    schema_path = workdir / "schema.json"
    schema_path.write_text(json.dumps(schema, default=str), encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    completed = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(schema_path),
            "--output-path",
            str(workdir / "client"),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # Its formatting step runs ruff, which lies beside the interpreter.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # A warning means an operation or model was left out of the client.
    assert "Warning" not in completed.stdout + completed.stderr, completed.stdout
    sys.path.insert(0, str(workdir / "client"))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir / "client"))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def _call(module_name: str, *args, expect: int, **kwargs):
    """One operation of the generated client; the parsed answer, after checking its status."""
    module = importlib.import_module(f"{PACKAGE}.api.{module_name}")
    response = module.sync_detailed(*args, **kwargs)
    assert response.status_code == expect, response.content.decode()
    return response.parsed


def test_a_persons_journey_through_the_generated_client(generated_client, live_server, agreement):
    from yibao_medical_insurance_account_api_client import AuthenticatedClient
    from yibao_medical_insurance_account_api_client.models import (
        CardActivateInputRequest,
        ClockAdvanceInputRequest,
        MyEVoucherAgreementInputRequest,
        MyFaceAuthenticationInputRequest,
        SettlementSubmitInputRequest,
    )

    set_clock(MONDAY_MORNING)

    def authenticated(user) -> AuthenticatedClient:
        return AuthenticatedClient(
            base_url=live_server.url, token=token_for(user).removeprefix("Token "), prefix="Token"
        )

    # An operator of every city makes a brand-new enrolee through the sandbox.
    scenario = _call(
        "sandbox.sandbox_scenarios_create",
        "BRAND_NEW_ENROLEE",
        client=authenticated(OperatorFactory(cities=list(City.objects.all()))),
        expect=201,
    )
    person_id = scenario.person.id
    city = City.objects.get(persons__pk=person_id)
    operator = authenticated(OperatorFactory(cities=[city]))

    # The scenario gives the person a login: the client goes on as the person.
    scheme, token = scenario.authorization.split()
    person = AuthenticatedClient(base_url=live_server.url, token=token, prefix=scheme)
    me = _call("auth.me_retrieve", client=person, expect=200)
    assert me.username == scenario.username
    first = _call("balance.me_balance_retrieve", client=person, expect=200)
    assert first.visible is False
    assert [reason.code.value for reason in first.reasons] == [
        "EVOUCHER_NOT_ACTIVATED",
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
        "FUNDS_NOT_YET_TRANSFERRED",
    ]

    # The e-voucher: accept the current agreement, pass face authentication.
    version = _call(
        "e_vouchers.evoucher_agreements_current_retrieve", client=person, expect=200
    ).version
    _call(
        "e_vouchers.me_evoucher_agreement_create",
        client=person,
        body=MyEVoucherAgreementInputRequest.from_dict(
            {"platform": "WECHAT", "agreement_version": version}
        ),
        expect=200,
    )
    face = _call(
        "e_vouchers.me_evoucher_face_authentications_create",
        client=person,
        body=MyFaceAuthenticationInputRequest.from_dict({"sandbox_outcome": "PASS"}),
        expect=201,
    )
    assert face.activated is True

    # The card: time passes until it is made, then it is handed over and activated.
    _call(
        "sandbox.sandbox_clock_advance_create",
        client=operator,
        body=ClockAdvanceInputRequest(days=5),
        expect=200,
    )
    card = _call("cards.cards_list", client=operator, person=person_id, expect=200).results[0]
    _call("cards.cards_collect_create", card.id, client=operator, expect=200)
    activated = _call(
        "cards.cards_activate_create",
        card.id,
        client=operator,
        body=CardActivateInputRequest(pin=PIN),
        expect=200,
    )
    assert activated.status.value == "ACTIVE"

    # The clock: a month's contribution is collected, credited and uploaded.
    _call(
        "sandbox.sandbox_clock_advance_create",
        client=operator,
        body=ClockAdvanceInputRequest(days=30),
        expect=200,
    )
    balance = _call("balance.me_balance_retrieve", client=person, expect=200)
    assert balance.visible is True and balance.reasons == []
    before = Decimal(balance.balance.amount)
    assert before > 0

    # A settlement at a hospital of the person's city, presenting the card with its PIN.
    hospital = authenticated(TerminalFactory(institution=InstitutionFactory(city=city, level=3)))
    item = CatalogItemFactory()
    settlement = _call(
        "settlement.settlements_create",
        client=hospital,
        body=SettlementSubmitInputRequest.from_dict(
            {
                "visit_type": "OUTPATIENT",
                "use_personal_account": True,
                "visit_reference": "journey-1",
                "line_items": [{"code": item.code, "quantity": "1", "unit_price": "30.00"}],
            }
        ),
        idempotency_key="journey-settlement-1",
        x_presented_credential=f"CARD {card.number}",
        x_card_pin=PIN,
        expect=201,
    )
    paid_from_account = Decimal(settlement.breakdown.personal_account)
    assert paid_from_account > 0
    # The hospital sees the live ledger at once; the online channel shows the city's next upload.
    live = _call(
        "balance.persons_balance_retrieve",
        person_id,
        client=hospital,
        x_presented_credential=f"CARD {card.number}",
        expect=200,
    )
    assert Decimal(live.balance.amount) == before - paid_from_account
    assert (
        Decimal(_call("balance.me_balance_retrieve", client=person, expect=200).balance.amount)
        == before
    )
    _call(
        "sandbox.sandbox_clock_advance_create",
        client=operator,
        body=ClockAdvanceInputRequest(days=1),
        expect=200,
    )
    online = _call("balance.me_balance_retrieve", client=person, expect=200)
    assert Decimal(online.balance.amount) == before - paid_from_account
