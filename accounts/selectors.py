"""Reads of accounts: ledger history and payment records. (The balance inquiry is the inquiry
package's.)"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from accounts.models import Account, Contribution, Entry
from common.money import ZERO


def account_entries(*, account: Account) -> QuerySet[Entry]:
    return Entry.objects.filter(account=account).select_related("transfer").order_by("-id")


def person_contributions(*, person_id: int) -> QuerySet[Contribution]:
    return Contribution.objects.filter(person_id=person_id).order_by("-period")


@dataclass(frozen=True)
class CityFund:
    """A city's medical-insurance fund as its ledger accounts stand: the pools, the personal
    accounts, what institutions are owed, and its cross-city clearing positions. A pool below zero
    is a deficit (a fund can be overdrawn): listed in ``deficits``, never hidden."""

    city_id: int
    pools: dict[str, Decimal]
    personal_accounts_total: Decimal
    personal_accounts_count: int
    awaiting_crediting: Decimal
    owed_to_institutions: Decimal
    contributions_received: Decimal
    clearing_payable: Decimal
    clearing_receivable: Decimal
    settled_with_other_cities: Decimal
    reimbursements_paid_to_banks: Decimal
    deficits: dict[str, Decimal] = field(default_factory=dict)

    @property
    def in_deficit(self) -> bool:
        return bool(self.deficits)

    @property
    def pools_total(self) -> Decimal:
        return sum(self.pools.values(), ZERO)


def city_fund(*, city_id: int) -> CityFund:
    """Every figure from account balances (maintained by the database from entries), in one
    aggregate query."""
    # Striped accounts' balances are their rows' and their stripes' (``with_balance_total``).
    per_kind = list(
        Account.objects.filter(city_id=city_id)
        .with_balance_total()
        .values("kind")
        .annotate(total=Sum("balance_total"), count=Count("id"))
        .values_list("kind", "total", "count")
    )
    by_kind = {kind: total for kind, total, _ in per_kind}
    counts = {kind: count for kind, _, count in per_kind}
    pools = {kind: by_kind.get(kind, ZERO) for kind in Account.POOL_KINDS}
    return CityFund(
        city_id=city_id,
        pools=pools,
        personal_accounts_total=by_kind.get(Account.Kind.PERSONAL, ZERO),
        personal_accounts_count=counts.get(Account.Kind.PERSONAL, 0),
        awaiting_crediting=by_kind.get(Account.Kind.PERSONAL_ACCOUNT_CLEARING, ZERO),
        owed_to_institutions=by_kind.get(Account.Kind.INSTITUTION, ZERO),
        contributions_received=-by_kind.get(Account.Kind.CONTRIBUTION_SOURCE, ZERO),
        clearing_payable=by_kind.get(Account.Kind.CLEARING_PAYABLE, ZERO),
        clearing_receivable=-by_kind.get(Account.Kind.CLEARING_RECEIVABLE, ZERO),
        settled_with_other_cities=by_kind.get(Account.Kind.INTERCITY_SETTLEMENT, ZERO),
        reimbursements_paid_to_banks=by_kind.get(Account.Kind.BANK_PAYOUT, ZERO),
        deficits={kind: balance for kind, balance in pools.items() if balance < 0},
    )
