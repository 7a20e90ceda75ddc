"""The fund's share of care a person paid in full, by the settlement's own rules (art. 29: a claim
reimbursed through the agency). The reimbursement app decides whether a claim is paid; this module
only says what a settlement of the same care, at the same tier and on the same day, would have
given, and counts it in the year's usage exactly as a settlement does."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Account
from accounts.services import city_account
from common.errors import DomainError
from persons.models import InsuredPerson
from settlement.calculation import PolicyFigures, PricedLine, SettlementFigures, settlement_figures
from settlement.error_codes import SettlementErrorCode
from settlement.models import AnnualUsage, BenefitRule, VisitType
from settlement.services import (
    LineInput,
    _locked_usage,
    _pool_kind,
    _priced_lines,
    _provisioned_policy,
    _usage_add,
)


@dataclass(frozen=True)
class FundShare:
    """What the insured city's fund pays for the care, with the policy figures it was computed
    from and the year's usage row they were read from (locked when asked for)."""

    policy_figures: PolicyFigures
    figures: SettlementFigures
    usage: AnnualUsage
    pool_account: Account
    emergency_rule_applied: bool


def catalog_lines(lines: Sequence[LineInput]) -> list[tuple[str, str, str, PricedLine]]:
    """Receipt lines given by catalog code, priced on the catalog: (code, name, class, line)."""
    return [
        (item.code, item.name, item.catalog_class, priced) for item, priced in _priced_lines(lines)
    ]


def fund_share_compute(
    *,
    person: InsuredPerson,
    visit_type: str,
    tier: str,
    lines: Sequence[PricedLine],
    year: int,
    emergency_rule_applied: bool,
) -> FundShare:
    """The figures a settlement of these lines would give this person today, under the insured
    city's policy (its emergency ratio where the emergency rule applies). Locks the year's usage
    row (inside the caller's transaction), so two reviews of one person take turns."""
    policy = _provisioned_policy(city=person.city)
    rule = BenefitRule.objects.filter(
        policy=policy, scheme=person.scheme, visit_type=visit_type, tier=tier
    ).first()
    if rule is None:
        raise DomainError(
            SettlementErrorCode.BENEFIT_RULE_MISSING,
            f"{person.city.name} has no {person.scheme.lower()} rule for {visit_type.lower()} "
            f"care at tier {tier}.",
        )
    ratio = rule.ratio_for(person.city)
    if emergency_rule_applied and policy.emergency_reimbursement_ratio is not None:
        ratio = policy.emergency_reimbursement_ratio
    outpatient = visit_type == VisitType.OUTPATIENT
    if not outpatient:
        outpatient_quota = None
    elif person.is_employee:
        outpatient_quota = policy.employee_outpatient_annual_quota
    else:
        outpatient_quota = person.city.outpatient_pooling_annual_quota
    usage = _locked_usage(person_id=person.pk, year=year)
    policy_figures = PolicyFigures(
        class_b_self_pay_ratio=policy.class_b_self_pay_ratio,
        annual_deductible=rule.annual_deductible,
        deductible_paid_before=usage.deductible_paid(visit_type),
        reimbursement_ratio=ratio,
        annual_cap=policy.annual_cap_for(person.scheme),
        pool_paid_before=usage.pool_paid,
        outpatient_quota=outpatient_quota,
        outpatient_pool_paid_before=usage.outpatient_pool_paid if outpatient else None,
    )
    return FundShare(
        policy_figures=policy_figures,
        figures=settlement_figures(list(lines), policy_figures),
        usage=usage,
        pool_account=city_account(city_id=person.city_id, kind=_pool_kind(person, visit_type)),
        emergency_rule_applied=emergency_rule_applied,
    )


def fund_share_count(
    share: FundShare, *, visit_type: str, deductible: Decimal, pool: Decimal
) -> None:
    """Count a reimbursement in the year's usage as a settlement counts: the deductible it used
    and what the pool paid (toward the annual cap and, outpatient, the quota)."""
    _usage_add(share.usage, visit_type=visit_type, deductible=deductible, pool=pool)
