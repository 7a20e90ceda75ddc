"""Settling, reversing, filings and family aid through the services, on PostgreSQL."""

import importlib
import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, Transfer
from cards.credentials import PresentedCredential
from cities.tests.factories import CityFactory
from common import clock
from common.errors import DomainError
from common.money import money
from inquiry.facts import balance_facts
from persons.tests.factories import PersonFactory, ResidentFactory
from settlement.models import (
    AnnualUsage,
    BenefitPolicy,
    BenefitRule,
    CrossCityFiling,
    FamilyAuthorization,
    Settlement,
    SettlementLine,
)
from settlement.services import (
    DEFAULT_RULES,
    benefit_policy_ensure,
    family_authorization_grant,
    family_authorization_revoke,
    filing_record,
    filing_revoke,
    settlement_reverse,
    settlement_submit,
)
from settlement.tests.factories import (
    InstitutionFactory,
    PharmacyFactory,
    active_card,
    filing_for,
    fund_personal_account,
    issued_card,
)
from settlement.tests.helpers import (
    balance,
    card_of,
    city_pool,
    entries_of,
    lines,
    money_state,
    settle,
    terminal_of,
)
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db

# Every statement of a family-aid settlement (see the lock-order test): its writes are one, the
# settlement.created event among them, and the year's usage row created (its first settlement).
EXPECTED_FAMILY_SETTLEMENT_QUERIES = 10


def usage_of(person) -> AnnualUsage:
    return AnnualUsage.objects.get(person=person, year=clock.today().year)


def refused(code: str, call, *args, **kwargs) -> DomainError:
    """Assert that ``call`` is refused with ``code`` and changes nothing."""
    before = money_state()
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code.code == code, caught.value.detail
    assert money_state() == before
    return caught.value


# --- The policy grid ------------------------------------------------------------------------


def test_every_city_gets_its_own_policy_with_defaults(city):
    policy = benefit_policy_ensure(city=city)
    assert benefit_policy_ensure(city=city) == policy
    assert policy.class_b_self_pay_ratio == D("0.1000")
    assert policy.employee_annual_cap == city.average_wage * 72
    assert policy.resident_annual_cap == policy.employee_annual_cap / 2
    assert policy.rules.count() == len(DEFAULT_RULES)
    level_3 = policy.rules.get(scheme="EMPLOYEE", visit_type="INPATIENT", tier="LEVEL_3")
    assert (level_3.annual_deductible, level_3.reimbursement_ratio) == (D("1300.00"), D("0.85"))


def test_a_deleted_rule_stays_deleted_and_refuses_settlement(hospital, terminal, employee, item_a):
    BenefitRule.objects.filter(
        policy__city=hospital.city, scheme="EMPLOYEE", visit_type="INPATIENT", tier="LEVEL_3"
    ).delete()
    benefit_policy_ensure(city=hospital.city)
    refused(
        "BENEFIT_RULE_MISSING",
        settle,
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-A", "1", "100.00")],
    )


def test_a_city_without_a_policy_is_refused_not_given_one(hospital, terminal, employee, item_a):
    # Reading the policy never creates it: settling and filing refuse a city that has none.
    BenefitPolicy.objects.filter(city=hospital.city).delete()
    refused(
        "BENEFIT_POLICY_MISSING",
        settle,
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-A", "1", "100.00")],
    )
    refused(
        "BENEFIT_POLICY_MISSING",
        filing_record,
        person=employee,
        city=CityFactory(),
        category="TEMPORARY",
        by=terminal,
    )
    assert not BenefitPolicy.objects.filter(city=hospital.city).exists()
    assert not CrossCityFiling.objects.filter(person=employee).exists()


def test_the_migration_gives_each_older_city_the_default_policy_once(city, other_city):
    """Migration 0006 provisions the cities created before provisioning, with the defaults as they
    stood when it was written (its own frozen copy), once, and leaves every existing policy as
    operators set it."""
    BenefitPolicy.objects.filter(city=other_city).delete()
    BenefitPolicy.objects.filter(city=city).update(filing_validity_days=90)
    name = ("settlement", "0006_benefit_policy_for_every_city")
    migration = importlib.import_module(f"{name[0]}.migrations.{name[1]}")
    # The models as the migration sees them (no history signals: it writes its own history).
    state_apps = MigrationExecutor(connection).loader.project_state(name).apps

    migration.provision_missing_policies(state_apps, None)
    migration.provision_missing_policies(state_apps, None)

    policy = BenefitPolicy.objects.get(city=other_city)
    assert policy.class_b_self_pay_ratio == D("0.1000")
    assert policy.employee_annual_cap == money(other_city.average_wage * 72)
    assert policy.resident_annual_cap == money(policy.employee_annual_cap / 2)
    assert policy.employee_outpatient_annual_quota == D("4000.00")
    assert (policy.filing_validity_days, policy.personal_account_pays_class_c) == (180, True)
    grid = {
        (rule.scheme, rule.visit_type, rule.tier): (
            rule.annual_deductible,
            rule.reimbursement_ratio,
        )
        for rule in policy.rules.all()
    }
    assert grid == {(s, v, t): (d, r) for s, v, t, d, r in migration.RULES}
    assert len(grid) == 14
    assert grid["EMPLOYEE", "INPATIENT", "LEVEL_3"] == (D("1300.00"), D("0.8500"))
    assert grid["RESIDENT", "OUTPATIENT", "LEVEL_1"] == (D("0.00"), None)
    assert policy.history.filter(history_type="+").count() == 1
    assert BenefitRule.history.filter(policy_id=policy.pk).count() == 14
    assert BenefitPolicy.objects.get(city=city).filing_validity_days == 90
    assert BenefitPolicy.objects.filter(city__in=[city, other_city]).count() == 2


def test_with_striping_off_a_striped_account_is_judged_on_its_whole_balance(
    hospital, terminal, employee, item_a
):
    """With LEDGER_STRIPING off every account is locked, the striped ones too; the institution's
    account, after a reversal made with striping on (its debit on the row, its credits on the
    stripes), holds a negative row but a positive balance, and a settlement must go by the
    balance (it was refused as an overdraft of the row)."""
    first = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "300.00")]
    )
    settle(institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "300.00")])
    settlement_reverse(settlement=first, reason="entered twice", by=terminal)
    account = Account.objects.get(institution=hospital)
    before = account.balance  # read from the database each time
    assert account.row_balance < 0 < before
    with override_settings(LEDGER_STRIPING=False), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL yibao.ledger_striping = 'off'")
        third = settle(
            institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "50.00")]
        )
    assert Settlement.objects.get(pk=third.pk).status == Settlement.Status.SETTLED
    assert account.balance == before + D("50.00")


def test_a_write_refused_by_a_rule_outside_the_ledger_is_not_called_a_ledger_refusal(
    hospital, employee, item_a
):
    """Only the ledger's own rules read as INSUFFICIENT_FUNDS or a key conflict; a settlement
    row the database refuses for another reason (here no user to record it) stays an error of
    the program, and nothing is written."""
    with pytest.raises(IntegrityError) as refused:
        settle(institution=hospital, person=employee, by=None, items=[("T-A", "1", "10.00")])
    assert not isinstance(refused.value, DomainError)
    assert not Settlement.objects.filter(person=employee).exists()


def test_a_settlement_takes_its_locks_in_one_order_in_a_fixed_number_of_queries(
    hospital, terminal, employee, item_a
):
    """Authorisation, then the year's usage, then the accounts by id: the order every settling
    and reversing path takes, so concurrent ones cannot deadlock; and a settlement costs the same
    number of queries whatever shape its code takes."""
    child = ResidentFactory(city=hospital.city)
    child.card = active_card(child)
    family_authorization_grant(
        account_holder=employee, beneficiary=child, relation="CHILD", by=terminal
    )
    credential = card_of(child)
    with CaptureQueriesContext(connection) as captured:
        settlement_submit(
            institution=hospital,
            credential=credential,
            visit_type="INPATIENT",
            lines=lines(("T-A", "1", "1500.00")),
            use_personal_account=True,
            family_account_holder_id=employee.pk,
            by=terminal,
        )
    statements = [query["sql"] for query in captured]
    # The table each locking clause locks, in the order written: the last table read before its
    # FOR NO KEY UPDATE (the usage row and the accounts are locked in one statement, in parts of
    # a WITH; test_concurrency shows the usage row is waited for before any account is held).
    locked_tables = [
        [
            table
            for table in re.findall(r'FROM "?(\w+)"?', segment)
            if table not in {"first", "wanted", "locked"}
        ][-1]
        for sql in statements
        for segment in sql.split("FOR NO KEY UPDATE")[:-1]
    ]
    # The authorisation, then the usage row and the accounts; in the year's first settlement the
    # usage row is created and that statement runs once more.
    assert locked_tables == [
        "settlement_familyauthorization",
        "settlement_annualusage",
        "accounts_account",
        "settlement_annualusage",
        "accounts_account",
    ]
    assert len(statements) == EXPECTED_FAMILY_SETTLEMENT_QUERIES, statements


# --- Each catalog class, deductible, ratio, cap -------------------------------------------------


def test_classes_deductible_and_ratio_with_ledger_to_the_cent(
    hospital, terminal, employee, item_a, item_b, item_c
):
    pool = city_pool(hospital.city)
    settlement = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-A", "2", "1000.00"), ("T-B", "1", "500.00"), ("T-C", "1", "100.00")],
    )
    # A: 2000 eligible; B: 500 with a 10 % first share (50) self-paid; C: 100 self-paid.
    assert settlement.total_amount == D("2600.00")
    assert settlement.class_c_amount == D("100.00")
    assert settlement.class_b_self_pay_amount == D("50.00")
    assert settlement.eligible_amount == D("2450.00")
    # The level-3 inpatient deductible (1300) first, then 85 % of the remaining 1150.
    assert settlement.deductible_amount == D("1300.00")
    assert settlement.pool_amount == D("977.50")
    assert settlement.copay_amount == D("172.50")
    assert settlement.over_cap_amount == D("0.00")
    # The person's share, 1622.50, from the account (1000.00) and the rest in cash.
    assert settlement.personal_account_amount == D("1000.00")
    assert settlement.cash_amount == D("622.50")
    assert settlement.personal_account_balance_after == D("0.00")

    lines = {line.code: line for line in settlement.lines.all()}
    assert (lines["T-A"].self_pay_amount, lines["T-A"].eligible_amount) == (D("0"), D("2000"))
    assert (lines["T-B"].self_pay_amount, lines["T-B"].eligible_amount) == (D("50"), D("450"))
    assert (lines["T-C"].self_pay_amount, lines["T-C"].eligible_amount) == (D("100"), D("0"))

    transfer = settlement.transfer
    assert transfer.kind == Transfer.Kind.SETTLEMENT
    assert transfer.key == f"settlement:{settlement.pk}"
    assert entries_of(transfer) == {
        pool.pk: D("-977.50"),
        employee.personal_account.pk: D("-1000.00"),
        hospital.account.pk: D("1977.50"),
    }
    assert balance(employee) == D("0.00")
    assert balance(hospital.account) == D("1977.50")
    usage = usage_of(employee)
    assert (usage.deductible_inpatient, usage.deductible_outpatient) == (D("1300"), D("0"))
    assert (usage.pool_paid, usage.outpatient_pool_paid) == (D("977.50"), D("0"))


def test_the_deductible_is_met_once_a_year_per_visit_type(hospital, terminal, employee, item_a):
    first = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "1000.00")]
    )
    assert (first.deductible_amount, first.pool_amount) == (D("1000.00"), D("0.00"))
    second = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "1000.00")]
    )
    assert second.deductible_paid_before == D("1000.00")
    assert (second.deductible_amount, second.pool_amount) == (D("300.00"), D("595.00"))
    third = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "100.00")]
    )
    assert (third.deductible_amount, third.pool_amount) == (D("0.00"), D("85.00"))
    # Outpatient care has its own deductible (1000 at level 3 for employees, at 50 %).
    outpatient = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        visit_type="OUTPATIENT",
        items=[("T-A", "1", "1200.00")],
    )
    assert (outpatient.deductible_amount, outpatient.pool_amount) == (D("1000.00"), D("100.00"))
    usage = usage_of(employee)
    assert (usage.deductible_inpatient, usage.deductible_outpatient) == (D("1300"), D("1000"))
    assert usage.pool_paid == D("780.00")
    assert usage.outpatient_pool_paid == D("100.00")


@pytest.mark.parametrize(
    ("level", "pool"),
    [(3, D("595.00")), (2, D("1080.00")), (1, D("1520.00"))],
)
def test_the_ratio_rises_and_the_deductible_falls_with_the_level(city, item_a, level, pool):
    hospital = InstitutionFactory(city=city, level=level)
    person = PersonFactory(city=city)
    person.card = active_card(person)
    settlement = settle(
        institution=hospital,
        person=person,
        by=terminal_of(hospital),
        use_personal_account=False,
        items=[("T-A", "1", "2000.00")],
    )
    assert settlement.pool_amount == pool
    assert settlement.cash_amount == D("2000.00") - pool


def test_figures_are_per_city_settings(hospital, terminal, employee, item_a, item_b):
    policy = BenefitPolicy.objects.get(city=hospital.city)
    policy.class_b_self_pay_ratio = D("0.2000")
    policy.save()
    BenefitRule.objects.filter(
        policy=policy, scheme="EMPLOYEE", visit_type="INPATIENT", tier="LEVEL_3"
    ).update(annual_deductible=D("0"), reimbursement_ratio=D("0.7000"))
    settlement = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-B", "1", "1000.00")]
    )
    assert settlement.class_b_self_pay_amount == D("200.00")
    assert settlement.pool_amount == D("560.00")
    assert settlement.reimbursement_ratio == D("0.7000")


def test_the_annual_cap_limits_the_fund(hospital, terminal, employee, item_a):
    BenefitPolicy.objects.filter(city=hospital.city).update(employee_annual_cap=D("1000.00"))
    first = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "3000.00")]
    )
    # 85 % of (3000 - 1300) = 1445, but only 1000 fits under the cap.
    assert (first.pool_amount, first.over_cap_amount) == (D("1000.00"), D("445.00"))
    assert first.person_share == D("2000.00")
    second = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "100.00")]
    )
    assert (second.pool_amount, second.over_cap_amount) == (D("0.00"), D("85.00"))
    assert usage_of(employee).pool_paid == D("1000.00")


def test_pharmacies_settle_outpatient_care_only(city, employee, item_a):
    pharmacy = PharmacyFactory(city=city)
    settlement = settle(
        institution=pharmacy,
        person=employee,
        by=terminal_of(pharmacy),
        visit_type="OUTPATIENT",
        items=[("T-A", "10", "60.00")],
    )
    assert (settlement.deductible_amount, settlement.pool_amount) == (D("500.00"), D("50.00"))
    refused(
        "VISIT_TYPE_NOT_OFFERED",
        settle,
        institution=pharmacy,
        person=employee,
        by=terminal_of(pharmacy),
        items=[("T-A", "1", "60.00")],
    )


def test_residents_outpatient_pooling_pays_the_city_ratio_up_to_its_quota(city, item_a):
    hospital = InstitutionFactory(city=city, level=1)
    resident = ResidentFactory(city=city)
    resident.card = active_card(resident)
    outpatient_pool = city_pool(city, Account.Kind.OUTPATIENT_POOL)
    first = settle(
        institution=hospital,
        person=resident,
        by=terminal_of(hospital),
        visit_type="OUTPATIENT",
        items=[("T-A", "1", "1000.00")],
    )
    # The city's outpatient-pooling ratio (50 %) and quota (600 a year).
    assert first.reimbursement_ratio == city.outpatient_pooling_ratio == D("0.5")
    assert first.pool_account == outpatient_pool
    assert first.pool_amount == D("500.00")
    second = settle(
        institution=hospital,
        person=resident,
        by=terminal_of(hospital),
        visit_type="OUTPATIENT",
        items=[("T-A", "1", "1000.00")],
    )
    assert (second.pool_amount, second.over_cap_amount) == (D("100.00"), D("400.00"))
    assert balance(outpatient_pool) == D("-600.00")
    # The balance diagnosis reads the same figure for the remaining quota.
    facts = balance_facts(year=clock.today().year, person_id=resident.pk)
    assert facts.outpatient_pool_paid == D("600.00")
    # Inpatient care is paid from the residents' pooled fund, not outpatient pooling.
    inpatient = settle(
        institution=hospital,
        person=resident,
        by=terminal_of(hospital),
        items=[("T-A", "1", "1300.00")],
    )
    assert inpatient.pool_account == city_pool(city, Account.Kind.RESIDENT_POOL)
    assert inpatient.pool_amount == D("800.00")  # 80 % of (1300 - 300)


# --- The personal account ---------------------------------------------------------------------


def test_the_person_chooses_whether_the_account_pays(hospital, terminal, employee, item_a):
    settlement = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        use_personal_account=False,
        items=[("T-A", "1", "100.00")],
    )
    assert settlement.paying_account is None
    assert settlement.personal_account_amount == D("0.00")
    assert settlement.cash_amount == D("100.00")
    assert balance(employee) == D("1000.00")
    assert settlement.transfer is None  # nothing moved through the ledger


def test_a_city_may_keep_class_c_off_the_account(hospital, terminal, employee, item_a, item_c):
    BenefitPolicy.objects.filter(city=hospital.city).update(personal_account_pays_class_c=False)
    settlement = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-A", "1", "100.00"), ("T-C", "1", "50.00")],
    )
    assert settlement.personal_account_amount == D("100.00")
    assert settlement.cash_amount == D("50.00")


def test_a_resident_without_an_account_pays_cash(item_a):
    city = CityFactory(resident_accounts_abolished_on=clock.today() - timedelta(days=400))
    hospital = InstitutionFactory(city=city, level=1)
    resident = ResidentFactory(city=city)
    resident.card = active_card(resident)
    settlement = settle(
        institution=hospital,
        person=resident,
        by=terminal_of(hospital),
        visit_type="OUTPATIENT",
        items=[("T-A", "1", "10.00")],
    )
    assert settlement.paying_account is None
    assert (settlement.pool_amount, settlement.cash_amount) == (D("5.00"), D("5.00"))


# --- Who may settle ------------------------------------------------------------------------


def test_a_card_must_be_active_an_e_voucher_will_do(hospital, terminal, city, item_a):
    person = PersonFactory(city=city)
    card = issued_card(person)
    refused(
        "CARD_NOT_ACTIVE",
        settle,
        institution=hospital,
        person=person,
        by=terminal,
        credential=PresentedCredential("CARD", card.number, person.pk),
        items=[("T-A", "1", "10.00")],
    )
    settlement = settle(
        institution=hospital,
        person=person,
        by=terminal,
        credential=PresentedCredential("EVOUCHER", "ANY", person.pk),
        items=[("T-A", "1", "10.00")],
    )
    assert settlement.credential_kind == "EVOUCHER"


def test_nothing_presented_is_refused(hospital, terminal, employee, item_a):
    refused(
        "CREDENTIAL_REQUIRED",
        settle,
        institution=hospital,
        person=employee,
        by=terminal,
        credential=None,
        items=[("T-A", "1", "10.00")],
    )
    from settlement.services import settlement_submit

    refused(
        "CREDENTIAL_REQUIRED",
        settlement_submit,
        institution=hospital,
        credential=None,
        visit_type="INPATIENT",
        lines=[],
        use_personal_account=False,
        by=terminal,
    )


def test_an_undesignated_institution_cannot_settle(hospital, terminal, employee, item_a):
    hospital.is_designated = False
    hospital.save()
    refused(
        "INSTITUTION_NOT_DESIGNATED",
        settle,
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-A", "1", "10.00")],
    )


def test_insurance_must_have_started(hospital, terminal, city, item_a):
    person = PersonFactory(city=city, enrolled_on=clock.today() + timedelta(days=5))
    person.card = active_card(person)
    refused(
        "NOT_YET_ENROLLED",
        settle,
        institution=hospital,
        person=person,
        by=terminal,
        items=[("T-A", "1", "10.00")],
    )


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([("NO-SUCH-ITEM", "1", "10.00")], "CATALOG_ITEM_UNKNOWN"),
        ([("T-A", "1", "-10.00")], "LINE_AMOUNT_INVALID"),
        ([("T-A", "1", "10.001")], "LINE_AMOUNT_INVALID"),
        ([("T-A", "-1", "10.00")], "LINE_AMOUNT_INVALID"),
        ([("T-A", "0.0001", "10.00")], "LINE_AMOUNT_INVALID"),
        ([("T-A", "0.001", "0.01")], "LINE_AMOUNT_INVALID"),  # comes to 0.00
        ([("T-A", "1", "NaN")], "LINE_AMOUNT_INVALID"),
        ([("T-A", "1", "Infinity")], "LINE_AMOUNT_INVALID"),
        ([("T-A", "9999999", "999999999999.99")], "LINE_AMOUNT_INVALID"),
        ([("T-A", "10000000", "1.00")], "LINE_AMOUNT_INVALID"),  # quantity beyond its column
        ([("T-A", "0.001", "1000000000000.00")], "LINE_AMOUNT_INVALID"),  # price beyond its column
        ([], "VALIDATION_ERROR"),
    ],
)
def test_bad_lines_are_refused(hospital, terminal, employee, item_a, items, code):
    error = refused(code, settle, institution=hospital, person=employee, by=terminal, items=items)
    assert error.errors


def test_an_inactive_item_is_refused_with_every_bad_line_named(
    hospital, terminal, employee, item_a, item_b
):
    item_b.is_active = False
    item_b.save()
    error = refused(
        "CATALOG_ITEM_UNKNOWN",
        settle,
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-B", "1", "10.00"), ("T-A", "1", "10.00"), ("NOPE", "1", "1.00")],
    )
    assert [e["field"] for e in error.errors] == ["line_items.0.code", "line_items.2.code"]


def test_a_visit_reference_is_settled_once_until_reversed(hospital, terminal, employee, item_a):
    first = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        visit_reference="INV-1",
        items=[("T-A", "1", "10.00")],
    )
    refused(
        "VISIT_ALREADY_SETTLED",
        settle,
        institution=hospital,
        person=employee,
        by=terminal,
        visit_reference="INV-1",
        items=[("T-A", "1", "10.00")],
    )
    settlement_reverse(settlement=first, reason="Wrong quantity", by=terminal)
    again = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        visit_reference="INV-1",
        items=[("T-A", "2", "10.00")],
    )
    assert again.status == Settlement.Status.SETTLED


# --- Cross-city -------------------------------------------------------------------------------


@pytest.fixture
def visitor(other_city):
    """An employee insured in the other city, with an active card and 500 on the account."""
    person = PersonFactory(city=other_city)
    person.card = active_card(person)
    fund_personal_account(person, "500.00")
    return person


def test_cross_city_without_a_filing_is_refused_with_how_to_file(
    hospital, terminal, visitor, item_a
):
    error = refused(
        "CROSS_CITY_FILING_REQUIRED",
        settle,
        institution=hospital,
        person=visitor,
        by=terminal,
        items=[("T-A", "1", "100.00")],
    )
    assert error.extra["insured_city"] == visitor.city.code
    assert error.extra["care_city"] == hospital.city.code
    assert error.extra["how_to_file"]["endpoint"] == "/api/v1/filings"
    assert "filing" in error.detail


@pytest.mark.parametrize("problem", ["expired", "not_started", "revoked", "another_city"])
def test_an_unusable_filing_does_not_count(hospital, terminal, visitor, item_a, problem):
    today = clock.today()
    if problem == "expired":
        filing_for(
            visitor,
            hospital.city,
            valid_from=today - timedelta(days=30),
            valid_until=today - timedelta(days=1),
        )
    elif problem == "not_started":
        filing_for(visitor, hospital.city, valid_from=today + timedelta(days=1))
    elif problem == "revoked":
        filing_for(visitor, hospital.city, revoked_at=clock.now())
    else:
        filing_for(visitor, CityFactory())
    refused(
        "CROSS_CITY_FILING_REQUIRED",
        settle,
        institution=hospital,
        person=visitor,
        by=terminal,
        items=[("T-A", "1", "100.00")],
    )


def test_the_filing_in_force_is_the_one_on_the_callers_day_not_the_clocks(
    hospital, terminal, visitor, item_a
):
    """The interface reads the clock once and passes it: a filing that starts tomorrow by the
    clock is in force on the day given, and the settlement is of that moment and its year."""
    tomorrow = clock.now() + timedelta(days=1)
    filing = filing_for(visitor, hospital.city, valid_from=clock.localdate(tomorrow))
    settlement = settle(
        institution=hospital,
        person=visitor,
        by=terminal,
        items=[("T-A", "1", "100.00")],
        now=tomorrow,
    )
    assert (settlement.filing, settlement.settled_at) == (filing, tomorrow)
    assert settlement.year == clock.localdate(tomorrow).year
    assert settlement.transfer.posted_at == tomorrow


def test_cross_city_with_a_filing_uses_the_insured_citys_policy_and_pool(
    hospital, terminal, visitor, item_a, item_b
):
    filing = filing_for(visitor, hospital.city)
    home = benefit_policy_ensure(city=visitor.city)
    home.class_b_self_pay_ratio = D("0.3000")
    home.save()
    home.rules.filter(scheme="EMPLOYEE", visit_type="INPATIENT", tier="LEVEL_3").update(
        annual_deductible=D("100.00"), reimbursement_ratio=D("0.6000")
    )
    settlement = settle(
        institution=hospital,
        person=visitor,
        by=terminal,
        items=[("T-A", "1", "1100.00"), ("T-B", "1", "100.00")],
    )
    assert settlement.filing == filing
    assert settlement.insured_city == visitor.city
    assert settlement.class_b_self_pay_amount == D("30.00")
    # (1100 + 70 - 100) x 60 %
    assert settlement.pool_amount == D("642.00")
    home_pool = city_pool(visitor.city)
    assert settlement.pool_account == home_pool
    # Each city's side inside it: the insured city's fund and the personal account pay its
    # clearing payable; the care city's clearing receivable pays the hospital.
    payable = Account.objects.get(city=visitor.city, kind=Account.Kind.CLEARING_PAYABLE)
    receivable = Account.objects.get(city=hospital.city, kind=Account.Kind.CLEARING_RECEIVABLE)
    assert settlement.through_clearing
    assert entries_of(settlement.transfer) == {
        home_pool.pk: D("-642.00"),
        visitor.personal_account.pk: D("-500.00"),
        payable.pk: D("1142.00"),
    }
    assert entries_of(settlement.care_transfer) == {
        receivable.pk: D("-1142.00"),
        hospital.account.pk: D("1142.00"),
    }
    assert hospital.account.city == hospital.city


# --- Reversal -------------------------------------------------------------------------------


def test_a_reversal_restores_deductible_cap_and_balances_exactly(
    hospital, terminal, employee, item_a, item_c
):
    pool = city_pool(hospital.city)
    before = (balance(employee), balance(pool), balance(hospital.account))
    first = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-A", "1", "2000.00"), ("T-C", "1", "10.00")],
    )
    assert usage_of(employee).deductible_inpatient == D("1300.00")
    reversed_ = settlement_reverse(settlement=first, reason="Patient refund", by=terminal)
    assert reversed_.status == Settlement.Status.REVERSED
    assert reversed_.reversal_reason == "Patient refund"
    assert (balance(employee), balance(pool), balance(hospital.account)) == before
    usage = usage_of(employee)
    assert (usage.deductible_inpatient, usage.pool_paid) == (D("0.00"), D("0.00"))
    reversal = reversed_.reversal_transfer
    assert reversal.kind == Transfer.Kind.REVERSAL
    assert reversal.key == f"reversal:{first.pk}"
    assert entries_of(reversal) == {k: -v for k, v in entries_of(first.transfer).items()}

    # Settling the same visit again gives exactly the same figures: nothing was used up.
    again = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-A", "1", "2000.00"), ("T-C", "1", "10.00")],
    )
    assert (again.deductible_amount, again.pool_amount, again.personal_account_amount) == (
        first.deductible_amount,
        first.pool_amount,
        first.personal_account_amount,
    )
    refused(
        "SETTLEMENT_ALREADY_REVERSED", settlement_reverse, settlement=first, reason="x", by=None
    )


def test_a_reversal_is_of_the_callers_time_not_the_clocks(hospital, terminal, employee, item_a):
    settlement = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "2000.00")]
    )
    later = clock.now() + timedelta(days=3)
    reversed_ = settlement_reverse(settlement=settlement, reason="Refund", by=terminal, now=later)
    assert (reversed_.reversed_at, reversed_.reversal_transfer.posted_at) == (later, later)


def test_reversing_an_outpatient_settlement_gives_back_the_quota(city, item_a):
    hospital = InstitutionFactory(city=city, level=1)
    resident = ResidentFactory(city=city)
    resident.card = active_card(resident)
    settlement = settle(
        institution=hospital,
        person=resident,
        by=terminal_of(hospital),
        visit_type="OUTPATIENT",
        items=[("T-A", "1", "300.00")],
    )
    assert usage_of(resident).outpatient_pool_paid == D("150.00")
    settlement_reverse(settlement=settlement, reason="Refund", by=terminal_of(hospital))
    usage = usage_of(resident)
    assert (usage.outpatient_pool_paid, usage.pool_paid) == (D("0.00"), D("0.00"))


def test_an_all_cash_settlement_reverses_without_a_transfer(hospital, terminal, employee, item_c):
    settlement = settle(
        institution=hospital,
        person=employee,
        by=terminal,
        use_personal_account=False,
        items=[("T-C", "1", "10.00")],
    )
    assert settlement.transfer is None
    settlement = settlement_reverse(settlement=settlement, reason="Refund", by=terminal)
    assert settlement.reversal_transfer is None
    assert settlement.status == Settlement.Status.REVERSED


# --- Family mutual aid -----------------------------------------------------------------------


@pytest.fixture
def child(city):
    person = ResidentFactory(city=city)
    person.card = active_card(person)
    return person


def test_a_relative_settles_on_the_holders_account(hospital, terminal, employee, child, item_a):
    authorization = family_authorization_grant(
        account_holder=employee, beneficiary=child, relation="CHILD", by=employee.user or terminal
    )
    settlement = settle(
        institution=hospital,
        person=child,
        by=terminal,
        family_account_holder_id=employee.pk,
        items=[("T-A", "1", "1500.00")],
    )
    # The child's own (resident) policy: level-3 inpatient 1000 deductible, 60 %.
    assert settlement.pool_amount == D("300.00")
    assert settlement.pool_account == city_pool(hospital.city, Account.Kind.RESIDENT_POOL)
    assert settlement.family_authorization == authorization
    assert settlement.paying_account == employee.personal_account
    assert settlement.personal_account_amount == D("1000.00")
    assert settlement.cash_amount == D("200.00")
    assert balance(employee) == D("0.00")
    assert balance(child) == D("0.00")
    # The usage is the child's, not the holder's.
    assert usage_of(child).deductible_inpatient == D("1000.00")
    assert not AnnualUsage.objects.filter(person=employee).exists()

    settlement_reverse(settlement=settlement, reason="Refund", by=terminal)
    assert balance(employee) == D("1000.00")


def test_family_aid_needs_a_live_authorization(hospital, terminal, employee, child, item_a):
    kwargs = {
        "institution": hospital,
        "person": child,
        "by": terminal,
        "family_account_holder_id": employee.pk,
        "items": [("T-A", "1", "10.00")],
    }
    refused("FAMILY_AUTHORIZATION_MISSING", settle, **kwargs)
    authorization = family_authorization_grant(
        account_holder=employee, beneficiary=child, relation="CHILD", by=terminal
    )
    refused("FAMILY_AID_NEEDS_PERSONAL_ACCOUNT", settle, use_personal_account=False, **kwargs)
    family_authorization_revoke(authorization=authorization, by=terminal)
    refused("FAMILY_AUTHORIZATION_MISSING", settle, **kwargs)
    refused(
        "FAMILY_AUTHORIZATION_REVOKED",
        family_authorization_revoke,
        authorization=authorization,
        by=terminal,
    )


def test_who_may_grant_family_aid(city, other_city, employee, child, terminal):
    def grant(holder, beneficiary, relation="PARENT"):
        return family_authorization_grant(
            account_holder=holder, beneficiary=beneficiary, relation=relation, by=terminal
        )

    with pytest.raises(DomainError, match="FAMILY_HOLDER_NOT_ELIGIBLE"):
        grant(child, employee)
    with pytest.raises(DomainError, match="FAMILY_BENEFICIARY_IS_HOLDER"):
        grant(employee, employee)
    far_parent = PersonFactory(city=other_city)
    with pytest.raises(DomainError, match="FAMILY_AID_OTHER_CITY"):
        grant(employee, far_parent)
    BenefitPolicy.objects.filter(city=city).update(family_aid_across_cities=True)
    assert grant(employee, far_parent).beneficiary == far_parent
    grant(employee, child, "CHILD")
    with pytest.raises(DomainError, match="FAMILY_AUTHORIZATION_EXISTS"):
        grant(employee, child, "CHILD")
    assert FamilyAuthorization.objects.filter(account_holder=employee).count() == 2


# --- Filings --------------------------------------------------------------------------------


def test_recording_a_filing(visitor, hospital):
    operator = OperatorFactory(cities=[visitor.city])
    today = clock.today()
    filing = filing_record(person=visitor, city=hospital.city, category="REFERRAL", by=operator)
    assert filing.valid_from == today
    assert filing.valid_until == today + timedelta(days=179)
    assert filing.created_by == operator
    with pytest.raises(DomainError, match="FILING_OVERLAPS"):
        filing_record(
            person=visitor,
            city=hospital.city,
            category="TEMPORARY",
            valid_from=today + timedelta(days=100),
            by=operator,
        )
    filing_revoke(filing=filing, by=operator)
    with pytest.raises(DomainError, match="FILING_ALREADY_REVOKED"):
        filing_revoke(filing=filing, by=operator)
    replacement = filing_record(
        person=visitor,
        city=hospital.city,
        category="TEMPORARY",
        valid_until=today + timedelta(days=6),
        by=operator,
    )
    assert replacement.valid_until == today + timedelta(days=6)


def test_a_filings_validity_is_checked_on_the_callers_day_not_the_clocks(visitor, hospital):
    """The interface reads the clock once and passes it: the filing starts on that day by
    default, and the clock's day is then in the past."""
    operator = OperatorFactory(cities=[visitor.city])
    today = clock.today()
    later = clock.now() + timedelta(days=10)
    with pytest.raises(DomainError, match="FILING_VALIDITY_INVALID"):
        filing_record(
            person=visitor,
            city=hospital.city,
            category="TEMPORARY",
            valid_from=today,
            by=operator,
            now=later,
        )
    filing = filing_record(
        person=visitor, city=hospital.city, category="REFERRAL", by=operator, now=later
    )
    assert (filing.valid_from, filing.recorded_at) == (clock.localdate(later), later)
    assert filing.valid_until == clock.localdate(later) + timedelta(days=179)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"city": "home"}, "FILING_CITY_INVALID"),
        ({"valid_from": -1}, "FILING_VALIDITY_INVALID"),
        ({"valid_from": 5, "valid_until": 4}, "FILING_VALIDITY_INVALID"),
        ({"category": "HOLIDAY"}, "VALIDATION_ERROR"),
    ],
)
def test_a_bad_filing_is_refused(visitor, hospital, change, code):
    today = clock.today()
    kwargs = {"person": visitor, "city": hospital.city, "category": "TEMPORARY", "by": None}
    if change.get("city") == "home":
        kwargs["city"] = visitor.city
    for field in ("valid_from", "valid_until"):
        if field in change:
            kwargs[field] = today + timedelta(days=change[field])
    if "category" in change:
        kwargs["category"] = change["category"]
    with pytest.raises(DomainError) as caught:
        filing_record(**kwargs)
    assert caught.value.code.code == code
    assert not CrossCityFiling.objects.exists()


# --- The database keeps settlements honest ----------------------------------------------------


def test_settled_figures_cannot_be_edited_or_deleted(hospital, terminal, employee, item_a):
    settlement = settle(
        institution=hospital, person=employee, by=terminal, items=[("T-A", "1", "10.00")]
    )
    attempts = [
        lambda: Settlement.objects.filter(pk=settlement.pk).update(
            cash_amount=D("10.00"), personal_account_amount=D("0")
        ),
        lambda: Settlement.objects.filter(pk=settlement.pk).update(visit_reference="other"),
        lambda: Settlement.objects.filter(pk=settlement.pk).delete(),
        lambda: SettlementLine.objects.filter(settlement=settlement).update(name="x"),
        lambda: Settlement.objects.filter(pk=settlement.pk).update(
            pool_amount=D("999"), cash_amount=D("0")
        ),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError), transaction.atomic():
            attempt()
    settlement_reverse(settlement=settlement, reason="Refund", by=terminal)
    with pytest.raises(IntegrityError), transaction.atomic():
        Settlement.objects.filter(pk=settlement.pk).update(status="SETTLED", reversed_at=None)


def test_every_settlement_matches_its_transfer(hospital, terminal, employee, item_a, item_b):
    for price in ("10.00", "2000.00", "333.33"):
        settle(
            institution=hospital,
            person=employee,
            by=terminal,
            items=[("T-A", "1", price), ("T-B", "3", "0.35")],
        )
    for settlement in Settlement.objects.exclude(transfer=None):
        moved = entries_of(settlement.transfer)
        assert moved[hospital.account.pk] == (
            settlement.pool_amount + settlement.personal_account_amount
        )
        assert sum(moved.values()) == 0
