"""Emergency rescue (Social Insurance Law art. 28): an emergency at a non-designated institution,
or in another city without a filing, is settled under the insured city's emergency rule (directly,
at its emergency ratio, with a filing due where it asks for one) or refused with the way to claim
it back; any other visit keeps the refusals it always had. Figures worked by hand."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from common import clock
from common.errors import DomainError
from settlement.error_codes import SettlementErrorCode
from settlement.tests.factories import InstitutionFactory, filing_for
from settlement.tests.helpers import city_pool, money_state, settle, terminal_of
from users.tests.factories import SuperuserFactory, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return SuperuserFactory()


@pytest.fixture
def clinic(city):
    """A level-2 hospital of the insured city that is not designated."""
    return InstitutionFactory(city=city, level=2, is_designated=False)


@pytest.fixture
def far_hospital(other_city):
    return InstitutionFactory(city=other_city, level=3)


def _policy(city, **figures):
    policy = city.benefit_policy
    for name, value in figures.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def _refusal(**kwargs) -> DomainError:
    with pytest.raises(DomainError) as refusal:
        settle(**kwargs)
    return refusal.value


def test_a_non_emergency_keeps_the_refusals(employee, clinic, far_hospital, clerk, item_a):
    before = money_state()
    refused = _refusal(institution=clinic, person=employee, by=clerk, items=[("T-A", "1", "100")])
    assert refused.code is SettlementErrorCode.INSTITUTION_NOT_DESIGNATED
    refused = _refusal(
        institution=far_hospital, person=employee, by=clerk, items=[("T-A", "1", "100")]
    )
    assert refused.code is SettlementErrorCode.CROSS_CITY_FILING_REQUIRED
    # The refusal names the claim that pays the person back.
    assert refused.extra["how_to_claim"]["endpoint"] == "/api/v1/reimbursement-claims"
    assert "/api/v1/reimbursement-claims" in refused.detail
    assert money_state() == before


def test_an_emergency_at_a_non_designated_institution_is_settled_at_the_rule_ratio(
    employee, clinic, clerk, item_a
):
    """Inpatient, level 2, employee: deductible 800.00, ratio 90 %. Class A 2,000.00: the fund
    pays 90 % of 1,200.00 = 1,080.00."""
    settlement = settle(
        institution=clinic,
        person=employee,
        by=clerk,
        items=[("T-A", "1", "2000.00")],
        use_personal_account=False,
        emergency=True,
    )
    assert (settlement.emergency, settlement.emergency_rule_applied) == (True, True)
    assert (settlement.reimbursement_ratio, settlement.pool_amount) == (D("0.9000"), D("1080.00"))
    assert settlement.pool_account == city_pool(employee.city)
    assert settlement.filing_due_date is None


def test_the_emergency_ratio_applies_outside_the_network_only(
    employee, clinic, hospital, clerk, item_a
):
    """The city pays 60 % for emergencies outside its network. Non-designated level 2: class A
    2,000.00 above the 800.00 deductible gives 60 % of 1,200.00 = 720.00. The same emergency at
    its own designated level-3 hospital is an ordinary settlement at 85 %: the year's inpatient
    deductible of 1,300.00 has 500.00 left, so 85 % of 1,500.00 = 1,275.00."""
    _policy(employee.city, emergency_reimbursement_ratio=D("0.6000"))
    outside = settle(
        institution=clinic,
        person=employee,
        by=clerk,
        items=[("T-A", "1", "2000.00")],
        use_personal_account=False,
        emergency=True,
    )
    assert (outside.reimbursement_ratio, outside.pool_amount) == (D("0.6000"), D("720.00"))
    inside = settle(
        institution=hospital,
        person=employee,
        by=clerk,
        items=[("T-A", "1", "2000.00")],
        use_personal_account=False,
        emergency=True,
    )
    assert (inside.emergency, inside.emergency_rule_applied) == (True, False)
    assert (inside.reimbursement_ratio, inside.deductible_amount) == (D("0.8500"), D("500.00"))
    assert inside.pool_amount == D("1275.00")


def test_an_emergency_in_another_city_without_a_filing_is_settled_with_a_filing_due(
    employee, far_hospital, clerk, item_a
):
    """Level 3 in another city, inpatient: class A 2,300.00, deductible 1,300.00, 85 % of
    1,000.00 = 850.00, from the insured city's pool; a filing is due within 7 days."""
    _policy(employee.city, emergency_filing_within_days=7)
    settlement = settle(
        institution=far_hospital,
        person=employee,
        by=clerk,
        items=[("T-A", "1", "2300.00")],
        use_personal_account=False,
        emergency=True,
    )
    assert settlement.emergency_rule_applied
    assert settlement.pool_amount == D("850.00")
    assert settlement.pool_account == city_pool(employee.city)
    assert settlement.filing_due_date == clock.today() + timedelta(days=7)
    assert settlement.filing is None


def test_an_emergency_with_a_filing_is_an_ordinary_cross_city_settlement(
    employee, far_hospital, clerk, item_a
):
    _policy(employee.city, emergency_reimbursement_ratio=D("0.5000"))
    filing = filing_for(employee, far_hospital.city)
    settlement = settle(
        institution=far_hospital,
        person=employee,
        by=clerk,
        items=[("T-A", "1", "2300.00")],
        use_personal_account=False,
        emergency=True,
    )
    assert (settlement.filing, settlement.emergency_rule_applied) == (filing, False)
    assert settlement.pool_amount == D("850.00")


def test_where_the_city_reimburses_emergencies_the_visit_is_refused_with_the_claim(
    employee, clinic, far_hospital, clerk, item_a
):
    _policy(employee.city, emergency_elsewhere_route="REIMBURSE")
    before = money_state()
    for institution in (clinic, far_hospital):
        refused = _refusal(
            institution=institution,
            person=employee,
            by=clerk,
            items=[("T-A", "1", "100")],
            emergency=True,
        )
        assert refused.code is SettlementErrorCode.EMERGENCY_REIMBURSEMENT_REQUIRED
        assert refused.extra["how_to_claim"]["body"] == {
            "institution_code": institution.code,
            "emergency": True,
        }
    assert money_state() == before


def test_the_settlement_api_takes_the_emergency_and_the_policy_shows_the_rule(
    api_client, employee, clinic, item_a
):
    _policy(
        employee.city,
        emergency_reimbursement_ratio=D("0.7000"),
        emergency_filing_within_days=10,
    )
    terminal = terminal_of(clinic)
    api_client.credentials(HTTP_AUTHORIZATION=token_for(terminal))
    response = api_client.post(
        "/api/v1/settlements",
        {
            "visit_type": "INPATIENT",
            "use_personal_account": False,
            "emergency": True,
            "line_items": [{"code": "T-A", "quantity": "1", "unit_price": "1800.00"}],
        },
        format="json",
        HTTP_X_PRESENTED_CREDENTIAL=f"CARD {employee.card.number}",
    )
    assert response.status_code == 201, response.content
    settled = response.json()
    assert (settled["emergency"], settled["emergency_rule_applied"]) == (True, True)
    # 70 % of (1,800.00 - 800.00).
    assert settled["breakdown"]["pool"] == "700.00"
    without = api_client.post(
        "/api/v1/settlements",
        {
            "visit_type": "INPATIENT",
            "use_personal_account": False,
            "line_items": [{"code": "T-A", "quantity": "1", "unit_price": "1800.00"}],
        },
        format="json",
        HTTP_X_PRESENTED_CREDENTIAL=f"CARD {employee.card.number}",
    )
    assert (without.status_code, without.json()["code"]) == (403, "INSTITUTION_NOT_DESIGNATED")
    policy = api_client.get(f"/api/v1/benefit-policies/{employee.city.code}").json()
    assert policy["emergency"] == {
        "route": "DIRECT",
        "reimbursement_ratio": "0.7000",
        "filing_within_days": 10,
    }


def test_a_visit_registered_as_an_emergency_in_another_city_is_not_refused(
    employee, far_hospital, clerk
):
    """The national interface's med_type 13 (emergency) registers where a filing would be needed."""
    from settlement.tests.helpers import card_of
    from settlement.visits import visit_register

    with pytest.raises(DomainError) as refused:
        visit_register(
            institution=far_hospital,
            credential=card_of(employee),
            visit_type="OUTPATIENT",
            med_type="11",
            by=clerk,
            now=clock.now(),
        )
    assert refused.value.code is SettlementErrorCode.CROSS_CITY_FILING_REQUIRED
    visit = visit_register(
        institution=far_hospital,
        credential=card_of(employee),
        visit_type="OUTPATIENT",
        med_type="13",
        by=clerk,
        now=clock.now(),
    )
    assert visit.med_type == "13"
