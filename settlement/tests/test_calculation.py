"""The settlement arithmetic on its own: each step, and the invariants for any input."""

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from settlement.calculation import (
    PolicyFigures,
    PricedLine,
    personal_account_payment,
    settlement_figures,
)


def policy(**overrides) -> PolicyFigures:
    figures = {
        "class_b_self_pay_ratio": D("0.1000"),
        "annual_deductible": D("0.00"),
        "deductible_paid_before": D("0.00"),
        "reimbursement_ratio": D("0.8500"),
        "annual_cap": D("100000.00"),
        "pool_paid_before": D("0.00"),
    }
    figures.update(overrides)
    return PolicyFigures(**figures)


def test_class_a_is_fully_eligible():
    result = settlement_figures([PricedLine("A", D("2"), D("50.00"))], policy())
    assert result.total_amount == result.eligible_amount == D("100.00")
    assert result.pool_amount == D("85.00")
    assert result.copay_amount == D("15.00")
    assert result.person_share == D("15.00")


def test_class_b_leaves_its_first_share_to_the_person():
    result = settlement_figures([PricedLine("B", D("1"), D("200.00"))], policy())
    assert result.class_b_self_pay_amount == D("20.00")
    assert result.eligible_amount == D("180.00")
    assert result.pool_amount == D("153.00")
    assert result.lines[0].self_pay_amount == D("20.00")


def test_class_c_is_fully_self_paid():
    result = settlement_figures([PricedLine("C", D("3"), D("10.00"))], policy())
    assert result.class_c_amount == result.person_share == D("30.00")
    assert result.eligible_amount == result.pool_amount == D("0.00")


def test_the_deductible_comes_first_and_only_what_remains_of_it():
    result = settlement_figures(
        [PricedLine("A", D("1"), D("1000.00"))],
        policy(annual_deductible=D("1300.00"), deductible_paid_before=D("500.00")),
    )
    assert result.deductible_amount == D("800.00")
    assert result.pool_amount == D("170.00")  # 85 % of 200
    assert result.copay_amount == D("30.00")


def test_a_met_deductible_takes_nothing():
    result = settlement_figures(
        [PricedLine("A", D("1"), D("100.00"))],
        policy(annual_deductible=D("1300.00"), deductible_paid_before=D("1300.00")),
    )
    assert result.deductible_amount == D("0.00")
    assert result.pool_amount == D("85.00")


def test_the_cap_limits_the_fund_and_the_rest_falls_to_the_person():
    result = settlement_figures(
        [PricedLine("A", D("1"), D("1000.00"))],
        policy(annual_cap=D("5000.00"), pool_paid_before=D("4700.00")),
    )
    assert result.pool_amount == D("300.00")
    assert result.over_cap_amount == D("550.00")
    assert result.person_share == D("700.00")


def test_the_outpatient_quota_binds_when_tighter_than_the_cap():
    result = settlement_figures(
        [PricedLine("A", D("1"), D("1000.00"))],
        policy(
            reimbursement_ratio=D("0.5000"),
            outpatient_quota=D("600.00"),
            outpatient_pool_paid_before=D("400.00"),
        ),
    )
    assert result.pool_amount == D("200.00")
    assert result.over_cap_amount == D("300.00")


def test_rounding_half_up_per_step_still_adds_up():
    result = settlement_figures(
        [PricedLine("B", D("3"), D("0.35")), PricedLine("A", D("0.333"), D("10.01"))],
        policy(reimbursement_ratio=D("0.8333")),
    )
    # 3 x 0.35 = 1.05, B share 0.105 -> 0.11; 0.333 x 10.01 = 3.33333 -> 3.33
    assert [line.amount for line in result.lines] == [D("1.05"), D("3.33")]
    assert result.class_b_self_pay_amount == D("0.11")
    assert result.eligible_amount == D("4.27")
    assert result.pool_amount == D("3.56")  # 4.27 x 0.8333 = 3.558191
    assert result.copay_amount == D("0.71")


def test_personal_account_pays_up_to_its_balance():
    result = settlement_figures(
        [PricedLine("A", D("1"), D("100.00")), PricedLine("C", D("1"), D("40.00"))], policy()
    )
    assert result.person_share == D("55.00")
    assert personal_account_payment(result, balance=D("20.00"), class_c_payable=True) == D("20.00")
    assert personal_account_payment(result, balance=D("90.00"), class_c_payable=True) == D("55.00")
    # Where the account may not pay class C, only the in-catalog share is payable from it.
    assert personal_account_payment(result, balance=D("90.00"), class_c_payable=False) == D("15.00")


money_values = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
ratios = st.decimals(min_value=D("0"), max_value=D("1"), places=4)
lines = st.lists(
    st.builds(
        PricedLine,
        st.sampled_from(["A", "B", "C"]),
        st.decimals(min_value=D("0.001"), max_value=D("99.999"), places=3),
        money_values,
    ),
    min_size=1,
    max_size=8,
)


@given(
    lines=lines,
    class_b=ratios,
    ratio=ratios,
    deductible=st.decimals(min_value=D("0"), max_value=D("5000"), places=2),
    paid=st.decimals(min_value=D("0"), max_value=D("5000"), places=2),
    cap=st.decimals(min_value=D("0"), max_value=D("50000"), places=2),
    used=st.decimals(min_value=D("0"), max_value=D("60000"), places=2),
    balance=st.decimals(min_value=D("0"), max_value=D("10000"), places=2),
)
def test_the_parts_always_add_up(lines, class_b, ratio, deductible, paid, cap, used, balance):
    figures = policy(
        class_b_self_pay_ratio=class_b,
        reimbursement_ratio=ratio,
        annual_deductible=deductible,
        deductible_paid_before=paid,
        annual_cap=cap,
        pool_paid_before=used,
    )
    result = settlement_figures(lines, figures)
    parts = [
        result.class_c_amount,
        result.class_b_self_pay_amount,
        result.eligible_amount,
        result.deductible_amount,
        result.copay_amount,
        result.over_cap_amount,
        result.pool_amount,
    ]
    assert all(part >= 0 and part == part.quantize(D("0.01")) for part in parts)
    assert result.total_amount == sum(line.amount for line in result.lines)
    assert result.total_amount == (
        result.class_c_amount + result.class_b_self_pay_amount + result.eligible_amount
    )
    assert result.eligible_amount == (
        result.deductible_amount + result.copay_amount + result.over_cap_amount + result.pool_amount
    )
    assert result.deductible_amount <= max(D("0"), deductible - paid)
    assert result.pool_amount <= max(D("0"), cap - used)
    from_account = personal_account_payment(result, balance=balance, class_c_payable=True)
    assert 0 <= from_account <= min(balance, result.person_share)
