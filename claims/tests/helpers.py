"""Shared test helpers: filing and reviewing claims through the services and the API, and the
ledger's own invariants."""

from datetime import date
from decimal import Decimal

from django.db.models import Sum
from rest_framework.test import APIClient

from accounts.models import Account, Entry, Transfer
from claims.services import (
    CategoryTotal,
    ClaimPayout,
    ClaimVisit,
    ReceiptInput,
    claim_submit,
)
from common import clock
from settlement.tests.helpers import balance
from users.tests.factories import token_for

BANK = ClaimPayout(
    method="BANK",
    bank_name="ICBC",
    bank_account_holder="Li Hua",
    bank_account_number="6222020200112340123",
)
TO_PERSONAL_ACCOUNT = ClaimPayout(method="PERSONAL_ACCOUNT")


def visit_day() -> date:
    return clock.today()


def totals(**by_class: str) -> list[CategoryTotal]:
    return [
        CategoryTotal(catalog_class, Decimal(amount)) for catalog_class, amount in by_class.items()
    ]


def receipt(amount: str, number: str = "R-1", issued_on: date | None = None) -> list[ReceiptInput]:
    return [ReceiptInput(number, issued_on or visit_day(), Decimal(amount))]


def file_claim(
    person,
    *,
    institution=None,
    visit_type="INPATIENT",
    emergency=False,
    category_totals=(),
    line_items=(),
    receipts=None,
    payout=BANK,
    by=None,
    **visit,
):
    amount = sum((t.amount for t in category_totals), Decimal(0)) + sum(
        (line.quantity * line.unit_price for line in line_items), Decimal(0)
    )
    return claim_submit(
        person=person,
        visit=ClaimVisit(
            visit_date=visit.pop("visit_date", visit_day()),
            visit_type=visit_type,
            emergency=emergency,
            institution_code=institution.code if institution else "",
            **visit,
        ),
        category_totals=list(category_totals),
        line_items=list(line_items),
        receipts=receipts if receipts is not None else receipt(f"{amount:.2f}"),
        payout=payout,
        by=by or person.user,
        now=clock.now(),
    )


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token_for(user))
    return client


def ledger_balanced() -> None:
    """Every transfer sums to zero, and every account's balance is the sum of its entries."""
    unbalanced = Transfer.objects.annotate(total=Sum("entries__amount")).exclude(total=0).count()
    assert unbalanced == 0
    for account in Account.objects.all():
        entries = Entry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
        assert balance(account) == entries, account
