"""Visits registered before settling: registration, fee lines, quote, settlement and reversal
through settlement.visits, on PostgreSQL."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from cards.credentials import PresentedCredential
from common import clock
from common.errors import DomainError
from persons.tests.factories import PersonFactory
from settlement.models import Settlement, Visit, VisitFeeLine
from settlement.selectors import visit_of
from settlement.tests.factories import InstitutionFactory, active_card, issued_card
from settlement.tests.helpers import balance, card_of, money_state, terminal_of
from settlement.visits import (
    FeeLineInput,
    visit_cancel,
    visit_discharge,
    visit_fee_lines_cancel,
    visit_fee_lines_upload,
    visit_quote,
    visit_register,
    visit_settle,
    visit_settlement_reverse,
)

pytestmark = pytest.mark.django_db


def fee(number, code, quantity, price, amount=None):
    return FeeLineInput(
        feedetl_sn=number,
        code=code,
        quantity=D(quantity),
        unit_price=D(price),
        amount=None if amount is None else D(amount),
    )


def refused(code, call, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    assert caught.value.code.code == code, caught.value.detail
    return caught.value


@pytest.fixture
def by(hospital):
    return terminal_of(hospital)


@pytest.fixture
def visit(hospital, employee, by):
    return visit_register(
        institution=hospital,
        credential=card_of(employee),
        visit_type="OUTPATIENT",
        institution_visit_no="MZ-1",
        by=by,
        now=clock.now(),
    )


def test_a_visit_is_settled_from_its_fee_lines_as_quoted(
    visit, employee, by, item_a, item_b, item_c
):
    now = clock.now()
    answers = visit_fee_lines_upload(
        visit=visit,
        lines=[
            fee("1", "T-A", "2", "150.00", "300.00"),
            fee("2", "T-B", "1", "333.33"),
            fee("3", "T-C", "3", "9.99"),
        ],
        by=by,
        now=now,
    )
    assert [
        (a.catalog_class, a.figures.self_pay_amount, a.figures.eligible_amount) for a in answers
    ] == [
        ("A", D("0.00"), D("300.00")),
        ("B", D("33.33"), D("300.00")),
        ("C", D("29.97"), D("0.00")),
    ]
    assert [a.self_pay_ratio for a in answers] == [D("0"), D("0.1000"), D("1")]

    quote = visit_quote(
        visit=visit, credential=card_of(employee), use_personal_account=True, by=by, now=now
    )
    settlement = visit_settle(
        visit=visit, credential=card_of(employee), use_personal_account=True, by=by, now=now
    )

    assert settlement.visit_reference == visit.mdtrt_id
    assert settlement.total_amount == quote.settlement.total_amount == D("663.30")
    assert settlement.pool_amount == quote.settlement.pool_amount
    assert settlement.personal_account_amount == quote.settlement.personal_account_amount
    assert visit_of(institution_id=visit.institution_id, mdtrt_id=visit.mdtrt_id).is_settled
    refused(
        "VISIT_SETTLED",
        visit_settle,
        visit=visit,
        credential=card_of(employee),
        use_personal_account=True,
        by=by,
        now=now,
    )
    refused(
        "VISIT_SETTLED",
        visit_fee_lines_upload,
        visit=visit,
        lines=[fee("4", "T-A", "1", "1")],
        by=by,
        now=now,
    )
    refused("VISIT_SETTLED", visit_cancel, visit=visit, by=by, now=now)


def test_a_reversal_opens_the_visit_again_and_a_second_one_is_refused(visit, employee, by, item_a):
    now = clock.now()
    before = balance(employee)
    visit_fee_lines_upload(visit=visit, lines=[fee("1", "T-A", "1", "80.00")], by=by, now=now)
    settlement = visit_settle(
        visit=visit, credential=card_of(employee), use_personal_account=True, by=by, now=now
    )
    assert balance(employee) < before

    visit_settlement_reverse(
        visit=visit, setl_id=str(settlement.pk), reason="Refund", by=by, now=now
    )

    assert balance(employee) == before
    assert not visit_of(institution_id=visit.institution_id, mdtrt_id=visit.mdtrt_id).is_settled
    refused(
        "SETTLEMENT_ALREADY_REVERSED",
        visit_settlement_reverse,
        visit=visit,
        setl_id=str(settlement.pk),
        reason="Again",
        by=by,
        now=now,
    )
    refused(
        "SETTLEMENT_NOT_OF_VISIT",
        visit_settlement_reverse,
        visit=visit,
        setl_id="999999",
        reason="Refund",
        by=by,
        now=now,
    )
    again = visit_settle(
        visit=visit, credential=card_of(employee), use_personal_account=True, by=by, now=now
    )
    assert again.total_amount == settlement.total_amount


def test_fee_lines_are_checked_and_cancelled_by_number_or_all(visit, employee, by, item_a):
    now = clock.now()
    error = refused(
        "CATALOG_ITEM_UNKNOWN",
        visit_fee_lines_upload,
        visit=visit,
        lines=[fee("1", "T-A", "1", "5.00"), fee("2", "NO-SUCH-CODE", "1", "5.00")],
        by=by,
        now=now,
    )
    assert [e["field"] for e in error.errors] == ["feedetail.1.med_list_codg"]
    refused(
        "FEE_LINE_AMOUNT_MISMATCH",
        visit_fee_lines_upload,
        visit=visit,
        lines=[fee("1", "T-A", "3", "3.33", "10.00")],
        by=by,
        now=now,
    )
    assert not VisitFeeLine.objects.exists()
    visit_fee_lines_upload(
        visit=visit, lines=[fee("1", "T-A", "1", "5"), fee("2", "T-A", "2", "5")], by=by, now=now
    )
    refused(
        "FEE_LINE_DUPLICATE",
        visit_fee_lines_upload,
        visit=visit,
        lines=[fee("2", "T-A", "1", "5")],
        by=by,
        now=now,
    )

    assert [
        line.feedetl_sn for line in visit_fee_lines_cancel(visit=visit, numbers=["2"], now=now)
    ] == ["2"]
    refused("FEE_LINE_NOT_FOUND", visit_fee_lines_cancel, visit=visit, numbers=["2"], now=now)
    visit_fee_lines_upload(visit=visit, lines=[fee("2", "T-A", "1", "7")], by=by, now=now)
    quote = visit_quote(
        visit=visit, credential=card_of(employee), use_personal_account=False, by=by, now=now
    )
    assert quote.settlement.total_amount == D("12.00")

    assert len(visit_fee_lines_cancel(visit=visit, numbers=None, now=now)) == 2
    refused(
        "VISIT_HAS_NO_FEE_LINES",
        visit_settle,
        visit=visit,
        credential=card_of(employee),
        use_personal_account=True,
        by=by,
        now=now,
    )


def test_a_cancelled_registration_takes_its_lines_and_settles_nothing(visit, employee, by, item_a):
    now = clock.now()
    visit_fee_lines_upload(visit=visit, lines=[fee("1", "T-A", "1", "5")], by=by, now=now)
    before = money_state()

    visit_cancel(visit=visit, by=by, now=now)

    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.CANCELLED
    assert not VisitFeeLine.objects.filter(cancelled_at__isnull=True).exists()
    refused("VISIT_CANCELLED", visit_cancel, visit=visit, by=by, now=now)
    refused(
        "VISIT_CANCELLED",
        visit_settle,
        visit=visit,
        credential=card_of(employee),
        use_personal_account=True,
        by=by,
        now=now,
    )
    assert money_state() == before
    # The number is free again for a new registration.
    assert (
        visit_register(
            institution=visit.institution,
            credential=card_of(employee),
            visit_type="OUTPATIENT",
            institution_visit_no="MZ-1",
            by=by,
            now=now,
        ).mdtrt_id
        != visit.mdtrt_id
    )


def test_registration_is_refused_for_who_cannot_be_settled(
    hospital, city, other_city, by, employee, visit
):
    now = clock.now()
    registration = {"institution": hospital, "visit_type": "OUTPATIENT", "by": by, "now": now}
    unactivated = PersonFactory(city=city)
    card = issued_card(unactivated)
    refused(
        "CARD_NOT_ACTIVE",
        visit_register,
        credential=PresentedCredential("CARD", card.number, unactivated.pk),
        **registration,
    )
    not_started = PersonFactory(city=city, enrolled_on=clock.today() + timedelta(days=5))
    refused(
        "NOT_YET_ENROLLED",
        visit_register,
        credential=card_of(_with_card(not_started)),
        **registration,
    )
    visitor = _with_card(PersonFactory(city=other_city))
    refused(
        "CROSS_CITY_FILING_REQUIRED", visit_register, credential=card_of(visitor), **registration
    )
    refused(
        "VISIT_NUMBER_IN_USE",
        visit_register,
        credential=card_of(employee),
        institution_visit_no="MZ-1",
        **registration,
    )
    refused(
        "VISIT_PERSON_MISMATCH",
        visit_quote,
        visit=visit,
        credential=card_of(_with_card(PersonFactory(city=city))),
        use_personal_account=False,
        by=by,
        now=now,
    )
    assert Visit.objects.count() == 1


def _with_card(person):
    person.card = active_card(person)
    return person


def test_an_inpatient_visit_is_settled_after_discharge(city, employee, item_a):
    hospital = InstitutionFactory(city=city, level=2)
    by = terminal_of(hospital)
    now = clock.now()
    admission = visit_register(
        institution=hospital,
        credential=card_of(employee),
        visit_type="INPATIENT",
        begun_at=now - timedelta(days=3),
        by=by,
        now=now,
    )
    visit_fee_lines_upload(visit=admission, lines=[fee("1", "T-A", "3", "900.00")], by=by, now=now)
    settling = {"visit": admission, "use_personal_account": True, "by": by, "now": now}
    refused("VISIT_NOT_DISCHARGED", visit_settle, credential=card_of(employee), **settling)

    visit_discharge(visit=admission, now=now)
    refused("VISIT_ALREADY_DISCHARGED", visit_discharge, visit=admission, now=now)
    settlement = visit_settle(credential=card_of(employee), **settling)

    assert settlement.visit_type == "INPATIENT"
    # Employees' inpatient deductible at a level-2 hospital: 800 of the 2,700.
    assert settlement.deductible_amount == D("800.00")
    assert Settlement.objects.get().pk == settlement.pk
