"""The settlement arithmetic, free of the database: given the line items and the policy figures
as they stand for this person today, who pays what.

The order follows how the fund decides, from the item to the year:

1. Each line: class C is fully self-paid; class B leaves its first share (the city's ratio) to the
   person; what remains is eligible.
2. The deductible: the part of this year's deductible (per visit type) not yet paid comes out of
   the eligible amount first.
3. The ratio: the fund's share of the eligible amount above the deductible is ``ratio`` of it; the
   rest is the person's co-payment.
4. The caps: the fund never pays beyond what remains of its annual cap (and, for outpatient care,
   of the outpatient quota); the excess falls to the person.
5. The person's share (total minus the fund's payment) is paid from a personal account, up to
   its balance, when the person chose to use it (class C only where the city lets the account pay
   it); the rest is cash.

Every step rounds half up to the cent once, and every figure is a difference of rounded figures,
so the parts always add up to the total exactly.
"""

from dataclasses import dataclass
from decimal import Decimal

from common.money import ZERO, money


@dataclass(frozen=True)
class PricedLine:
    catalog_class: str  # "A", "B" or "C"
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)


@dataclass(frozen=True)
class LineFigures:
    amount: Decimal
    self_pay_amount: Decimal
    eligible_amount: Decimal


@dataclass(frozen=True)
class PolicyFigures:
    """The policy as it applies to this person and visit, with the year's usage so far."""

    class_b_self_pay_ratio: Decimal
    annual_deductible: Decimal
    deductible_paid_before: Decimal
    reimbursement_ratio: Decimal
    annual_cap: Decimal
    pool_paid_before: Decimal
    outpatient_quota: Decimal | None = None  # outpatient visits only
    outpatient_pool_paid_before: Decimal | None = None

    @property
    def deductible_remaining(self) -> Decimal:
        return max(ZERO, self.annual_deductible - self.deductible_paid_before)

    @property
    def fund_room(self) -> Decimal:
        """What the fund may still pay this person this year (the tighter of cap and quota)."""
        room = max(ZERO, self.annual_cap - self.pool_paid_before)
        if self.outpatient_quota is not None:
            used = self.outpatient_pool_paid_before or ZERO
            room = min(room, max(ZERO, self.outpatient_quota - used))
        return room


@dataclass(frozen=True)
class SettlementFigures:
    lines: list[LineFigures]
    total_amount: Decimal
    class_c_amount: Decimal
    class_b_self_pay_amount: Decimal
    eligible_amount: Decimal
    deductible_amount: Decimal
    copay_amount: Decimal
    over_cap_amount: Decimal
    pool_amount: Decimal

    @property
    def person_share(self) -> Decimal:
        return self.total_amount - self.pool_amount


def line_figures(line: PricedLine, *, class_b_self_pay_ratio: Decimal) -> LineFigures:
    amount = line.amount
    if line.catalog_class == "C":
        self_pay = amount
    elif line.catalog_class == "B":
        self_pay = money(amount * class_b_self_pay_ratio)
    else:
        self_pay = ZERO
    return LineFigures(amount=amount, self_pay_amount=self_pay, eligible_amount=amount - self_pay)


def settlement_figures(lines: list[PricedLine], policy: PolicyFigures) -> SettlementFigures:
    """Steps 1 to 4: what the fund pays and what falls to the person."""
    figures = [
        line_figures(line, class_b_self_pay_ratio=policy.class_b_self_pay_ratio) for line in lines
    ]
    total = sum((f.amount for f in figures), ZERO)
    class_c = sum(
        (
            f.self_pay_amount
            for f, line in zip(figures, lines, strict=True)
            if line.catalog_class == "C"
        ),
        ZERO,
    )
    class_b = sum(
        (
            f.self_pay_amount
            for f, line in zip(figures, lines, strict=True)
            if line.catalog_class == "B"
        ),
        ZERO,
    )
    eligible = total - class_c - class_b

    deductible = min(eligible, policy.deductible_remaining)
    above_deductible = eligible - deductible
    fund_share = money(above_deductible * policy.reimbursement_ratio)
    copay = above_deductible - fund_share
    pool = min(fund_share, policy.fund_room)
    over_cap = fund_share - pool
    return SettlementFigures(
        lines=figures,
        total_amount=total,
        class_c_amount=class_c,
        class_b_self_pay_amount=class_b,
        eligible_amount=eligible,
        deductible_amount=deductible,
        copay_amount=copay,
        over_cap_amount=over_cap,
        pool_amount=pool,
    )


def personal_account_payment(
    figures: SettlementFigures, *, balance: Decimal, class_c_payable: bool
) -> Decimal:
    """Step 5: what the personal account pays, given its (locked) balance."""
    payable = figures.person_share - (ZERO if class_c_payable else figures.class_c_amount)
    return max(ZERO, min(payable, balance))
