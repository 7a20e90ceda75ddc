"""Reimbursement claims through the services: the fund's share computed by the insured city's
settlement rules (checked against figures worked by hand), paid in one balanced transfer in the
review's transaction, and counted in the year's usage as a settlement counts it."""

from decimal import Decimal as D

import pytest

from accounts.models import Account, Transfer
from claims.error_codes import ClaimErrorCode
from claims.models import ReimbursementClaim
from claims.services import claim_review, claim_withdraw
from claims.tests.helpers import (
    BANK,
    TO_PERSONAL_ACCOUNT,
    file_claim,
    ledger_balanced,
    receipt,
    totals,
)
from common import clock
from common.errors import DomainError
from settlement.models import AnnualUsage
from settlement.tests.factories import InstitutionFactory, filing_for
from settlement.tests.helpers import balance, city_pool, settle

pytestmark = pytest.mark.django_db


def _refused(code, call, **kwargs):
    with pytest.raises(DomainError) as refusal:
        call(**kwargs)
    assert refusal.value.code is code, refusal.value.detail
    return refusal.value


def _usage(person):
    return AnnualUsage.objects.get(person=person, year=clock.today().year)


def test_an_approved_claim_pays_the_fund_share_to_the_bank_clearing_account(
    traveller, far_hospital, operator
):
    """Inpatient, level 3, employee: class A 4,000 and class B 1,000. The class-B first share is
    10 % (100.00), eligible 4,900.00; the deductible 1,300.00 comes first; the fund pays 85 % of
    the 3,600.00 above it, 3,060.00; the co-payment is 540.00."""
    claim = file_claim(
        traveller, institution=far_hospital, category_totals=totals(A="4000.00", B="1000.00")
    )
    assert claim.status == ReimbursementClaim.Status.SUBMITTED
    assert claim.route == ReimbursementClaim.Route.CROSS_CITY
    pool = city_pool(traveller.city)
    pool_before = balance(pool)

    claim = claim_review(claim=claim, decision="APPROVE", by=operator, now=clock.now())

    assert claim.status == ReimbursementClaim.Status.APPROVED
    assert (
        claim.class_b_self_pay_amount,
        claim.eligible_amount,
        claim.deductible_amount,
        claim.copay_amount,
        claim.over_cap_amount,
        claim.fund_share_amount,
        claim.approved_amount,
    ) == (
        D("100.00"),
        D("4900.00"),
        D("1300.00"),
        D("540.00"),
        D("0.00"),
        D("3060.00"),
        D("3060.00"),
    )
    assert claim.reimbursement_ratio == D("0.8500")
    bank = Account.objects.get(city=traveller.city, kind=Account.Kind.BANK_PAYOUT)
    assert dict(claim.payout_transfer.entries.values_list("account_id", "amount")) == {
        pool.pk: D("-3060.00"),
        bank.pk: D("3060.00"),
    }
    assert claim.payout_transfer.kind == Transfer.Kind.CLAIM_PAYOUT
    assert balance(pool) == pool_before - D("3060.00")
    assert balance(bank) == D("3060.00")
    # Counted as a settlement counts: the deductible and the pool's payment.
    usage = _usage(traveller)
    assert (usage.deductible_inpatient, usage.pool_paid) == (D("1300.00"), D("3060.00"))
    assert claim.history.count() == 2
    ledger_balanced()


def test_the_year_usage_carries_over_between_claims_and_settlements(
    traveller, far_hospital, hospital, operator, item_a
):
    """After the first claim used the year's inpatient deductible, a second claim and a direct
    settlement at home each get 85 % of everything: 1,000.00 gives 850.00."""
    first = file_claim(traveller, institution=far_hospital, category_totals=totals(A="2000.00"))
    claim_review(claim=first, decision="APPROVE", by=operator, now=clock.now())
    assert ReimbursementClaim.objects.get(pk=first.pk).fund_share_amount == D("595.00")  # 700 x .85

    second = file_claim(
        traveller,
        institution=far_hospital,
        category_totals=totals(A="1000.00"),
        receipts=receipt("1000.00", number="R-2"),
    )
    second = claim_review(claim=second, decision="APPROVE", by=operator, now=clock.now())
    assert (second.deductible_paid_before, second.deductible_amount) == (D("1300.00"), D("0.00"))
    assert second.approved_amount == D("850.00")

    settlement = settle(
        institution=hospital, person=traveller, by=operator, items=[("T-A", "1", "1000.00")]
    )
    assert settlement.pool_paid_before == D("1445.00")
    assert settlement.pool_amount == D("850.00")
    ledger_balanced()


def test_a_partly_approved_claim_pays_the_amount_into_the_personal_account(
    traveller, far_hospital, operator
):
    claim = file_claim(
        traveller,
        institution=far_hospital,
        category_totals=totals(A="4000.00", B="1000.00"),
        payout=TO_PERSONAL_ACCOUNT,
    )
    before = balance(traveller)

    claim = claim_review(
        claim=claim,
        decision="PARTLY_APPROVE",
        amount=D("2000.00"),
        reason="Two days of the stay were not needed.",
        by=operator,
        now=clock.now(),
    )

    assert claim.status == ReimbursementClaim.Status.PARTLY_APPROVED
    assert (claim.fund_share_amount, claim.approved_amount) == (D("3060.00"), D("2000.00"))
    assert balance(traveller) == before + D("2000.00")
    personal = Account.objects.get(person=traveller)
    assert dict(claim.payout_transfer.entries.values_list("account_id", "amount")) == {
        city_pool(traveller.city).pk: D("-2000.00"),
        personal.pk: D("2000.00"),
    }
    usage = _usage(traveller)
    assert (usage.deductible_inpatient, usage.pool_paid) == (D("1300.00"), D("2000.00"))
    ledger_balanced()


@pytest.mark.parametrize("amount", ["3060.00", "5000.00", "0.00"])
def test_a_partial_amount_outside_the_share_is_refused_and_changes_nothing(
    traveller, far_hospital, operator, amount
):
    claim = file_claim(
        traveller, institution=far_hospital, category_totals=totals(A="4000.00", B="1000.00")
    )
    transfers = Transfer.objects.count()
    refusal = _refused(
        ClaimErrorCode.CLAIM_PARTIAL_AMOUNT_INVALID,
        claim_review,
        claim=claim,
        decision="PARTLY_APPROVE",
        amount=D(amount),
        reason="Some of it.",
        by=operator,
        now=clock.now(),
    )
    assert refusal.extra["fund_share_amount"] == "3060.00"
    assert ReimbursementClaim.objects.get(pk=claim.pk).status == "SUBMITTED"
    assert Transfer.objects.count() == transfers
    assert not AnnualUsage.objects.filter(person=traveller, pool_paid__gt=0).exists()


def test_a_rejected_claim_moves_nothing_and_frees_its_receipts(traveller, far_hospital, operator):
    claim = file_claim(traveller, institution=far_hospital, category_totals=totals(A="900.00"))
    _refused(
        ClaimErrorCode.CLAIM_RECEIPT_ALREADY_CLAIMED,
        file_claim,
        person=traveller,
        institution=far_hospital,
        category_totals=totals(A="900.00"),
    )
    transfers = Transfer.objects.count()

    claim = claim_review(
        claim=claim,
        decision="REJECT",
        reason_code="RECEIPTS_INVALID",
        reason="The receipt is a copy.",
        by=operator,
        now=clock.now(),
    )

    assert (claim.status, claim.reason_code, claim.approved_amount) == (
        "REJECTED",
        "RECEIPTS_INVALID",
        None,
    )
    assert Transfer.objects.count() == transfers
    again = file_claim(traveller, institution=far_hospital, category_totals=totals(A="900.00"))
    assert again.status == "SUBMITTED"
    # A claim is reviewed once.
    _refused(
        ClaimErrorCode.CLAIM_ALREADY_REVIEWED,
        claim_review,
        claim=claim,
        decision="APPROVE",
        by=operator,
        now=clock.now(),
    )


def test_a_rejection_needs_a_reason_code_and_a_reason(traveller, far_hospital, operator):
    claim = file_claim(traveller, institution=far_hospital, category_totals=totals(A="900.00"))
    refusal = _refused(
        ClaimErrorCode.CLAIM_DECISION_INVALID,
        claim_review,
        claim=claim,
        decision="REJECT",
        by=operator,
        now=clock.now(),
    )
    assert {error["field"] for error in refusal.errors} == {"reason_code", "reason"}


def test_a_withdrawn_claim_cannot_be_reviewed(traveller, far_hospital, operator):
    claim = file_claim(traveller, institution=far_hospital, category_totals=totals(A="900.00"))
    claim_withdraw(claim=claim, by=traveller.user)
    _refused(
        ClaimErrorCode.CLAIM_ALREADY_REVIEWED,
        claim_review,
        claim=claim,
        decision="APPROVE",
        by=operator,
        now=clock.now(),
    )


def test_care_settled_directly_at_home_is_no_claim(traveller, hospital):
    _refused(
        ClaimErrorCode.CLAIM_ROUTE_NOT_AVAILABLE,
        file_claim,
        person=traveller,
        institution=hospital,
        category_totals=totals(A="100.00"),
    )


def test_a_non_designated_institution_is_claimed_for_only_in_an_emergency(traveller, city):
    clinic = InstitutionFactory(city=city, level=2, is_designated=False)
    _refused(
        ClaimErrorCode.CLAIM_ROUTE_NOT_AVAILABLE,
        file_claim,
        person=traveller,
        institution=clinic,
        category_totals=totals(A="100.00"),
    )
    claim = file_claim(
        traveller, institution=clinic, emergency=True, category_totals=totals(A="100.00")
    )
    assert (claim.route, claim.emergency_rule_applied) == ("EMERGENCY", True)


def test_receipts_must_add_up_to_the_fee_lines(traveller, far_hospital):
    _refused(
        ClaimErrorCode.CLAIM_RECEIPTS_MISMATCH,
        file_claim,
        person=traveller,
        institution=far_hospital,
        category_totals=totals(A="100.00"),
        receipts=receipt("99.99"),
    )


def test_a_bank_payout_needs_an_account(traveller, far_hospital):
    from claims.services import ClaimPayout

    _refused(
        ClaimErrorCode.CLAIM_PAYOUT_INVALID,
        file_claim,
        person=traveller,
        institution=far_hospital,
        category_totals=totals(A="100.00"),
        payout=ClaimPayout(method="BANK", bank_account_holder="Li Hua", bank_account_number="12"),
    )


def test_catalog_lines_are_priced_on_the_catalog(traveller, far_hospital, operator, item_b, item_c):
    """Class B 2 x 250.00 and class C 80.00: the class-C line and the first 10 % of class B
    (50.00) are self-paid; 450.00 is eligible and all of it goes to the deductible."""
    from settlement.services import LineInput

    claim = file_claim(
        traveller,
        institution=far_hospital,
        visit_type="OUTPATIENT",
        line_items=[
            LineInput("T-B", D("2"), D("250.00")),
            LineInput("T-C", D("1"), D("80.00")),
        ],
    )
    assert claim.claimed_amount == D("580.00")
    claim = claim_review(claim=claim, decision="APPROVE", by=operator, now=clock.now())
    assert (claim.class_c_amount, claim.class_b_self_pay_amount, claim.eligible_amount) == (
        D("80.00"),
        D("50.00"),
        D("450.00"),
    )
    assert (claim.deductible_amount, claim.fund_share_amount) == (D("450.00"), D("0.00"))
    # Nothing to pay, nothing posted; the deductible still counts.
    assert claim.payout_transfer is None
    assert _usage(traveller).deductible_outpatient == D("450.00")


def test_an_emergency_claim_uses_the_emergency_ratio(traveller, city, operator):
    """A non-designated level-2 hospital, an emergency, the city's emergency ratio 70 %:
    class A 2,000.00, deductible 800.00, the fund pays 70 % of 1,200.00 = 840.00."""
    policy = city.benefit_policy
    policy.emergency_elsewhere_route = "REIMBURSE"
    policy.emergency_reimbursement_ratio = D("0.7000")
    policy.save()
    clinic = InstitutionFactory(city=city, level=2, is_designated=False)
    claim = file_claim(
        traveller, institution=clinic, emergency=True, category_totals=totals(A="2000.00")
    )
    claim = claim_review(claim=claim, decision="APPROVE", by=operator, now=clock.now())
    assert (claim.reimbursement_ratio, claim.deductible_amount, claim.approved_amount) == (
        D("0.7000"),
        D("800.00"),
        D("840.00"),
    )
    ledger_balanced()


def test_an_emergency_elsewhere_is_approved_only_once_a_filing_followed(
    traveller, far_hospital, operator
):
    policy = traveller.city.benefit_policy
    policy.emergency_filing_within_days = 10
    policy.save()
    claim = file_claim(
        traveller, institution=far_hospital, emergency=True, category_totals=totals(A="2000.00")
    )
    assert claim.route == "EMERGENCY"
    refusal = _refused(
        ClaimErrorCode.CLAIM_FILING_NOT_FOLLOWED,
        claim_review,
        claim=claim,
        decision="APPROVE",
        by=operator,
        now=clock.now(),
    )
    assert refusal.extra["care_city"] == far_hospital.city.code

    filing_for(traveller, far_hospital.city)
    claim = claim_review(claim=claim, decision="APPROVE", by=operator, now=clock.now())
    assert claim.approved_amount == D("595.00")  # (2,000 - 1,300) x 85 %


def test_free_text_institutions_name_their_city_and_tier(traveller, other_city, operator):
    claim = file_claim(
        traveller,
        emergency=True,
        visit_type="OUTPATIENT",
        category_totals=totals(A="1200.00"),
        institution_name="Harbour Clinic",
        care_city=other_city,
        tier="LEVEL_1",
        payout=BANK,
    )
    assert (claim.institution_id, claim.institution_designated, claim.tier) == (
        None,
        False,
        "LEVEL_1",
    )
    claim = claim_review(claim=claim, decision="APPROVE", by=operator, now=clock.now())
    # Employee, outpatient, level 1: deductible 500.00, ratio 70 %: 700.00 x 0.7 = 490.00.
    assert claim.approved_amount == D("490.00")
