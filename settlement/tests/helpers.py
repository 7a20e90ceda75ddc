"""Shared test helpers: settling through the service, and a fingerprint of everything money-
related so a refusal can be shown to have changed nothing."""

from decimal import Decimal

from accounts.models import Account, Entry, Transfer
from cards.credentials import PresentedCredential
from cards.services import card_pin_verify
from common import clock
from common.models import IdempotencyRecord
from settlement.models import AnnualUsage, Settlement, SettlementLine
from settlement.services import LineInput, settlement_submit
from settlement.tests.factories import TEST_PIN


def card_of(person, pin: str = TEST_PIN) -> PresentedCredential:
    """The person's card as a terminal presents it, with the PIN the cardholder entered (checked,
    as the settlement API checks it, so it may pay from the personal account)."""
    return card_pin_verify(
        credential=PresentedCredential("CARD", person.card.number, person.pk),
        pin=pin,
        now=clock.now(),
    )


def lines(*items: tuple[str, str, str]) -> list[LineInput]:
    return [LineInput(code, Decimal(quantity), Decimal(price)) for code, quantity, price in items]


def settle(
    *,
    institution,
    person,
    by,
    items,
    visit_type="INPATIENT",
    use_personal_account=True,
    credential: PresentedCredential | str | None = "card",
    **kwargs,
) -> Settlement:
    return settlement_submit(
        institution=institution,
        credential=card_of(person) if credential == "card" else credential,
        visit_type=visit_type,
        lines=lines(*items),
        use_personal_account=use_personal_account,
        by=by,
        **kwargs,
    )


def terminal_of(institution):
    from users.tests.factories import TerminalFactory

    return TerminalFactory(institution=institution)


def balance(account_or_person) -> Decimal:
    if isinstance(account_or_person, Account):
        return Account.objects.get(pk=account_or_person.pk).balance
    return Account.objects.get(person=account_or_person, kind=Account.Kind.PERSONAL).balance


def city_pool(city, kind=Account.Kind.EMPLOYEE_POOL) -> Account:
    return Account.objects.get(city=city, kind=kind)


def entries_of(transfer) -> dict[int, Decimal]:
    return dict(transfer.entries.values_list("account_id", "amount"))


def money_state() -> tuple:
    """Everything a settlement could change."""
    return (
        Settlement.objects.count(),
        SettlementLine.objects.count(),
        Transfer.objects.count(),
        Entry.objects.count(),
        IdempotencyRecord.objects.count(),
        sorted(Account.objects.with_balance_total().values_list("id", "balance_total")),
        sorted(
            AnnualUsage.objects.values_list(
                "person_id",
                "year",
                "deductible_outpatient",
                "deductible_inpatient",
                "pool_paid",
                "outpatient_pool_paid",
            )
        ),
    )
