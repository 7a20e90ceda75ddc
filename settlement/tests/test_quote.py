"""A settlement quote: the figures settling would give, by the same steps, writing nothing."""

import pytest

from cards.credentials import PresentedCredential
from common.errors import DomainError
from persons.tests.factories import PersonFactory
from settlement.models import Settlement
from settlement.services import settlement_quote, settlement_submit
from settlement.tests.factories import active_card, fund_personal_account, issued_card
from settlement.tests.helpers import card_of, lines, money_state, terminal_of

pytestmark = pytest.mark.django_db

FIGURES = [
    "total_amount",
    "class_c_amount",
    "class_b_self_pay_amount",
    "eligible_amount",
    "deductible_amount",
    "copay_amount",
    "over_cap_amount",
    "pool_amount",
    "personal_account_amount",
    "cash_amount",
    "personal_account_balance_after",
    "annual_deductible",
    "deductible_paid_before",
    "reimbursement_ratio",
    "pool_paid_before",
]


def _arguments(hospital, person, by, **overrides):
    arguments = {
        "institution": hospital,
        "credential": card_of(person) if "credential" not in overrides else None,
        "visit_type": "OUTPATIENT",
        "lines": lines(("T-A", "2", "150.00"), ("T-B", "1", "333.33"), ("T-C", "3", "9.99")),
        "use_personal_account": True,
        "by": by,
    }
    return arguments | overrides


def test_a_quote_gives_the_figures_settling_then_gives_and_writes_nothing(
    hospital, employee, item_a, item_b, item_c
):
    by = terminal_of(hospital)
    before = money_state()

    quote = settlement_quote(**_arguments(hospital, employee, by))

    assert money_state() == before
    assert quote.settlement.pk is None
    settled = settlement_submit(**_arguments(hospital, employee, by))
    for field in FIGURES:
        assert getattr(quote.settlement, field) == getattr(settled, field), field
    assert [
        (line.code, line.amount, line.self_pay_amount, line.eligible_amount) for line in quote.lines
    ] == list(settled.lines.values_list("code", "amount", "self_pay_amount", "eligible_amount"))
    # The deductible the quote counted is now used: a second quote sees the year's usage.
    again = settlement_quote(**_arguments(hospital, employee, by))
    assert again.settlement.deductible_paid_before == settled.deductible_amount


def test_a_quote_is_refused_as_settling_would_be(hospital, city, item_a):
    by = terminal_of(hospital)
    person = PersonFactory(city=city)
    card = issued_card(person)
    not_active = PresentedCredential("CARD", card.number, person.pk)
    before = money_state()
    with pytest.raises(DomainError) as caught:
        settlement_quote(
            **_arguments(
                hospital,
                person,
                by,
                credential=not_active,
                use_personal_account=False,
                lines=lines(("T-A", "1", "10.00")),
            )
        )
    assert caught.value.code.code == "CARD_NOT_ACTIVE"
    with pytest.raises(DomainError) as caught:
        settlement_quote(
            **_arguments(
                hospital,
                person,
                by,
                credential=not_active,
                use_personal_account=False,
                lines=lines(("NOT-IN-CATALOG", "1", "10.00")),
            )
        )
    assert caught.value.code.code == "CATALOG_ITEM_UNKNOWN"
    assert money_state() == before


def test_a_quote_for_a_visit_reference_already_settled_is_refused(hospital, city, item_a):
    by = terminal_of(hospital)
    person = PersonFactory(city=city)
    person.card = active_card(person)
    fund_personal_account(person, "50.00")
    arguments = _arguments(hospital, person, by, lines=lines(("T-A", "1", "80.00")))
    settlement_submit(**arguments, visit_reference="MZ-1")

    with pytest.raises(DomainError) as caught:
        settlement_quote(**arguments, visit_reference="MZ-1")

    assert caught.value.code.code == "VISIT_ALREADY_SETTLED"
    assert settlement_quote(**arguments, visit_reference="MZ-2").settlement.total_amount == 80
    assert Settlement.objects.count() == 1
