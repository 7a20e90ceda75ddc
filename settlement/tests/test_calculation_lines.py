"""The settlement arithmetic line by line, and with nothing to settle. No database."""

from decimal import Decimal as D

from settlement.calculation import PolicyFigures, PricedLine, line_figures, settlement_figures

POLICY = PolicyFigures(
    class_b_self_pay_ratio=D("0.1000"),
    annual_deductible=D("800.00"),
    deductible_paid_before=D("0.00"),
    reimbursement_ratio=D("0.9000"),
    annual_cap=D("400000.00"),
    pool_paid_before=D("0.00"),
)


def test_each_lines_eligible_amount_is_its_amount_less_what_the_person_pays_for_it():
    lines = [
        PricedLine("A", D("2"), D("18.50")),
        PricedLine("B", D("3"), D("33.33")),
        PricedLine("C", D("1"), D("25.00")),
    ]
    for line in lines:
        assert (
            line_figures(line, class_b_self_pay_ratio=D("0.1000"))
            == settlement_figures(lines, POLICY).lines[lines.index(line)]
        )
    figures = settlement_figures(lines, POLICY).lines
    assert [(f.amount, f.self_pay_amount, f.eligible_amount) for f in figures] == [
        (D("37.00"), D("0.00"), D("37.00")),
        (D("99.99"), D("10.00"), D("89.99")),
        (D("25.00"), D("25.00"), D("0.00")),
    ]


def test_nothing_to_settle_gives_every_figure_as_zero_money():
    figures = settlement_figures([], POLICY)
    assert figures.lines == []
    money_figures = [
        figures.total_amount,
        figures.class_c_amount,
        figures.class_b_self_pay_amount,
        figures.eligible_amount,
        figures.deductible_amount,
        figures.copay_amount,
        figures.over_cap_amount,
        figures.pool_amount,
        figures.person_share,
    ]
    # Money keeps its two places even when it is nothing (it is written out as "0.00").
    assert [str(figure) for figure in money_figures] == ["0.00"] * len(money_figures)
