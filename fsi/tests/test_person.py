"""1101 person information over the institution channel's balance answer, and 5206 the year's
figures: the same person, balance and reasons as the REST API gives the same terminal."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from cards.credentials import PresentedCredential
from cards.services import card_pin_verify
from common import clock
from sandbox.scenarios import DEMO_PIN
from settlement.models import AnnualUsage, BenefitPolicy, CatalogItem
from settlement.services import LineInput, settlement_submit
from settlement.tests.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db


def _rest_balance(terminal, person) -> dict:
    client = APIClient()
    response = client.get(
        f"/api/v1/persons/{person.pk}/balance",
        HTTP_AUTHORIZATION=terminal.authorization,
        HTTP_X_PRESENTED_CREDENTIAL=f"CARD {person.card.number}",
    )
    assert response.status_code == 200
    return response.json()


def _card(person, **data) -> dict:
    return {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": person.card.number, **data}}


def test_a_visible_balance_is_the_rest_apis(signed_in, employee):
    answer = signed_in.send("1101", _card(employee, certno=employee.resident_id))
    assert answer["infcode"] == 0, answer
    rest = _rest_balance(signed_in, employee)
    assert rest["visible"] is True
    base, insu = answer["output"]["baseinfo"], answer["output"]["insuinfo"]
    assert base["psn_no"] == str(employee.pk) and base["certno"] == employee.resident_id
    assert base["psn_name"] == employee.name and base["brdy"] == employee.birth_date.isoformat()
    assert base["gend"] == {"M": "1", "F": "2"}[employee.sex]
    assert len(insu) == 1
    assert Decimal(str(insu[0]["balc"])) == Decimal(rest["balance"]["amount"]) > 0
    assert insu[0]["insutype"] == "310" and insu[0]["psn_type"] == "11"
    assert insu[0]["insuplc_admdvs"] == employee.city.code
    assert insu[0]["psn_insu_date"] == employee.enrolled_on.isoformat()
    assert answer["extension"]["balance_visible"] is True
    assert answer["extension"]["balance_reasons"] == rest["reasons"]


def test_a_hidden_balance_is_0_and_the_extension_carries_the_rest_apis_reasons(
    signed_in, card_not_activated
):
    answer = signed_in.send("1101", _card(card_not_activated))
    assert answer["infcode"] == 0, answer
    rest = _rest_balance(signed_in, card_not_activated)
    assert rest["visible"] is False
    assert answer["output"]["insuinfo"][0]["balc"] == 0
    assert answer["extension"]["balance_visible"] is False
    codes = [reason["code"] for reason in answer["extension"]["balance_reasons"]]
    assert codes == [reason["code"] for reason in rest["reasons"]]
    assert "CARD_NOT_ACTIVATED" in codes


def test_the_resident_id_identifies_nobody_at_a_terminal(signed_in, employee):
    answer = signed_in.send(
        "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": employee.resident_id}}
    )
    assert answer["extension"]["code"] == "CERT_TYPE_NOT_ACCEPTED"


@pytest.mark.parametrize("field", ["certno", "psn_name", "psn_no"])
def test_details_of_someone_else_are_refused(signed_in, employee, field):
    answer = signed_in.send("1101", _card(employee, **{field: "110105199001011234"}))
    assert answer["extension"]["code"] == "PERSON_MISMATCH"
    assert answer["extension"]["errors"][0]["field"] == f"input.data.{field}"


def test_an_unknown_card_is_the_rest_apis_refusal(signed_in, employee):
    answer = signed_in.send("1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": "X1"}})
    assert answer["extension"]["code"] == "CREDENTIAL_INVALID"


def test_fields_sent_directly_in_input_are_read_too(signed_in, employee):
    answer = signed_in.send(
        "1101", {"mdtrt_cert_type": "03", "mdtrt_cert_no": employee.card.number}
    )
    assert answer["output"]["baseinfo"]["psn_no"] == str(employee.pk)


def _settle(hospital, terminal, person, amount: str) -> None:
    CatalogItemFactory(code="FSI-A", catalog_class=CatalogItem.CatalogClass.A)
    credential = card_pin_verify(
        credential=PresentedCredential(kind="CARD", value=person.card.number, person_id=person.pk),
        pin=DEMO_PIN,
        now=clock.now(),
    )
    settlement_submit(
        institution=hospital,
        credential=credential,
        visit_type="OUTPATIENT",
        lines=[LineInput(code="FSI-A", quantity=Decimal("1"), unit_price=Decimal(amount))],
        use_personal_account=False,
        by=terminal.user,
    )


def test_the_years_figures_are_the_usage_and_what_is_left(signed_in, hospital, employee):
    _settle(hospital, signed_in, employee, "3000.00")
    usage = AnnualUsage.objects.get(person=employee, year=2026)
    assert usage.pool_paid > 0
    answer = signed_in.send("5206", _card(employee, cum_ym="202611"))
    assert answer["infcode"] == 0, answer
    figures = {
        row["cum_type_code"]: Decimal(str(row["cum"])) for row in answer["output"]["cuminfo"]
    }
    policy = BenefitPolicy.objects.get(city=employee.city)
    assert figures == {
        "DEDUCTIBLE_OUTPATIENT": usage.deductible_outpatient,
        "DEDUCTIBLE_INPATIENT": usage.deductible_inpatient,
        "FUND_PAID": usage.pool_paid,
        "FUND_PAID_OUTPATIENT": usage.outpatient_pool_paid,
        "ANNUAL_CAP_LEFT": policy.employee_annual_cap - usage.pool_paid,
        "OUTPATIENT_QUOTA_LEFT": policy.employee_outpatient_annual_quota
        - usage.outpatient_pool_paid,
    }
    assert {row["year"] for row in answer["output"]["cuminfo"]} == {"2026"}
    assert {row["insutype"] for row in answer["output"]["cuminfo"]} == {"310"}


def test_another_year_has_nothing_used(signed_in, hospital, employee):
    _settle(hospital, signed_in, employee, "3000.00")
    answer = signed_in.send("5206", _card(employee, cum_ym="202512"))
    figures = {
        row["cum_type_code"]: Decimal(str(row["cum"])) for row in answer["output"]["cuminfo"]
    }
    assert figures["FUND_PAID"] == 0 and figures["DEDUCTIBLE_OUTPATIENT"] == 0


@pytest.mark.parametrize("cum_ym", ["2026", "202613", "abcdef", 202611.5])
def test_a_month_off_the_pattern_is_refused(signed_in, employee, cum_ym):
    answer = signed_in.send("5206", _card(employee, cum_ym=cum_ym))
    assert answer["extension"]["code"] == "INPUT_INVALID"
